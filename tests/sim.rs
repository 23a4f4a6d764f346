//! `feedlab sim` end to end: reproducibility of summary.json per seed (all but its
//! `provenance`, which names the machine and the time) and
//! the validation queue against theory through the CLI. The simulator predicting
//! a live ladder is in `sim_predict.rs`, its own binary, so nothing runs beside it.

mod common;

use std::path::Path;

use common::simtest::{feedlab, free_box, read, scenario};
use serde_json::Value;

/// `summary.json` of a sim run under `out` without its `provenance` (when and where it ran).
fn modelled(out: &Path) -> Value {
    let mut v = read(&out.join("default/summary.json"));
    let p = v.as_object_mut().and_then(|o| o.remove("provenance"));
    assert!(
        p.is_some_and(|p| p["scenario_hash"].is_string()),
        "provenance"
    );
    v
}

#[test]
fn same_seed_gives_identical_summaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 5.0, 2160.0, "");
    let mut texts = Vec::new();
    for run in ["a", "b"] {
        let out = dir.path().join(run);
        let out = out.to_str().expect("utf-8 path");
        feedlab(&["sim", &file, "--seed", "7", "--out", out]);
        texts.push(modelled(Path::new(out)));
    }
    assert_eq!(
        texts[0], texts[1],
        "summary.json differs between equal-seed runs"
    );
    let v = texts[0].clone();
    assert_eq!(v["mode"], "sim");
    assert!(v["ops"]["feed"]["count"].as_u64().unwrap_or(0) > 100, "{v}");
    assert!(v["fanout"]["timeline_writes"].as_u64().unwrap_or(0) > 0);
    assert_eq!(v["sim"]["shards"].as_array().map(Vec::len), Some(4));
    // The simulator's side of the work counters: a photo fetch reads one blob, an upload
    // stores one, a feed makes at least one shard call.
    let work = |op: &str, what: &str| v["work"][op][what].as_f64().unwrap_or(-1.0);
    assert_eq!(work("photo_get", "blob_calls"), 1.0, "{}", v["work"]);
    assert_eq!(work("upload", "blob_calls"), 1.0, "{}", v["work"]);
    assert!(work("feed", "storage_calls") >= 1.0, "{}", v["work"]);
    // A different seed gives a different run (the check above can fail).
    let out = dir.path().join("c");
    let out = out.to_str().expect("utf-8 path");
    feedlab(&["sim", &file, "--seed", "8", "--out", out]);
    assert_ne!(texts[0], modelled(Path::new(out)), "seed must matter");
    common::schema::assert_valid_outputs(dir.path());
}

#[test]
fn validation_queue_reports_waits_next_to_theory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 path");
    let scen = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/validate-mmc.toml");
    let stdout = feedlab(&[
        "sim",
        scen,
        "--out",
        out,
        "--set",
        "sim.queue.arrival-rate=2.0",
        "--set",
        "sim.queue.customers=1000000",
    ]);
    assert!(stdout.contains("theory"), "{stdout}");
    let v = read(&dir.path().join("default/summary.json"));
    let q = &v["sim"]["queue"];
    assert_eq!(q["arrival_rate"].as_f64(), Some(2.0), "--set applied");
    let err = q["mean_wait_error"].as_f64().expect("mean error");
    assert!(err.abs() < 0.03, "mean wait {err:+.3} off theory: {q}");
    let p99 = q["p99_wait_error"].as_f64().expect("p99 error");
    assert!(p99.abs() < 0.05, "p99 wait {p99:+.3} off theory: {q}");
    common::schema::assert_valid_outputs(dir.path());
}

/// The resource model against the utilisation law U = X·D: on one box of 2 cores, with
/// every storage call and app step free and the generator and background CPU fixed at 1 ms
/// and 0.5 ms per op, the box's CPU utilisation is ops/s × 1.5 ms ÷ 2 cores, and it is the
/// bottleneck. Cores twice as fast (`cpu-speed = 2`) halve every demand, and so the
/// utilisation.
#[test]
fn one_box_cpu_utilisation_is_throughput_times_demand() {
    for speed in [1.0, 2.0] {
        let dir = tempfile::tempdir().expect("tempdir");
        let extra = free_box("");
        let file = scenario(dir.path(), 20.0, 2160.0, &extra);
        let out = dir.path().join("out");
        let set = format!("sim.deployment.cpu-speed={speed}");
        feedlab(&[
            "sim",
            &file,
            "--out",
            out.to_str().expect("utf-8"),
            "--set",
            &set,
        ]);
        let v = read(&out.join("default/summary.json"));
        let ops: f64 = v["ops"]
            .as_object()
            .expect("ops")
            .values()
            .map(|o| o["count"].as_f64().unwrap_or(0.0) + o["dropped"].as_f64().unwrap_or(0.0))
            .sum();
        let x = ops / v["duration_s"].as_f64().expect("duration");
        let want = x * 1.5e-3 / 2.0 / speed;
        let cpu = v["sim"]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == "box-cpu"))
            .expect("box-cpu reported");
        let u = cpu["utilisation"].as_f64().expect("utilisation");
        assert!(want * speed > 0.2, "the check needs a busy box: {want}");
        assert!(
            (u / want - 1.0).abs() < 0.03,
            "speed {speed}: U {u} vs X*D/c {want} (X = {x}/s)"
        );
        assert_eq!(v["sim"]["bottleneck"], "box-cpu");
        // One box: the cores in use are its utilisation times its 2 cores.
        let cores = v["sim"]["cpu_cores"].as_f64().expect("cpu_cores");
        assert!((cores / (2.0 * u) - 1.0).abs() < 0.03, "{cores} vs {u}");
        common::schema::assert_valid_outputs(&out);
    }
}

/// On the free box (1.5 ms of generator and background CPU per op on 2 cores), the box's CPU
/// utilisation is the utilisation law's, with `feed_ms` more CPU per feed read.
fn assert_free_box_cpu(v: &Value, feed_ms: f64) {
    let count = |op: &str| v["ops"][op]["count"].as_f64().unwrap_or(0.0);
    let kinds = [
        "upload",
        "feed",
        "photo_get",
        "search",
        "follow",
        "unfollow",
    ];
    let ops: f64 = kinds.iter().map(|op| count(op)).sum();
    let secs = v["duration_s"].as_f64().expect("duration");
    let want = (ops * 1.5 + count("feed") * feed_ms) / 1e3 / secs / 2.0;
    let cpu = v["sim"]["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["name"] == "box-cpu"))
        .expect("box-cpu reported");
    let u = cpu["utilisation"].as_f64().expect("utilisation");
    assert!((u / want - 1.0).abs() < 0.05, "U {u} vs X*D/c {want}");
}

/// An op kind's transport CPU (`http-<kind>`) lies on its own path: feed reads pay the
/// generator's 1 ms and their 3 ms of transport before reaching the (free) app server, other
/// kinds only the generator's, and the box's utilisation counts the transport too.
#[test]
fn transport_cpu_is_on_the_path_of_its_own_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = free_box("http-feed = { kind = \"deterministic\", ms = 3.0 }\n");
    let file = scenario(dir.path(), 20.0, 216.0, &extra);
    let out = dir.path().join("out");
    feedlab(&["sim", &file, "--out", out.to_str().expect("utf-8")]);
    let v = read(&out.join("default/summary.json"));
    let p50 = |op: &str| v["ops"][op]["p50_ms"].as_f64().expect("p50");
    assert!(
        p50("feed") >= 4.0 && p50("feed") < 4.5,
        "feed p50 {}",
        p50("feed")
    );
    assert!(
        p50("search") >= 1.0 && p50("search") < 1.5,
        "search p50 {}",
        p50("search")
    );
    assert_free_box_cpu(&v, 3.0);
}

/// A transport that is partly waiting: `http-feed` takes 3 ms of which the calibration says
/// 1 ms is CPU (`cpu-mean-ms`), so feed reads still take the generator's 1 ms and 3 ms of
/// transport before the (free) app server, but the box's cores carry only the 1 ms.
#[test]
fn a_transport_spends_its_cpu_share_on_the_cores_and_waits_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cal = dir.path().join("calibration.toml");
    std::fs::write(
        &cal,
        "[[ops]]\nop = \"http-feed\"\nn = 1\ncount = 100\nmean-ms = 3.0\n\
         quantiles-ms = [[0.0, 3.0], [1.0, 3.0]]\ncpu-mean-ms = 1.0\n",
    )
    .expect("calibration");
    let extra = free_box("http-feed = { kind = \"deterministic\", ms = 3.0 }\n");
    let file = scenario(dir.path(), 20.0, 216.0, &extra);
    let out = dir.path().join("out");
    let cal = format!("sim.calibration={}", cal.display());
    feedlab(&[
        "sim",
        &file,
        "--set",
        &cal,
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let v = read(&out.join("default/summary.json"));
    let p50 = v["ops"]["feed"]["p50_ms"].as_f64().expect("p50");
    assert!((4.0..4.5).contains(&p50), "feed p50 {p50}");
    assert_free_box_cpu(&v, 1.0);
}

/// `sim.client-max-in-flight` drops what the live driver would not start: on the free box
/// (1.5 ms of CPU per op on 2 cores, about 1,333 ops/s) offered about 2.8 times that, a
/// client limited to 64 ops in flight keeps the box serving at its capacity, at about
/// 64 / 1,333 s of latency (Little), and drops the rest; a client without the limit piles
/// every op's CPU onto the cores, where each gets a sliver and waits seconds.
#[test]
fn a_client_in_flight_limit_drops_the_excess_for_no_cpu() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 5.0, 17_280.0, &free_box(""));
    let run = |limit: Option<&str>| {
        let out = dir.path().join(limit.unwrap_or("none"));
        let mut args = vec!["sim", &file, "--out", out.to_str().expect("utf-8")];
        let set = limit.map(|l| format!("sim.client-max-in-flight={l}"));
        if let Some(s) = &set {
            args.extend(["--set", s]);
        }
        feedlab(&args);
        read(&out.join("default/summary.json"))
    };
    let per_s = |v: &Value, what: &str| -> f64 {
        let n: f64 = v["ops"]
            .as_object()
            .expect("ops")
            .values()
            .map(|o| o[what].as_f64().unwrap_or(0.0))
            .sum();
        n / v["duration_s"].as_f64().expect("duration")
    };
    let feed_ms = |v: &Value, q: &str| v["ops"]["feed"][q].as_f64().expect("feed latency");
    let limited = run(Some("64"));
    let capacity = 2.0 / 1.5e-3;
    let served = per_s(&limited, "count");
    assert!(
        served > 0.9 * capacity && served < 1.05 * capacity,
        "served {served:.0}/s with the limit, capacity {capacity:.0}/s"
    );
    let dropped = per_s(&limited, "dropped");
    assert!(dropped > 0.5 * capacity, "dropped {dropped:.0}/s");
    assert!(
        feed_ms(&limited, "p99_ms") < 100.0,
        "{}",
        limited["ops"]["feed"]
    );
    let unlimited = run(None);
    assert_eq!(
        per_s(&unlimited, "dropped"),
        0.0,
        "nothing drops without the limit"
    );
    assert!(
        feed_ms(&unlimited, "p50_ms") > 1_000.0,
        "{}",
        unlimited["ops"]["feed"]
    );
}

/// A calibration's `[cpu-fall]` makes client, app and background CPU cheaper on a busier box
/// (the burst measures the fall of all CPU per op that is not storage calls): on the free
/// box at 70% busy (1.5 ms per op: the generator's 1 ms and 0.5 ms of background), a fall
/// from 10% busy to half the cost at 50% leaves the box 42% busy (self-consistently:
/// `ρ = 0.7 · (1 − 1.25 (ρ − 0.1))`), where a fall of the generator's CPU alone would leave
/// it 48% busy; `sim.cpu-fall = false` ignores it.
#[test]
fn a_cpu_fall_makes_client_cpu_cheaper_on_a_busier_box() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cal = dir.path().join("fall.toml");
    std::fs::write(
        &cal,
        "[cpu-fall]\nbusy = 0.1\nburst-busy = 0.5\nratio = 0.5\n",
    )
    .expect("write");
    let extra = format!(
        "calibration = {:?}\n{}",
        cal.display().to_string(),
        free_box("")
    );
    let file = scenario(dir.path(), 10.0, 4_320.0, &extra);
    let run = |fall: &str| {
        let out = dir.path().join(fall);
        let set = format!("sim.cpu-fall={fall}");
        feedlab(&[
            "sim",
            &file,
            "--set",
            &set,
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        let v = read(&out.join("default/summary.json"));
        let cpu = v["sim"]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == "box-cpu"))
            .map(|r| r["utilisation"].as_f64().expect("utilisation"))
            .expect("box-cpu reported");
        let ops: f64 = v["ops"]
            .as_object()
            .expect("ops")
            .values()
            .map(|o| o["count"].as_f64().unwrap_or(0.0))
            .sum();
        (cpu, ops / v["duration_s"].as_f64().expect("duration"))
    };
    let (held, x) = run("false");
    let want = x * 1.5e-3 / 2.0;
    assert!((held / want - 1.0).abs() < 0.05, "U {held} vs X*D/c {want}");
    let (fallen, _) = run("true");
    let ratio = fallen / held;
    assert!(ratio > 0.55 && ratio < 0.65, "{fallen} / {held} = {ratio}");
}

/// `driver.calibration-burst`: after its measured window a live run drives the service at its
/// own load and then at the burst's multiple, and its in-situ calibration says what both
/// phases ran and the first phase's CPU per op; a `[cpu-fall]`, when the burst loaded the box
/// enough to measure one, is in range (the simulator's reader checks it).
#[test]
fn a_calibration_burst_runs_both_phases_and_writes_a_readable_calibration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 3.0, 216.0, "");
    let out = dir.path().join("out");
    feedlab(&[
        "run",
        &file,
        "--set",
        "driver.calibration-burst=4",
        "--set",
        "driver.calibration-burst-s=1",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let path = out.join("default/calibration.toml");
    let text = std::fs::read_to_string(&path).expect("calibration written");
    let cal = feedlab_sim::model::Calibration::load(&path).expect("the reader accepts it");
    let ran = |phase: &str| -> f64 {
        let at = text
            .find(phase)
            .unwrap_or_else(|| panic!("no {phase} in {text}"));
        let rest = &text[at + phase.len()..];
        let n = rest
            .split(" ops ran")
            .next()
            .and_then(|s| s.rsplit(' ').next());
        n.and_then(|n| n.parse().ok()).expect("ops ran")
    };
    let (base, high) = (ran("burst: x1 for "), ran("then x4 for "));
    assert!(base > 0.0, "{text}");
    assert!(
        high > 2.0 * base && high < 6.0 * base,
        "x1 ran {base}, x4 ran {high}"
    );
    if let Some(f) = cal.cpu_fall {
        assert!(f.busy < f.burst_busy && f.ratio > 0.0, "{f:?}");
    }
    // The first phase measured the run's own load again, for a sweep to compare.
    let p = &cal.provenance;
    assert!(
        p.burst_cpu_per_op_ms.is_some_and(|b| b > 0.0) && p.cpu_per_op_ms.is_some_and(|w| w > 0.0),
        "{p:?}"
    );
}
