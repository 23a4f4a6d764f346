//! The key-figures table of `report.md` and `report.html`: one row per figure, read from the
//! typed summary, one cell per variant.

use crate::summary::{OpStats, Summary};

/// One cell's value.
pub enum Figure {
    /// A string (a design choice).
    Text(String),
    /// A count, printed whole.
    Count(u64),
    /// A measured quantity.
    Num(f64),
    /// A verdict, printed `yes` or `no`.
    Yes(bool),
    /// Not in this summary, printed `?`.
    Missing,
}

impl Figure {
    /// The cell's text: two significant digits below 0.01, two decimals for a fraction,
    /// one decimal for a whole measured quantity.
    pub fn cell(&self) -> String {
        match self {
            Figure::Text(s) => s.clone(),
            Figure::Count(n) => n.to_string(),
            Figure::Num(x) if x.fract() != 0.0 && x.abs() < 0.01 => {
                format!("{x:.*}", (1.0 - x.abs().log10().floor()) as usize)
            }
            Figure::Num(x) if x.fract() != 0.0 => format!("{x:.2}"),
            Figure::Num(x) => format!("{x:.1}"),
            Figure::Yes(b) => if *b { "yes" } else { "no" }.into(),
            Figure::Missing => "?".into(),
        }
    }
}

fn op(s: &Summary, name: &str, f: fn(&OpStats) -> f64) -> Figure {
    s.ops
        .get(name)
        .map_or(Figure::Missing, |o| Figure::Num(f(o)))
}

/// A count summed over every op kind; missing when the summary has no ops.
fn total(s: &Summary, f: fn(&OpStats) -> u64) -> Figure {
    if s.ops.is_empty() {
        return Figure::Missing;
    }
    Figure::Count(s.ops.values().map(f).sum())
}

fn opt_count(x: Option<u64>) -> Figure {
    x.map_or(Figure::Missing, Figure::Count)
}

fn opt_num(x: Option<f64>) -> Figure {
    x.map_or(Figure::Missing, Figure::Num)
}

/// A row of the key-figures table: label and how to read it.
pub type Row = (&'static str, fn(&Summary) -> Figure);

/// The rows of the key-figures table, in order.
pub const FIGURES: [Row; 27] = [
    ("fan-out", |s| Figure::Text(s.config.fanout.clone())),
    ("sharding", |s| Figure::Text(s.config.sharding.clone())),
    ("transport", |s| match s.config.transport.as_str() {
        "" => Figure::Missing,
        t => Figure::Text(t.into()),
    }),
    ("materialized users", |s| {
        Figure::Count(s.population.materialized_users)
    }),
    ("follows", |s| Figure::Count(s.population.follows)),
    ("max followers", |s| {
        Figure::Count(s.population.max_followers)
    }),
    ("feed p50 ms", |s| op(s, "feed", |o| o.p50_ms)),
    ("feed p99 ms", |s| op(s, "feed", |o| o.p99_ms)),
    ("upload p99 ms", |s| op(s, "upload", |o| o.p99_ms)),
    ("feed reads/s", |s| op(s, "feed", |o| o.rate_per_s)),
    ("errors (all ops)", |s| total(s, |o| o.errors)),
    ("dropped (all ops)", |s| total(s, |o| o.dropped)),
    ("shed under overload (all ops)", |s| total(s, |o| o.shed)),
    ("freshness p99 ms", |s| {
        Figure::Num(s.fanout.freshness_p99_ms)
    }),
    ("timeline writes / upload", |s| {
        Figure::Num(s.fanout.writes_per_upload)
    }),
    ("top author's followers", |s| {
        opt_count(s.fanout.top_author.as_ref().map(|t| t.followers))
    }),
    ("top author's timeline writes / upload", |s| {
        opt_count(s.fanout.top_author.as_ref().map(|t| t.writes_per_upload))
    }),
    ("hybrid threshold (full-scale followers)", |s| {
        opt_count(s.config.hybrid_threshold)
    }),
    ("hybrid threshold applied (live followers)", |s| {
        opt_count(s.config.hybrid_threshold_live)
    }),
    ("hybrid: follower edges pulled, live", |s| {
        opt_num(s.fanout.hybrid.as_ref().map(|h| h.live_edge_share))
    }),
    ("hybrid: follower edges pulled, full scale", |s| {
        opt_num(s.fanout.hybrid.as_ref().map(|h| h.full_edge_share))
    }),
    ("hybrid: authors pulled, live", |s| {
        opt_num(s.fanout.hybrid.as_ref().map(|h| h.live_author_share))
    }),
    ("hybrid: authors pulled, full scale", |s| {
        opt_num(s.fanout.hybrid.as_ref().map(|h| h.full_author_share))
    }),
    ("shard max/mean", |s| {
        Figure::Num(s.shards.load_max_over_mean)
    }),
    ("meta bytes", |s| Figure::Count(s.storage.meta_bytes)),
    ("blob bytes", |s| Figure::Count(s.storage.blob_bytes)),
    ("met targets (feed p99, freshness p99)", |s| {
        Figure::Yes(s.target.met)
    }),
];

/// The report header's provenance line of `s` (`provenance unknown` for an older summary).
pub fn provenance_line(s: &Summary) -> String {
    s.provenance.as_ref().map_or_else(
        || "provenance unknown".to_string(),
        |p| format!("feedlab {}, {}", s.feedlab, p.line()),
    )
}
