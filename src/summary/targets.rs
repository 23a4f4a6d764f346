//! The rules a run is judged by, and the targets it broke.
//!
//! A run, a ladder step and a merged run are judged by the same rules ([`Rules`]). A run meets
//! its targets when, over the whole run:
//! - at least one feed read completed, and feed p99 ≤ the feed target;
//! - the fraction of offered ops dropped by the generator or shed by the service (503) ≤
//!   `max_dropped`;
//! - the failed fraction of completed ops ≤ `max_errors`;
//! - freshness p99 ≤ the freshness target, and no freshness probe timed out.
//!
//! Errors the load generator raised before sending anything ([`CLIENT_SIDE_CODES`]) are not
//! the service's and are not counted.

use serde::{Deserialize, Serialize};

use super::{OpStats, Summary};

/// Error codes raised by the load generator itself, before a request was sent: `no_photo`
/// (a view with no photo known yet), `no_user` and `request`.
pub const CLIENT_SIDE_CODES: [&str; 3] = ["no_photo", "no_user", "request"];

/// The default limits of dropped and failed ops (0.1% each), and those a summary without its
/// own is judged by.
pub const DEFAULT_MAX_FRACTION: f64 = 0.001;

/// Which target a run broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Feed p99 above the target (value and limit in ms).
    FeedP99,
    /// No feed read completed, so the feed target cannot have been met (value: 0 reads).
    NoFeedRead,
    /// Fraction of offered ops dropped or shed above the limit.
    Dropped,
    /// Failed fraction of completed ops above the limit.
    Errors,
    /// Freshness p99 above the target (ms).
    Freshness,
    /// Freshness probes that never saw their upload (count; limit 0).
    FreshnessTimeouts,
}

/// One broken target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    /// The rule.
    pub rule: Rule,
    /// The measured value.
    pub value: f64,
    /// The limit it exceeded.
    pub limit: f64,
}

impl Rule {
    /// The rule's name as `summary.json` and `sweep.json` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::FeedP99 => "feed_p99",
            Rule::NoFeedRead => "no_feed_read",
            Rule::Dropped => "dropped",
            Rule::Errors => "errors",
            Rule::Freshness => "freshness",
            Rule::FreshnessTimeouts => "freshness_timeouts",
        }
    }
}

impl Breach {
    /// A short reason for a terminal table, e.g. `feed p99 583 ms > 200` or
    /// `dropped or shed 5.00% > 0.10%`.
    pub fn reason(&self) -> String {
        let pct = |x: f64| format!("{:.2}%", 100.0 * x);
        match self.rule {
            Rule::FeedP99 => format!("feed p99 {:.0} ms > {:.0}", self.value, self.limit),
            Rule::NoFeedRead => "no feed read".into(),
            Rule::Dropped => format!("dropped or shed {} > {}", pct(self.value), pct(self.limit)),
            Rule::Errors => format!("errors {} > {}", pct(self.value), pct(self.limit)),
            Rule::Freshness => format!(
                "freshness p99 {:.1} s > {:.1}",
                self.value / 1000.0,
                self.limit / 1000.0
            ),
            Rule::FreshnessTimeouts => format!("{:.0} freshness probes timed out", self.value),
        }
    }
}

/// The targets and limits of one judgement (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Feed p99 target, ms.
    pub feed_p99_ms: f64,
    /// Freshness p99 target, seconds.
    pub freshness_p99_s: f64,
    /// Largest fraction of offered ops that may be dropped or shed.
    pub max_dropped: f64,
    /// Largest fraction of completed ops that may fail.
    pub max_errors: f64,
}

/// Ops summed over every op kind of a summary, client-side errors left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Completed, failed, dropped and shed.
    pub offered: u64,
    /// Dropped by the generator or shed by the service.
    pub dropped: u64,
    /// Completed, with or without an error.
    pub done: u64,
    /// Failed at the service.
    pub errors: u64,
}

/// Errors of `o` with a client-side code.
pub fn client_side_errors(o: &OpStats) -> u64 {
    CLIENT_SIDE_CODES
        .iter()
        .filter_map(|c| o.error_codes.get(*c))
        .sum()
}

fn frac(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl Summary {
    /// Every op kind's ops, summed.
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for o in self.ops.values() {
            let service_errors = o.errors.saturating_sub(client_side_errors(o));
            let attempted = o.count + service_errors;
            t.offered += attempted + o.dropped + o.shed;
            t.dropped += o.dropped + o.shed;
            t.done += attempted;
            t.errors += service_errors;
        }
        t
    }

    /// The targets of `rules` this summary's figures break, in [`Rule`] order.
    pub fn breaches(&self, rules: &Rules) -> Vec<Breach> {
        let mut breaches = Vec::new();
        let mut check = |rule, value: f64, limit: f64| {
            if value > limit || value.is_nan() || rule == Rule::NoFeedRead {
                breaches.push(Breach { rule, value, limit });
            }
        };
        match self.ops.get("feed").filter(|f| f.count > 0) {
            Some(f) => check(Rule::FeedP99, f.p99_ms, rules.feed_p99_ms),
            None => check(Rule::NoFeedRead, 0.0, 0.0),
        }
        let t = self.tally();
        check(Rule::Dropped, frac(t.dropped, t.offered), rules.max_dropped);
        check(Rule::Errors, frac(t.errors, t.done), rules.max_errors);
        let fresh = self.fanout.freshness_p99_ms;
        check(Rule::Freshness, fresh, rules.freshness_p99_s * 1000.0);
        let timeouts = self.fanout.freshness_timeouts.unwrap_or(0) as f64;
        check(Rule::FreshnessTimeouts, timeouts, 0.0);
        breaches
    }

    /// Judges this summary by `rules` and writes the verdict to its `target` section: the
    /// rules, the breaches and `met`.
    pub fn judge(&mut self, rules: &Rules) {
        let breaches = self.breaches(rules);
        let t = &mut self.target;
        t.feed_p99_ms = rules.feed_p99_ms;
        t.freshness_p99_s = Some(rules.freshness_p99_s);
        t.max_dropped = Some(rules.max_dropped);
        t.max_errors = Some(rules.max_errors);
        t.met = breaches.is_empty();
        t.breaches = breaches;
    }

    /// The rules this summary's `target` section names; the limits an older summary lacks are
    /// [`DEFAULT_MAX_FRACTION`], its freshness target 5 s.
    pub fn rules(&self) -> Rules {
        let t = &self.target;
        Rules {
            feed_p99_ms: t.feed_p99_ms,
            freshness_p99_s: t.freshness_p99_s.unwrap_or(5.0),
            max_dropped: t.max_dropped.unwrap_or(DEFAULT_MAX_FRACTION),
            max_errors: t.max_errors.unwrap_or(DEFAULT_MAX_FRACTION),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        feed_p99_ms: 200.0,
        freshness_p99_s: 5.0,
        max_dropped: DEFAULT_MAX_FRACTION,
        max_errors: DEFAULT_MAX_FRACTION,
    };

    /// 1,000 feeds at `feed_p99` ms with `dropped` drops, and 2,000 views with `no_photo`
    /// client-side misses.
    fn summary(feed_p99: f64, dropped: u64, no_photo: u64) -> Summary {
        let mut s = Summary::default();
        let feed = OpStats {
            count: 1000,
            dropped,
            p99_ms: feed_p99,
            ..OpStats::default()
        };
        s.ops.insert("feed".into(), feed);
        let mut view = OpStats {
            count: 2000,
            errors: no_photo,
            ..OpStats::default()
        };
        view.error_codes = [("no_photo".into(), no_photo)].into();
        s.ops.insert("photo_get".into(), view);
        s
    }

    #[test]
    fn a_fast_run_that_drops_five_percent_has_not_met_its_targets() {
        let mut ok = summary(20.0, 0, 40);
        ok.judge(&RULES);
        assert!(ok.target.met, "{:?}", ok.target.breaches);
        assert_eq!(
            ok.tally().errors,
            0,
            "client-side misses are not the service's"
        );

        let mut drops = summary(20.0, 158, 0);
        drops.judge(&RULES);
        assert!(!drops.target.met);
        let b = &drops.target.breaches;
        assert_eq!(b.len(), 1, "{b:?}");
        assert_eq!(b[0].rule, Rule::Dropped);
        assert!((b[0].value - 158.0 / 3158.0).abs() < 1e-12);
        assert_eq!(b[0].reason(), "dropped or shed 5.00% > 0.10%");
        assert_eq!(drops.target.max_dropped, Some(DEFAULT_MAX_FRACTION));
    }

    #[test]
    fn every_rule_reports_its_reason() {
        let mut s = summary(250.0, 0, 0);
        s.ops.get_mut("photo_get").expect("view").errors = 30;
        s.fanout.freshness_p99_ms = 6_000.0;
        s.fanout.freshness_timeouts = Some(2);
        let reasons: Vec<String> = s.breaches(&RULES).iter().map(Breach::reason).collect();
        assert_eq!(
            reasons,
            [
                "feed p99 250 ms > 200",
                "errors 0.99% > 0.10%",
                "freshness p99 6.0 s > 5.0",
                "2 freshness probes timed out"
            ]
        );
        s.ops.get_mut("feed").expect("feed").count = 0;
        assert_eq!(s.breaches(&RULES)[0].reason(), "no feed read");
    }

    #[test]
    fn an_older_summary_is_judged_by_the_default_limits() {
        let mut s = summary(20.0, 0, 0);
        s.target.feed_p99_ms = 150.0;
        assert_eq!(
            s.rules(),
            Rules {
                feed_p99_ms: 150.0,
                ..RULES
            }
        );
        s.target.max_dropped = Some(0.5);
        assert_eq!(s.rules().max_dropped, 0.5);
    }
}
