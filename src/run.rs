//! Live runs of scenario variants against the reference service (or an external
//! deployment): [`LiveExecutor`], the live [`Executor`], one `summary.json` per variant.
//!
//! A live run of one variant ([`run_variant_with`]):
//! 1. opens a fresh service on embedded stores under `OUT/<variant>/data`;
//! 2. materializes the scaled population, its follow graph and a few
//!    historical photos per user through the bulk paths (`seed`), and waits
//!    for their fan-out;
//! 3. drives a seeded open-loop op stream with `feedlab_workload::Driver`
//!    — by default over real HTTP against the service started in-process on
//!    two loopback listeners, or by direct calls (`driver.transport =
//!    "direct"`) — with feed-freshness probes on a sample of uploads;
//! 4. waits for the fan-out, measures counters, storage and timelines, and
//!    builds the typed summary (`contract`) and writes `OUT/<variant>/summary.json`;
//! 5. with `[[faults]]`, checks the invariants of what the driver had acknowledged on the
//!    service before it stops (`invariants`): a violation is named in the summary, which is
//!    still written, and fails the run (exit code 1: the system broke, not the scenario);
//! 6. leaves the data directory to be deleted when the command ends, unless `--keep-data`
//!    ([`retired`]: deleting it between runs slowed the runs after it).
//!
//! With `target.write-url` set, the run seeds and drives that deployment over HTTP instead
//! and reads its counters from `/metrics` (`external`). The comparison, reports and table
//! of several variants are the pipeline's (`crate::pipeline`).

mod burst;
mod contract;
pub(crate) mod deconv;
mod direct;
mod events;
mod external;
pub(crate) mod faults;
mod insitu;
mod invariants;
mod measure;
mod probe;
pub(crate) mod retired;
mod rise;
mod seed;
pub(crate) mod spread;
mod threads;
mod warmup;
mod work;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use feedlab_system::Service;
use feedlab_system::timing::{CpuTimed, Recorder};
use feedlab_workload::{
    Driver, DriverConfig, FreshnessProbe, HttpConfig, HttpTarget, ServiceUser, Target,
    UserDirectory, Workload,
};
use tokio::net::TcpListener;
use tokio::time::Instant;

pub use direct::DirectTarget;
pub use probe::STALL_STEAL_MS;
use work::RunWork;

use crate::exec::Executor;
use crate::spec::faults::Fault;
use crate::spec::{RunSpec, Transport};
use crate::summary::Summary;

/// Options of one variant's run beyond its spec.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Keep `OUT/<variant>/data` after the run.
    pub keep_data: bool,
}

/// The live [`Executor`]: runs each spec on the tokio runtime it holds a handle to (see
/// [`crate::exec`] for the contract on the calling thread).
pub struct LiveExecutor {
    handle: tokio::runtime::Handle,
    opts: RunOptions,
    /// The finished runs' data directories, deleted when the executor is dropped.
    retired: retired::Retired,
}

impl LiveExecutor {
    /// An executor on the current tokio runtime; `None` outside one.
    pub fn current(opts: RunOptions) -> Option<LiveExecutor> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        Some(LiveExecutor {
            handle,
            opts,
            retired: retired::Retired::default(),
        })
    }
}

impl Executor for LiveExecutor {
    fn run(&mut self, spec: &RunSpec, out: &Path) -> anyhow::Result<Summary> {
        let handle = self.handle.clone();
        // The data directory outlives the run (see `retired`); `run_variant_with` keeps it.
        let opts = RunOptions { keep_data: true };
        let result =
            tokio::task::block_in_place(|| handle.block_on(run_variant_with(spec, out, opts)));
        let data = data_dir(out, &spec.variant);
        if !self.opts.keep_data && spec.target.write_url.is_none() && data.exists() {
            tokio::task::block_in_place(|| self.retired.push(data));
        }
        result
    }
}

/// Where the live run of `variant` under `out` keeps its stores.
fn data_dir(out: &Path, variant: &str) -> std::path::PathBuf {
    out.join(variant).join("data")
}

/// Runs `spec` live and writes `out/<variant>/summary.json` and `spec.json`; see the module
/// docs. The data directory is deleted afterwards unless `opts.keep_data`.
pub async fn run_variant_with(
    spec: &RunSpec,
    out: &Path,
    opts: RunOptions,
) -> anyhow::Result<Summary> {
    let vdir = out.join(&spec.variant);
    let plan = faults::wiring::plan(spec)?;
    if spec.target.write_url.is_some() {
        let summary = external::drive(spec, &vdir).await?;
        crate::exec::save(spec, out, &summary)?;
        return Ok(summary);
    }
    let data = data_dir(out, &spec.variant);
    if data.exists() {
        std::fs::remove_dir_all(&data)
            .with_context(|| format!("removing old data in {}", data.display()))?;
    }
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let mut cfg = spec.system.clone();
    cfg.data_dir = data.clone();
    cfg.fanout = crate::threshold::live_fanout(spec).await?;
    let recorder = Recorder::new();
    let svc = Service::open_recorded(cfg, Some(recorder.clone()))
        .await
        .with_context(|| format!("opening the service in {}", data.display()))?;
    let result = drive(spec, &svc, &data, &recorder, &plan).await;
    svc.shutdown().await;
    drop(svc);
    if !opts.keep_data {
        // Workers holding the last store handles exit just after shutdown.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&data).is_ok() || !data.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (summary, burst) = result?;
    crate::exec::save(spec, out, &summary)?;
    insitu::save(spec, &vdir, &recorder, &summary, burst.as_ref())?;
    if let Some(line) = summary.invariants.as_ref().and_then(|i| i.failure()) {
        let file = vdir.join("summary.json");
        anyhow::bail!("variant {}: {line} (see {})", spec.variant, file.display());
    }
    Ok(summary)
}

async fn workload(spec: &RunSpec) -> anyhow::Result<Workload> {
    let (pop_cfg, seed) = (spec.population.clone(), spec.seed);
    tokio::task::spawn_blocking(move || Workload::scaled(&pop_cfg, seed))
        .await
        .context("building the population")?
        .context("building the population")
}

/// Drive the op stream of `spec` against `target` with freshness probes, applying `faults`
/// (what they act on, and the plan) on the driver's clock; returns the stats and what each
/// fault reported (in plan order; empty without faults).
async fn drive_ops(
    spec: &RunSpec,
    workload: &Workload,
    seeded: &seed::Seeded,
    target: Arc<dyn Target>,
    faults: Option<(faults::Reach, &[Fault])>,
) -> anyhow::Result<(feedlab_workload::RunStats, Vec<faults::FaultReport>)> {
    let total = Duration::from_secs_f64(spec.duration_s.max(0.0));
    let warmup = warmup::length(spec).min(total);
    let duration = total - warmup;
    let index = Arc::new(seeded.index.clone());
    let follower_of = Arc::new(move |user: u64, pick: u64| {
        let f = index.followers_of(user);
        (!f.is_empty()).then(|| u64::from(f[(pick % f.len() as u64) as usize]))
    });
    let pb = seed::bar(duration.as_secs().max(1), "run");
    let pbc = pb.clone();
    let cfg = DriverConfig {
        max_in_flight: spec.driver.max_in_flight,
        duration: Some(duration),
        drain_timeout: Duration::from_secs(30),
        freshness: Some(FreshnessProbe {
            fraction: spec.driver.freshness_sample,
            seed: spec.seed,
            poll_every: Duration::from_millis(10),
            timeout: Duration::from_secs_f64(spec.driver.freshness_timeout_s.max(0.01)),
            follower_of,
        }),
        progress: Some(Arc::new(move |p: &feedlab_workload::Progress| {
            pbc.set_position(p.elapsed.as_secs());
            pbc.set_message(format!("{} done, {} dropped", p.completed, p.dropped));
        })),
        progress_every: Duration::from_secs(1),
    };
    let surges = faults
        .as_ref()
        .map_or_else(Vec::new, |(_, plan)| faults::surges(plan));
    let ops = workload
        .ops(&spec.traffic, spec.seed, total)
        .context("building the op stream")?
        .with_read_surges(&surges, spec.seed);
    // Without a warm-up this is the whole stream; with one, faults are refused, so no
    // surge lies on the warm-up's clock.
    let ops = warmup::measured(ops, warmup);
    // Started just before the driver reads its own start instant: one clock for both.
    let scheduler = faults
        .filter(|(_, plan)| !plan.is_empty())
        .map(|(reach, plan)| faults::Scheduler::start(reach, plan, Instant::now()));
    let stats = Driver::run(ops, target, cfg).await;
    let reports = match scheduler {
        Some(s) => s.finish().await,
        None => Vec::new(),
    };
    pb.finish();
    Ok((stats, reports))
}

/// Materialize, then drive the op stream against `svc`, recording its storage calls' service
/// times in `recorder` while the driver runs; then the calibration burst, if the spec asks
/// for one.
async fn drive(
    spec: &RunSpec,
    svc: &Service,
    data: &Path,
    recorder: &Arc<Recorder>,
    plan: &[Fault],
) -> anyhow::Result<(Summary, Option<burst::Burst>)> {
    let workload = workload(spec).await?;
    let seeded = seed::materialize(svc, &workload, spec).await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (target, server) = target(spec, svc, &seeded, recorder, stop_rx).await?;
    warmup::run(spec, &workload, target.clone()).await?;
    svc.drain().await;
    let before = measure::Snapshot::take(svc, data).await?;
    let ledger = (!plan.is_empty())
        .then(|| invariants::Ledger::new(svc.clone(), seeded.ids.clone(), spec.seed, plan));
    let target = match &ledger {
        Some(l) => l.wrap(target),
        None => target,
    };
    let faults = (faults::wiring::reach(spec, svc, &seeded, &target), plan);
    let (driven, probe) =
        recorded_drive(spec, &workload, &seeded, target.clone(), recorder, faults).await;
    let (stats, reports) = driven?;
    crate::hlogs::save(data.parent().unwrap_or(data), &stats)?; // data is <variant>/data
    svc.drain().await;
    let after = measure::Snapshot::take(svc, data).await?;
    // After the measurements, so that its load and writes count in none of them.
    let burst = burst::run(spec, &workload, target.clone()).await?;
    let _ = stop_tx.send(());
    if let Some(s) = server {
        s.await.context("HTTP server task")??;
    }
    // After the measurements, so the checker's reads count in none of them.
    let checked = match &ledger {
        Some(l) => Some(l.check().await),
        None => None,
    };
    let run_loads = measure::load_delta(&before.loads, &after.loads);
    let timeline = (after.timeline_rows, after.timeline_bytes);
    let work = RunWork::take(recorder, svc.shards().len(), probe);
    let transport = match spec.driver.transport {
        Transport::Http => "http",
        Transport::Direct => "direct",
    };
    let mut summary = contract::summary(&contract::Measured {
        spec,
        seeded: &seeded,
        population: workload.graph().population(),
        stats: &stats,
        before: &before,
        after: &after,
        run_loads: &run_loads,
        timeline,
        transport,
        work: Some(&work),
        faults: plan,
        side_uploads: reports.iter().map(faults::FaultReport::uploads).sum(),
    });
    for (entry, report) in summary.faults.iter_mut().zip(&reports) {
        entry.extra.extend(report.extra());
    }
    // No window freshness live yet: a second's freshness p99 is frozen with its cells, before
    // the probes of uploads held up by a fault have seen them (simulated runs have it).
    summary.invariants = checked;
    Ok((summary, burst))
}

/// The driver's target for `spec` on `svc`: direct calls, or the HTTP routers started on two
/// loopback listeners until `stop` fires (their task is returned with the target).
async fn target(
    spec: &RunSpec,
    svc: &Service,
    seeded: &seed::Seeded,
    recorder: &Arc<Recorder>,
    stop_rx: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<(Arc<dyn Target>, Option<Server>)> {
    let mut server = None;
    let target: Arc<dyn Target> = match spec.driver.transport {
        Transport::Direct => {
            let t = DirectTarget::new(svc.clone(), seeded.ids.clone());
            Arc::new(
                t.remembering(&seeded.known_photos)
                    .viewing(spec.driver.view_bytes)
                    .recording(recorder.clone()),
            )
        }
        Transport::Http => {
            let w = TcpListener::bind("127.0.0.1:0").await?;
            let r = TcpListener::bind("127.0.0.1:0").await?;
            let (wa, ra) = (w.local_addr()?, r.local_addr()?);
            let s = svc.clone();
            server = Some(tokio::spawn(async move {
                feedlab_system::http::serve(w, r, s, async move {
                    let _ = stop_rx.await;
                })
                .await
            }));
            let users = Arc::new(UserDirectory::new());
            for (i, (id, token)) in seeded.ids.iter().zip(&seeded.tokens).enumerate() {
                users.insert(
                    i as u64,
                    ServiceUser {
                        id: id.to_string(),
                        token: token.clone(),
                    },
                );
            }
            let mut cfg = HttpConfig::new(format!("http://{wa}"), format!("http://{ra}"));
            cfg.view_bytes = Some(spec.driver.view_bytes).filter(|&n| n > 0);
            let t = HttpTarget::new(cfg, users).context("HTTP client")?;
            t.remember_photos(seeded.known_photos.iter().map(ToString::to_string));
            Arc::new(t)
        }
    };
    Ok((target, server))
}

/// The in-process HTTP server's task.
type Server = tokio::task::JoinHandle<std::io::Result<()>>;

/// Drives the op stream with `recorder` and the machine-speed probe on, recording the driver
/// loop's CPU as the generator's and the probe's CPU apart from the service's.
async fn recorded_drive(
    spec: &RunSpec,
    workload: &Workload,
    seeded: &seed::Seeded,
    target: Arc<dyn Target>,
    recorder: &Recorder,
    faults: (faults::Reach, &[Fault]),
) -> (
    anyhow::Result<(feedlab_workload::RunStats, Vec<faults::FaultReport>)>,
    probe::ProbeSeries,
) {
    recorder.start();
    let probe = probe::Probe::start();
    // The driver loop's own CPU (pacing, the op stream, issuing) is the generator's.
    let (stats, generator_cpu) = CpuTimed::new(Box::pin(drive_ops(
        spec,
        workload,
        seeded,
        target,
        Some(faults),
    )))
    .await;
    if let Ok((s, _)) = &stats {
        recorder.add_total("generator", insitu::issued(s), generator_cpu);
    }
    let probe = probe.stop();
    // The probe's CPU is no op's and not the service's background work either.
    recorder.add_total("probe", probe.runs, probe.cpu_ns);
    recorder.stop();
    (stats, probe)
}
