//! Tests of the per-second window checks.

use super::*;

fn window(second: u64, kind: &str, count: u64, cpu_us: f64) -> Window {
    Window {
        second,
        kind: kind.into(),
        count,
        p50_ms: Some(cpu_us / 100.0),
        p99_ms: None,
        cpu_us: Some(cpu_us),
        cpu_rel: None,
        run: 0,
        stolen: false,
    }
}

#[test]
fn metric_names_parse() {
    let m = TrialMetric::parse("work.feed.cpu_us").expect("cpu");
    assert_eq!((m.op.as_str(), m.field), ("feed", Field::CpuUs));
    let m = TrialMetric::parse("photo_get.p99_ms").expect("p99");
    assert_eq!((m.op.as_str(), m.field), ("photo_get", Field::P99));
    for bad in [
        "feed.p75_ms",
        "work.feed.keys_read",
        "feed",
        ".p50_ms",
        "a.b.p50_ms",
    ] {
        assert!(TrialMetric::parse(bad).is_none(), "{bad}");
    }
}

#[test]
fn warmup_last_second_small_and_other_kinds_are_dropped() {
    let mut w: Vec<Window> = (0..10).map(|s| window(s, "feed", 10, s as f64)).collect();
    w.push(window(5, "upload", 10, 99.0));
    w[4].count = 2;
    w[6].cpu_us = None;
    let m = TrialMetric::parse("work.feed.cpu_us").expect("cpu");
    // Seconds 2..=8, less 4 (2 ops) and 6 (no cpu_us); 9 is the last.
    assert_eq!(samples(&w, &m, 2, 3), [2.0, 3.0, 5.0, 7.0, 8.0]);
    assert!(samples(&[], &m, 2, 3).is_empty());
}

#[test]
fn seconds_the_host_stole_are_dropped() {
    let mut w: Vec<Window> = (0..6).map(|s| window(s, "feed", 10, s as f64)).collect();
    w[3].stolen = true;
    let m = TrialMetric::parse("work.feed.cpu_us").expect("cpu");
    assert_eq!(samples(&w, &m, 2, 3), [2.0, 4.0]);
}

#[test]
fn pooled_runs_are_trimmed_each_on_its_own() {
    let mut w: Vec<Window> = (0..6).map(|s| window(s, "feed", 10, s as f64)).collect();
    w.extend((0..4).map(|s| Window {
        run: 1,
        ..window(s, "feed", 10, 10.0 + s as f64)
    }));
    let m = TrialMetric::parse("work.feed.cpu_us").expect("cpu");
    // Run 0 keeps 2..=4 (5 is its last); run 1 keeps 2 (3 is its last).
    assert_eq!(samples(&w, &m, 2, 3), [2.0, 3.0, 4.0, 12.0]);
}

#[test]
fn the_spread_of_pooled_runs_widens_the_effect() {
    let config = GateConfig {
        min_windows: 3,
        ..GateConfig::default()
    };
    let run = |r: u32, v: f64| {
        (0..8).map(move |s| Window {
            run: r,
            ..window(s, "feed", 10, v)
        })
    };
    let m = TrialMetric::parse("work.feed.cpu_us").expect("cpu");
    let one: Vec<Window> = run(0, 100.0).collect();
    assert_eq!(run_spread(&one, &m, &config), 0.0);
    let two: Vec<Window> = run(0, 100.0).chain(run(1, 120.0)).collect();
    // Medians 100 and 120 over a pooled median of 110.
    assert!((run_spread(&two, &m, &config) - 20.0 / 110.0).abs() < 1e-9);
}

/// A run of 20 one-second feed windows, each `us` µs per op and `rel` over the probe
/// (`None`: no probe), the two-sided noise of ±2% alternating.
fn run_of(us: f64, rel: Option<f64>) -> Named {
    let windows = (0..20)
        .map(|s| {
            let wobble = if s % 2 == 0 { 1.02 } else { 0.98 };
            Window {
                cpu_rel: rel.map(|r| r * wobble),
                ..window(s, "feed", 50, us * wobble)
            }
        })
        .collect();
    Named {
        variant: "push".into(),
        summary: Default::default(),
        json: serde_json::Value::Null,
        facts: crate::gate::input::Facts {
            windows: Ok(windows),
            work: Err("none".into()),
            provenance: Err("none".into()),
        },
        file: "s.json".into(),
    }
}

#[test]
fn cpu_breaches_only_when_the_micros_and_the_probe_ratio_both_grow() {
    let config = GateConfig::default();
    let base = run_of(100.0, Some(1.0));
    let judged = |cur: &Named| check(&config, "work.feed.cpu", "push", &base, cur);
    let slower = judged(&run_of(130.0, Some(1.3)));
    assert_eq!(slower.outcome, Outcome::Fail, "{}", slower.message);
    assert!(
        slower
            .message
            .contains("cpu_us: work.feed.cpu_us of variant push grew")
    );
    // The probe read faster, so cpu_rel rose alone (today's false alarm).
    let probe = judged(&run_of(100.0, Some(1.3)));
    assert_eq!(probe.outcome, Outcome::Pass, "{}", probe.message);
    assert!(
        probe.message.starts_with("one grew alone"),
        "{}",
        probe.message
    );
    // The host slowed every process: the µs rose with the probe.
    let host = judged(&run_of(130.0, Some(1.0)));
    assert_eq!(host.outcome, Outcome::Pass, "{}", host.message);
    // It shows cpu_rel's medians (1.0 ± the wobble), not the µs (100).
    assert!(
        host.baseline.is_some_and(|b| (b - 1.0).abs() < 0.03),
        "{host:?}"
    );
    assert_eq!(host.limit, "p < 0.01 and x1.15 in µs and over the probe");
    let same = judged(&run_of(100.0, Some(1.0)));
    assert_eq!(same.outcome, Outcome::Pass, "{}", same.message);
}

#[test]
fn cpu_without_a_probe_is_judged_on_the_micros_alone() {
    let config = GateConfig::default();
    let base = run_of(100.0, None);
    let judged = |cur: &Named| check(&config, "work.feed.cpu", "push", &base, cur);
    let slower = judged(&run_of(130.0, None));
    assert_eq!(slower.outcome, Outcome::Fail, "{}", slower.message);
    assert!(
        slower.message.starts_with("judged alone"),
        "{}",
        slower.message
    );
    assert!(
        slower.baseline.is_some_and(|b| (b - 100.0).abs() < 3.0),
        "{slower:?}"
    );
    let same = judged(&run_of(100.0, None));
    assert_eq!(same.outcome, Outcome::Pass, "{}", same.message);
    let m = TrialMetric::parse("work.feed.cpu").expect("cpu");
    assert_eq!((m.op.as_str(), m.field), ("feed", Field::Cpu));
}
