//! `feedlab run` end to end: a tiny live run over real HTTP produces a
//! complete summary.json, the comparison file and a
//! self-contained HTML report with its six plots.

mod common;

use std::path::Path;
use std::process::Command;

use common::{field, run, spec};
use serde_json::Value;

#[test]
fn tiny_live_run_writes_the_contract_and_a_self_contained_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path();
    let s = run(out, &spec("push", "push", "http"));
    assert_contract_types(&s);
    let p99 = assert_measured_ops(&s);
    assert_measured_storage_and_shards(&s);
    assert_policy_figures_and_target(&s, p99);
    assert!(
        !out.join("push/data").exists(),
        "data dir is removed without --keep-data"
    );
    assert_comparison_and_report(out);
}

/// Every contract field of the summary `s` is present with its type: names
/// are strings, counts are unsigned integers, measures are numbers, the
/// target verdict is a boolean, and each op kind has its full latency record.
fn assert_contract_types(s: &Value) {
    for key in [
        "feedlab",
        "scenario",
        "variant",
        "mode",
        "config.fanout",
        "config.sharding",
        "config.meta",
        "config.blob",
    ] {
        assert!(field(s, key).is_string(), "{key}");
    }
    assert_eq!(field(s, "mode"), "live");
    assert_eq!(field(s, "config.fanout"), "push");
    assert_eq!(field(s, "seed"), 7);
    for key in [
        "population.users",
        "population.materialized_users",
        "population.follows",
        "population.max_followers",
        "fanout.timeline_writes",
        "shards.count",
        "storage.meta_bytes",
        "storage.blob_bytes",
        "storage.timeline_bytes",
    ] {
        assert!(field(s, key).is_u64(), "{key} is not a count");
    }
    for key in [
        "population.alpha",
        "population.mean_followees",
        "duration_s",
        "fanout.writes_per_upload",
        "fanout.freshness_p50_ms",
        "fanout.freshness_p99_ms",
        "shards.load_max_over_mean",
        "target.feed_p99_ms",
    ] {
        assert!(field(s, key).is_number(), "{key} is not a number");
    }
    assert!(field(s, "target.met").is_boolean());
    for op in ["feed", "upload", "photo_get", "search", "follow"] {
        for f in [
            "count",
            "errors",
            "dropped",
            "rate_per_s",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "p999_ms",
            "max_ms",
        ] {
            assert!(
                field(s, &format!("ops.{op}.{f}")).is_number(),
                "ops.{op}.{f}"
            );
        }
    }
}

/// The population, feed latencies, uploads and push fan-out of `s` are
/// measured, not placeholders: 300 materialized users, over 1,000 follows,
/// feeds served with `0 < p50 <= p99`, uploads made, and each upload written
/// to more than one timeline with a positive freshness p99. Returns the feed
/// p99 in ms.
fn assert_measured_ops(s: &Value) -> f64 {
    // Measured, not placeholders.
    assert_eq!(field(s, "population.materialized_users"), 300);
    assert!(field(s, "population.follows").as_u64().expect("n") > 1_000);
    let feed = field(s, "ops.feed");
    assert!(feed["count"].as_u64().expect("count") > 0);
    let (p50, p99) = (
        feed["p50_ms"].as_f64().expect("p50"),
        feed["p99_ms"].as_f64().expect("p99"),
    );
    assert!(p50 > 0.0 && p99 >= p50, "feed p50 {p50} p99 {p99}");
    let uploads = field(s, "ops.upload.count").as_u64().expect("uploads");
    assert!(uploads > 0);
    // Push fan-out writes one timeline entry per follower of each upload.
    assert!(field(s, "fanout.timeline_writes").as_u64().expect("writes") > 0);
    assert!(field(s, "fanout.writes_per_upload").as_f64().expect("wpu") > 1.0);
    assert!(field(s, "fanout.freshness_p99_ms").as_f64().expect("fresh") > 0.0);
    p99
}

/// Storage of `s` is measured (timeline and blob bytes positive, metadata
/// bytes within the bounds its rows allow) and the run's four shards report
/// a load skew of at least 1.
fn assert_measured_storage_and_shards(s: &Value) {
    assert!(field(s, "storage.timeline_bytes").as_u64().expect("tb") > 0);
    assert!(field(s, "storage.blob_bytes").as_u64().expect("bb") > 0);
    // Metadata is measured logically: every follow is two rows (follows and
    // followers) of at least 17 key bytes each, and no row of this run's
    // tables is near 4 KiB, so the size must sit between those bounds (a
    // preallocated journal or an empty memtable would fall outside them).
    let follows = field(s, "population.follows").as_u64().expect("follows");
    let rows_bound = follows * 2 + field(s, "storage.timeline_rows").as_u64().expect("tr");
    let meta = field(s, "storage.meta_bytes").as_u64().expect("mb");
    assert!(
        meta >= follows * 2 * 17,
        "meta_bytes {meta} for {follows} follows"
    );
    assert!(meta < (rows_bound + 10_000) * 4096, "meta_bytes {meta}");
    assert_eq!(field(s, "shards.count"), 4);
    assert!(
        field(s, "shards.load_max_over_mean")
            .as_f64()
            .expect("skew")
            >= 1.0
    );
}

/// The fan-out policy figures of `s` (top author, hybrid threshold and
/// shares, the model's follower CCDF fit) are present and consistent, and
/// `target.met` agrees with the breaches listed, the feed's with the feed p99 `p99`
/// against the 200 ms target.
fn assert_policy_figures_and_target(s: &Value, p99: f64) {
    // Push writes one timeline entry per follower of the top author; the
    // hybrid threshold is reported at full scale and as applied live, with
    // the shares each pulls; the model's follower CCDF is beside the graph's.
    let top = field(s, "fanout.top_author");
    assert_eq!(&top["followers"], field(s, "population.max_followers"));
    assert_eq!(top["writes_per_upload"], top["followers"]);
    assert!(field(s, "fanout.hybrid.live_threshold").is_u64());
    assert_eq!(field(s, "fanout.hybrid.threshold"), 10_000);
    for share in [
        "full_author_share",
        "full_edge_share",
        "live_author_share",
        "live_edge_share",
    ] {
        let x = field(s, &format!("fanout.hybrid.{share}"))
            .as_f64()
            .expect("share");
        assert!((0.0..=1.0).contains(&x), "{share} {x}");
    }
    assert!(field(s, "population.model_follower_ccdf.fit.alpha").is_number());
    // Met means no breach; the feed rule is broken exactly when the p99 is over 200 ms.
    let breaches = s["target"]
        .get("breaches")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        field(s, "target.met").as_bool(),
        Some(breaches.is_empty()),
        "{breaches:?}"
    );
    let feed_broken = breaches.iter().any(|b| b["rule"] == "feed_p99");
    assert_eq!(feed_broken, p99 > 200.0, "{breaches:?}");
    assert_eq!(field(s, "target.max_dropped").as_f64(), Some(0.001));
}

/// The run's outputs under `out`: comparison.json points at the variant's
/// summary, report.html has its six inline plots and no external resource,
/// report.md has the feed p99 column, and all outputs match their schemas.
fn assert_comparison_and_report(out: &Path) {
    let cmp: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("comparison.json")).expect("comparison.json"),
    )
    .expect("json");
    assert_eq!(cmp["variants"][0]["summary"], "push/summary.json");

    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert_eq!(html.matches("<svg").count(), 6, "six inline plots");
    for id in [
        "latency",
        "feed-p99",
        "followers",
        "fanout",
        "shards",
        "storage",
    ] {
        assert!(html.contains(&format!("<figure id=\"{id}\">")), "{id}");
    }
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "<script",
        "<link",
    ] {
        assert!(!html.contains(attr), "external resource: {attr}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(md.contains("| feed p99 ms |"));
    common::schema::assert_valid_outputs(out);
}

#[test]
fn compare_runs_a_scenarios_variants_side_by_side() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedlab"));
    cmd.arg("compare")
        .arg(&scenario)
        .arg("--out")
        .arg(out)
        .arg("--seed")
        .arg("3");
    for set in [
        "scenario.duration-s=2",
        "population.scale=0.000002",
        "population.mean-followees=20",
        "driver.transport=\"direct\"",
        "driver.freshness-sample=0.5",
    ] {
        cmd.arg("--set").arg(set);
    }
    let res = cmd.output().expect("run feedlab compare");
    assert!(
        res.status.success(),
        "feedlab compare failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let table = String::from_utf8_lossy(&res.stdout);
    let cmp: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("comparison.json")).expect("comparison.json"),
    )
    .expect("json");
    let names: Vec<&str> = cmp["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["variant"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["push", "pull", "hybrid"]);
    let load = |v: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(out.join(v).join("summary.json")).expect("summary"),
        )
        .expect("json")
    };
    let (push, pull) = (load("push"), load("pull"));
    for (s, name) in [(&push, "push"), (&pull, "pull")] {
        assert_eq!(field(s, "variant"), name);
        assert_eq!(field(s, "config.fanout"), name);
        assert_eq!(field(s, "seed"), 3);
        assert_eq!(field(s, "config.transport"), "direct");
        assert!(field(s, "ops.feed.count").as_u64().expect("feeds") > 0);
        assert!(table.lines().any(|l| l.starts_with(name)), "{table}");
    }
    // Pull never writes timelines during the run; push does for every upload.
    assert_eq!(field(&pull, "fanout.timeline_writes"), 0);
    if field(&push, "ops.upload.count").as_u64().expect("uploads") > 0 {
        assert!(
            field(&push, "fanout.timeline_writes")
                .as_u64()
                .expect("writes")
                > 0
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert_eq!(html.matches("<svg").count(), 6);
    assert!(html.contains("<th>hybrid</th>"));
    common::schema::assert_valid_outputs(out);
}

#[test]
fn run_against_an_external_deployment_reads_its_metrics() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args([
            "serve",
            "--write-addr",
            "127.0.0.1:0",
            "--read-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--shards",
            "4",
            "--replicas",
            "1",
            "--fanout",
            "push",
            "--data",
        ])
        .arg(dir.path().join("served"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start feedlab serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("serve prints its addresses");
    let addr = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .map(|a| format!("http://{a}"))
            .expect("address")
    };
    let mut s = spec("external", "push", "http");
    s["population"]["scale"] = 0.00005.into();
    s["population"]["users"] = 3_000_000u64.into();
    s["population"]["mean-followees"] = 8.0.into();
    s["target"]["write-url"] = addr("write=").into();
    s["target"]["read-url"] = addr("read=").into();
    let out = dir.path().join("out");
    let summary = run(&out, &s);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(field(&summary, "config.transport"), "external");
    assert_eq!(field(&summary, "population.materialized_users"), 150);
    assert!(
        field(&summary, "population.follows")
            .as_u64()
            .expect("follows")
            > 100
    );
    assert!(field(&summary, "ops.feed.count").as_u64().expect("feeds") > 0);
    assert_eq!(field(&summary, "storage.measured"), false);
    // Shard counters come from the deployment's /metrics.
    assert_eq!(field(&summary, "shards.count"), 4);
    let loads = field(&summary, "shards.loads").as_array().expect("loads");
    assert!(loads.iter().any(|l| l["reads"].as_u64().unwrap_or(0) > 0));
    common::schema::assert_valid_outputs(&out);
}
