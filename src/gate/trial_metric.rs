//! The metric names of `[gate] trials` — `<op>.p50_ms`, `<op>.p99_ms`, `work.<op>.cpu_us`,
//! `work.<op>.cpu_rel`, `work.<op>.cpu` — and which per-second window figure each reads;
//! judging them is `super::trials`.

/// Which per-window figure a trial metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `series[].p50_ms`.
    P50,
    /// `series[].p99_ms`.
    P99,
    /// `series[].cpu_us`.
    CpuUs,
    /// `series[].cpu_rel`: CPU per op over the run's machine-speed probe that second.
    CpuRel,
    /// `cpu_us` and `cpu_rel` judged apart: the metric breaches only when both do.
    Cpu,
}

/// A metric named in `[gate] trials`: `<op>.p50_ms`, `<op>.p99_ms`,
/// `work.<op>.cpu_us`, `work.<op>.cpu_rel` or `work.<op>.cpu`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialMetric {
    /// Op kind whose windows are read.
    pub op: String,
    /// Figure read from each window.
    pub field: Field,
}

impl TrialMetric {
    /// Parses a trial metric name; `None` when it is not one of the forms.
    pub fn parse(name: &str) -> Option<TrialMetric> {
        let valid_op = |op: &str| !op.is_empty() && !op.contains('.');
        let cpu = [
            (".cpu_us", Field::CpuUs),
            (".cpu_rel", Field::CpuRel),
            (".cpu", Field::Cpu),
        ];
        for (suffix, field) in cpu {
            if let Some(op) = name
                .strip_prefix("work.")
                .and_then(|r| r.strip_suffix(suffix))
            {
                return valid_op(op).then(|| TrialMetric {
                    op: op.to_string(),
                    field,
                });
            }
        }
        let (op, field) = name.split_once('.')?;
        let field = match field {
            "p50_ms" => Field::P50,
            "p99_ms" => Field::P99,
            _ => return None,
        };
        valid_op(op).then(|| TrialMetric {
            op: op.to_string(),
            field,
        })
    }
}
