//! The building blocks composed into small models, each checked against a
//! closed form: Erlang B for a connection pool that rejects (M/M/c/c), the
//! M/M/1/K blocking probability for a station with a bounded queue, E[max of
//! k exponentials] for a fan-in behind network hops, and the exact batch
//! schedule of the rate-limited materializer.

use anyhow::{Result, ensure};
use feedlab_sim::engine::{NANOS_PER_MILLI, NANOS_PER_SEC};
use feedlab_sim::{
    Acquire, Admission, ConnPool, Engine, JoinId, Joins, Model, NetHop, QueueLimit, RateQueue,
    ServiceDist, SimTime, Station, rng_stream,
};
use rand_chacha::ChaCha8Rng;

/// Erlang B via its defining sum, independent of the crate's recursion.
fn erlang_b(c: u32, a: f64) -> f64 {
    let term = |k: u32| a.powi(k as i32) / (1..=k).map(f64::from).product::<f64>();
    term(c) / (0..=c).map(term).sum::<f64>()
}

#[derive(Clone, Copy)]
enum LossEv {
    Arrive,
    Release,
}

/// Poisson arrivals into a pool that holds each granted slot for an
/// exponential time; arrivals finding every slot taken are rejected.
struct Loss {
    pool: ConnPool<()>,
    gaps: ServiceDist,
    hold: ServiceDist,
    rng: ChaCha8Rng,
    left: u64,
}

impl Model for Loss {
    type Event = LossEv;
    fn handle(&mut self, engine: &mut Engine<LossEv>, ev: LossEv) {
        let now = engine.now();
        match ev {
            LossEv::Arrive => {
                if let Acquire::Granted(()) = self.pool.acquire(now, ()) {
                    engine.schedule_in(self.hold.sample(&mut self.rng), LossEv::Release);
                }
                self.left -= 1;
                if self.left > 0 {
                    engine.schedule_in(self.gaps.sample(&mut self.rng), LossEv::Arrive);
                }
            }
            LossEv::Release => {
                // No queue: a release never hands the slot to a waiter.
                assert!(self.pool.release(now).is_none());
            }
        }
    }
}

#[test]
fn rejecting_conn_pool_matches_erlang_b() -> Result<()> {
    let (c, a, n) = (5u32, 4.0, 400_000u64);
    let sec = NANOS_PER_SEC as f64;
    let mut m = Loss {
        pool: ConnPool::new(c, QueueLimit::Max(0))?,
        gaps: ServiceDist::exponential(sec / a)?,
        hold: ServiceDist::exponential(sec)?,
        rng: rng_stream(11, 0),
        left: n,
    };
    let mut e = Engine::new();
    e.schedule_at(0, LossEv::Arrive);
    e.run(&mut m, SimTime::MAX);
    let s = m.pool.stats(e.now());
    let blocked = s.rejected as f64 / n as f64;
    let want = erlang_b(c, a);
    ensure!(s.started + s.rejected == n, "{s:?}");
    ensure!(
        (blocked / want - 1.0).abs() < 0.03,
        "blocked {blocked} vs Erlang B {want}"
    );
    // Carried load a(1−B) spread over c slots.
    let util = a * (1.0 - want) / f64::from(c);
    ensure!(
        (s.utilisation / util - 1.0).abs() < 0.02,
        "util {} vs {util}",
        s.utilisation
    );
    ensure!(s.max_queue == 0 && s.waits.max_ms == 0.0, "{s:?}");
    Ok(())
}

#[derive(Clone, Copy)]
enum MmEv {
    Arrive,
    Done,
}

struct Mm1k {
    station: Station<()>,
    gaps: ServiceDist,
    arrivals: ChaCha8Rng,
    service: ChaCha8Rng,
    left: u64,
}

impl Model for Mm1k {
    type Event = MmEv;
    fn handle(&mut self, engine: &mut Engine<MmEv>, ev: MmEv) {
        let now = engine.now();
        match ev {
            MmEv::Arrive => {
                if let Admission::Started(s) = self.station.arrive(now, (), &mut self.service) {
                    engine.schedule_at(s.done_at, MmEv::Done);
                }
                self.left -= 1;
                if self.left > 0 {
                    engine.schedule_in(self.gaps.sample(&mut self.arrivals), MmEv::Arrive);
                }
            }
            MmEv::Done => {
                if let Some(s) = self.station.complete(now) {
                    engine.schedule_at(s.done_at, MmEv::Done);
                }
            }
        }
    }
}

#[test]
fn bounded_station_queue_matches_mm1k_blocking() -> Result<()> {
    // One worker plus room for 9 waiting: K = 10 in the system.
    let (rho, k, n) = (0.9f64, 10i32, 1_000_000u64);
    let sec = NANOS_PER_SEC as f64;
    let mut m = Mm1k {
        station: Station::new(1, ServiceDist::exponential(sec)?, QueueLimit::Max(9))?,
        gaps: ServiceDist::exponential(sec / rho)?,
        arrivals: rng_stream(12, 1),
        service: rng_stream(12, 2),
        left: n,
    };
    let mut e = Engine::new();
    e.schedule_at(0, MmEv::Arrive);
    e.run(&mut m, SimTime::MAX);
    let s = m.station.stats(e.now());
    let want = (1.0 - rho) * rho.powi(k) / (1.0 - rho.powi(k + 1));
    let blocked = s.rejected as f64 / n as f64;
    ensure!(
        (blocked / want - 1.0).abs() < 0.04,
        "blocked {blocked} vs M/M/1/K {want}"
    );
    ensure!(s.max_queue == 9, "queue never exceeds its limit: {s:?}");
    ensure!(s.completed == n - s.rejected && s.busy == 0, "{s:?}");
    Ok(())
}

#[derive(Clone, Copy)]
enum FeedEv {
    Read(u32),
    ShardReply(JoinId),
    Merged(u32),
}

/// Each read fans out to `k` shards over network hops, joins, then merges.
struct Feed {
    k: u32,
    hop: NetHop,
    merge: Station<u32>,
    joins: Joins<u32>,
    rng: ChaCha8Rng,
    opened: Vec<SimTime>,
    latency_sum: f64,
    done: u64,
}

impl Model for Feed {
    type Event = FeedEv;
    fn handle(&mut self, engine: &mut Engine<FeedEv>, ev: FeedEv) {
        let now = engine.now();
        match ev {
            FeedEv::Read(req) => {
                self.opened[req as usize] = now;
                let id = self.joins.open(now, self.k, req).expect("k >= 1");
                for _ in 0..self.k {
                    engine.schedule_in(self.hop.delay(&mut self.rng), FeedEv::ShardReply(id));
                }
            }
            FeedEv::ShardReply(id) => {
                if let Some(j) = self.joins.arrive(id).expect("id is open") {
                    match self.merge.arrive(now, j.parent, &mut self.rng) {
                        Admission::Started(s) => {
                            engine.schedule_at(s.done_at, FeedEv::Merged(s.job))
                        }
                        other => panic!("merge station must start at once: {other:?}"),
                    }
                }
            }
            FeedEv::Merged(req) => {
                assert!(self.merge.complete(now).is_none());
                self.latency_sum += (now - self.opened[req as usize]) as f64;
                self.done += 1;
            }
        }
    }
}

#[test]
fn fan_in_latency_is_max_of_shards_plus_merge() -> Result<()> {
    let (k, n) = (8u32, 100_000u32);
    let ms = NANOS_PER_MILLI as f64;
    let mut m = Feed {
        k,
        hop: NetHop::new(ServiceDist::exponential(ms)?),
        merge: Station::new(
            64,
            ServiceDist::deterministic(NANOS_PER_MILLI / 2),
            QueueLimit::Max(0),
        )?,
        joins: Joins::new(),
        rng: rng_stream(13, 0),
        opened: vec![0; n as usize],
        latency_sum: 0.0,
        done: 0,
    };
    let mut e = Engine::new();
    for req in 0..n {
        e.schedule_at(u64::from(req) * 10 * NANOS_PER_MILLI, FeedEv::Read(req));
    }
    e.run(&mut m, SimTime::MAX);
    // E[max of k i.i.d. Exp(mean 1 ms)] = H_k ms; plus a 0.5 ms merge.
    let harmonic: f64 = (1..=k).map(|i| 1.0 / f64::from(i)).sum();
    let want = harmonic + 0.5;
    let got = m.latency_sum / f64::from(n) / ms;
    ensure!(m.done == u64::from(n), "all reads complete");
    ensure!(
        (got / want - 1.0).abs() < 0.01,
        "feed latency {got} ms vs {want} ms"
    );
    ensure!(m.joins.open_count() == 0 && m.joins.completed() == u64::from(n));
    ensure!(m.hop.sent() == u64::from(k * n));
    ensure!(
        e.processed() == u64::from(n * (k + 2)),
        "events: {}",
        e.processed()
    );
    Ok(())
}

#[test]
fn rate_queue_follows_the_batch_schedule() -> Result<()> {
    // 1000 items/s, batches of at most 100, 1 ms overhead per batch. All 1000
    // items arrive at t = 0: the first push finds the worker idle and starts a
    // batch of one (1 + 1 ms); then 9 batches of 100 (101 ms each) and one of
    // 99 (100 ms).
    let mut q = RateQueue::new(1000.0, 100, NANOS_PER_MILLI)?;
    let mut done_at = None;
    for i in 0..1000u32 {
        let started = q.push(0, i);
        if i == 0 {
            done_at = started;
        } else {
            ensure!(started.is_none(), "only the first push starts a batch");
        }
    }
    let mut out = Vec::new();
    let mut ends = Vec::new();
    while let Some(t) = done_at {
        ends.push(t / NANOS_PER_MILLI);
        done_at = q.finish_batch(t, &mut out);
    }
    let want: Vec<u64> = vec![2, 103, 204, 305, 406, 507, 608, 709, 810, 911, 1011];
    ensure!(ends == want, "batch ends (ms) {ends:?}");
    ensure!(out == (0..1000).collect::<Vec<u32>>(), "FIFO order kept");
    let end = 1011 * NANOS_PER_MILLI;
    let s = q.stats(end);
    ensure!(
        s.processed == 1000 && s.batches == 11 && s.queued == 0,
        "{s:?}"
    );
    // Queue delay: 0 for item 0; 2 + 101·(j−1) ms for batch j = 1..9 (100
    // items each); 911 ms for the last 99. Mean = 455.589 ms. Adding each
    // item's batch duration (2, 101 or 100 ms) gives 556.391 ms.
    ensure!((s.queue_delay.mean_ms - 455.589).abs() < 1e-9, "{s:?}");
    ensure!((s.total_delay.mean_ms - 556.391).abs() < 1e-9, "{s:?}");
    ensure!(s.max_queue == 999, "{s:?}");
    ensure!((s.utilisation - 1.0).abs() < 1e-12, "{s:?}");
    ensure!(q.finish_batch(end + 1, &mut out).is_none(), "idle queue");
    Ok(())
}

#[test]
fn rate_queue_caps_throughput_under_overload() -> Result<()> {
    // Offered 2000 items/s for 10 s to a 1000/s queue with batches of 50 and
    // 1 ms overhead: capacity is 50 items per 51 ms = 980.4 items/s.
    let mut q = RateQueue::new(1000.0, 50, NANOS_PER_MILLI)?;
    let mut out = Vec::new();
    let mut next_done: Option<SimTime> = None;
    let horizon = 10 * NANOS_PER_SEC;
    let gap = NANOS_PER_SEC / 2000;
    let mut t = 0;
    while t < horizon {
        // Finish every batch due before this arrival, then enqueue it.
        while let Some(d) = next_done.filter(|&d| d <= t) {
            next_done = q.finish_batch(d, &mut out);
        }
        if let Some(d) = q.push(t, t) {
            next_done = Some(d);
        }
        t += gap;
    }
    while let Some(d) = next_done.filter(|&d| d <= horizon) {
        next_done = q.finish_batch(d, &mut out);
    }
    let rate = out.len() as f64 / 10.0;
    let cap = 50.0 / 0.051;
    ensure!(
        (rate / cap - 1.0).abs() < 0.01,
        "throughput {rate}/s vs {cap}/s"
    );
    let s = q.stats(horizon);
    // The backlog grows by ≈ (2000 − 980) items per second.
    ensure!(s.queued > 9_000, "{s:?}");
    ensure!(s.queue_delay.p99_ms > 4_000.0, "{s:?}");
    Ok(())
}

#[test]
fn conn_pool_queues_then_rejects() -> Result<()> {
    let mut p = ConnPool::new(2, QueueLimit::Max(1))?;
    ensure!(p.acquire(0, 'a') == Acquire::Granted('a'));
    ensure!(p.acquire(1, 'b') == Acquire::Granted('b'));
    ensure!(p.acquire(2, 'c') == Acquire::Queued);
    ensure!(p.acquire(3, 'd') == Acquire::Rejected('d'));
    ensure!(
        p.release(10) == Some('c'),
        "the waiter takes the freed slot"
    );
    ensure!(p.release(12).is_none() && p.release(13).is_none());
    ensure!(
        p.release(14).is_none(),
        "release with nothing held is ignored"
    );
    let s = p.stats(20);
    ensure!(s.started == 3 && s.rejected == 1 && s.completed == 3 && s.busy == 0);
    // Waits 0, 0, 8 ns.
    ensure!(p.waits().count() == 3 && p.waits().quantile(1.0) == 8);
    // Busy: 1 on [0,1), 2 on [1,12), 1 on [12,13) → 24 slot-ns over 2×20.
    ensure!((s.utilisation - 24.0 / 40.0).abs() < 1e-12, "{s:?}");
    Ok(())
}
