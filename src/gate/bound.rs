//! Absolute bounds on one metric (`feed.p99_ms <= 200`): the TOML form
//! `{ min = N, max = N }`, the `--rule METRIC<=N` form, and the number
//! format every gate table and message uses.

use std::fmt;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// An absolute bound on one metric of the current summary; both ends are
/// inclusive and either may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    /// Smallest allowed value.
    pub min: Option<f64>,
    /// Largest allowed value.
    pub max: Option<f64>,
}

impl Bound {
    /// A bound with only an upper end.
    pub fn max(max: f64) -> Bound {
        Bound {
            min: None,
            max: Some(max),
        }
    }

    /// Whether `value` lies within the bound.
    pub fn admits(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value <= m)
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => write!(f, "{} <= x <= {}", num(lo), num(hi)),
            (Some(lo), None) => write!(f, ">= {}", num(lo)),
            (None, Some(hi)) => write!(f, "<= {}", num(hi)),
            (None, None) => write!(f, "any"),
        }
    }
}

/// Splits `metric<=value` / `metric>=value` into its parts; the error is one
/// line that quotes the rule and the expected form.
pub fn parse_rule(rule: &str) -> anyhow::Result<(&str, &'static str, f64)> {
    let usage = || format!("bad --rule {rule:?}: expected METRIC<=NUMBER or METRIC>=NUMBER");
    let (at, op) = ["<=", ">="]
        .into_iter()
        .find_map(|op| rule.find(op).map(|at| (at, op)))
        .with_context(usage)?;
    let metric = rule[..at].trim();
    let value: f64 = rule[at + op.len()..]
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .with_context(usage)?;
    if metric.is_empty() || metric.contains(char::is_whitespace) {
        bail!(usage());
    }
    Ok((metric, op, value))
}

/// Formats a number for tables and messages: integers without a fraction,
/// others with up to three decimals, tiny values (p-values) in scientific
/// notation so they do not print as 0.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v != 0.0 && v.abs() < 0.001 {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_display_their_ends() {
        let b = Bound {
            min: Some(1.0),
            max: Some(2.0),
        };
        assert!(b.admits(1.0) && b.admits(2.0) && b.admits(1.5));
        assert!(!b.admits(0.999) && !b.admits(2.001));
        assert_eq!(b.to_string(), "1 <= x <= 2");
        assert_eq!(Bound::max(200.0).to_string(), "<= 200");
    }

    #[test]
    fn rules_parse_with_or_without_spaces() {
        assert_eq!(
            parse_rule("feed.p99_ms <= 150").expect("valid"),
            ("feed.p99_ms", "<=", 150.0)
        );
        assert_eq!(
            parse_rule("feed.rate_per_s>=30.5").expect("valid"),
            ("feed.rate_per_s", ">=", 30.5)
        );
        for bad in ["feed.p99_ms=30", "x<=abc", "x<=inf", "<=1"] {
            let err = parse_rule(bad).expect_err(bad).to_string();
            assert!(err.contains(bad) && !err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn numbers_print_short() {
        assert_eq!(num(200.0), "200");
        assert_eq!(num(1.2346), "1.235");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(0.000_123), "1.2e-4");
        assert_eq!(num(0.0), "0");
    }
}
