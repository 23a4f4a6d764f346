//! The quickstart's live graph (3,000 of 300M users) keeps the full-scale follower tail, and the
//! hybrid threshold mapped to it pulls the full-scale model's share of follower edges.

use feedlab_system::policy::{AuthorStats, EdgeMode, FanoutConfig, FanoutKind, FanoutStrategy};
use feedlab_workload::fit::{csn_fit, discrete_mle};
use feedlab_workload::threshold::map_threshold;
use feedlab_workload::{FollowGraph, PopulationConfig, scaled};

/// The quickstart scenario's population (`scenarios/quickstart.toml`).
fn quickstart() -> PopulationConfig {
    PopulationConfig {
        daily_active: 30_000_000,
        mean_followees: 200.0,
        scale: 0.00001,
        ..PopulationConfig::default()
    }
}

fn in_degrees(graph: &FollowGraph) -> Vec<u64> {
    let index = graph.follower_index();
    (0..graph.users()).map(|u| index.in_degree(u)).collect()
}

/// Fitted α within ±0.15 of the configured 2.1 (exact discrete MLE above x_min, both at the
/// stated x_min = mean followees and at the x_min Clauset–Shalizi–Newman choose), the top
/// author followed by at least 30% of the live users, and the mean followee count within 5% of
/// the scenario's, at two seeds.
#[test]
fn live_graph_keeps_the_tail_at_two_seeds() {
    let cfg = quickstart();
    for seed in [42, 7] {
        let graph = scaled(&cfg, seed).expect("valid config");
        let n = graph.users();
        assert_eq!(n, 3_000);
        let degrees = in_degrees(&graph);
        let x_min = cfg.mean_followees as u64;
        let alpha = discrete_mle(&degrees, x_min, None).expect("tail fit");
        let csn = csn_fit(&degrees, 100).expect("tail fit");
        let top = degrees.iter().copied().max().unwrap_or(0);
        let edges: u64 = degrees.iter().sum();
        let mean = edges as f64 / n as f64;
        eprintln!(
            "seed {seed}: alpha {alpha:.3} above x_min {x_min} ({} authors); csn {csn:?}; \
             top {top} ({:.1}%); mean followees {mean:.1}",
            degrees.iter().filter(|&&d| d >= x_min).count(),
            100.0 * top as f64 / n as f64
        );
        assert!(
            (alpha - cfg.alpha).abs() <= 0.15,
            "seed {seed}: alpha {alpha}"
        );
        assert!(
            (csn.alpha - cfg.alpha).abs() <= 0.15,
            "seed {seed}: {csn:?}"
        );
        assert!(
            top as f64 >= 0.3 * n as f64,
            "seed {seed}: top author {top}"
        );
        let rel = mean / cfg.mean_followees - 1.0;
        assert!(rel.abs() <= 0.05, "seed {seed}: mean followees {mean}");
    }
}

/// With the threshold mapped to the live graph, the hybrid policy pulls the full-scale model's
/// share of follower edges within a factor of 1.5, at the original design's threshold and around
/// it, at two seeds; and the live threshold is a live follower count.
#[test]
fn mapped_threshold_pulls_the_full_scale_edge_share() {
    let cfg = quickstart();
    for seed in [42, 7] {
        let graph = scaled(&cfg, seed).expect("valid config");
        let degrees = in_degrees(&graph);
        for threshold in [2_000, 10_000, 100_000, 1_000_000] {
            let map = map_threshold(graph.population(), &degrees, threshold);
            let strategy = FanoutStrategy::new(FanoutConfig {
                kind: FanoutKind::Hybrid,
                hybrid_threshold: map.live_threshold,
                ..FanoutConfig::default()
            })
            .expect("valid strategy");
            let pulled: u64 = degrees
                .iter()
                .filter(|&&d| {
                    let author = AuthorStats {
                        followers: d,
                        posts_per_day: 1.0,
                    };
                    strategy.uniform_mode(&author) == Some(EdgeMode::Pull)
                })
                .sum();
            let live = pulled as f64 / degrees.iter().sum::<u64>() as f64;
            eprintln!("seed {seed} threshold {threshold}: {map:?}, policy pulls {live:.4}");
            assert!((live - map.live_edge_share).abs() < 1e-12);
            let ratio = live / map.full_edge_share;
            assert!(
                (1.0 / 1.5..=1.5).contains(&ratio),
                "seed {seed} threshold {threshold}: live {live} vs full {}",
                map.full_edge_share
            );
            assert!(map.live_threshold < graph.users());
        }
    }
}
