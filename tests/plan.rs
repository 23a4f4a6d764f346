//! `feedlab plan` and `feedlab population` through the real binary: the original
//! design's arithmetic comes out exactly, replication multiplies, fan-out strategies
//! order as they must, and the population CSV has the promised shape.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_feedlab");

fn feedlab(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run feedlab")
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn plan(name: &str, extra: &[&str]) -> (tempfile::TempDir, serde_json::Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(name);
    let mut args = vec![
        "plan",
        file.to_str().expect("utf-8"),
        "--out",
        dir.path().to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let out = feedlab(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read(dir.path().join("plan.json")).expect("plan.json written");
    let md = std::fs::read_to_string(dir.path().join("plan.md")).expect("plan.md written");
    (
        dir,
        serde_json::from_slice(&json).expect("plan.json parses"),
        md,
    )
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn seed_arithmetic_comes_out_exactly() {
    let (_d, p, md) = plan("instagram-seed.toml", &[]);
    let ph = &p["photos"];
    assert!(close(num(&ph["bytes_per_day"]), 400e9), "{ph}");
    assert!(close(num(&ph["gb_per_day"]), 400.0));
    assert!(close(num(&ph["bytes_total"]), 730e12));
    assert!(close(num(&ph["tb_total"]), 730.0));
    let seed = num(&ph["seed_figure_gb_over_1024"]);
    assert!(
        close(seed, 730_000.0 / 1024.0) && seed.floor() == 712.0,
        "{seed}"
    );
    let tib = num(&ph["tib_total"]);
    assert!((tib - 663.93).abs() < 0.01, "{tib}");
    let rf = num(&p["replication_factor"]);
    assert_eq!(rf, 3.0);
    assert!(close(num(&ph["replicated_bytes_per_day"]), 400e9 * rf));
    assert!(close(num(&ph["replicated_bytes_total"]), 730e12 * rf));
    assert!(close(num(&ph["erasure_bytes_total"]), 730e12 * 1.5));
    // The report says how each figure is derived.
    assert!(md.contains("400.0 GB"), "{md}");
    assert!(md.contains("730.0 TB"), "{md}");
    assert!(md.contains("712.9"), "{md}");
    assert!(md.contains("663.9 TiB"), "{md}");
    assert!(md.contains("÷ 1024"), "{md}");
    // The users table is 68 B × 300M.
    let users = &p["metadata"][0];
    assert_eq!(users["table"], "users");
    assert!(close(num(&users["bytes"]), 68.0 * 300e6));
}

#[test]
fn shards_servers_and_growth_are_consistent() {
    let (_d, p, _) = plan("instagram-seed.toml", &[]);
    let sh = &p["shards"];
    let meta_shards = num(&sh["metadata_shards"]);
    assert!(meta_shards >= 1.0);
    assert!(num(&sh["metadata_shards_replicated"]) >= meta_shards);
    // 730 TB over 4 TB nodes = 182.5 → 183; × 3 replicas = 547.5 → 548.
    assert_eq!(num(&sh["photo_nodes"]), 183.0);
    assert_eq!(num(&sh["photo_nodes_replicated"]), 548.0);
    let web = &p["web"];
    assert!(num(&web["read_servers"]) >= 1.0 && num(&web["write_servers"]) >= 1.0);
    let growth = p["growth"].as_array().expect("growth rows");
    assert_eq!(growth.len(), 5);
    assert!(close(num(&growth[0]["photo_bytes"]), 400e9 * 365.0));
    assert!(close(num(&growth[4]["photo_bytes"]), 730e12));
    for g in growth {
        assert!(close(
            num(&g["photo_bytes_replicated"]),
            3.0 * num(&g["photo_bytes"])
        ));
    }
    // Growth and replication keys change the figures accordingly.
    let (_d2, p2, _) = plan(
        "instagram-seed.toml",
        &[
            "--set",
            "plan.growth-per-year=0.5",
            "--set",
            "plan.replication-factor=2",
        ],
    );
    let g2 = p2["growth"].as_array().expect("growth rows");
    assert!(close(num(&g2[1]["photo_bytes"]), 400e9 * 365.0 * 2.5));
    assert!(close(
        num(&p2["photos"]["replicated_bytes_total"]),
        2.0 * num(&p2["photos"]["bytes_total"])
    ));
}

fn writes_per_s(p: &serde_json::Value) -> std::collections::HashMap<String, f64> {
    p["fanout"]
        .as_array()
        .expect("fanout rows")
        .iter()
        .map(|f| {
            (
                f["strategy"].as_str().expect("name").to_string(),
                num(&f["writes_per_s"]),
            )
        })
        .collect()
}

#[test]
fn fanout_push_exceeds_hybrid_exceeds_pull() {
    for file in ["instagram-seed.toml", "twitter-2012.toml", "celebrity.toml"] {
        let (_d, p, _) = plan(file, &[]);
        let w = writes_per_s(&p);
        assert!(w["push"] > w["hybrid"], "{file}: {w:?}");
        assert!(w["hybrid"] > w["pull"], "{file}: {w:?}");
        assert_eq!(w["pull"], 0.0, "{file}");
        // Push writes every follower: uploads/s × mean followees.
        let uploads_s = num(&p["photos"]["uploads_per_day"]) / 86_400.0;
        assert!(
            (w["push"] / (uploads_s * num(&p["mean_followees"])) - 1.0).abs() < 1e-9,
            "{file}: {w:?}"
        );
        let tl: Vec<f64> = p["fanout"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|f| num(&f["timeline_bytes"]))
            .collect();
        assert!(
            tl[0] >= tl[2] && tl[1] == 0.0,
            "{file}: push, pull, hybrid {tl:?}"
        );
    }
    // twitter-2012: 4.6k posts/s × 75 = 345k writes/s under push.
    let (_d, p, _) = plan("twitter-2012.toml", &[]);
    assert!((writes_per_s(&p)["push"] - 4600.0 * 75.0).abs() < 1.0);
    // A lower hybrid threshold pulls more authors, so fewer writes.
    let (_d, low, _) = plan(
        "instagram-seed.toml",
        &["--set", "system.fanout.hybrid-threshold=1000"],
    );
    let (_d, high, _) = plan("instagram-seed.toml", &[]);
    assert!(writes_per_s(&low)["hybrid"] < writes_per_s(&high)["hybrid"]);
}

#[test]
fn population_csv_has_n_rows_and_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("sub/pop.csv");
    let file = scenario("instagram-seed.toml");
    let out = feedlab(&[
        "population",
        file.to_str().expect("utf-8"),
        "--sample",
        "1234",
        "--out",
        csv.to_str().expect("utf-8"),
        "--set",
        "population.users=300000000",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("csv written");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("user_id,followers,followees,daily_active")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1234);
    let mut ids = std::collections::HashSet::new();
    for r in &rows {
        let cols: Vec<&str> = r.split(',').collect();
        assert_eq!(cols.len(), 4, "{r}");
        let id: u64 = cols[0].parse().expect("id");
        assert!(id < 300_000_000);
        assert!(ids.insert(id), "duplicate id {id}");
        cols[1].parse::<u64>().expect("followers");
        cols[2].parse::<u64>().expect("followees");
        assert!(cols[3] == "true" || cols[3] == "false");
    }
    // Sampling more users than exist fails cleanly.
    let out = feedlab(&[
        "population",
        file.to_str().expect("utf-8"),
        "--sample",
        "2000",
        "--set",
        "population.users=1000",
        "--set",
        "population.daily-active=10",
        "--set",
        "population.max-followees=100",
        "--set",
        "population.mean-followees=10",
        "--out",
        csv.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot sample 2000 of 1000"), "{err}");
}
