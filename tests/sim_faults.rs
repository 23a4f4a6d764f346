//! `feedlab sim` with `[[faults]]` end to end: a small scaled scenario with a slow shard, a
//! down shard and a materializer pause writes the live run's `faults` outcomes (peak feed
//! p99, failed ops, recovery) read from its own per-second `series`, and the files match the
//! JSON schemas.

mod common;

use common::simtest::{feedlab, read};

/// A scaled scenario of 12 s on 4 shards, over a 200k-user population (1,000 live users, so
/// the population builds in a few seconds in a debug build), with three fault windows.
const SCENARIO: &str = r#"
[scenario]
name = "simfaults"
seed = 42
mode = "sim"
duration-s = 12.0

[population]
users = 200_000
daily-active = 20_000
scale = 0.005

[traffic]
uploads-per-day = 1_000_000.0
views-per-feed = 2.0
speedup = 2160.0
diurnal-peak = 1.0

[system.fanout]
kind = "hybrid"
hybrid-threshold = 200

[system.sharding]
kind = "user"
shards = 4

[target]
feed-p99-ms = 200.0

[sim]
population = "scaled"
network = { kind = "deterministic", ms = 0.0 }
shard-calls = "serial"
shard-workers = 2
read-servers = 1
write-servers = 1
[[faults]]
kind = "slow-shard"
at-s = 3.0
for-s = 2.0
shard = 1
extra-ms = 50.0

[[faults]]
kind = "shard-down"
at-s = 6.0
for-s = 1.0
shard = 2

[[faults]]
kind = "materializer-pause"
at-s = 8.0
for-s = 1.0
"#;

#[test]
fn a_simulated_run_writes_the_outcome_of_each_fault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("simfaults.toml");
    std::fs::write(&file, SCENARIO).expect("write scenario");
    let out = dir.path().join("out");
    let file = file.to_str().expect("utf-8");
    feedlab(&["sim", file, "--out", out.to_str().expect("utf-8")]);
    let v = read(&out.join("default/summary.json"));
    let faults = v["faults"].as_array().expect("faults listed");
    let kinds: Vec<&str> = faults.iter().filter_map(|f| f["kind"].as_str()).collect();
    assert_eq!(kinds, ["slow-shard", "shard-down", "materializer-pause"]);
    // Every feed in the window calls shard 1 at least once (hybrid: the followees' stats and
    // photos), one call after another: the peak p99 carries the 50 ms at least once.
    let peak = faults[0]["peak_feed_p99_ms"]
        .as_f64()
        .expect("feeds in the window");
    assert!(peak >= 50.0, "slow-shard peak feed p99 {peak}");
    assert_eq!(faults[0]["extra_ms"], 50.0);
    assert_eq!(faults[0]["failed"], 0, "a slow shard fails nothing");
    assert!(faults[0]["recovery_s"].as_f64().is_some(), "{}", faults[0]);
    assert!(
        faults[1]["failed"].as_u64().unwrap_or(0) > 0,
        "{}",
        faults[1]
    );
    assert!(faults[2]["peak_freshness_p99_ms"].as_f64().unwrap_or(0.0) > 0.0);
    // The series the outcomes were read from: a point per second and op kind, shed only
    // where shard 2 was down (ops due in second 5 may reach it after 6 s).
    let series = v["series"].as_array().expect("series");
    assert!(
        series
            .iter()
            .any(|p| p["kind"] == "feed" && p["second"] == 11)
    );
    for p in series {
        let s = p["second"].as_u64().expect("second");
        if !(5..7).contains(&s) {
            assert_eq!(p["shed"], 0, "shed outside the window: {p}");
        }
    }
    assert!(
        v["freshness_series"]
            .as_array()
            .is_some_and(|f| f.len() >= 12)
    );
    common::schema::assert_valid_outputs(dir.path());
}
