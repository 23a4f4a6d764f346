//! `feedlab plan`'s bandwidth, cache and money through the real binary: the figures follow
//! the workload's arithmetic, the catalogue in use is named, and a bad catalogue or machine
//! type is an error that names the file, the line and the key (exit code 2).

use std::path::Path;
use std::process::{Command, Output};

fn feedlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run feedlab")
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().expect("number")
}

#[test]
fn instagram_seed_bandwidth_cache_and_bill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/instagram-seed.toml");
    let out = feedlab(&[
        "plan",
        file.to_str().expect("utf-8"),
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).expect("plan.json"))
            .expect("json");
    let n = &p["network"];
    // 1M daily actives × 20 feeds × 5 views × 200 KB = 20 TB a day of photo reads; at the
    // diurnal peak (2×) that is 20e12 × 8 / 86,400 × 2 bit/s.
    let egress = 20e12 * 8.0 / 86_400.0 * 2.0 / 1e9;
    assert!(
        (num(&n["egress_peak_gbps"]) / egress - 1.0).abs() < 1e-6,
        "{n}"
    );
    let hit = num(&n["cdn_hit_ratio"]);
    assert!((num(&n["egress_peak_gbps_with_cdn"]) / (egress * (1.0 - hit)) - 1.0).abs() < 1e-6);
    assert!(
        (num(&n["photo_cache_bytes"]) / 4e12 - 1.0).abs() < 1e-6,
        "80/20 of 20 TB"
    );
    let c = &p["cost"];
    assert!(
        c["catalogue"]
            .as_str()
            .expect("name")
            .contains("catalogue/example.toml")
    );
    assert!(num(&c["egress_usd_with_cdn"]) < num(&c["egress_usd"]));
    let md = std::fs::read_to_string(dir.path().join("plan.md")).expect("plan.md");
    assert!(
        md.contains("Monthly cost") && md.contains("with the CDN"),
        "{md}"
    );
}

fn failing_plan(dir: &Path, scenario: &str, catalogue: Option<&str>) -> String {
    if let Some(text) = catalogue {
        std::fs::write(dir.join("cat.toml"), text).expect("write catalogue");
    }
    let file = dir.join("s.toml");
    std::fs::write(&file, scenario).expect("write scenario");
    let out = feedlab(&[
        "plan",
        file.to_str().expect("utf-8"),
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn a_bad_catalogue_or_machine_names_the_file_line_and_key() {
    let example = include_str!("../catalogue/example.toml");
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = "[scenario]\nname = \"s\"\n\n[plan]\ncatalogue = \"cat.toml\"\n";
    let negative = example.replacen("usd-per-gb = 0.09", "usd-per-gb = -0.09", 1);
    let line = negative
        .lines()
        .position(|l| l.starts_with("usd-per-gb = -0.09"))
        .expect("line")
        + 1;
    let err = failing_plan(dir.path(), scenario, Some(&negative));
    assert!(err.contains("s.toml:5: plan.catalogue"), "{err}");
    assert!(
        err.contains(&format!("cat.toml:{line}: egress.usd-per-gb")),
        "{err}"
    );
    let machine = "[scenario]\nname = \"s\"\n\n[plan]\nmachine = \"z9.huge\"\n";
    let err = failing_plan(dir.path(), machine, None);
    assert!(
        err.contains("s.toml:5: plan.machine") && err.contains("m7g.large"),
        "{err}"
    );
}
