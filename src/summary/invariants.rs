//! The `invariants` section of a live summary with `[[faults]]`: what the harness checked
//! after the driver finished (with the service still up) and every violation it found.
//!
//! Three invariants, each counted so a reader can see how much was checked:
//! - `readback`: every acknowledged upload (or a seeded sample of them, see
//!   [`Invariants::uploads_selection`]) reads back with the length and BLAKE3 digest of the
//!   bytes the driver sent;
//! - `dangling`: no entry of a sampled user's feed or photo list, or of a sampled search,
//!   names a photo whose row or bytes are missing;
//! - `deleted`: photos the checker deleted during the run (the workload has no delete op)
//!   answer 404 and appear in no feed, photo list or search result checked.

use serde::{Deserialize, Serialize};

use super::Extra;

/// Which invariant a [`Violation`] broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// An acknowledged upload did not read back byte-identical.
    Readback,
    /// A feed, photo-list or search entry named a missing photo.
    Dangling,
    /// A photo whose delete was acknowledged was still readable or listed.
    Deleted,
}

impl Invariant {
    /// The name used in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::Readback => "readback",
            Invariant::Dangling => "dangling",
            Invariant::Deleted => "deleted",
        }
    }
}

/// One broken invariant: which one, and a one-line description naming the photo (and user
/// or query) involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The invariant broken.
    pub invariant: Invariant,
    /// What was seen, on one line.
    pub detail: String,
}

/// `invariants`: the checks after a live fault run and their verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Invariants {
    /// Whether every check held (`violations` is empty).
    pub held: bool,
    /// Uploads the driver saw acknowledged, deleted ones included.
    pub uploads_acknowledged: u64,
    /// Acknowledged uploads read back and compared (length and BLAKE3 digest).
    pub uploads_checked: u64,
    /// `all` when every acknowledged, undeleted upload was read back, `sample` when a seeded
    /// sample of them was (more than the checker's bound).
    pub uploads_selection: String,
    /// Users (seeded sample) whose feed and photo list were read.
    pub users_sampled: u64,
    /// Search queries run (words of seeded acknowledged uploads' titles).
    pub searches: u64,
    /// Feed, photo-list and search entries checked for a readable photo.
    pub entries_checked: u64,
    /// Photos the checker deleted during the run whose delete was acknowledged.
    pub deletes: u64,
    /// When the checker deleted them, s on the driver's clock (`null`: no delete was due
    /// before the run ended or no upload was acknowledged by then).
    pub deleted_at_s: Option<f64>,
    /// Readers (followers of the deleted photos' owners, and the owners) whose feed and
    /// photo list were checked for the deleted photos.
    pub delete_readers: u64,
    /// Every violation found (at most a bounded number per invariant), in check order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Invariants {
    /// The one-line verdict of a run whose invariants broke: the count per invariant and the
    /// first violation; `None` when they held.
    pub fn failure(&self) -> Option<String> {
        let first = self.violations.first()?;
        let mut counts = Vec::new();
        for inv in [Invariant::Readback, Invariant::Dangling, Invariant::Deleted] {
            let n = self
                .violations
                .iter()
                .filter(|v| v.invariant == inv)
                .count();
            if n > 0 {
                counts.push(format!("{} {n}", inv.name()));
            }
        }
        Some(format!(
            "invariants violated ({}); first: {}: {}",
            counts.join(", "),
            first.invariant.name(),
            first.detail
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_line_counts_each_invariant_and_names_the_first() {
        let mut inv = Invariants {
            held: true,
            ..Invariants::default()
        };
        assert_eq!(inv.failure(), None);
        let v = |invariant, detail: &str| Violation {
            invariant,
            detail: detail.into(),
        };
        inv.violations = vec![
            v(Invariant::Readback, "photo 7: 10 bytes read, 12 sent"),
            v(Invariant::Deleted, "photo 9 still answers"),
            v(Invariant::Readback, "photo 8: digest differs"),
        ];
        let line = inv.failure().expect("violations");
        assert_eq!(
            line,
            "invariants violated (readback 2, deleted 1); first: readback: photo 7: 10 bytes read, 12 sent"
        );
        assert!(!line.contains('\n'));
        let json = serde_json::to_value(&inv).expect("json");
        assert_eq!(json["violations"][1]["invariant"], "deleted");
        let back: Invariants = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, inv);
    }
}
