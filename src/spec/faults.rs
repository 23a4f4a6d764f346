//! `[[faults]]`: fault windows of a run, as written in a scenario and as resolved for a run.
//!
//! A [`FaultSpec`] is one `[[faults]]` entry as written: `kind`, `at-s`, `for-s` and the
//! kind's own keys (`shard`, `extra-ms`), each optional at this level so that a missing or
//! extra key is reported by [`resolve`] with its name rather than by serde. [`resolve`] turns
//! the entries of one run into [`Fault`]s or names the first bad entry and key
//! ([`FaultRejected`]): the scenario loader locates it in the file, the live executor reports
//! it for a resolved `spec.json`. The contract of a resolved list: every window lies within
//! `[0, duration]`, every shard within `0..shards`, and no two windows of one kind on one
//! target overlap.

use serde::{Deserialize, Serialize};

/// Why a live run refuses a fault of `kind` ([`FaultKind::live`] is false).
pub fn not_live(kind: FaultKind) -> String {
    format!(
        "a live run does not apply {} faults yet; run it with scenario.mode = \"sim\" or \
         remove the entry",
        kind.name()
    )
}

/// The fault kinds a scenario can name; [`FaultKind::live`] says which a live run applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Every metadata call on one shard sleeps `extra-ms` more.
    SlowShard,
    /// One shard's metadata calls fail (503 `unavailable`).
    ShardDown,
    /// The fan-out materializer applies nothing; it catches up after the window.
    MaterializerPause,
    /// The blob store is stopped (`how = "stop"`), or one local replica of stored photos is
    /// deleted or corrupted (`how = "delete-replica"`, `"corrupt-replica"`).
    BlobOutage,
    /// The author with the most followers posts `photos` photos at `at-s`.
    CelebrityBurst,
    /// Reads (feeds and photo views) arrive `factor` times as fast for the window.
    FlashCrowd,
    /// Every network hop takes `extra-ms` more (simulator only).
    Network,
}

impl FaultKind {
    /// The name written in scenarios and summaries (`slow-shard`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::SlowShard => "slow-shard",
            FaultKind::ShardDown => "shard-down",
            FaultKind::MaterializerPause => "materializer-pause",
            FaultKind::BlobOutage => "blob-outage",
            FaultKind::CelebrityBurst => "celebrity-burst",
            FaultKind::FlashCrowd => "flash-crowd",
            FaultKind::Network => "network",
        }
    }

    /// Whether a live run applies this kind; a live run refuses the others by name.
    pub fn live(self) -> bool {
        !matches!(self, FaultKind::Network)
    }

    /// The keys this kind needs beyond `kind`, `at-s` and `for-s`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            FaultKind::SlowShard => &["shard", "extra-ms"],
            FaultKind::ShardDown => &["shard"],
            FaultKind::MaterializerPause => &[],
            FaultKind::BlobOutage => &["how"],
            FaultKind::CelebrityBurst => &["photos"],
            FaultKind::FlashCrowd => &["factor"],
            FaultKind::Network => &["extra-ms"],
        }
    }
}

/// One `[[faults]]` entry as written; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FaultSpec {
    /// The kind (`slow-shard`, `shard-down`, ...).
    pub kind: FaultKind,
    /// Start of the window, seconds after the driver starts.
    pub at_s: f64,
    /// Length of the window, seconds.
    pub for_s: f64,
    /// The shard (`slow-shard`, `shard-down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<usize>,
    /// The extra delay per metadata call (`slow-shard`) or per hop (`network`), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ms: Option<f64>,
    /// What happens to the blob store (`blob-outage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<BlobHow>,
    /// How many photos the celebrity posts (`celebrity-burst`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<u32>,
    /// The multiplier on read arrivals (`flash-crowd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
}

/// What a `blob-outage` does to the blob store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlobHow {
    /// The store answers nothing for the window (the S3 server stopped, then restarted).
    Stop,
    /// One local replica of the photos stored so far is deleted.
    DeleteReplica,
    /// One local replica of the photos stored so far is corrupted.
    CorruptReplica,
}

impl BlobHow {
    /// The name written in scenarios (`stop`, ...).
    pub fn name(self) -> &'static str {
        match self {
            BlobHow::Stop => "stop",
            BlobHow::DeleteReplica => "delete-replica",
            BlobHow::CorruptReplica => "corrupt-replica",
        }
    }
}

impl FaultSpec {
    /// The per-kind keys this entry writes.
    fn written(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.shard.is_some() {
            keys.push("shard");
        }
        if self.extra_ms.is_some() {
            keys.push("extra-ms");
        }
        if self.how.is_some() {
            keys.push("how");
        }
        if self.photos.is_some() {
            keys.push("photos");
        }
        if self.factor.is_some() {
            keys.push("factor");
        }
        keys
    }
}

/// What a resolved fault does while its window is open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultAction {
    /// Every metadata call on `shard` sleeps `extra_ms` more.
    SlowShard {
        /// The shard.
        shard: usize,
        /// Extra delay per call, ms.
        extra_ms: f64,
    },
    /// `shard`'s metadata calls fail.
    ShardDown {
        /// The shard.
        shard: usize,
    },
    /// The materializer is paused.
    MaterializerPause,
    /// The blob store is stopped, or one replica is deleted or corrupted.
    BlobOutage {
        /// What happens.
        how: BlobHow,
    },
    /// The most-followed author posts `photos` photos at the window's start.
    CelebrityBurst {
        /// Photos posted.
        photos: u32,
    },
    /// Read arrivals are multiplied by `factor`.
    FlashCrowd {
        /// The multiplier (> 1).
        factor: f64,
    },
    /// Every network hop takes `extra_ms` more (simulator only).
    Network {
        /// Extra delay per hop, ms.
        extra_ms: f64,
    },
}

impl FaultAction {
    /// The kind of this action.
    pub fn kind(self) -> FaultKind {
        match self {
            FaultAction::SlowShard { .. } => FaultKind::SlowShard,
            FaultAction::ShardDown { .. } => FaultKind::ShardDown,
            FaultAction::MaterializerPause => FaultKind::MaterializerPause,
            FaultAction::BlobOutage { .. } => FaultKind::BlobOutage,
            FaultAction::CelebrityBurst { .. } => FaultKind::CelebrityBurst,
            FaultAction::FlashCrowd { .. } => FaultKind::FlashCrowd,
            FaultAction::Network { .. } => FaultKind::Network,
        }
    }

    /// What it acts on: `shard N`, `materializer`, `blob store (HOW)`, `celebrity`, `reads` or
    /// `network`.
    pub fn target(self) -> String {
        match self {
            FaultAction::SlowShard { shard, .. } | FaultAction::ShardDown { shard } => {
                format!("shard {shard}")
            }
            FaultAction::MaterializerPause => "materializer".into(),
            FaultAction::BlobOutage { how } => format!("blob store ({})", how.name()),
            FaultAction::CelebrityBurst { .. } => "celebrity".into(),
            FaultAction::FlashCrowd { .. } => "reads".into(),
            FaultAction::Network { .. } => "network".into(),
        }
    }
}

/// One resolved fault window: `action` from `at_s` for `for_s` seconds of the driver's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// What the window does.
    pub action: FaultAction,
    /// Start, seconds after the driver starts.
    pub at_s: f64,
    /// Length, seconds.
    pub for_s: f64,
}

impl Fault {
    /// End of the window, seconds after the driver starts.
    pub fn end_s(&self) -> f64 {
        self.at_s + self.for_s
    }
}

/// The first bad `[[faults]]` entry: its index, the key at fault and the message (which names
/// the key).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRejected {
    /// Index of the entry.
    pub index: usize,
    /// The key the message is about (`kind`, `at-s`, `shard`, ...).
    pub key: &'static str,
    /// One line naming `faults[index].key`.
    pub message: String,
}

fn reject(index: usize, key: &'static str, what: impl std::fmt::Display) -> FaultRejected {
    FaultRejected {
        index,
        key,
        message: format!("faults[{index}].{key}: {what}"),
    }
}

/// The first fault of `plan` a live run of a service configured as `system` cannot apply:
/// a kind it does not apply ([`FaultKind::live`]), or replica damage (`blob-outage` with
/// `delete-replica` / `corrupt-replica`) without the local blob store and a second replica.
pub fn live_refusal(
    plan: &[Fault],
    system: &feedlab_system::ServiceConfig,
) -> Option<FaultRejected> {
    let local = system.blob == feedlab_system::service::BlobBackend::Local;
    plan.iter().enumerate().find_map(|(i, f)| match f.action {
        a if !a.kind().live() => Some(reject(i, "kind", not_live(a.kind()))),
        FaultAction::BlobOutage { how } if how != BlobHow::Stop => {
            let what = if !local {
                "needs the local replicated blob store (system.blob = \"local\")"
            } else if system.blob_replicas < 2 {
                "needs system.blob-replicas >= 2, or the only copy would be lost"
            } else {
                return None;
            };
            Some(reject(i, "how", format!("{} {what}", how.name())))
        }
        _ => None,
    })
}

/// Resolves the `[[faults]]` of a run of `duration_s` seconds on `shards` shards; see the
/// module docs for what is checked.
pub fn resolve(
    specs: &[FaultSpec],
    shards: usize,
    duration_s: f64,
) -> Result<Vec<Fault>, FaultRejected> {
    let mut out: Vec<Fault> = Vec::with_capacity(specs.len());
    for (i, s) in specs.iter().enumerate() {
        let fault = resolve_one(i, s, shards, duration_s)?;
        if let Some(j) = out.iter().position(|o| overlaps(o, &fault)) {
            let what = format!(
                "this {} window on {} overlaps faults[{j}] ({}s for {}s)",
                fault.action.kind().name(),
                fault.action.target(),
                out[j].at_s,
                out[j].for_s
            );
            return Err(reject(i, "at-s", what));
        }
        out.push(fault);
    }
    Ok(out)
}

/// Two windows of one kind on one target that share some time.
fn overlaps(a: &Fault, b: &Fault) -> bool {
    let same = a.action.kind() == b.action.kind() && a.action.target() == b.action.target();
    same && a.at_s < b.end_s() && b.at_s < a.end_s()
}

fn resolve_one(
    i: usize,
    s: &FaultSpec,
    shards: usize,
    duration_s: f64,
) -> Result<Fault, FaultRejected> {
    let kind = s.kind.name();
    let needed = s.kind.keys();
    if let Some(extra) = s.written().into_iter().find(|k| !needed.contains(k)) {
        return Err(reject(i, extra, format!("not a key of a {kind} fault")));
    }
    if let Some(&missing) = needed.iter().find(|k| !s.written().contains(*k)) {
        return Err(reject(
            i,
            "kind",
            format!("a {kind} fault needs `{missing}`"),
        ));
    }
    if !(s.at_s.is_finite() && s.at_s >= 0.0) {
        return Err(reject(i, "at-s", format!("must be >= 0, got {}", s.at_s)));
    }
    if !(s.for_s.is_finite() && s.for_s > 0.0) {
        return Err(reject(i, "for-s", format!("must be > 0, got {}", s.for_s)));
    }
    if s.at_s + s.for_s > duration_s {
        let what = format!(
            "the window ends at {}s, after the run's scenario.duration-s = {duration_s}",
            s.at_s + s.for_s
        );
        return Err(reject(i, "for-s", what));
    }
    let shard = match s.shard {
        Some(n) if n >= shards => {
            let what = format!("shard {n} does not exist (shards: 0..{shards})");
            return Err(reject(i, "shard", what));
        }
        other => other.unwrap_or(0),
    };
    Ok(Fault {
        action: action(i, s, shard)?,
        at_s: s.at_s,
        for_s: s.for_s,
    })
}

/// The action of entry `i`, whose keys are known to be the kind's own.
fn action(i: usize, s: &FaultSpec, shard: usize) -> Result<FaultAction, FaultRejected> {
    let positive = |key: &'static str, v: Option<f64>, min: f64| {
        let v = v.unwrap_or(f64::NAN);
        if v.is_finite() && v > min {
            Ok(v)
        } else {
            Err(reject(i, key, format!("must be > {min}, got {v}")))
        }
    };
    Ok(match s.kind {
        FaultKind::SlowShard => FaultAction::SlowShard {
            shard,
            extra_ms: positive("extra-ms", s.extra_ms, 0.0)?,
        },
        FaultKind::ShardDown => FaultAction::ShardDown { shard },
        FaultKind::MaterializerPause => FaultAction::MaterializerPause,
        FaultKind::BlobOutage => FaultAction::BlobOutage {
            how: s.how.unwrap_or(BlobHow::Stop),
        },
        FaultKind::CelebrityBurst => match s.photos {
            Some(photos @ 1..=100_000) => FaultAction::CelebrityBurst { photos },
            other => {
                let what = format!("must be 1..=100000, got {}", other.unwrap_or(0));
                return Err(reject(i, "photos", what));
            }
        },
        FaultKind::FlashCrowd => FaultAction::FlashCrowd {
            factor: positive("factor", s.factor, 1.0)?,
        },
        FaultKind::Network => FaultAction::Network {
            extra_ms: positive("extra-ms", s.extra_ms, 0.0)?,
        },
    })
}

#[cfg(test)]
mod tests;
