//! Closed-form queueing results the simulator is validated against.
//!
//! For M/M/c (Poisson arrivals at rate λ, c servers with exponential service at
//! rate μ, FIFO, unbounded queue) with offered load a = λ/μ and ρ = a/c < 1:
//! - Erlang C, the probability an arrival waits: C(c, a), computed through the
//!   numerically stable Erlang B recursion B(k) = a·B(k−1)/(k + a·B(k−1)),
//!   C = B / (1 − ρ(1 − B));
//! - mean wait in queue Wq = C / (cμ − λ);
//! - wait tail P(Wq > t) = C · e^{−(cμ−λ)t}, so the q-quantile of the wait is
//!   ln(C / (1 − q)) / (cμ − λ) when C > 1 − q, and 0 otherwise.

use crate::error::{Error, Result, invalid, positive};

/// Erlang C: probability that an arrival must wait in an M/M/c queue with
/// `c` servers and offered load `a = λ/μ`. Returns 1.0 when `a >= c`
/// (saturated) and 0.0 when `c == 0` is requested with no load.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 {
        return if a > 0.0 { 1.0 } else { 0.0 };
    }
    let rho = a / f64::from(c);
    if rho >= 1.0 {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    b / (1.0 - rho * (1.0 - b))
}

/// Steady-state waiting-time figures of an M/M/c queue (seconds when λ, μ are
/// per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcTheory {
    /// Arrival rate λ.
    pub lambda: f64,
    /// Per-server service rate μ.
    pub mu: f64,
    /// Number of servers.
    pub c: u32,
    /// Probability of waiting, C(c, λ/μ).
    pub erlang_c: f64,
    /// Server utilisation ρ = λ/(cμ).
    pub utilisation: f64,
    /// Mean wait in queue.
    pub mean_wait: f64,
}

impl MmcTheory {
    /// Theory for the given rates. Errors on non-positive parameters and on an
    /// unstable system (λ ≥ cμ).
    pub fn new(lambda: f64, mu: f64, c: u32) -> Result<Self> {
        let lambda = positive("lambda", lambda)?;
        let mu = positive("mu", mu)?;
        if c == 0 {
            return Err(invalid("c", "need at least one server"));
        }
        let capacity = f64::from(c) * mu;
        if lambda >= capacity {
            return Err(Error::Unstable { lambda, capacity });
        }
        let ec = erlang_c(c, lambda / mu);
        Ok(MmcTheory {
            lambda,
            mu,
            c,
            erlang_c: ec,
            utilisation: lambda / capacity,
            mean_wait: ec / (capacity - lambda),
        })
    }

    /// Decay rate of the wait tail, cμ − λ.
    pub fn decay(&self) -> f64 {
        f64::from(self.c) * self.mu - self.lambda
    }

    /// P(Wq > t).
    pub fn p_wait_exceeds(&self, t: f64) -> f64 {
        if t < 0.0 {
            1.0
        } else {
            self.erlang_c * (-self.decay() * t).exp()
        }
    }

    /// The `q`-quantile of the wait (0 when at least a fraction `q` of
    /// arrivals do not wait).
    pub fn wait_quantile(&self, q: f64) -> f64 {
        let tail = 1.0 - q.clamp(0.0, 1.0);
        if self.erlang_c <= tail {
            0.0
        } else {
            (self.erlang_c / tail).ln() / self.decay()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_known_values() {
        // M/M/1: C = ρ.
        assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
        // Textbook: c = 2, a = 1 → C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        // c = 4, a = 3.2: direct formula.
        let a: f64 = 3.2;
        let sum: f64 = (0..4)
            .map(|k| a.powi(k) / (1..=k).product::<i32>() as f64)
            .sum();
        let top = a.powi(4) / 24.0 / (1.0 - a / 4.0);
        assert!((erlang_c(4, a) - top / (sum + top)).abs() < 1e-12);
    }

    #[test]
    fn mm1_quantiles() -> Result<()> {
        let t = MmcTheory::new(0.5, 1.0, 1)?;
        assert!((t.mean_wait - 1.0).abs() < 1e-12); // ρ/(μ−λ) = 0.5/0.5
        assert!((t.wait_quantile(0.99) - (50.0f64).ln() / 0.5).abs() < 1e-12);
        assert_eq!(t.wait_quantile(0.4), 0.0);
        assert!(MmcTheory::new(1.0, 1.0, 1).is_err());
        Ok(())
    }
}
