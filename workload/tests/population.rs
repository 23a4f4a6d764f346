//! Population model tests: the realized distributions match the configuration, the follow graph
//! balances in- and out-degrees, and everything is reproducible from the seed.

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
    assert!(*ids.last().expect("non-empty") > 290_000_000, "sample spans the population");

    let weights: Vec<u64> = ids.iter().map(|&u| pop.weight(u)).collect();
    let cap = pop.weight_dist().cap();
    let alpha_w = discrete_mle(&weights, cfg.min_followers, Some(cap)).expect("fit");
    assert!((alpha_w - cfg.alpha).abs() < 0.05, "weight alpha {alpha_w}");


    let followers: Vec<u64> = rows.iter().map(|r| r.followers).collect();
    let fit = csn_fit(&followers, 1_000).expect("tail fit");
    eprintln!("followers tail fit: {fit:?}");
    assert!((fit.alpha - cfg.alpha).abs() < 0.05, "followers tail {fit:?}");

    let mean_followees = rows.iter().map(|r| r.followees as f64).sum::<f64>() / rows.len() as f64;
    let rel = (mean_followees - cfg.mean_followees).abs() / cfg.mean_followees;
    assert!(rel < 0.02, "mean followees {mean_followees}");
    assert!(rows.iter().all(|r| r.followees <= cfg.max_followees));

    // Mean followers equals mean followees (in-degree total = out-degree total), in expectation.
    let mean_followers = followers.iter().sum::<u64>() as f64 / followers.len() as f64;
    assert!((mean_followers / mean_followees - 1.0).abs() < 0.1, "{mean_followers}");

    // About daily_active / users of the sample is active.
    let active = rows.iter().filter(|r| r.daily_active).count() as f64;
    let expect = 1e6 * cfg.daily_active as f64 / cfg.users as f64;
    assert!((active - expect).abs() < 5.0 * expect.sqrt(), "{active} active vs {expect}");
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
/// total equals the out-degree total, which equals the sum of the per-user followee lists; no
/// self-follows or duplicate edges exist; and the realized out-degree mean is near the target.
#[test]
fn scaled_graph_balances_in_and_out_degrees() {
    let graph = scaled(&small_config(), 7).expect("valid config");
    let n = graph.users();
    assert_eq!(n, 10_000);
    let mut out_deg = vec![0u64; n as usize];
    let mut in_deg = vec![0u64; n as usize];
    let mut seen = std::collections::HashSet::new();
    for (f, l) in graph.edges() {
        assert_ne!(f, l, "self-follow");
        assert!(seen.insert((f, l)), "duplicate edge {f}->{l}");
        out_deg[f as usize] += 1;
        in_deg[l as usize] += 1;
    }
    let out_total: u64 = out_deg.iter().sum();
    let in_total: u64 = in_deg.iter().sum();
    assert_eq!(out_total, in_total);
    let listed: u64 = (0..n).map(|u| graph.followees_of(u).len() as u64).sum();
    assert_eq!(listed, out_total);
    let index = graph.follower_index();
    assert_eq!(index.edges(), in_total);
    assert!((0..n).all(|u| index.in_degree(u) == in_deg[u as usize]));

    let pop = graph.population();
    let planned: u64 = (0..n).map(|u| pop.followees(u)).sum();
    let ratio = out_total as f64 / planned as f64;
    assert!(ratio > 0.97 && ratio <= 1.0, "realized/planned out-degree {ratio}");
    // The heaviest leaders get (roughly) their expected share of followers.
    let heavy: Vec<u64> = (0..n).filter(|&u| pop.weight(u) >= 20).collect();
    assert!(!heavy.is_empty());
    let expected: f64 = heavy.iter().map(|&u| pop.expected_followers(u)).sum();
    let realized: u64 = heavy.iter().map(|&u| in_deg[u as usize]).sum();
    let r = realized as f64 / expected;
    assert!(r > 0.8 && r < 1.1, "realized/expected followers of heavy users {r}");
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
