//! `[[faults]]`: fault windows of a run, as written in a scenario and as resolved for a run.
//!
//! A [`FaultSpec`] is one `[[faults]]` entry as written: `kind`, `at-s`, `for-s` and the
//! kind's own keys (`shard`, `extra-ms`), each optional at this level so that a missing or
//! extra key is reported by [`resolve`] with its name rather than by serde. [`resolve`] turns
//! the entries of one run into [`Fault`]s or names the first bad entry and key
//! ([`FaultRejected`]): the scenario loader locates it in the file, the live executor reports
//! it for a resolved `spec.json`. The contract of a resolved list: every window lies within
//! `[0, duration]`, every shard within `0..shards`, and no two windows of one kind on one
//! target overlap.

use serde::{Deserialize, Serialize};

/// Why a simulated run refuses `[[faults]]`.
pub const SIM_UNSUPPORTED: &str = "the simulator does not model faults yet; run this scenario \
     live (scenario.mode = \"live\") or remove its [[faults]]";

/// The fault kinds the live executor applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Every metadata call on one shard sleeps `extra-ms` more.
    SlowShard,
    /// One shard's metadata calls fail (503 `unavailable`).
    ShardDown,
    /// The fan-out materializer applies nothing; it catches up after the window.
    MaterializerPause,
}

impl FaultKind {
    /// The name written in scenarios and summaries (`slow-shard`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::SlowShard => "slow-shard",
            FaultKind::ShardDown => "shard-down",
            FaultKind::MaterializerPause => "materializer-pause",
        }
    }

    /// The keys this kind needs beyond `kind`, `at-s` and `for-s`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            FaultKind::SlowShard => &["shard", "extra-ms"],
            FaultKind::ShardDown => &["shard"],
            FaultKind::MaterializerPause => &[],
        }
    }
}

/// One `[[faults]]` entry as written; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FaultSpec {
    /// `slow-shard`, `shard-down` or `materializer-pause`.
    pub kind: FaultKind,
    /// Start of the window, seconds after the driver starts.
    pub at_s: f64,
    /// Length of the window, seconds.
    pub for_s: f64,
    /// The shard (`slow-shard`, `shard-down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<usize>,
    /// The extra delay per metadata call, ms (`slow-shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ms: Option<f64>,
}

impl FaultSpec {
    /// The per-kind keys this entry writes.
    fn written(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.shard.is_some() {
            keys.push("shard");
        }
        if self.extra_ms.is_some() {
            keys.push("extra-ms");
        }
        keys
    }
}

/// What a resolved fault does while its window is open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultAction {
    /// Every metadata call on `shard` sleeps `extra_ms` more.
    SlowShard {
        /// The shard.
        shard: usize,
        /// Extra delay per call, ms.
        extra_ms: f64,
    },
    /// `shard`'s metadata calls fail.
    ShardDown {
        /// The shard.
        shard: usize,
    },
    /// The materializer is paused.
    MaterializerPause,
}

impl FaultAction {
    /// The kind of this action.
    pub fn kind(self) -> FaultKind {
        match self {
            FaultAction::SlowShard { .. } => FaultKind::SlowShard,
            FaultAction::ShardDown { .. } => FaultKind::ShardDown,
            FaultAction::MaterializerPause => FaultKind::MaterializerPause,
        }
    }

    /// What it acts on: `shard N` or `materializer`.
    pub fn target(self) -> String {
        match self {
            FaultAction::SlowShard { shard, .. } | FaultAction::ShardDown { shard } => {
                format!("shard {shard}")
            }
            FaultAction::MaterializerPause => "materializer".into(),
        }
    }
}

/// One resolved fault window: `action` from `at_s` for `for_s` seconds of the driver's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// What the window does.
    pub action: FaultAction,
    /// Start, seconds after the driver starts.
    pub at_s: f64,
    /// Length, seconds.
    pub for_s: f64,
}

impl Fault {
    /// End of the window, seconds after the driver starts.
    pub fn end_s(&self) -> f64 {
        self.at_s + self.for_s
    }
}

/// The first bad `[[faults]]` entry: its index, the key at fault and the message (which names
/// the key).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRejected {
    /// Index of the entry.
    pub index: usize,
    /// The key the message is about (`kind`, `at-s`, `shard`, ...).
    pub key: &'static str,
    /// One line naming `faults[index].key`.
    pub message: String,
}

fn reject(index: usize, key: &'static str, what: impl std::fmt::Display) -> FaultRejected {
    FaultRejected {
        index,
        key,
        message: format!("faults[{index}].{key}: {what}"),
    }
}

/// Resolves the `[[faults]]` of a run of `duration_s` seconds on `shards` shards; see the
/// module docs for what is checked.
pub fn resolve(
    specs: &[FaultSpec],
    shards: usize,
    duration_s: f64,
) -> Result<Vec<Fault>, FaultRejected> {
    let mut out: Vec<Fault> = Vec::with_capacity(specs.len());
    for (i, s) in specs.iter().enumerate() {
        let fault = resolve_one(i, s, shards, duration_s)?;
        if let Some(j) = out.iter().position(|o| overlaps(o, &fault)) {
            let what = format!(
                "this {} window on {} overlaps faults[{j}] ({}s for {}s)",
                fault.action.kind().name(),
                fault.action.target(),
                out[j].at_s,
                out[j].for_s
            );
            return Err(reject(i, "at-s", what));
        }
        out.push(fault);
    }
    Ok(out)
}

/// Two windows of one kind on one target that share some time.
fn overlaps(a: &Fault, b: &Fault) -> bool {
    let same = a.action.kind() == b.action.kind() && a.action.target() == b.action.target();
    same && a.at_s < b.end_s() && b.at_s < a.end_s()
}

fn resolve_one(
    i: usize,
    s: &FaultSpec,
    shards: usize,
    duration_s: f64,
) -> Result<Fault, FaultRejected> {
    let kind = s.kind.name();
    let needed = s.kind.keys();
    if let Some(extra) = s.written().into_iter().find(|k| !needed.contains(k)) {
        return Err(reject(i, extra, format!("not a key of a {kind} fault")));
    }
    if let Some(&missing) = needed.iter().find(|k| !s.written().contains(*k)) {
        return Err(reject(
            i,
            "kind",
            format!("a {kind} fault needs `{missing}`"),
        ));
    }
    if !(s.at_s.is_finite() && s.at_s >= 0.0) {
        return Err(reject(i, "at-s", format!("must be >= 0, got {}", s.at_s)));
    }
    if !(s.for_s.is_finite() && s.for_s > 0.0) {
        return Err(reject(i, "for-s", format!("must be > 0, got {}", s.for_s)));
    }
    if s.at_s + s.for_s > duration_s {
        let what = format!(
            "the window ends at {}s, after the run's scenario.duration-s = {duration_s}",
            s.at_s + s.for_s
        );
        return Err(reject(i, "for-s", what));
    }
    let shard = match s.shard {
        Some(n) if n >= shards => {
            let what = format!("shard {n} does not exist (shards: 0..{shards})");
            return Err(reject(i, "shard", what));
        }
        other => other.unwrap_or(0),
    };
    let action = match s.kind {
        FaultKind::SlowShard => {
            let extra_ms = s.extra_ms.unwrap_or(0.0);
            if !(extra_ms.is_finite() && extra_ms > 0.0) {
                return Err(reject(
                    i,
                    "extra-ms",
                    format!("must be > 0, got {extra_ms}"),
                ));
            }
            FaultAction::SlowShard { shard, extra_ms }
        }
        FaultKind::ShardDown => FaultAction::ShardDown { shard },
        FaultKind::MaterializerPause => FaultAction::MaterializerPause,
    };
    Ok(Fault {
        action,
        at_s: s.at_s,
        for_s: s.for_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: FaultKind, at_s: f64, for_s: f64, shard: Option<usize>) -> FaultSpec {
        FaultSpec {
            kind,
            at_s,
            for_s,
            shard,
            extra_ms: (kind == FaultKind::SlowShard).then_some(50.0),
        }
    }

    #[test]
    fn windows_resolve_and_overlaps_of_one_target_are_refused() {
        let ok = [
            spec(FaultKind::SlowShard, 5.0, 5.0, Some(1)),
            spec(FaultKind::SlowShard, 10.0, 5.0, Some(1)),
            spec(FaultKind::ShardDown, 6.0, 2.0, Some(1)),
            spec(FaultKind::MaterializerPause, 0.0, 20.0, None),
        ];
        let faults = resolve(&ok, 4, 20.0).expect("valid");
        assert_eq!(faults[0].action.target(), "shard 1");
        assert_eq!(faults[3].end_s(), 20.0);
        let mut bad = ok.to_vec();
        bad.push(spec(FaultKind::SlowShard, 14.0, 1.0, Some(1)));
        let e = resolve(&bad, 4, 20.0).expect_err("overlap");
        assert_eq!((e.index, e.key), (4, "at-s"));
        assert!(e.message.contains("faults[1]"), "{}", e.message);
    }

    #[test]
    fn each_rule_names_its_key() {
        let cases: [(FaultSpec, &str); 6] = [
            (spec(FaultKind::ShardDown, 1.0, 1.0, None), "kind"),
            (
                spec(FaultKind::MaterializerPause, 1.0, 1.0, Some(0)),
                "shard",
            ),
            (spec(FaultKind::ShardDown, -1.0, 1.0, Some(0)), "at-s"),
            (spec(FaultKind::ShardDown, 1.0, 0.0, Some(0)), "for-s"),
            (spec(FaultKind::ShardDown, 15.0, 6.0, Some(0)), "for-s"),
            (spec(FaultKind::ShardDown, 1.0, 1.0, Some(4)), "shard"),
        ];
        for (s, key) in cases {
            let e = resolve(std::slice::from_ref(&s), 4, 20.0).expect_err("invalid");
            assert_eq!(e.key, key, "{s:?}: {}", e.message);
            assert!(e.message.starts_with(&format!("faults[0].{key}:")));
        }
    }
}
