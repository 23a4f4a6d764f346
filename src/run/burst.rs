//! The calibration burst: a few seconds at a multiple of a live run's load after its measured
//! window, to learn how much cheaper an op's client and app work gets on a busier box.
//!
//! On this kind of box the CPU per op falls as load rises (threads that find work waiting
//! park and wake less), so costs measured at a low load over-price a higher one. With
//! `driver.calibration-burst = B` a live run, once its measured window is over, drives the
//! same service at `B` times its traffic for `driver.calibration-burst-s` seconds, with the
//! recorder off, and measures the process's CPU per op that ran (dropped ops did not run)
//! and the cores it used, and runs the machine-speed probe, so that a host that sped up or
//! slowed between the phases is not taken for the design's fall. [`cpu_fall`] turns that and
//! the measured window's figures into the
//! calibration's `[cpu-fall]` (see `feedlab_sim::model::CpuFall`): the storage calls' CPU per
//! op is taken as the same in both (it is flat across a ladder), and the rest (generator,
//! transport, handler, runtime) carries the fall. A burst that saturates the service (the
//! driver drops ops) also measures the cores a saturated service gets on this box.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use feedlab_sim::model::{BurstP50, CpuFall, OP_KINDS};
use feedlab_system::timing::{Recorder, process_cpu_ns};
use feedlab_workload::{Driver, DriverConfig, OpKind, Target, Workload};

use super::rise::KindLatency;
use crate::spec::RunSpec;

/// One phase of a calibration burst.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Its traffic over the run's.
    pub load: f64,
    /// Wall seconds it took, its drain included.
    pub seconds: f64,
    /// Ops that ran (succeeded or failed; not the dropped).
    pub ran: u64,
    /// Ops the driver dropped.
    pub dropped: u64,
    /// Process CPU it used, ns.
    pub cpu_ns: u64,
    /// Per op kind that succeeded, its latency (see [`super::rise::latency`]).
    pub latency: BTreeMap<String, KindLatency>,
    /// The machine-speed probe's median µs over the phase (see [`super::probe`]), when it
    /// ran; its own CPU is not in `cpu_ns`.
    pub probe_us: Option<f64>,
}

impl Phase {
    /// Process CPU per op that ran, ms.
    pub fn cpu_per_op_ms(&self) -> Option<f64> {
        (self.ran > 0).then(|| self.cpu_ns as f64 / 1e6 / self.ran as f64)
    }

    /// Cores' worth of CPU the process used.
    pub fn cores(&self) -> Option<f64> {
        (self.seconds > 0.0).then(|| self.cpu_ns as f64 / 1e9 / self.seconds)
    }

    /// The cores the process got when the phase saturated it (the driver dropped ops, so
    /// it had all it could take); `None` when it did not.
    pub fn saturated_cores(&self) -> Option<f64> {
        self.cores().filter(|_| self.dropped > 0)
    }
}

/// What a calibration burst measured: a phase at the run's own load, then one at the
/// burst's. Both run on the same warmed service after the measured window, so their ratio
/// is free of what the window alone paid (cold caches, flushing the data loaded before it).
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    /// At the run's load.
    pub base: Phase,
    /// At `driver.calibration-burst` times it.
    pub high: Phase,
}

/// Runs the burst of `spec` (none when `driver.calibration-burst` is 0) against `target`.
pub async fn run(
    spec: &RunSpec,
    workload: &Workload,
    target: Arc<dyn Target>,
) -> anyhow::Result<Option<Burst>> {
    let load = spec.driver.calibration_burst;
    if load <= 0.0 {
        return Ok(None);
    }
    let base = phase(spec, workload, target.clone(), 1.0).await?;
    let high = phase(spec, workload, target, load).await?;
    Ok(Some(Burst { base, high }))
}

/// Drives `spec`'s traffic times `load` for `driver.calibration-burst-s` seconds.
async fn phase(
    spec: &RunSpec,
    workload: &Workload,
    target: Arc<dyn Target>,
    load: f64,
) -> anyhow::Result<Phase> {
    let mut traffic = spec.traffic.clone();
    traffic.load *= load;
    let duration = Duration::from_secs_f64(spec.driver.calibration_burst_s);
    // A stream of its own, so it is not the measured window's ops again.
    let ops = workload
        .ops(&traffic, spec.seed ^ 0xB0257 ^ load.to_bits(), duration)
        .context("building the calibration burst's op stream")?;
    let cfg = DriverConfig {
        max_in_flight: spec.driver.max_in_flight,
        duration: Some(duration),
        drain_timeout: Duration::from_secs(10),
        freshness: None,
        progress: None,
        progress_every: Duration::from_secs(1),
    };
    let (t0, cpu0) = (Instant::now(), process_cpu_ns());
    let probe = super::probe::Probe::start();
    let stats = Driver::run(ops, target, cfg).await;
    let probe = probe.stop();
    let (seconds, cpu_ns) = (
        t0.elapsed().as_secs_f64(),
        process_cpu_ns()
            .saturating_sub(cpu0)
            .saturating_sub(probe.cpu_ns),
    );
    let (mut ran, mut dropped, mut latency) = (0, 0, BTreeMap::new());
    for &k in OpKind::ALL.iter() {
        let s = stats.kind(k);
        ran += s.latency.len() + s.errors.values().sum::<u64>();
        dropped += s.dropped;
        if !s.latency.is_empty() {
            latency.insert(k.name().to_string(), super::rise::latency(&s.latency));
        }
    }
    Ok(Phase {
        load,
        seconds,
        ran,
        dropped,
        cpu_ns,
        latency,
        probe_us: Some(probe.median_us()).filter(|&u| u > 0.0),
    })
}

/// The `[cpu-fall]` of a run whose measured window `recorder` holds, on a box of `cores`,
/// from its `burst`; `None` when a figure is missing or the burst's high phase did not load
/// the box enough more than its base phase (see `CpuFall::measured`). Busy fractions are of
/// the cores the process got when saturated, if the high phase saturated it, else of
/// `cores`. The ratio is taken at the base phase's machine speed: times the base phase's
/// probe over the high phase's to the power `exponent` (how the service's CPU per op follows
/// the probe, `sweep.twin-speed-exponent`), when both probed.
pub fn cpu_fall(recorder: &Recorder, cores: u32, burst: &Burst, exponent: f64) -> Option<CpuFall> {
    let totals = recorder.totals();
    let issued = totals.get("generator")?.count;
    // The calibration's op kinds less the two no storage call measures.
    let storage_ns: u64 = OP_KINDS
        .iter()
        .filter(|op| !matches!(**op, "merge" | "request"))
        .filter_map(|op| totals.get(*op))
        .map(|t| t.cpu_ns)
        .sum();
    let storage_ms = storage_ns as f64 / 1e6 / issued.max(1) as f64;
    let rest = burst.base.cpu_per_op_ms()? - storage_ms;
    let rest_high = burst.high.cpu_per_op_ms()? - storage_ms;
    if rest <= 0.0 || cores == 0 {
        return None;
    }
    let capacity = burst.high.saturated_cores().unwrap_or(f64::from(cores));
    let busy = burst.base.cores()? / capacity;
    // On the machine's speed as the base phase met it: a host that sped up between the
    // phases is no fall of the design's (the twin takes the host's speed apart).
    let host = match (burst.base.probe_us, burst.high.probe_us) {
        (Some(b), Some(h)) => (b / h).powf(exponent),
        _ => 1.0,
    };
    CpuFall::measured(
        busy,
        burst.high.cores()? / capacity,
        rest_high / rest * host,
    )
}

/// Fewest ops of a kind in each phase for its p50 to go into `[burst]`.
pub const MIN_P50_OPS: u64 = 50;

/// The calibration's `[burst]`: each op kind's p50 in both phases, for the kinds that ran
/// [`MIN_P50_OPS`] times in each; `None` when none did.
pub fn burst_p50(burst: &Burst) -> Option<BurstP50> {
    let p50 = |l: &KindLatency| {
        let (n, q) = l;
        let ms = q.iter().find(|(p, _)| *p == 0.5)?.1;
        (*n >= MIN_P50_OPS && ms > 0.0).then_some(ms)
    };
    let p50_ms: BTreeMap<String, [f64; 2]> = (burst.base.latency.iter())
        .filter_map(|(kind, base)| {
            let high = burst.high.latency.get(kind)?;
            Some((kind.clone(), [p50(base)?, p50(high)?]))
        })
        .collect();
    let b = BurstP50 {
        load: burst.high.load / burst.base.load,
        p50_ms,
    };
    (!b.p50_ms.is_empty() && b.validate().is_ok()).then_some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(load: f64, cpu_ms: u64, ran: u64, dropped: u64) -> Phase {
        Phase {
            load,
            seconds: 1.0,
            ran,
            dropped,
            cpu_ns: cpu_ms * 1_000_000,
            latency: BTreeMap::new(),
            probe_us: None,
        }
    }

    /// A recorder whose window issued 1,000 ops with 0.2 ms of storage CPU each.
    fn window() -> Arc<Recorder> {
        let rec = Recorder::new();
        rec.start();
        rec.add_total("generator", 1_000, 20_000_000);
        rec.add_total("scan", 3_000, 150_000_000);
        rec.add_total("get", 5_000, 50_000_000);
        rec.stop();
        rec
    }

    #[test]
    fn the_fall_prices_the_non_storage_part_of_an_op() {
        // Base: 1.0 ms per op on 0.4 of 2 cores (0.8 ms not storage). High: 0.6 ms per op
        // on 1.8 cores (0.4 ms): that part halved on a box 90% busy.
        let b = Burst {
            base: phase(1.0, 400, 400, 0),
            high: phase(4.0, 1_800, 3_000, 0),
        };
        assert_eq!(
            (b.high.cores(), b.high.saturated_cores()),
            (Some(1.8), None)
        );
        let f = cpu_fall(&window(), 2, &b, 1.0).expect("a fall");
        assert!((f.busy - 0.2).abs() < 1e-12, "{f:?}");
        assert!((f.burst_busy - 0.9).abs() < 1e-12, "{f:?}");
        assert!((f.ratio - 0.5).abs() < 1e-12, "{f:?}");
    }

    #[test]
    fn a_host_that_sped_up_between_the_phases_is_no_fall() {
        // As above, but the high phase's probe read 64 µs against the base's 80: the host
        // ran 1.25 times faster, so the design's own fall is 0.5 × 1.25.
        let mut b = Burst {
            base: phase(1.0, 400, 400, 0),
            high: phase(4.0, 1_800, 3_000, 0),
        };
        (b.base.probe_us, b.high.probe_us) = (Some(80.0), Some(64.0));
        let f = cpu_fall(&window(), 2, &b, 1.0).expect("a fall");
        assert!((f.ratio - 0.5 * 1.25).abs() < 1e-12, "{f:?}");
        // With the service's CPU following the probe at a power of 0.5.
        let f = cpu_fall(&window(), 2, &b, 0.5).expect("a fall");
        assert!((f.ratio - 0.5 * 1.25f64.sqrt()).abs() < 1e-12, "{f:?}");
        // A probe missing from either phase leaves the ratio as measured.
        b.high.probe_us = None;
        let f = cpu_fall(&window(), 2, &b, 1.0).expect("a fall");
        assert!((f.ratio - 0.5).abs() < 1e-12, "{f:?}");
    }

    #[test]
    fn a_saturating_burst_measures_on_the_cores_it_got() {
        // It dropped ops, so its 1.8 cores are all the process could get.
        let b = Burst {
            base: phase(1.0, 400, 400, 0),
            high: phase(8.0, 1_800, 3_000, 10),
        };
        assert_eq!(b.high.saturated_cores(), Some(1.8));
        let f = cpu_fall(&window(), 2, &b, 1.0).expect("a fall");
        assert!((f.busy - 0.4 / 1.8).abs() < 1e-12, "{f:?}");
        assert!((f.burst_busy - 1.0).abs() < 1e-12, "{f:?}");
    }

    #[test]
    fn no_fall_without_figures_or_from_a_burst_that_did_not_load_the_box() {
        let base = phase(1.0, 400, 400, 0);
        let b = Burst {
            base: base.clone(),
            high: phase(4.0, 1_800, 3_000, 0),
        };
        assert_eq!(cpu_fall(&Recorder::new(), 2, &b, 1.0), None, "no window");
        let idle = Burst {
            base: base.clone(),
            high: phase(4.0, 500, 500, 0),
        };
        assert_eq!(cpu_fall(&window(), 2, &idle, 1.0), None, "not busier");
        let empty = Burst {
            base,
            high: phase(4.0, 1, 0, 0),
        };
        assert_eq!(cpu_fall(&window(), 2, &empty, 1.0), None, "nothing ran");
    }

    #[test]
    fn the_burst_record_keeps_each_kind_that_ran_enough_in_both_phases() {
        let lat = |n: u64, ms: f64| (n, vec![(0.5, ms), (0.99, 4.0 * ms)]);
        let mut base = phase(1.0, 100, 500, 0);
        let mut high = phase(10.0, 500, 5_000, 0);
        base.latency = BTreeMap::from([
            ("feed".to_string(), lat(100, 1.0)),
            ("photo_get".to_string(), lat(200, 0.9)),
            ("follow".to_string(), lat(3, 2.0)),
        ]);
        high.latency = BTreeMap::from([
            ("feed".to_string(), lat(1_000, 0.6)),
            ("follow".to_string(), lat(30, 2.5)),
        ]);
        let b = burst_p50(&Burst { base, high }).expect("a record");
        assert_eq!(b.load, 10.0);
        assert_eq!(b.p50_ms, BTreeMap::from([("feed".to_string(), [1.0, 0.6])]));
        let (base, high) = (phase(1.0, 1, 1, 0), phase(4.0, 1, 1, 0));
        assert_eq!(burst_p50(&Burst { base, high }), None, "no kind ran");
    }
}
