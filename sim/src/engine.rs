//! The event engine: simulated time, the pending-event queue and the run loop.
//!
//! Time is an integer count of nanoseconds ([`SimTime`]), so a run is a pure
//! function of its seed and inputs and reproduces bit for bit. The engine never
//! reads a wall clock.
//!
//! Events are a caller-chosen `Copy` type `E` (normally a small enum of at most
//! 16 bytes). They sit in a binary min-heap (private module `queue`) keyed by
//! `(time, seq)`, where `seq`
//! is a per-engine insertion counter: two events due at the same instant pop in
//! the order they were scheduled (stable tie-breaking), which keeps runs
//! deterministic regardless of heap internals. No event allocates; the heap
//! grows to the peak number of pending events and is reused.
//!
//! A model is anything implementing [`Model`]; [`Engine::run`] pops events in
//! time order and hands each one to [`Model::handle`] together with the engine,
//! so the handler can schedule follow-ups.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::queue::{Entry, EventHeap};

/// Simulated time in nanoseconds since the start of the run.
pub type SimTime = u64;

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;
/// Nanoseconds in one millisecond.
pub const NANOS_PER_MILLI: u64 = 1_000_000;
/// Nanoseconds in one microsecond.
pub const NANOS_PER_MICRO: u64 = 1_000;

/// Round a non-negative nanosecond amount to [`SimTime`].
///
/// Negative values and NaN map to 0; values beyond `u64::MAX` saturate.
#[inline]
pub fn ns(x: f64) -> SimTime {
    // `as` saturates and maps NaN to 0; +0.5 rounds half up for x >= 0.
    (x + 0.5) as u64
}

/// Seconds (as `f64`) to [`SimTime`], rounded to the nearest nanosecond
/// (negative/NaN → 0, saturating).
#[inline]
pub fn from_secs(s: f64) -> SimTime {
    ns(s * NANOS_PER_SEC as f64)
}

/// Milliseconds (as `f64`) to [`SimTime`], rounded (negative/NaN → 0, saturating).
#[inline]
pub fn from_millis(ms: f64) -> SimTime {
    ns(ms * NANOS_PER_MILLI as f64)
}

/// [`SimTime`] to seconds as `f64`.
#[inline]
pub fn to_secs(t: SimTime) -> f64 {
    t as f64 / NANOS_PER_SEC as f64
}

/// [`SimTime`] to milliseconds as `f64`.
#[inline]
pub fn to_millis(t: SimTime) -> f64 {
    t as f64 / NANOS_PER_MILLI as f64
}

/// An independent random stream derived from a run seed.
///
/// Contract: the same `(seed, stream)` always yields the same sequence; different
/// `stream` numbers give non-overlapping ChaCha8 streams. Give each source of
/// randomness (arrivals, each station's service times, ...) its own stream so
/// that changing one component does not shift the random numbers another sees
/// (common random numbers across variants).
pub fn rng_stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A model driven by an [`Engine`]: it reacts to one event at a time.
pub trait Model {
    /// The event type this model schedules and handles.
    type Event;
    /// Handle `event`, which is due at `engine.now()`. The handler may schedule
    /// further events (never in the past: see [`Engine::schedule_at`]) and may
    /// call [`Engine::stop`] to end [`Engine::run`] after this event.
    fn handle(&mut self, engine: &mut Engine<Self::Event>, event: Self::Event);
}

/// The discrete-event engine: a clock and a time-ordered queue of events `E`.
pub struct Engine<E> {
    now: SimTime,
    seq: u64,
    processed: u64,
    stopped: bool,
    heap: EventHeap<E>,
}

impl<E: Copy> Default for Engine<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Engine<E> {
    /// An empty engine at time 0.
    pub fn new() -> Self {
        Self::with_capacity(64)
    }

    /// An empty engine at time 0 with room for `pending` events before the
    /// queue reallocates.
    pub fn with_capacity(pending: usize) -> Self {
        Engine {
            now: 0,
            seq: 0,
            processed: 0,
            stopped: false,
            heap: EventHeap::with_capacity(pending),
        }
    }

    /// Current simulated time: the due time of the event being (or last)
    /// handled, or the `until` bound after [`Engine::run`] stopped on it.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedule `event` at absolute time `at`.
    ///
    /// Contract: an event is never delivered before `now()`; an `at` in the
    /// past is clamped to `now()` (it then pops after every event already due
    /// at `now()` that was scheduled earlier). Events with equal times pop in
    /// scheduling order.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        let time = at.max(self.now);
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Entry { time, seq, event });
    }

    /// Schedule `event` `delay` nanoseconds from now (saturating at `u64::MAX`).
    #[inline]
    pub fn schedule_in(&mut self, delay: SimTime, event: E) {
        self.schedule_at(self.now.saturating_add(delay), event);
    }

    /// Remove and return the earliest pending event, advancing `now()` to its
    /// time and counting it in [`Engine::processed`]. `None` when empty.
    #[inline]
    pub fn pop(&mut self) -> Option<E> {
        let s = self.heap.pop()?;
        self.now = s.time;
        self.processed += 1;
        Some(s.event)
    }

    /// Due time of the earliest pending event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|s| s.time)
    }

    /// Number of events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.heap.len()
    }

    /// Number of events popped so far (the engine's work counter).
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Ask [`Engine::run`] to return after the current event.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// Drop every pending event (time and counters are kept).
    pub fn clear(&mut self) {
        self.heap.clear();
    }

    /// Run `model` until the queue is empty, the next event is due after
    /// `until`, or the model calls [`Engine::stop`].
    ///
    /// Events due exactly at `until` are handled. When the run ends because the
    /// next event lies beyond `until`, `now()` is set to `until` (the event
    /// stays queued, so a later `run` resumes it). Returns how many events this
    /// call handled.
    pub fn run<M: Model<Event = E>>(&mut self, model: &mut M, until: SimTime) -> u64 {
        let start = self.processed;
        self.stopped = false;
        while let Some(top) = self.heap.peek() {
            if top.time > until {
                self.now = until.max(self.now);
                break;
            }
            let Some(event) = self.pop() else { break };
            model.handle(self, event);
            if self.stopped {
                break;
            }
        }
        self.processed - start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut e = Engine::new();
        e.schedule_at(5, 'a');
        e.schedule_at(3, 'b');
        e.schedule_at(5, 'c');
        e.schedule_at(3, 'd');
        let order: Vec<char> = std::iter::from_fn(|| e.pop()).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
        assert_eq!(e.now(), 5);
        assert_eq!(e.processed(), 4);
    }

    #[test]
    fn past_events_are_clamped_to_now() {
        let mut e = Engine::new();
        e.schedule_at(10, 1u8);
        assert_eq!(e.pop(), Some(1));
        e.schedule_at(2, 2u8);
        assert_eq!(e.peek_time(), Some(10));
    }

    #[test]
    fn time_conversions_round_trip() {
        assert_eq!(from_secs(1.5), 1_500_000_000);
        assert_eq!(from_millis(0.25), 250_000);
        assert_eq!(ns(-3.0), 0);
        assert_eq!(ns(f64::NAN), 0);
        assert!((to_secs(2_500_000_000) - 2.5).abs() < 1e-12);
        assert!((to_millis(1_500_000) - 1.5).abs() < 1e-12);
    }
}
