//! The M/M/c model: the simulator's validation case against queueing theory and
//! its speed benchmark.
//!
//! Poisson arrivals (rate λ per second) feed one [`Station`] of `c` workers
//! with exponential service (rate μ per worker). Two events per customer
//! (arrival, departure). Arrivals and service times use separate random
//! streams of the run's seed. The first `warmup` customers are discarded: statistics
//! are reset when customer `warmup` arrives. Waits are those of customers that
//! start service after the reset; utilisation is measured from the reset to
//! the last arrival; then the queue drains.

use rand_chacha::ChaCha8Rng;

use crate::dist::ServiceDist;
use crate::engine::{Engine, Model, NANOS_PER_SEC, SimTime, rng_stream, to_secs};
use crate::error::{Result, invalid};
use crate::station::{Admission, QueueLimit, Station};
use crate::theory::MmcTheory;

/// Parameters of one M/M/c run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcParams {
    /// Arrival rate λ, per second.
    pub lambda: f64,
    /// Service rate μ of one worker, per second.
    pub mu: f64,
    /// Number of workers.
    pub c: u32,
    /// Run seed.
    pub seed: u64,
    /// Customers measured (after the warm-up).
    pub customers: u64,
    /// Customers simulated and discarded before measuring.
    pub warmup: u64,
}

/// Outcome of an M/M/c run (times in seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcResult {
    /// Mean wait in queue of measured customers.
    pub mean_wait: f64,
    /// 99th percentile of their wait (histogram precision 0.1%).
    pub p99_wait: f64,
    /// Busy fraction of the workers over the measured window.
    pub utilisation: f64,
    /// Events handled by the engine over the whole run, warm-up included.
    pub events: u64,
    /// Customers whose wait was measured.
    pub measured: u64,
    /// Simulated time at the end of the run.
    pub end: SimTime,
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    Arrive,
    Depart,
}

struct Mmc {
    station: Station<()>,
    interarrival: ServiceDist,
    arrivals: ChaCha8Rng,
    service: ChaCha8Rng,
    arrived: u64,
    warmup: u64,
    total: u64,
    utilisation: f64,
}

impl Model for Mmc {
    type Event = Ev;

    #[inline]
    fn handle(&mut self, engine: &mut Engine<Ev>, event: Ev) {
        let now = engine.now();
        match event {
            Ev::Arrive => {
                if self.arrived == self.warmup {
                    self.station.reset_stats(now);
                }
                self.arrived += 1;
                if let Admission::Started(s) = self.station.arrive(now, (), &mut self.service) {
                    engine.schedule_at(s.done_at, Ev::Depart);
                }
                if self.arrived < self.total {
                    let gap = self.interarrival.sample(&mut self.arrivals);
                    engine.schedule_in(gap, Ev::Arrive);
                } else {
                    self.utilisation = self.station.pool().utilisation(now);
                }
            }
            Ev::Depart => {
                if let Some(s) = self.station.complete(now) {
                    engine.schedule_at(s.done_at, Ev::Depart);
                }
            }
        }
    }
}

/// Run M/M/c with `customers` measured customers after a warm-up of
/// `customers / 10` discarded ones. See [`mmc_with`].
pub fn mmc(lambda: f64, mu: f64, c: u32, seed: u64, customers: u64) -> Result<MmcResult> {
    mmc_with(&MmcParams {
        lambda,
        mu,
        c,
        seed,
        customers,
        warmup: customers / 10,
    })
}

/// Run M/M/c as described in the module docs.
///
/// Contract: deterministic in `params` (same params → bit-identical result).
/// Errors when a rate is not finite and positive, `c == 0`, `customers == 0`,
/// or λ ≥ cμ (no steady state to measure).
pub fn mmc_with(p: &MmcParams) -> Result<MmcResult> {
    MmcTheory::new(p.lambda, p.mu, p.c)?;
    if p.customers == 0 {
        return Err(invalid("customers", "must be at least 1"));
    }
    let sec = NANOS_PER_SEC as f64;
    let mut model = Mmc {
        station: Station::new(
            p.c,
            ServiceDist::exponential(sec / p.mu)?,
            QueueLimit::Unbounded,
        )?,
        interarrival: ServiceDist::exponential(sec / p.lambda)?,
        arrivals: rng_stream(p.seed, 1),
        service: rng_stream(p.seed, 2),
        arrived: 0,
        warmup: p.warmup,
        total: p.warmup.saturating_add(p.customers),
        utilisation: 0.0,
    };
    let mut engine = Engine::with_capacity(p.c as usize + 2);
    engine.schedule_at(0, Ev::Arrive);
    engine.run(&mut model, SimTime::MAX);
    let waits = model.station.pool().waits();
    Ok(MmcResult {
        mean_wait: waits.mean() / sec,
        p99_wait: to_secs(waits.quantile(0.99)),
        utilisation: model.utilisation,
        events: engine.processed(),
        measured: waits.count(),
        end: engine.now(),
    })
}
