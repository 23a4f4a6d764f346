//! The search's steps after the probe: growing to a deployment that meets the targets,
//! trimming each role by bisection, and confirming what one unit less breaks.

use super::{MinusOne, Searcher};
use crate::tune::eval::{Evaluation, SATURATED, role_of};
use crate::tune::space::{Counts, Design, Role};

/// Doublings tried before a design is declared unable to meet the targets.
const MAX_GROWTH: u32 = 8;
/// Below this utilisation of its bottleneck, a latency breach is not a capacity problem.
const IDLE: f64 = 0.5;
/// Second trims of a role left with a spare unit by later trims ([`Searcher::retrim`]).
const MAX_RETRIM: u32 = 8;

impl Searcher<'_> {
    /// Re-runs each simulated "one unit less" of `best` with `best`'s final counts, so each
    /// reason describes a run beside the answer's own counts ([`Searcher::retrim`] ran the
    /// same counts, so these are memoized).
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

    /// Trims again while one unit less of some role meets the targets with `best`'s final
    /// counts, at most [`MAX_RETRIM`] times. Near saturation a run is not strictly monotone
    /// in every count (seen: 9 write servers broke beside 38 blob nodes and met beside the
    /// 23 a later trim left), so a role trimmed early can end with a spare unit. The checks
    /// are the runs [`Searcher::confirm`] repeats, so a search with no spare unit pays
    /// nothing here (the runs are memoized).
    pub(super) fn retrim(
        &mut self,
        mut best: Evaluation,
        minus_one: &mut Vec<MinusOne>,
        floor: &Counts,
        precision: f64,
    ) -> anyhow::Result<Evaluation> {
        for _ in 0..MAX_RETRIM {
            let mut spare = None;
            for m in minus_one.iter().filter(|m| !m.reason.starts_with("under")) {
                let less = best.counts.with(m.role, m.count);
                if self.run(&best.design, less, best.load, best.seed)?.good {
                    spare = Some(m.role);
                    break;
                }
            }
            let Some(role) = spare else { break };
            let (design, load) = (best.design.clone(), best.load);
            let (found, m) = self.trim(&design, &best, role, floor.get(role), load, precision)?;
            best = found;
            minus_one.retain(|x| x.role != role);
            minus_one.extend(m);
        }
        Ok(best)
    }

    /// From `cur`, doubles the roles behind each failure until a run meets the targets; the
    /// reason it stops otherwise: the bounds, the latency floor (nothing busy), or a hot spot
    /// (doubling a role left its resource as busy: one shard's hot key, say).
    pub(super) fn grow(
        &mut self,
        design: &Design,
        mut cur: Counts,
        load: f64,
        seed: u64,
    ) -> anyhow::Result<Result<Evaluation, String>> {
        // The busiest use of each role's resources when it was last doubled.
        let mut doubled: Vec<(Role, f64)> = Vec::new();
        for _ in 0..MAX_GROWTH {
            let e = self.run(design, cur, load, seed)?;
            if e.good {
                return Ok(Ok(e));
            }
            if e.bottleneck_utilisation < IDLE {
                return Ok(Err(format!(
                    "{} breaks {} with nothing busier than {:.0}%: its latency floor, not its capacity",
                    design.label(),
                    describe(&e),
                    100.0 * e.bottleneck_utilisation
                )));
            }
            let mut roles: Vec<Role> = Vec::new();
            let busy = e
                .resources
                .iter()
                .filter(|r| r.utilisation >= SATURATED * 0.9);
            for name in busy.map(|r| r.name.as_str()).chain([e.bottleneck.as_str()]) {
                for r in Self::roles_for(name) {
                    if !roles.contains(&r) {
                        roles.push(r);
                    }
                }
            }
            let mut grew = false;
            let mut stuck = Vec::new();
            for role in roles {
                let use_now = Self::busiest_of(&e, role);
                if let Some((_, before)) = doubled.iter().find(|(r, _)| *r == role)
                    && use_now >= 0.9 * before
                {
                    stuck.push(role.name());
                    continue;
                }
                let hi = self.ctx.space.limit(role).1;
                let n = cur.get(role);
                let next = n.saturating_mul(2).min(hi);
                if next > n {
                    cur = cur.with(role, next);
                    doubled.retain(|(r, _)| *r != role);
                    doubled.push((role, use_now));
                    grew = true;
                }
            }
            if !grew {
                let why = if stuck.is_empty() {
                    "every role it needs is at its bound".to_string()
                } else {
                    format!(
                        "doubling {} did not relieve it (a hot spot)",
                        stuck.join(", ")
                    )
                };
                return Ok(Err(format!(
                    "{} breaks {}; {why}",
                    design.label(),
                    describe(&e)
                )));
            }
        }
        Ok(Err(format!(
            "{} still breaks after {MAX_GROWTH} doublings",
            design.label()
        )))
    }

    /// The highest utilisation among the resources `role` relieves in `e`.
    fn busiest_of(e: &Evaluation, role: Role) -> f64 {
        e.resources
            .iter()
            .filter(|r| Self::roles_for(&r.name).contains(&role))
            .map(|r| r.utilisation)
            .fold(0.0, f64::max)
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
