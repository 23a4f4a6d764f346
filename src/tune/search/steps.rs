//! The search's steps after the probe: growing to a deployment that meets the targets,
//! trimming each role by bisection, and confirming what one unit less breaks.

use super::{MinusOne, Searcher};
use crate::tune::eval::{Evaluation, SATURATED, role_of};
use crate::tune::space::{Counts, Design, Role};

/// Doublings tried before a design is declared unable to meet the targets.
const MAX_GROWTH: u32 = 8;
/// Below this utilisation of its bottleneck, a latency breach is not a capacity problem.
const IDLE: f64 = 0.5;

impl Searcher<'_> {
    /// Re-runs each simulated "one unit less" of `best` with `best`'s final counts: a later
    /// trim may have lowered the counts an earlier role's was judged with (it still fails, by
    /// monotonicity; this shows it with the answer's own counts).
    pub fn confirm(&mut self, best: &Evaluation, minus_one: &mut [MinusOne]) -> anyhow::Result<()> {
        for m in minus_one.iter_mut() {
            if m.reason.starts_with("under") {
                continue;
            }
            let less = best.counts.with(m.role, m.count);
            let e = self.run(&best.design, less, best.load, best.seed)?;
            m.reason = describe(&e);
        }
        Ok(())
    }

    /// From `cur`, doubles the roles behind each failure until a run meets the targets;
    /// `None` when the bounds or the latency floor stop it.
    pub(super) fn grow(
        &mut self,
        design: &Design,
        mut cur: Counts,
        load: f64,
        seed: u64,
    ) -> anyhow::Result<Option<Evaluation>> {
        for _ in 0..MAX_GROWTH {
            let e = self.run(design, cur, load, seed)?;
            if e.good {
                return Ok(Some(e));
            }
            if e.bottleneck_utilisation < IDLE {
                // Nothing is busy: the breach is the design's latency floor.
                return Ok(None);
            }
            let mut roles: Vec<Role> = e
                .resources
                .iter()
                .filter(|r| r.utilisation >= SATURATED * 0.9)
                .flat_map(|r| Self::roles_for(&r.name))
                .collect();
            if roles.is_empty() {
                roles = Self::roles_for(&e.bottleneck);
            }
            let mut uniq: Vec<Role> = Vec::new();
            for r in roles {
                if !uniq.contains(&r) {
                    uniq.push(r);
                }
            }
            let mut grew = false;
            for role in uniq {
                let hi = self.ctx.space.limit(role).1;
                let n = cur.get(role);
                let next = n.saturating_mul(2).min(hi);
                if next > n {
                    cur = cur.with(role, next);
                    grew = true;
                }
            }
            if !grew {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The roles that relieve resource `name`: both app-server sides for the app servers'
    /// resources (the trim takes back the side that did not need it).
    fn roles_for(name: &str) -> Vec<Role> {
        match role_of(name) {
            Some(Role::ReadServers) => vec![Role::ReadServers, Role::WriteServers],
            Some(r) => vec![r],
            None => Vec::new(),
        }
    }

    /// Bisects `role` between `floor` and `best`'s count (the others held) until the bracket
    /// is one unit, or `precision` × the count when that is more; returns the cheapest run
    /// that meets the targets and why one unit less does not (when the bracket closed).
    pub(super) fn trim(
        &mut self,
        design: &Design,
        best: &Evaluation,
        role: Role,
        floor: u32,
        load: f64,
        precision: f64,
    ) -> anyhow::Result<(Evaluation, Option<MinusOne>)> {
        let seed = best.seed;
        let mut good = best.clone();
        let mut hi = best.counts.get(role);
        let mut lo = floor.saturating_sub(1); // known or assumed to fail
        let mut failed: Option<Evaluation> = None;
        while hi - lo > ((f64::from(hi) * precision) as u32).max(1) {
            let mid = lo + (hi - lo) / 2;
            let e = self.run(design, good.counts.with(role, mid), load, seed)?;
            if e.good {
                hi = mid;
                good = e;
            } else {
                lo = mid;
                failed = Some(e);
            }
        }
        let bound = self.ctx.space.limit(role).0;
        let minus = if hi <= bound || hi - lo > 1 {
            None
        } else {
            let reason = match failed.filter(|f| f.counts.get(role) == hi - 1) {
                Some(f) => describe(&f),
                None if role == Role::Shards && hi <= self.ctx.storage_shards => {
                    format!(
                        "under the {} shards the metadata's bytes need",
                        self.ctx.storage_shards
                    )
                }
                None => "under the role's floor: mean utilisation ≥ 100%".to_string(),
            };
            Some(MinusOne {
                role,
                count: hi - 1,
                reason,
            })
        };
        Ok((good, minus))
    }
}

/// A failed run's breaches in words.
pub fn describe(e: &Evaluation) -> String {
    if e.good {
        return "meets every target".into();
    }
    e.breaches
        .iter()
        .map(|b| match &b.resource {
            Some(r) => format!("{r} saturated ({:.0}%)", 100.0 * b.value),
            None => format!("{} {:.3} > {:.3}", b.target, b.value, b.limit),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
