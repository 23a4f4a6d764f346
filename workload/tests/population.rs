//! Population model tests: the realized distributions match the configuration, the follow graph
//! balances in- and out-degrees, and everything is reproducible from its seed.

use feedlab_workload::fit::{csn_fit, discrete_mle};
use feedlab_workload::{Population, PopulationConfig, scaled};

/// A 1M-user uniform sample of the default 300M population: the follower weights fit the
/// configured α exactly (discrete MLE, Hurwitz-zeta normalizer, x_min = 1), the realized
/// follower counts have a power-law tail with the same α (CSN x_min selection), and the mean
/// followee count is within 2% of the configured mean.
#[test]
fn sample_of_300m_matches_configured_distributions() {
    let cfg = PopulationConfig::default();
    let pop = Population::new(&cfg, 42).expect("valid config");
    let rows = pop.sample_users(1_000_000).expect("rows");
    let ids: Vec<u64> = rows.iter().map(|r| r.user_id).collect();
    assert_eq!(ids.len(), 1_000_000);
    assert!(
        *ids.last().expect("non-empty") > 290_000_000,
        "sample spans the population"
    );

    let weights: Vec<u64> = ids.iter().map(|&u| pop.weight(u)).collect();
    let cap = pop.weight_dist().cap();
    let alpha_w = discrete_mle(&weights, cfg.min_followers, Some(cap)).expect("fit");
    assert!((alpha_w - cfg.alpha).abs() < 0.05, "weight alpha {alpha_w}");

    let followers: Vec<u64> = rows.iter().map(|r| r.followers).collect();
    let fit = csn_fit(&followers, 1_000).expect("tail fit");
    eprintln!("followers tail fit: {fit:?}");
    assert!(
        (fit.alpha - cfg.alpha).abs() < 0.05,
        "followers tail {fit:?}"
    );

    let mean_followees = rows.iter().map(|r| r.followees as f64).sum::<f64>() / rows.len() as f64;
    let rel = (mean_followees - cfg.mean_followees).abs() / cfg.mean_followees;
    assert!(rel < 0.02, "mean followees {mean_followees}");
    assert!(rows.iter().all(|r| r.followees <= cfg.max_followees));

    // Mean followers equals mean followees (in-degree total = out-degree total), in expectation.
    let mean_followers = followers.iter().sum::<u64>() as f64 / followers.len() as f64;
    assert!(
        (mean_followers / mean_followees - 1.0).abs() < 0.1,
        "{mean_followers}"
    );

    // About daily_active / users of the sample is active.
    let active = rows.iter().filter(|r| r.daily_active).count() as f64;
    let expect = 1e6 * cfg.daily_active as f64 / cfg.users as f64;
    assert!(
        (active - expect).abs() < 5.0 * expect.sqrt(),
        "{active} active vs {expect}"
    );
}

fn small_config() -> PopulationConfig {
    PopulationConfig {
        users: 1_000_000,
        daily_active: 10_000,
        mean_followees: 50.0,
        max_followees: 2_000,
        scale: 0.01,
        ..PopulationConfig::default()
    }
}

/// On a materialized scaled graph, every edge is one out-edge and one in-edge: the in-degree
/// total equals the out-degree total (also as seen by the follower index); no self-follows or
/// duplicate edges exist; the realized out-degree is the planned followee count; and heavy
/// leaders get about their expected number of live followers.
#[test]
fn scaled_graph_balances_in_and_out_degrees() {
    let cfg = PopulationConfig {
        scale: 0.005,
        ..small_config()
    };
    let graph = scaled(&cfg, 7).expect("valid config");
    let n = graph.users();
    assert_eq!(n, 5_000);
    let edges: Vec<(u64, u64)> = graph.edges().collect();
    let mut out_deg = vec![0u64; n as usize];
    let mut in_deg = vec![0u64; n as usize];
    for &(f, l) in &edges {
        assert_ne!(f, l, "self-follow");
        out_deg[f as usize] += 1;
        in_deg[l as usize] += 1;
    }
    let mut sorted = edges.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), edges.len(), "duplicate edges");
    let out_total: u64 = out_deg.iter().sum();
    let in_total: u64 = in_deg.iter().sum();
    assert_eq!(out_total, in_total);
    assert_eq!(out_total, edges.len() as u64);
    let index = feedlab_workload::FollowerIndex::from_edges(n, edges.iter().copied());
    assert_eq!(index.edges(), in_total);
    assert!((0..n).all(|u| index.in_degree(u) == in_deg[u as usize]));
    assert!(
        (0..n)
            .step_by(97)
            .all(|u| graph.followees_of(u).len() as u64 == out_deg[u as usize])
    );

    let pop = graph.population();
    let planned: u64 = (0..n).map(|u| pop.followees(u)).sum();
    let ratio = out_total as f64 / planned as f64;
    assert_eq!(ratio, 1.0, "realized/planned out-degree");
    let heavy: Vec<u64> = (0..n).filter(|&u| pop.weight(u) >= 10).collect();
    assert!(heavy.len() > 20, "{} heavy users", heavy.len());
    let expected: f64 = heavy.iter().map(|&u| graph.expected_followers(u)).sum();
    let realized: u64 = heavy.iter().map(|&u| in_deg[u as usize]).sum();
    let r = realized as f64 / expected;
    assert!(
        r > 0.9 && r < 1.1,
        "realized/expected followers of heavy users {r}"
    );
}

/// The same seed gives the same sample and the same edges; another seed gives different ones.
#[test]
fn populations_are_reproducible_from_the_seed() {
    let cfg = small_config();
    let a = Population::new(&cfg, 1).expect("valid");
    let b = Population::new(&cfg, 1).expect("valid");
    let c = Population::new(&cfg, 2).expect("valid");
    let (ra, rb, rc) = (
        a.sample_users(2_000).expect("sample"),
        b.sample_users(2_000).expect("sample"),
        c.sample_users(2_000).expect("sample"),
    );
    assert_eq!(ra, rb);
    assert_ne!(ra, rc);
    let ga = scaled(&cfg, 1).expect("valid");
    let gb = scaled(&cfg, 1).expect("valid");
    let gc = scaled(&cfg, 2).expect("valid");
    let first = |g: &feedlab_workload::FollowGraph| g.edges().take(20_000).collect::<Vec<_>>();
    assert_eq!(first(&ga), first(&gb));
    assert_ne!(first(&ga), first(&gc));
}
