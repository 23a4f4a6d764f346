//! Criterion benches of the event engine.
//!
//! - `mmc`: the M/M/c validation model (2 events per customer), reported as
//!   events per second; the headline engine figure.
//! - `hold/*`: the classic event-list "hold" benchmark: `n` pending events;
//!   each step pops the earliest and schedules one at now + Exp(1 ms). It
//!   isolates the queue's cost as the pending set grows, for the engine's
//!   4-ary hole heap and for `std::collections::BinaryHeap` as a baseline.
//!
//! Run: `cargo bench -p feedlab-sim --bench engine`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use feedlab_sim::{Engine, MmcParams, Model, ServiceDist, SimTime, mmc_with, rng_stream};
use rand_chacha::ChaCha8Rng;

fn bench_mmc(c: &mut Criterion) {
    let mut g = c.benchmark_group("mmc");
    g.sample_size(10);
    let customers = 500_000u64;
    g.throughput(Throughput::Elements(2 * customers));
    for servers in [1u32, 4, 64] {
        g.bench_function(BenchmarkId::new("rho0.8_events", servers), |b| {
            b.iter(|| {
                let r = mmc_with(&MmcParams {
                    lambda: 0.8 * f64::from(servers),
                    mu: 1.0,
                    c: servers,
                    seed: 1,
                    customers,
                    warmup: 0,
                })
                .expect("valid parameters");
                black_box(r.events)
            })
        });
    }
    g.finish();
}

/// The hold model on the engine: every event schedules its successor.
struct Hold {
    dist: ServiceDist,
    rng: ChaCha8Rng,
    left: u64,
}

impl Model for Hold {
    type Event = u32;
    #[inline]
    fn handle(&mut self, engine: &mut Engine<u32>, ev: u32) {
        engine.schedule_in(self.dist.sample(&mut self.rng), ev);
        self.left -= 1;
        if self.left == 0 {
            engine.stop();
        }
    }
}

const STEPS: u64 = 1_000_000;

/// An engine holding `pending` events, ready for [`STEPS`] hold steps.
fn hold_engine_setup(pending: u32) -> (Engine<u32>, Hold) {
    let dist = ServiceDist::exponential(1e6).expect("positive mean");
    let mut rng = rng_stream(3, 0);
    let mut e = Engine::with_capacity(pending as usize + 1);
    for i in 0..pending {
        e.schedule_at(dist.sample(&mut rng), i);
    }
    let m = Hold {
        dist,
        rng,
        left: STEPS,
    };
    (e, m)
}

type StdHeap = BinaryHeap<Reverse<(SimTime, u64, u32)>>;

/// A std heap holding `pending` events (key: time, insertion seq).
fn hold_std_setup(pending: u32) -> (StdHeap, ServiceDist, ChaCha8Rng) {
    let dist = ServiceDist::exponential(1e6).expect("positive mean");
    let mut rng = rng_stream(3, 0);
    let mut h = BinaryHeap::with_capacity(pending as usize + 1);
    for i in 0..pending {
        h.push(Reverse((dist.sample(&mut rng), u64::from(i), i)));
    }
    (h, dist, rng)
}

fn hold_std((mut h, dist, mut rng): (StdHeap, ServiceDist, ChaCha8Rng)) -> SimTime {
    let first_seq = h.len() as u64;
    let mut now = 0;
    for seq in first_seq..first_seq + STEPS {
        let Some(Reverse((t, _, ev))) = h.pop() else {
            break;
        };
        now = t;
        h.push(Reverse((now + dist.sample(&mut rng), seq, ev)));
    }
    now
}

fn bench_hold(c: &mut Criterion) {
    let mut g = c.benchmark_group("hold");
    g.sample_size(10);
    g.throughput(Throughput::Elements(STEPS));
    for pending in [16u32, 1_000, 100_000, 1_000_000] {
        g.bench_function(BenchmarkId::new("engine", pending), |b| {
            b.iter_batched(
                || hold_engine_setup(pending),
                |(mut e, mut m)| {
                    e.run(&mut m, SimTime::MAX);
                    black_box(e.now())
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(BenchmarkId::new("std_binary_heap", pending), |b| {
            b.iter_batched(
                || hold_std_setup(pending),
                |state| black_box(hold_std(state)),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench_mmc, bench_hold);
criterion_main!(benches);
