//! How a live run's faults meet the run: the resolved plan of a spec (refusing what a live
//! run cannot apply) and what the faults act on (the service's switchboard and blob store,
//! the driver's own target, and the most-followed author for a burst).

use std::sync::Arc;
use std::time::Duration;

use feedlab_system::Service;
use feedlab_workload::Target;

use crate::cli::UserError;
use crate::run::seed::Seeded;
use crate::spec::RunSpec;
use crate::spec::faults::Fault;

/// The resolved `[[faults]]` of `spec` (a resolved `spec.json` is checked here too); faults
/// need the in-process service, so an external target with faults is refused.
pub(in crate::run) fn plan(spec: &RunSpec) -> Result<Vec<Fault>, UserError> {
    let shards = spec.system.sharding.shards;
    let plan = crate::spec::faults::resolve(&spec.faults, shards, spec.duration_s)
        .map_err(|r| UserError(format!("variant {}: {}", spec.variant, r.message)))?;
    if let Some(r) = crate::spec::faults::live_refusal(&plan, &spec.system) {
        return Err(UserError(format!(
            "variant {}: {}",
            spec.variant, r.message
        )));
    }
    if !plan.is_empty() && spec.target.write_url.is_some() {
        let msg = "[[faults]] need the in-process service; remove target.write-url or the faults";
        return Err(UserError(format!("variant {}: {msg}", spec.variant)));
    }
    Ok(plan)
}

/// What the faults of a run of `spec` act on in `svc`, driven through `target`.
pub(in crate::run) fn reach(
    spec: &RunSpec,
    svc: &Service,
    seeded: &Seeded,
    target: &Arc<dyn Target>,
) -> super::Reach {
    let index = &seeded.index;
    let author = super::burst::Author::top(&seeded.in_degree, |u| {
        index.followers_of(u).first().map(|&f| u64::from(f))
    })
    .map(|a| super::burst::Author {
        bytes: spec.traffic.photo_mean_bytes,
        seed: spec.seed,
        timeout: Duration::from_secs_f64(spec.driver.freshness_timeout_s.max(0.01)),
        ..a
    });
    super::Reach {
        board: svc.faults().clone(),
        blobs: svc.blobs().clone(),
        target: target.clone(),
        author,
    }
}
