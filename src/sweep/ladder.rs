//! The ladder's search: which load to try next, from the steps judged so far.
//!
//! Pure and deterministic: the next load depends only on the (load, good) points and the
//! settings. While every step is good the load grows geometrically by `factor`, up to `max`;
//! when the first step already breaks it shrinks by `factor`, down to `min`; once a good load
//! lies below a bad one, geometric midpoints bisect the gap until it is narrower than
//! `factor^(1/2^bisect)`. The knee is the highest good load below the lowest bad one, so a
//! noisy good step above a bad one never moves it up.

use crate::spec::SweepSettings;

/// Relative slack when comparing loads computed by different multiplications.
const EPS: f64 = 1e-9;

/// Where the search stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bracket {
    /// Nothing run yet.
    Empty,
    /// Every step so far was good; the highest good load.
    AllGood(f64),
    /// Every step so far broke; the lowest bad load.
    AllBad(f64),
    /// The highest good load below the lowest bad one, and that bad load.
    Between(f64, f64),
}

/// The bracket of `points` (`(load, good)`).
pub fn bracket(points: &[(f64, bool)]) -> Bracket {
    let lowest_bad = points
        .iter()
        .filter(|p| !p.1)
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min);
    let good_below = points
        .iter()
        .filter(|p| p.1 && p.0 < lowest_bad)
        .map(|p| p.0)
        .fold(f64::NEG_INFINITY, f64::max);
    match (good_below.is_finite(), lowest_bad.is_finite()) {
        (false, false) => Bracket::Empty,
        (true, false) => Bracket::AllGood(good_below),
        (false, true) => Bracket::AllBad(lowest_bad),
        (true, true) => Bracket::Between(good_below, lowest_bad),
    }
}

/// The knee: the highest good load below the lowest bad one, if any load was good.
pub fn knee(points: &[(f64, bool)]) -> Option<f64> {
    match bracket(points) {
        Bracket::AllGood(g) | Bracket::Between(g, _) => Some(g),
        Bracket::Empty | Bracket::AllBad(_) => None,
    }
}

/// The next load to run, or `None` when the search is done.
pub fn next_load(points: &[(f64, bool)], s: &SweepSettings) -> Option<f64> {
    let tried = |l: f64| points.iter().any(|p| (p.0 / l - 1.0).abs() < 1e-6);
    let next = match bracket(points) {
        Bracket::Empty => s.start,
        Bracket::AllGood(g) => {
            if g >= s.max * (1.0 - EPS) {
                return None;
            }
            (g * s.factor).min(s.max)
        }
        Bracket::AllBad(b) => {
            if b <= s.min * (1.0 + EPS) {
                return None;
            }
            (b / s.factor).max(s.min)
        }
        Bracket::Between(g, b) => {
            let resolution = s.factor.powf(0.5f64.powi(s.bisect as i32));
            if b / g <= resolution * (1.0 + EPS) {
                return None;
            }
            (g * b).sqrt()
        }
    };
    (!tried(next)).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the search against a system whose true knee is `k` (good iff load ≤ k).
    fn search(k: f64, s: &SweepSettings) -> Vec<(f64, bool)> {
        let mut pts = Vec::new();
        while let Some(l) = next_load(&pts, s) {
            pts.push((l, l <= k));
            assert!(pts.len() < 40, "search does not settle: {pts:?}");
        }
        pts
    }

    #[test]
    fn finds_a_knee_within_the_resolution() {
        let s = SweepSettings::default();
        for k in [1.3, 2.0, 5.7, 13.0, 40.0] {
            let pts = search(k, &s);
            let found = knee(&pts).expect("a good load");
            assert!(
                found <= k && k / found <= 2f64.powf(1.0 / 8.0) + 1e-9,
                "{k}: {pts:?}"
            );
            // Geometric climb to the first bad load, then exactly `bisect` midpoints.
            let climb = pts.iter().take_while(|p| p.1).count() + 1;
            assert_eq!(pts.len(), climb + 3, "{k}: {pts:?}");
        }
    }

    #[test]
    fn climbs_down_when_the_first_step_breaks_and_stops_at_the_ends() {
        let s = SweepSettings::default();
        let pts = search(0.3, &s);
        assert_eq!(pts[0], (1.0, false));
        assert!((0.25..=0.3).contains(&knee(&pts).expect("good")), "{pts:?}");
        let none = search(0.01, &s);
        assert_eq!(knee(&none), None);
        assert!(none.iter().all(|p| p.0 >= s.min * (1.0 - 1e-9)));
        let all = search(1e9, &s);
        assert_eq!(knee(&all), Some(64.0));
        assert_eq!(all.len(), 7); // 1, 2, 4, ..., 64
    }

    #[test]
    fn a_noisy_good_step_above_a_bad_one_does_not_raise_the_knee() {
        let pts = [(1.0, true), (2.0, true), (4.0, false), (8.0, true)];
        assert_eq!(bracket(&pts), Bracket::Between(2.0, 4.0));
        assert_eq!(knee(&pts), Some(2.0));
    }

    #[test]
    fn preset_loads_are_respected() {
        // A twin that already ran the live ladder's loads continues from its own verdicts.
        let s = SweepSettings::default();
        let pts = vec![(1.0, true), (2.0, true), (4.0, true)];
        assert_eq!(next_load(&pts, &s), Some(8.0));
        let pts = vec![(1.0, true), (2.0, false), (std::f64::consts::SQRT_2, true)];
        let n = next_load(&pts, &s).expect("bisects on");
        assert!(n > 1.414 && n < 2.0);
    }
}
