//! Whether a baseline is comparable with the current run: warnings when a
//! variant's baseline came from another scenario (its
//! `provenance.scenario_hash` differs), another build kind or core count,
//! or carries no provenance at all, and when either side ran with fault or
//! slowdown injection on (`config.inject`). Warnings never change a
//! verdict; the checks still run and the warnings go to stderr and into
//! `gate.md`.

use super::check::Pair;
use super::input::{Named, Provenance};

/// The run's `config.inject` as compact JSON, when injection was on (a
/// non-empty object).
pub fn injection(named: &Named) -> Option<String> {
    let inject = named.summary.config.extra.get("inject")?;
    let on = inject.as_object().is_some_and(|o| !o.is_empty());
    on.then(|| inject.to_string())
}

/// The warnings for every variant present on both sides, in pair order;
/// variants lacking provenance for the same reason share one warning.
pub fn warnings(pairs: &[Pair<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    // (side, reason) -> variants, in first-seen order.
    let mut missing: Vec<((&str, &str), Vec<&str>)> = Vec::new();
    for pair in pairs {
        let (Some(base), Some(cur)) = (pair.baseline, pair.current) else {
            continue;
        };
        for (side, named) in [("baseline", base), ("current run", cur)] {
            if let Some(inject) = injection(named) {
                out.push(format!(
                    "variant {}: the {side} ran with injection on: {inject}",
                    pair.variant
                ));
            }
        }
        let key = match (&base.facts.provenance, &cur.facts.provenance) {
            (Err(reason), _) => ("baseline", reason.as_str()),
            (Ok(_), Err(reason)) => ("current run", reason.as_str()),
            (Ok(b), Ok(c)) => {
                out.extend(compare(pair.variant, b, c));
                continue;
            }
        };
        match missing.iter_mut().find(|m| m.0 == key) {
            Some(m) => m.1.push(pair.variant),
            None => missing.push((key, vec![pair.variant])),
        }
    }
    for ((side, reason), variants) in missing {
        let mut line = format!(
            "the {side} has no usable provenance ({reason}) for variant {}",
            variants.join(", ")
        );
        if side == "baseline" {
            line.push_str(
                ": cannot tell whether it ran the same scenario and build; re-record it with \
                 `feedlab gate --record`",
            );
        }
        out.push(line);
    }
    out
}

/// What differs between two provenance records of one variant.
fn compare(variant: &str, base: &Provenance, cur: &Provenance) -> Vec<String> {
    let mut out = Vec::new();
    match (&base.scenario_hash, &cur.scenario_hash) {
        (Some(b), Some(c)) if b != c => out.push(format!(
            "variant {variant}: the baseline ran scenario hash {b} but the current run {c}: \
             another or an edited scenario; checks still run, re-record the baseline if the \
             change is intended"
        )),
        (None, _) => out.push(format!(
            "variant {variant}: the baseline's provenance has no scenario_hash; cannot tell \
             whether it ran the same scenario"
        )),
        _ => {}
    }
    if let (Some(b), Some(c)) = (&base.build, &cur.build)
        && b != c
    {
        out.push(format!(
            "variant {variant}: the baseline is a {b} build but the current run a {c} build; \
             CPU and latency checks compare unlike binaries"
        ));
    }
    if let (Some(b), Some(c)) = (base.cores, cur.cores)
        && b != c
    {
        out.push(format!(
            "variant {variant}: the baseline ran on {b} cores but the current run on {c}"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::input::Facts;
    use serde_json::json;

    fn named(inject: Option<serde_json::Value>, hash: Option<&str>) -> Named {
        let mut summary = crate::summary::Summary::default();
        if let Some(i) = inject {
            summary.config.extra.insert("inject".into(), i);
        }
        if let Some(h) = hash {
            summary.provenance = Some(crate::summary::Provenance {
                scenario_hash: h.into(),
                cores: 2,
                ..Default::default()
            });
        }
        Named {
            variant: "push".into(),
            facts: Facts::of(&summary),
            json: serde_json::Value::Null,
            summary,
            file: "s.json".into(),
        }
    }

    #[test]
    fn injection_on_either_side_is_warned_and_an_empty_one_is_off() {
        let clean = named(None, Some("h"));
        let injected = named(Some(json!({ "feed-extra-calls": 1 })), Some("h"));
        assert!(injection(&named(Some(json!({})), None)).is_none());
        let pair = |b, c| Pair {
            variant: "push",
            baseline: Some(b),
            current: Some(c),
        };
        let w = warnings(&[pair(&injected, &clean)]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("the baseline ran with injection on")
                && w[0].contains("feed-extra-calls")
        );
        assert!(warnings(&[pair(&clean, &clean)]).is_empty());
        let old = named(None, None);
        let w = warnings(&[pair(&old, &clean), pair(&old, &clean)]);
        assert_eq!(w.len(), 1, "one warning for both variants: {w:?}");
        assert!(
            w[0].contains("variant push, push") && w[0].contains("--record"),
            "{w:?}"
        );
    }

    fn prov(hash: Option<&str>, build: &str, cores: u32) -> Provenance {
        Provenance {
            scenario_hash: hash.map(String::from),
            build: Some(build.into()),
            cores: Some(cores),
        }
    }

    #[test]
    fn same_provenance_gives_no_warning() {
        let p = prov(Some("abc"), "release", 2);
        assert!(compare("push", &p, &p).is_empty());
    }

    #[test]
    fn each_difference_is_named() {
        let b = prov(Some("abc"), "release", 2);
        let c = prov(Some("def"), "debug", 4);
        let w = compare("push", &b, &c);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("abc") && w[0].contains("def"), "{w:?}");
        assert!(w[1].contains("debug"), "{w:?}");
        assert!(w[2].contains("4"), "{w:?}");
        assert!(
            w.iter()
                .all(|l| l.starts_with("variant push") && !l.contains('\n'))
        );
    }

    #[test]
    fn a_baseline_without_a_hash_is_flagged() {
        let b = prov(None, "release", 2);
        let c = prov(Some("def"), "release", 2);
        let w = compare("pull", &b, &c);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("no scenario_hash"), "{w:?}");
    }
}
