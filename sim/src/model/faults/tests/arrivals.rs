//! The fault kinds that add arrivals (a flash crowd's reads, a celebrity's burst of
//! uploads): the twin's arrivals are the live run's, and a burst is posted as live posts it.

use super::*;

#[test]
fn a_flash_crowd_runs_the_reads_a_live_run_drives() {
    let crowd = run(
        2,
        FanoutKind::Push,
        &[window(Effect::FlashCrowd { factor: 3.0 }, 5.0, 5.0)],
    );
    // The live run's stream: the op stream of the same seed with the surge's extra reads.
    let surge = feedlab_workload::ReadSurge {
        from: std::time::Duration::from_secs(5),
        to: std::time::Duration::from_secs(10),
        factor: 3.0,
    };
    let end = std::time::Duration::from_secs_f64(SECONDS);
    let live: Vec<_> = source(2)
        .workload()
        .ops(&traffic(), 3, end)
        .expect("op stream")
        .with_read_surges(&[surge], 3)
        .collect();
    let (mut inside, mut before) = (0, 0);
    for k in [
        OpKind::Feed,
        OpKind::PhotoGet,
        OpKind::Search,
        OpKind::Upload,
    ] {
        for s in 0..SECONDS as u64 {
            let arrived = live
                .iter()
                .filter(|op| op.kind == k && op.at.as_secs() == s)
                .count() as u64;
            assert_eq!(
                sum(&crowd, k, s..s + 1, |p| p.count + p.dropped),
                arrived,
                "{k:?} {s}"
            );
            let reads = matches!(k, OpKind::Feed | OpKind::PhotoGet);
            inside += if reads && (5..10).contains(&s) {
                arrived
            } else {
                0
            };
            before += if reads && s < 5 { arrived } else { 0 };
        }
    }
    let ratio = inside as f64 / before as f64;
    assert!((2.6..3.4).contains(&ratio), "reads x{ratio} in the window");
}

#[test]
fn a_celebrity_burst_pushes_to_every_follower_and_hybrid_pulls_it() {
    let src = source(2);
    let top = src.top_author();
    let followers = src.author_stats(top).followers;
    assert!(
        followers >= 1_000,
        "the top author is a celebrity: {followers}"
    );
    let burst = [window(Effect::CelebrityBurst { photos: 20 }, 5.0, 2.0)];
    let writes = |kind| run(2, kind, &burst).timeline_writes - run(2, kind, &[]).timeline_writes;
    let push = writes(FanoutKind::Push) as f64;
    let want = 20.0 * followers as f64;
    assert!(
        (push / want - 1.0).abs() < 0.05,
        "push wrote {push}, want ~{want}"
    );
    let hybrid = writes(FanoutKind::Hybrid) as f64;
    assert!(hybrid < 0.01 * want, "hybrid wrote {hybrid}");
    // Posted at once (16 at a time), as live: the backlog holds nearly all of it in the first
    // second. The uploads are not driver ops: the op series and freshness counts are as
    // without the burst.
    let (with, without) = (
        run(2, FanoutKind::Push, &burst),
        run(2, FanoutKind::Push, &[]),
    );
    let peak = with.freshness_series.iter().find(|p| p.second == 5);
    let peak = peak.map_or(0, |p| p.backlog) as f64;
    assert!(
        peak > 0.8 * want,
        "backlog {peak} in the burst's first second"
    );
    let ups = |r: &ModelReport| sum(r, OpKind::Upload, 0..16, |p| p.count);
    assert_eq!(
        ups(&with),
        ups(&without),
        "burst uploads are not driver ops"
    );
    let fresh = |r: &ModelReport| r.freshness_series.iter().map(|p| p.count).sum::<u64>();
    assert_eq!(fresh(&with), fresh(&without));
}
