//! Uniform samples of the full population and their CSV form (`feedlab population --sample N`).
//!
//! A sample row reports a user's *realized* follower count as a Poisson draw around the Chung–Lu
//! expectation `weight × followers_per_weight` (the in-degree of a user in a Chung–Lu graph is a
//! sum of many rare independent edges, hence Poisson), seeded by `(seed, user)` so the same user
//! always gets the same count. The followee count is the planned out-degree.

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, config};
use crate::hash::{SplitMix, mix, streams};
use crate::math::poisson;
use crate::population::Population;

/// One sampled user, as written to the population CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRow {
    /// User id in `0..users`.
    pub user_id: u64,
    /// Realized follower count (Poisson around the expectation; see the module docs).
    pub followers: u64,
    /// Planned followee count.
    pub followees: u64,
    /// Whether the user is active today.
    pub daily_active: bool,
}

impl Population {
    /// The realized follower count of `id`: `Poisson(expected_followers(id))`, drawn from a
    /// SplitMix64 stream seeded by `(seed, id)`.
    pub fn realized_followers(&self, id: u64) -> u64 {
        let mut rng = SplitMix::new(mix(self.seed(), streams::FOLLOWERS, id));
        poisson(self.expected_followers(id), || rng.unit())
    }

    /// `n` distinct users drawn uniformly (seeded by the population seed), in id order, with
    /// their rows. Fails if `n` exceeds the population.
    pub fn sample_users(&self, n: u64) -> Result<Vec<SampleRow>> {
        Ok(self
            .sample_ids(n)?
            .into_iter()
            .map(|id| SampleRow {
                user_id: id,
                followers: self.realized_followers(id),
                followees: self.followees(id),
                daily_active: self.is_daily_active(id),
            })
            .collect())
    }

    /// `n` distinct uniformly drawn user ids in ascending order.
    pub fn sample_ids(&self, n: u64) -> Result<Vec<u64>> {
        let users = self.users();
        if n > users {
            return Err(config(
                "sample",
                format!("cannot sample {n} of {users} users"),
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.seed(), streams::SAMPLE, n));
        if n.saturating_mul(2) <= users {
            // Sorted i.i.d. uniform ids from exponential spacings (the order statistics of n
            // uniforms), then drop repeats and top up; symmetric in ids, so a uniform n-subset.
            let mut cum = Vec::with_capacity(n as usize);
            let mut acc = 0.0f64;
            for _ in 0..n {
                acc += -(1.0 - rng.random::<f64>()).ln();
                cum.push(acc);
            }
            let scale = users as f64 / (acc - (1.0 - rng.random::<f64>()).ln());
            let mut ids: Vec<u64> = cum
                .iter()
                .map(|c| ((c * scale) as u64).min(users - 1))
                .collect();
            drop(cum);
            ids.dedup();
            while (ids.len() as u64) < n {
                let missing = n - ids.len() as u64;
                let mut extra: Vec<u64> =
                    (0..missing).map(|_| rng.random_range(0..users)).collect();
                extra.sort_unstable();
                ids = merge_sorted(&ids, &extra);
                ids.dedup();
            }
            Ok(ids)
        } else {
            // Selection sampling (Knuth's algorithm S): one pass, exact count.
            let mut ids = Vec::with_capacity(n as usize);
            let mut needed = n;
            for id in 0..users {
                if needed == 0 {
                    break;
                }
                if rng.random_range(0..users - id) < needed {
                    ids.push(id);
                    needed -= 1;
                }
            }
            Ok(ids)
        }
    }
}

/// Merges two ascending slices into one ascending vector.
fn merge_sorted(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Writes `rows` as CSV with the header `user_id,followers,followees,daily_active`
/// (`daily_active` is `true` or `false`).
pub fn write_csv<W: Write>(rows: &[SampleRow], writer: W) -> Result<()> {
    let mut w = std::io::BufWriter::new(writer);
    writeln!(w, "user_id,followers,followees,daily_active")?;
    for r in rows {
        writeln!(
            w,
            "{},{},{},{}",
            r.user_id, r.followers, r.followees, r.daily_active
        )?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::PopulationConfig;

    #[test]
    fn csv_has_header_and_one_line_per_row() {
        let cfg = PopulationConfig {
            users: 10_000,
            daily_active: 1_000,
            ..PopulationConfig::default()
        };
        let pop = Population::new(&cfg, 5).expect("valid");
        let rows = pop.sample_users(50).expect("sample");
        assert_eq!(rows.len(), 50);
        assert!(rows.windows(2).all(|w| w[0].user_id < w[1].user_id));
        let all = pop.sample_ids(9_000).expect("dense sample");
        assert_eq!(all.len(), 9_000);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        let mut buf = Vec::new();
        write_csv(&rows, &mut buf).expect("write");
        let text = String::from_utf8(buf).expect("utf8");
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("user_id,followers,followees,daily_active")
        );
        let first = lines.next().expect("a row");
        assert_eq!(first.split(',').count(), 4);
        assert_eq!(text.lines().count(), 51);
        assert!(pop.sample_ids(10_001).is_err());
    }
}
