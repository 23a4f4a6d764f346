//! [`Pacer`]: the driver's clock, which wakes at an op's intended start time to within tens of
//! microseconds instead of at the next millisecond.
//!
//! tokio's timer wheel has a 1 ms resolution: `sleep_until(t)` wakes at the first millisecond
//! tick after `t`. At a few hundred ops per second that is harmless, but at tens of thousands
//! (an op due every 10–20 µs) it makes the driver issue in bursts once a millisecond, and
//! in-flight slots that free up between ticks stay idle until the next tick. With 64 slots that
//! capped the driver near 64 × 1,000 requests per second whatever the target could do (see
//! `benches/driver_vs_wrk.rs`).
//!
//! On Linux the pacer arms one reusable `timerfd` (nanosecond resolution, `CLOCK_MONOTONIC`,
//! the clock of [`Instant`]) and waits for it through tokio's I/O driver, so a wait costs one
//! `timerfd_settime` and one `read`; waits shorter than [`SPIN`] yield to the runtime until due
//! instead, since arming costs more than they last. Elsewhere, or if the timerfd cannot be created or
//! registered, it falls back to tokio's timer.

use std::time::Duration;

use tokio::time::Instant;

/// Waits up to this long are spent yielding rather than arming the timer: arming, the wake-up
/// through epoll and the read cost a few microseconds, more than a short wait saves.
const SPIN: Duration = Duration::from_micros(50);

/// A reusable high-resolution sleep; see the module docs. The driver keeps one per run; `feedlab
/// calibrate` measures its lateness (`dispatch`) with one.
#[derive(Debug)]
pub struct Pacer {
    #[cfg(target_os = "linux")]
    fd: Option<tokio::io::unix::AsyncFd<timerfd::TimerFd>>,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

impl Pacer {
    /// A pacer for the current tokio runtime. Must be called inside a runtime; without I/O
    /// enabled (or off Linux) the pacer falls back to tokio's 1 ms timer.
    pub fn new() -> Self {
        #[cfg(target_os = "linux")]
        {
            // `AsyncFd::new` is deprecated for types whose raw fd could change or close under
            // the registration; `TimerFd` owns its fd (an `OwnedFd`) for its whole life, which
            // is the contract the unsafe `register` asks for (and this crate forbids unsafe).
            #[allow(deprecated)]
            let fd = timerfd::TimerFd::new_custom(timerfd::ClockId::Monotonic, true, true)
                .ok()
                .and_then(|fd| tokio::io::unix::AsyncFd::new(fd).ok());
            Self { fd }
        }
        #[cfg(not(target_os = "linux"))]
        Self {}
    }

    /// Whether waits are precise (the timerfd is in use).
    #[cfg(test)]
    pub(crate) fn precise(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.fd.is_some();
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// Returns at `deadline` (at once if it has passed). Cancel-safe: dropping the future
    /// leaves the timer armed, and the next call re-arms it.
    pub async fn sleep_until(&mut self, deadline: Instant) {
        let now = Instant::now();
        if deadline <= now {
            return;
        }
        if deadline - now <= SPIN {
            // Shorter than a timer round trip: yield until due (other tasks and the I/O driver
            // run between the polls).
            while Instant::now() < deadline {
                tokio::task::yield_now().await;
            }
            return;
        }
        #[cfg(target_os = "linux")]
        if let Some(fd) = &mut self.fd {
            use timerfd::{SetTimeFlags, TimerState};
            // Re-arming also resets the expiry count, so a stale expiry of a cancelled wait
            // cannot end this one early.
            fd.get_mut()
                .set_state(TimerState::Oneshot(deadline - now), SetTimeFlags::Default);
            loop {
                let Ok(mut ready) = fd.readable().await else {
                    break;
                };
                if ready.get_inner().read() > 0 {
                    return;
                }
                ready.clear_ready();
            }
        }
        tokio::time::sleep_until(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_after_the_deadline_and_uses_the_timerfd_on_linux() {
        let mut pacer = Pacer::new();
        assert_eq!(pacer.precise(), cfg!(target_os = "linux"));
        for micros in [20, 300, 2_000] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            pacer.sleep_until(deadline).await;
            assert!(
                Instant::now() >= deadline,
                "woke before a {micros} us deadline"
            );
        }
    }

    #[tokio::test]
    async fn a_cancelled_wait_does_not_end_the_next_one_early() {
        let mut pacer = Pacer::new();
        // Arm for 3 ms and cancel at once; the timer then fires unread while the thread sleeps.
        let wait = pacer.sleep_until(Instant::now() + Duration::from_millis(3));
        assert!(futures_poll_once(wait).await, "a 3 ms wait ended at once");
        std::thread::sleep(Duration::from_millis(10));
        let deadline = Instant::now() + Duration::from_millis(20);
        pacer.sleep_until(deadline).await;
        assert!(
            Instant::now() >= deadline,
            "a stale expiry ended the wait early"
        );
    }

    /// Polls `fut` once and drops it; true if it was still pending.
    async fn futures_poll_once(fut: impl std::future::Future<Output = ()>) -> bool {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx).is_pending())).await
    }
}
