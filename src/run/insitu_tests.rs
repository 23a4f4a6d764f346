//! Tests of the in-situ calibration writer.
use super::*;

#[test]
fn points_pool_thin_classes_upwards_and_keep_a_tail_of_five() {
    let mut s: Vec<Sample> = (0..30).map(|i| (1, 1_000 + i, 500)).collect();
    s.extend((0..25).map(|i| (40 + (i % 3) as u32, 50_000 + i, 25_000)));
    s.extend((0..5).map(|i| (300, 900_000 + i, 0)));
    let pts = points("scan", &s);
    // 9, 8 and 8 calls at 40, 41 and 42: a mean of 40.96.
    assert_eq!(
        pts.iter().map(|p| p.n).collect::<Vec<_>>(),
        vec![1, 41, 300]
    );
    assert_eq!(pts[1].count, 25);
    assert_eq!(pts[2].count, 5);
    assert!(pts[1].quantiles_ms.iter().all(|&(_, ms)| ms >= 0.05));
    assert_eq!(pts[0].cpu_mean_ms, Some(0.0005));
    assert_eq!(pts[1].cpu_mean_ms, Some(0.025));
    // Four calls at the top are too few for a point: they join the group below.
    s.truncate(59);
    let pts = points("scan", &s);
    assert_eq!(
        pts.iter().map(|p| p.count).collect::<Vec<_>>(),
        vec![30, 29]
    );
    // Fewer calls than one point needs: none.
    assert!(points("scan", &s[..MIN_SAMPLES - 1]).is_empty());
}

/// Photo-sized puts spread thinly over classes and a few videos: every call lands in a point,
/// and a CPU that grows linearly with size (10 µs per KiB here) keeps its slope between the
/// points, so extrapolating from them prices a video as it was measured.
#[test]
fn points_keep_a_linear_cost_s_slope_across_thin_classes() {
    let mut s: Vec<Sample> = Vec::new();
    for (size, calls) in [(60u32, 8usize), (150, 12), (300, 11), (700, 3), (5_000, 2)] {
        s.extend((0..calls).map(|i| {
            (
                size + i as u32,
                1_000_000,
                10_000 * u64::from(size + i as u32),
            )
        }));
    }
    let pts = points("blob-put", &s);
    assert_eq!(pts.iter().map(|p| p.count).sum::<u64>(), 36);
    assert_eq!(pts.len(), 2, "{pts:?}");
    for p in &pts {
        let per_kib = p.cpu_mean_ms.expect("cpu") / f64::from(p.n);
        assert!((per_kib - 0.01).abs() < 1e-4, "{}: {per_kib}", p.n);
    }
}

#[test]
fn per_op_figures_count_the_switches_and_cpu_of_the_ops_issued() {
    let rec = Recorder::new();
    assert_eq!(per_op(&rec).1, None, "nothing recorded");
    rec.start();
    // Each hand-over parks the spawned thread until this one wakes it.
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(0);
    let t = std::thread::spawn(move || rx.iter().sum::<u64>());
    (0..200).for_each(|i| tx.send(i).expect("send"));
    drop(tx);
    assert_eq!(t.join().expect("join"), 199 * 100);
    rec.add_total("generator", 50, 0);
    rec.stop();
    let (cores, cpu, switches) = per_op(&rec);
    // Wall time is read in whole ms, so a fast run may have none.
    assert!(cores.is_none_or(|c| c >= 0.0), "{cores:?}");
    assert!(cpu.is_some_and(|c| c > 0.0), "{cpu:?}");
    // At least the spawned thread's parks, over 50 ops.
    assert!(switches.is_some_and(|s| s >= 1.0), "{switches:?}");
}

#[test]
fn other_cores_are_the_hosts_busy_time_less_ours_over_the_wall_time() {
    assert_eq!(other_cores((0, 10_000), 0), None, "no host figures");
    assert_eq!(other_cores((5_000, 0), 0), None, "no wall time");
    let o = other_cores((12_000, 10_000), 4_000_000_000).expect("measured");
    assert!((o - 0.8).abs() < 1e-9, "{o}");
    assert_eq!(other_cores((3_000, 10_000), 4_000_000_000), Some(0.0));
}

/// The transport of an op kind is its latency less its handler time and generator CPU,
/// taken out of the unattributed CPU, and scaled down when it would exceed it.
#[test]
fn transport_is_the_gap_on_the_path_and_comes_out_of_background() {
    let mut totals = BTreeMap::new();
    let t = |count, cpu_ns| Total { count, cpu_ns };
    totals.insert("generator".to_string(), t(1_000, 2_000_000));
    totals.insert("get".to_string(), t(5_000, 13_000_000));
    let latency = BTreeMap::from([
        ("feed".to_string(), (1_000, 0.5)),
        ("search".to_string(), (5, 9.0)),
    ]);
    let handler = BTreeMap::from([
        ("feed".to_string(), (1_000, 0.2)),
        ("search".to_string(), (5, 1.0)),
    ]);
    let by = |ops: &[CalibOp], name: &str| ops.iter().find(|o| o.op == name).map(|o| o.mean_ms);
    let ops = cpu_ops(&totals, 400_000_000, &latency, &handler);
    assert!((by(&ops, "http-feed").expect("feed") - 0.298).abs() < 1e-9);
    assert_eq!(by(&ops, "http-search"), None, "too few ops to measure");
    assert!((by(&ops, "background").expect("bg") - 0.087).abs() < 1e-9);
    let ops = cpu_ops(&totals, 100_000_000, &latency, &handler);
    assert!((by(&ops, "http-feed").expect("feed") - 0.085).abs() < 1e-9);
    assert_eq!(by(&ops, "background"), Some(0.0));
}

/// A recorded op with `count` calls, as the in-situ writer turns it into a calibration
/// file, reads back through the simulator's reader (the crash was an op with 100 calls).
#[test]
fn every_op_count_writes_a_file_the_simulator_reads() -> anyhow::Result<()> {
    let base = Calibration::builtin();
    for count in 1..=1000u64 {
        let mut rec = BTreeMap::new();
        let calls = (0..count)
            .map(|i| (1 + (i % 3) as u32, 4_000 + (i * 7_919) % 90_000, 3_000))
            .collect();
        rec.insert("get".to_string(), calls);
        rec.insert(
            "blob-get".to_string(),
            vec![(200, 300_000, 0); count as usize],
        );
        let cal = merge(&base, &measured(&rec), Vec::new());
        let back: Calibration = toml::from_str(&cal.to_toml()?)?;
        for op in ["get", "blob-get"] {
            back.cost(op, &std::collections::BTreeMap::new())
                .map_err(|e| anyhow::anyhow!("{count} calls of {op}: {e}"))?;
        }
    }
    Ok(())
}

#[test]
fn merge_replaces_only_the_ops_the_run_measured() {
    let base = Calibration::builtin();
    let mut rec = BTreeMap::new();
    rec.insert("get".to_string(), vec![(1, 7_000, 6_000); 40]);
    rec.insert("cas".to_string(), vec![(1, 7_000, 6_000); 3]);
    let cal = merge(&base, &measured(&rec), Vec::new());
    let gets: Vec<_> = cal.ops.iter().filter(|o| o.op == "get").collect();
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].count, 40);
    assert!((gets[0].mean_ms - 0.007).abs() < 1e-9);
    let cas = |c: &Calibration| {
        c.ops
            .iter()
            .filter(|o| o.op == "cas")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(cas(&cal), cas(&base));
    assert_eq!(cal.ops.len(), base.ops.len());
}

#[test]
fn generator_and_background_share_out_the_process_cpu() {
    let mut totals = BTreeMap::new();
    let t = |count, cpu_ns| Total { count, cpu_ns };
    totals.insert("generator".to_string(), t(1_000, 2_000_000));
    totals.insert("get".to_string(), t(5_000, 10_000_000));
    totals.insert("app-feed".to_string(), t(1_000, 3_000_000));
    let none = BTreeMap::new();
    let ops = cpu_ops(&totals, 20_000_000, &none, &none);
    assert_eq!(ops.len(), 2);
    assert_eq!((ops[0].op.as_str(), ops[0].mean_ms), ("generator", 0.002));
    assert_eq!((ops[1].op.as_str(), ops[1].mean_ms), ("background", 0.005));
    assert!(
        cpu_ops(&BTreeMap::new(), 1, &none, &none).is_empty(),
        "nothing issued"
    );
    let cal = merge(&Calibration::builtin(), &BTreeMap::new(), ops);
    let back: Calibration = toml::from_str(&cal.to_toml().expect("toml")).expect("parse");
    assert!(back.cost("generator", &BTreeMap::new()).is_ok());
}
