//! Planned operations: what the op stream emits and the driver executes.
//!
//! A [`PlannedOp`] carries its intended start time (offset from the run's start), the acting
//! user (a population id) and a payload. Payloads name population ids, not service ids: the
//! target maps them (see [`crate::HttpTarget`]). Photo fetches and unfollows cannot know service
//! photo ids or current follows in advance, so they carry a random `pick` the target resolves.

use std::time::Duration;

use serde::Serialize;

/// The kinds of operation, in a fixed order ([`OpKind::index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Upload a photo or video.
    Upload,
    /// Read the home feed.
    Feed,
    /// Fetch one photo's bytes.
    PhotoGet,
    /// Search titles.
    Search,
    /// Follow a user.
    Follow,
    /// Unfollow a user.
    Unfollow,
}

impl OpKind {
    /// Number of kinds.
    pub const COUNT: usize = 6;
    /// All kinds, in index order.
    pub const ALL: [OpKind; OpKind::COUNT] = [
        OpKind::Upload,
        OpKind::Feed,
        OpKind::PhotoGet,
        OpKind::Search,
        OpKind::Follow,
        OpKind::Unfollow,
    ];

    /// Position in [`OpKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in summary.json (`upload`, `feed`, `photo_get`, `search`, `follow`,
    /// `unfollow`).
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Upload => "upload",
            OpKind::Feed => "feed",
            OpKind::PhotoGet => "photo_get",
            OpKind::Search => "search",
            OpKind::Follow => "follow",
            OpKind::Unfollow => "unfollow",
        }
    }
}

/// What to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    /// Body size in bytes.
    pub bytes: u64,
    /// A video (`video/mp4`) rather than a photo (`image/jpeg`).
    pub video: bool,
    /// Space-separated title words.
    pub title: String,
    /// Seed of the body's filler bytes (distinct bodies, so content dedup does not hide work).
    pub content_seed: u64,
}

/// Per-kind parameters of a planned operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Upload a photo or video.
    Upload(UploadSpec),
    /// Read the feed, newest first.
    Feed {
        /// Items requested.
        limit: u32,
    },
    /// Fetch a photo the user has seen; the target resolves `pick` to one (e.g. an item of the
    /// user's last feed page modulo its length).
    PhotoGet {
        /// Random number for the target's choice.
        pick: u64,
    },
    /// Search titles.
    Search {
        /// Space-separated query words.
        query: String,
        /// Results requested.
        limit: u32,
    },
    /// Follow `leader` (population id).
    Follow {
        /// The user to follow.
        leader: u64,
    },
    /// Unfollow `leader` (population id, one of the user's followees when it has any).
    Unfollow {
        /// The user to unfollow.
        leader: u64,
    },
}

/// One operation of the open-loop schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedOp {
    /// Position in the stream (0, 1, 2, …).
    pub seq: u64,
    /// Intended start, as an offset from the start of the run (wall time, after `speedup`).
    pub at: Duration,
    /// The kind.
    pub kind: OpKind,
    /// The acting user (population id).
    pub user: u64,
    /// Kind-specific parameters.
    pub payload: Payload,
}
