//! How the wait in an op's transport grows as its node gets busier.
//!
//! An op's transport (`http-<kind>`: both HTTP stacks, the loopback and the wake-ups between
//! the tasks) is drawn from the shape a live run measured at its own load. On a live box its
//! median hardly moves with load while its tail grows fast: on the quickstart's ladder the
//! feed's transport p99 went 1.15 → 2.77 → 13.1 ms from ×1 to ×4 to ×8, with the handler's
//! storage calls and app work moving by tenths of a millisecond (BENCHMARKS.md). A twin that
//! keeps the ×1 shape therefore keeps ×1's tail.
//!
//! [`TransportRise`] lengthens a transport drawn at quantile `u` to
//! `((1 - busy) / (1 - ρ))^a(u)` times its drawn time, `ρ` the node's recent busy fraction
//! (held at [`MAX_BUSY`]), 1 when `ρ ≤ busy`; the added time is a wait, since the transport's
//! CPU per op does not grow with load (at the calibration's load a transport is often all
//! CPU, so scaling only its wait would leave it as it was). The exponent `a(u)` of each op kind is measured by the
//! calibration burst: the transport's quantiles at the burst's load over those at the run's,
//! `a = ln(ratio) / ln((1 - busy) / (1 - burst-busy))`, interpolated linearly in `u` between
//! the measured quantiles and held beyond them. The same form through the burst's two loads
//! put the feed's ×8 transport p99 at 11.7× the ×1 one, where live measured 11.4×.
//!
//! ```toml
//! [transport-rise]
//! busy = 0.07
//! burst-busy = 0.27
//! [[transport-rise.kinds]]
//! kind = "feed"
//! exponents = [[0.5, 0.0], [0.9, 1.2], [0.99, 3.6]]
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// The busy fraction the rise is held at: the factor grows without bound towards 1.
pub const MAX_BUSY: f64 = 0.95;

/// The rise of one op kind's transport: `(quantile, exponent)`, quantiles ascending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct KindRise {
    /// The op kind (`feed`, `photo_get`, ...).
    pub kind: String,
    /// `(u, a)`: at quantile `u` of the transport, the exponent `a ≥ 0`.
    pub exponents: Vec<(f64, f64)>,
}

/// The rise of the transports' wait with load (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TransportRise {
    /// The busy fraction of the node when the transports were measured, in `[0, 1)`.
    pub busy: f64,
    /// The busy fraction of the burst that measured the exponents, in `(busy, 1]`.
    pub burst_busy: f64,
    /// Per op kind; a kind without an entry does not rise.
    pub kinds: Vec<KindRise>,
}

impl TransportRise {
    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(invalid("calibration", format!("transport-rise.{what}")));
        if !(self.busy.is_finite() && (0.0..1.0).contains(&self.busy)) {
            return bad(format!("busy must be in [0, 1), got {}", self.busy));
        }
        let b = self.burst_busy;
        if !(b.is_finite() && b > self.busy && b <= 1.0) {
            return bad(format!("burst-busy must be in (busy, 1], got {b}"));
        }
        for k in &self.kinds {
            let ok_u = k.exponents.windows(2).all(|w| w[0].0 < w[1].0);
            let in_range = k.exponents.iter().all(|&(u, a)| {
                (0.0..=1.0).contains(&u) && a.is_finite() && a >= 0.0 && u.is_finite()
            });
            if k.exponents.is_empty() || !ok_u || !in_range {
                return bad(format!(
                    "kinds: {:?} needs (quantile, exponent) pairs, quantiles ascending in \
                     [0, 1], exponents finite and >= 0",
                    k.kind
                ));
            }
        }
        Ok(())
    }

    /// The exponent of `kind`'s transport at quantile `u`; 0 for a kind without an entry.
    pub fn exponent(&self, kind: &str, u: f64) -> f64 {
        let Some(k) = self.kinds.iter().find(|k| k.kind == kind) else {
            return 0.0;
        };
        let e = &k.exponents;
        match e.iter().position(|&(q, _)| q >= u) {
            None => e.last().map_or(0.0, |&(_, a)| a),
            Some(0) => e[0].1,
            Some(i) => {
                let ((u0, a0), (u1, a1)) = (e[i - 1], e[i]);
                a0 + (a1 - a0) * (u - u0) / (u1 - u0)
            }
        }
    }

    /// The factor on the wait of a transport drawn with exponent `a` on a node `rho` busy.
    #[inline]
    pub fn factor(&self, a: f64, rho: f64) -> f64 {
        if a <= 0.0 || rho <= self.busy {
            return 1.0;
        }
        ((1.0 - self.busy) / (1.0 - rho.min(MAX_BUSY))).powf(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rise() -> TransportRise {
        TransportRise {
            busy: 0.1,
            burst_busy: 0.4,
            kinds: vec![KindRise {
                kind: "feed".into(),
                exponents: vec![(0.5, 0.0), (0.9, 2.0), (0.99, 4.0)],
            }],
        }
    }

    #[test]
    fn the_exponent_interpolates_between_quantiles_and_holds_beyond() {
        let r = rise();
        assert_eq!(r.exponent("feed", 0.2), 0.0);
        assert!((r.exponent("feed", 0.7) - 1.0).abs() < 1e-12);
        assert!((r.exponent("feed", 0.945) - 3.0).abs() < 1e-12);
        assert_eq!(r.exponent("feed", 0.999), 4.0);
        assert_eq!(r.exponent("photo_get", 0.99), 0.0, "no entry, no rise");
    }

    #[test]
    fn the_factor_is_one_up_to_the_calibration_s_load_and_grows_past_it() {
        let r = rise();
        assert_eq!(r.factor(4.0, 0.05), 1.0);
        assert_eq!(r.factor(4.0, 0.1), 1.0);
        assert_eq!(r.factor(0.0, 0.9), 1.0);
        // (0.9 / 0.55)^2 at half busy.
        let f = r.factor(2.0, 0.45);
        assert!((f - (0.9f64 / 0.55).powi(2)).abs() < 1e-9, "{f}");
        assert_eq!(
            r.factor(2.0, 1.0),
            r.factor(2.0, MAX_BUSY),
            "held near saturation"
        );
        assert!(r.factor(2.0, 0.6) > r.factor(2.0, 0.5));
    }

    #[test]
    fn bad_values_name_their_key() {
        assert!(rise().validate().is_ok());
        let mut r = rise();
        r.burst_busy = 0.05;
        let e = r.validate().expect_err("below busy").to_string();
        assert!(e.contains("transport-rise.burst-busy"), "{e}");
        let mut r = rise();
        r.kinds[0].exponents = vec![(0.9, 1.0), (0.5, 0.0)];
        let e = r.validate().expect_err("descending").to_string();
        assert!(
            e.contains("transport-rise.kinds") && e.contains("feed"),
            "{e}"
        );
        let mut r = rise();
        r.kinds[0].exponents[1].1 = -1.0;
        assert!(r.validate().is_err(), "a negative exponent");
    }
}
