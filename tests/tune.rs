//! `feedlab tune` end to end on a small scenario (`tests/tune/small.toml`, simulated, seconds):
//! the answer meets every target when re-simulated with another seed, one unit less of its
//! saturating resource breaks a target, an impossible target is a clear "no deployment"
//! with the closest candidate and a failing exit, and bad input names file, line and key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SMALL: &str = "tests/tune/small.toml";

fn feedlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(args)
        .output()
        .expect("run feedlab")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Runs `feedlab tune` on the small scenario into `out` with `sets`.
fn tune(out: &Path, sets: &[&str]) -> Output {
    let mut args = vec!["tune", SMALL, "--out", out.to_str().expect("utf-8")];
    for s in sets {
        args.extend(["--set", s]);
    }
    feedlab(&args)
}

/// Simulates the resolved `spec` (written to `dir/spec.json`) with `seed`; its summary.
fn simulate(dir: &Path, spec: &Value, seed: u64) -> Value {
    std::fs::create_dir_all(dir).expect("mkdir");
    let file = dir.join("spec.json");
    std::fs::write(&file, serde_json::to_string_pretty(spec).expect("json")).expect("write");
    let out = dir.join("out");
    let seed = seed.to_string();
    let o = feedlab(&[
        "compare",
        file.to_str().expect("utf-8"),
        "--seed",
        &seed,
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let variant = spec["variant"].as_str().expect("variant");
    read(&out.join(variant).join("summary.json"))
}

/// The targets `s` breaks (feed p99, freshness p99, any drop), judged as the spec's targets say.
fn breaches(spec: &Value, s: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let feed = num(&s["ops"]["feed"]["p99_ms"]);
    let limit = num(&spec["target"]["feed-p99-ms"]);
    if feed > limit {
        out.push(format!("feed p99 {feed} > {limit}"));
    }
    let fresh = num(&s["fanout"]["freshness_p99_ms"]);
    let flimit = num(&spec["target"]["freshness-p99-s"]) * 1000.0;
    if fresh > flimit {
        out.push(format!("freshness p99 {fresh} > {flimit}"));
    }
    for (op, v) in s["ops"].as_object().expect("ops") {
        let dropped = v["dropped"].as_u64().unwrap_or(0) + v["shed"].as_u64().unwrap_or(0);
        if dropped > 0 {
            out.push(format!("{op} dropped {dropped}"));
        }
    }
    out
}

/// `spec` with one unit less of `role`, as `feedlab tune` builds a candidate's spec.
fn one_less(spec: &Value, role: &str) -> Value {
    let mut s = spec.clone();
    let dec = |v: &mut Value| *v = Value::from(v.as_u64().expect("count") - 1);
    match role {
        "shards" => dec(&mut s["system"]["sharding"]["shards"]),
        "read-servers" => dec(&mut s["sim"]["read-servers"]),
        "blob-nodes" => {
            let per = s["sim"]["blob-workers"].as_u64().expect("workers")
                / s["sim"]["deployment"]["blob-nodes"]
                    .as_u64()
                    .expect("nodes");
            dec(&mut s["sim"]["deployment"]["blob-nodes"]);
            let n = s["sim"]["deployment"]["blob-nodes"]
                .as_u64()
                .expect("nodes");
            s["sim"]["blob-workers"] = Value::from(per * n);
        }
        "write-servers" => {
            let w = s["sim"]["write-servers"].as_u64().expect("w") as f64;
            let rate = num(&s["sim"]["materializer-rate-per-s"]) / w;
            dec(&mut s["sim"]["write-servers"]);
            s["sim"]["materializer-rate-per-s"] = Value::from(rate * (w - 1.0));
        }
        other => panic!("not a count role: {other}"),
    }
    s
}

#[test]
fn the_answer_meets_every_target_at_another_seed_and_one_unit_less_breaks_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("tune");
    let o = tune(&out, &["tune.sensitivity=[]"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = read(&out.join("tune.json"));
    let answer = &report["answer"];
    assert!(answer.is_object(), "an answer: {report}");
    assert!(num(&answer["usd_per_month"]) > 0.0);
    assert!(out.join("report.md").exists() && out.join("report.html").exists());
    assert!(out.join("plots/tune-frontier.svg").exists());
    let md = std::fs::read_to_string(out.join("report.md")).expect("md");
    assert!(
        md.contains("## Pareto frontier") && md.contains("Bandwidth at the peak"),
        "{md}"
    );
    assert!(md.contains("egress, no CDN"), "{md}");

    // Another seed: every target still holds at the headroom.
    let spec = read(&out.join("answer/spec.json"));
    let seed = spec["seed"].as_u64().expect("seed") + 1000;
    let again = simulate(&dir.path().join("again"), &spec, seed);
    let broken = breaches(&spec, &again);
    assert!(
        broken.is_empty(),
        "the answer at seed {seed} breaks {broken:?}"
    );

    // One unit less of the saturating resource breaks a target.
    let role = answer["saturating"]["role"]
        .as_str()
        .expect("a saturating role");
    let listed: Vec<&str> = answer["minus_one"]
        .as_array()
        .expect("minus_one")
        .iter()
        .filter_map(|m| m["role"].as_str())
        .collect();
    assert!(listed.contains(&role), "{role} not in {listed:?}");
    let less = one_less(&spec, role);
    let fewer = simulate(&dir.path().join("less"), &less, seed);
    let broken = breaches(&less, &fewer);
    assert!(
        !broken.is_empty(),
        "one unit less of {role} still meets every target"
    );
}

#[test]
fn an_impossible_target_is_no_deployment_with_the_closest_candidate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("tune");
    let o = tune(&out, &["target.feed-p99-ms=0.1", "tune.sensitivity=[]"]);
    assert!(!o.status.success(), "an impossible target must fail");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("no deployment in the space meets every target"),
        "{err}"
    );
    assert!(err.contains("closest candidate:"), "{err}");
    let report = read(&out.join("tune.json"));
    assert!(report["answer"].is_null(), "never a silent pick");
    let closest = &report["unmet"]["closest"];
    assert!(num(&closest["feed_p99_ms"]) > 0.1, "{closest}");
    assert!(!out.join("answer/spec.json").exists());
}

/// A scenario in `dir` from the small one with `extra` appended; its path.
fn variant_of(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(SMALL).expect("small") + extra;
    let path = dir.join("bad.toml");
    std::fs::write(&path, text).expect("write");
    path
}

/// The 1-based line of the first line of `file` starting with `prefix`.
fn line_of(file: &Path, prefix: &str) -> usize {
    std::fs::read_to_string(file)
        .expect("read")
        .lines()
        .position(|l| l.starts_with(prefix))
        .expect("line")
        + 1
}

fn fails_at(path: &Path, prefix: &str, key: &str) {
    let out = path.parent().expect("dir").join("out");
    let o = feedlab(&[
        "tune",
        path.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let at = format!("{}:{}", path.display(), line_of(path, prefix));
    assert!(err.contains(&at), "{at} not in {err}");
    assert!(err.contains(key), "{key} not in {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn bad_input_names_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A bound that excludes every candidate.
    let p = variant_of(dir.path(), "shards = { min = 9, max = 4 }\n");
    fails_at(&p, "shards = {", "tune.shards");
    let p = variant_of(dir.path(), "cache-entries = 1_000_000_000_000\n");
    fails_at(&p, "cache-entries", "tune.cache-entries");
    // Faults: tune sizes for steady load.
    let p = variant_of(
        dir.path(),
        "\n[[faults]]\nkind = \"materializer-pause\"\nat-s = 1.0\nfor-s = 1.0\n",
    );
    fails_at(&p, "[[faults]]", "faults");
    // An unknown machine type.
    let p = variant_of(dir.path(), "app-machine = \"z9.huge\"\n");
    fails_at(&p, "app-machine", "tune.app-machine");
    // A catalogue with a negative price: the catalogue's own file, line and key.
    let example = std::fs::read_to_string("catalogue/example.toml").expect("example");
    let cat = dir.path().join("cat.toml");
    std::fs::write(
        &cat,
        example.replacen("usd-per-hour = 0.0816", "usd-per-hour = -1.0", 1),
    )
    .expect("write");
    let text = std::fs::read_to_string(SMALL).expect("small").replacen(
        "[plan]\n",
        "[plan]\ncatalogue = \"cat.toml\"\n",
        1,
    );
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, text).expect("write");
    let o = feedlab(&["tune", p.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let at = format!(
        "{}:{}: machines.0.usd-per-hour",
        cat.display(),
        line_of(&cat, "usd-per-hour = -1")
    );
    assert!(err.contains(&at), "{at} not in {err}");
}
