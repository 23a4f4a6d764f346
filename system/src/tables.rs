//! Key layouts of the metadata tables on the ordered KV.
//!
//! The [`crate::meta::MetaStore`] knows nothing of photos; each table here
//! is a one-byte tag followed by big-endian ids, so a prefix scan reads one
//! wide row and a reverse scan reads it newest first (photo ids sort by
//! time). Which physical shard holds a row is the [`crate::policy::Partitioner`]'s
//! call; the comment on each table names the shard key.
//!
//! | tag | table | key | value | shard |
//! |---|---|---|---|---|
//! | `u` | users | uid | [`UserRow`] JSON | user |
//! | `s` | user stats | uid | [`UserStats`] JSON | user |
//! | `f` | follows | uid, leader | [`MARK`] | user (follower) |
//! | `F` | followers | leader, uid | [`MARK`] | user (leader) |
//! | `p` | user_photos | uid, pid | [`MARK`] | user (owner) |
//! | `T` | timelines | uid, pid | author uid | user (reader) |
//! | `P` | photos | pid | [`PhotoRow`] JSON | photo |
//! | `t` | title index | term, 0, pid | [`MARK`] | photo |
//! | `b` | blob refs | blob key, pid | [`MARK`] | photo |
//! | `o` | fan-out outbox | pid | author uid | photo |
//! | `v` | views | pid | u64 BE | photo |
//! | `q` | follow-work outbox | uid, leader | [`crate::service::outbox`] value | user (follower) |
//! | `L` | node-id leases | node u16 | [`LeaseRow`] JSON | shard 0 |
//! | `K` | ticket counters | allocator u16 | next ticket, u64 BE | allocator mod shards |

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::PhotoId;
use crate::policy::{AuthorStats, FollowerStats, UserId};

/// A user's profile row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    /// The user's id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Creation time, Unix ms.
    pub created_ms: u64,
    /// BLAKE3 hex of the bearer token's secret part.
    pub token_hash: String,
}

/// Counters kept per user (derived data; buffered writes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserStats {
    /// Followers right now.
    pub followers: u64,
    /// Followees right now.
    pub following: u64,
    /// Photos ever uploaded.
    pub posts: u64,
    /// Photos that a recount already put in `posts` while their upload's own fan-out,
    /// which counts its photo once, was still to run: that fan-out takes its id out of
    /// this list instead of adding one. Empty but for the moments after a takeover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counted_ahead: Vec<u64>,
    /// Feed reads ever served.
    pub feed_reads: u64,
    /// Account creation, Unix ms (the base of the per-day rates).
    pub since_ms: u64,
}

/// Milliseconds in a day.
const DAY_MS: f64 = 86_400_000.0;

impl UserStats {
    /// Days since the account was created at `now_ms`, at least one (so a
    /// new account is not mistaken for a heavy user).
    fn days(&self, now_ms: u64) -> f64 {
        (now_ms.saturating_sub(self.since_ms) as f64 / DAY_MS).max(1.0)
    }

    /// What the fan-out policy knows of this user as the author of a photo
    /// at `now_ms`: its followers and photos per day.
    pub fn as_author(&self, now_ms: u64) -> AuthorStats {
        AuthorStats {
            followers: self.followers,
            posts_per_day: self.posts as f64 / self.days(now_ms),
        }
    }

    /// What the fan-out policy knows of this user as a follower at
    /// `now_ms`: its feed reads per day.
    pub fn as_follower(&self, now_ms: u64) -> FollowerStats {
        FollowerStats {
            reads_per_day: self.feed_reads as f64 / self.days(now_ms),
        }
    }
}

/// A photo's metadata row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRow {
    /// The photo's id.
    pub id: PhotoId,
    /// Uploader.
    pub owner: UserId,
    /// Title as given.
    pub title: String,
    /// Media type detected from the magic bytes.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Content address of the bytes in the blob store.
    pub blob: String,
    /// Upload time, Unix ms.
    pub created_ms: u64,
}

/// Who holds a node-id lease, and until when (holder's clock, Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRow {
    /// Random id of the holding service instance.
    pub holder: u64,
    /// The lease lapses at this Unix ms unless renewed.
    pub until_ms: u64,
}

/// The value of rows whose key says everything (edges, postings): one
/// byte, because some backends (TiKV) reject empty values.
pub const MARK: &[u8] = &[1];

const USER: u8 = b'u';
const STATS: u8 = b's';
const FOLLOWS: u8 = b'f';
const FOLLOWERS: u8 = b'F';
const USER_PHOTOS: u8 = b'p';
const TIMELINE: u8 = b'T';
const PHOTO: u8 = b'P';
const TITLE: u8 = b't';
const BLOB_REF: u8 = b'b';
const OUTBOX: u8 = b'o';
const VIEWS: u8 = b'v';
const EDGE_WORK: u8 = b'q';
const NODE_LEASE: u8 = b'L';
const TICKET: u8 = b'K';

fn key(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len = 1 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut k = Vec::with_capacity(len);
    k.push(tag);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// `u/uid`.
pub fn user(uid: UserId) -> Vec<u8> {
    key(USER, &[&uid.to_be_bytes()])
}

/// `s/uid`.
pub fn stats(uid: UserId) -> Vec<u8> {
    key(STATS, &[&uid.to_be_bytes()])
}

/// `f/uid/leader`: `uid` follows `leader`.
pub fn follows(uid: UserId, leader: UserId) -> Vec<u8> {
    key(FOLLOWS, &[&uid.to_be_bytes(), &leader.to_be_bytes()])
}

/// Prefix of everyone `uid` follows.
pub fn follows_prefix(uid: UserId) -> Vec<u8> {
    key(FOLLOWS, &[&uid.to_be_bytes()])
}

/// `F/leader/uid`: `uid` follows `leader`.
pub fn followers(leader: UserId, uid: UserId) -> Vec<u8> {
    key(FOLLOWERS, &[&leader.to_be_bytes(), &uid.to_be_bytes()])
}

/// Prefix of everyone following `leader`.
pub fn followers_prefix(leader: UserId) -> Vec<u8> {
    key(FOLLOWERS, &[&leader.to_be_bytes()])
}

/// `p/uid/pid`.
pub fn user_photo(uid: UserId, pid: PhotoId) -> Vec<u8> {
    key(USER_PHOTOS, &[&uid.to_be_bytes(), &pid.0.to_be_bytes()])
}

/// Prefix of `uid`'s photos (reverse scan = newest first).
pub fn user_photos_prefix(uid: UserId) -> Vec<u8> {
    key(USER_PHOTOS, &[&uid.to_be_bytes()])
}

/// `T/uid/pid`, value = author.
pub fn timeline(uid: UserId, pid: PhotoId) -> Vec<u8> {
    key(TIMELINE, &[&uid.to_be_bytes(), &pid.0.to_be_bytes()])
}

/// True if `key` is a timeline row (of any user), so size reports can
/// split the timelines from the rest of the metadata.
pub fn is_timeline(key: &[u8]) -> bool {
    key.first() == Some(&TIMELINE)
}

/// Prefix of `uid`'s timeline.
pub fn timeline_prefix(uid: UserId) -> Vec<u8> {
    key(TIMELINE, &[&uid.to_be_bytes()])
}

/// `P/pid`.
pub fn photo(pid: PhotoId) -> Vec<u8> {
    key(PHOTO, &[&pid.0.to_be_bytes()])
}

/// `t/term\0pid`.
pub fn title_posting(term: &str, pid: PhotoId) -> Vec<u8> {
    key(TITLE, &[term.as_bytes(), &[0], &pid.0.to_be_bytes()])
}

/// Prefix of one term's postings (reverse scan = newest first).
pub fn title_prefix(term: &str) -> Vec<u8> {
    key(TITLE, &[term.as_bytes(), &[0]])
}

/// `b/blobkey/pid`: `pid` references the blob.
pub fn blob_ref(blob: &str, pid: PhotoId) -> Vec<u8> {
    key(BLOB_REF, &[blob.as_bytes(), &pid.0.to_be_bytes()])
}

/// Prefix of every reference to one blob.
pub fn blob_ref_prefix(blob: &str) -> Vec<u8> {
    key(BLOB_REF, &[blob.as_bytes()])
}

/// `o/pid`: fan-out of `pid` not yet finished.
pub fn outbox(pid: PhotoId) -> Vec<u8> {
    key(OUTBOX, &[&pid.0.to_be_bytes()])
}

/// Prefix of the whole outbox.
pub fn outbox_prefix() -> Vec<u8> {
    vec![OUTBOX]
}

/// `v/pid`.
pub fn views(pid: PhotoId) -> Vec<u8> {
    key(VIEWS, &[&pid.0.to_be_bytes()])
}

/// `q/uid/leader`: the follow or unfollow of `leader` by `uid` has
/// timeline and counter work not yet applied.
pub fn edge_work(uid: UserId, leader: UserId) -> Vec<u8> {
    key(EDGE_WORK, &[&uid.to_be_bytes(), &leader.to_be_bytes()])
}

/// Prefix of the whole follow-work outbox.
pub fn edge_work_prefix() -> Vec<u8> {
    vec![EDGE_WORK]
}

/// The `(uid, leader)` of an [`edge_work`] key.
pub fn edge_work_ids(key: &[u8]) -> Result<(UserId, UserId)> {
    if key.len() != 17 || key[0] != EDGE_WORK {
        return Err(Error::Corrupt(format!("not a follow-work key: {key:?}")));
    }
    Ok((trailing_id(&key[..9])?, trailing_id(key)?))
}

/// `L/node`: the lease on a node number of the `node` id scheme.
pub fn node_lease(node: u16) -> Vec<u8> {
    key(NODE_LEASE, &[&node.to_be_bytes()])
}

/// `K/allocator`: the next free ticket of one ticket allocator.
pub fn ticket_counter(allocator: u16) -> Vec<u8> {
    key(TICKET, &[&allocator.to_be_bytes()])
}

/// The trailing 8-byte big-endian id of a key (the last path element of
/// follows, followers, user_photos, timeline, title and blob-ref keys).
pub fn trailing_id(key: &[u8]) -> Result<u64> {
    let tail = key
        .len()
        .checked_sub(8)
        .map(|at| &key[at..])
        .ok_or_else(|| Error::Corrupt(format!("key too short: {key:?}")))?;
    let mut b = [0u8; 8];
    b.copy_from_slice(tail);
    Ok(u64::from_be_bytes(b))
}

/// Decode a u64 stored big-endian (timeline author, view counter).
pub fn decode_u64(v: &[u8]) -> Result<u64> {
    let b: [u8; 8] = v
        .try_into()
        .map_err(|_| Error::Corrupt(format!("expected 8 bytes, got {}", v.len())))?;
    Ok(u64::from_be_bytes(b))
}

/// Serialize a row as JSON.
pub fn encode<T: Serialize>(row: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(row).map_err(|e| Error::Internal(format!("encode row: {e}")))
}

/// Parse a row stored as JSON.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(format!("decode row: {e}")))
}

/// Split a title into search terms: lowercase, alphanumeric runs, each at
/// most 64 bytes, deduplicated, at most 16 terms.
pub fn terms(title: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in title.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let mut w = word.to_lowercase();
        if w.len() > 64 {
            let mut cut = 64;
            while !w.is_char_boundary(cut) {
                cut -= 1;
            }
            w.truncate(cut);
        }
        if !out.contains(&w) {
            out.push(w);
        }
        if out.len() == 16 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_order_follows_photo_id() {
        let a = user_photo(7, PhotoId(100));
        let b = user_photo(7, PhotoId(200));
        assert!(a < b);
        assert!(a.starts_with(&user_photos_prefix(7)));
        assert!(!user_photo(8, PhotoId(1)).starts_with(&user_photos_prefix(7)));
        assert_eq!(trailing_id(&b).expect("id"), 200);
    }

    #[test]
    fn title_terms_do_not_collide_by_prefix() {
        let cat = title_prefix("cat");
        assert!(!title_posting("cats", PhotoId(1)).starts_with(&cat));
        assert!(title_posting("cat", PhotoId(1)).starts_with(&cat));
    }

    #[test]
    fn terms_are_normalised() {
        assert_eq!(
            terms("Sunset, over the SEA! sunset"),
            vec!["sunset", "over", "the", "sea"]
        );
        assert!(terms("  ..  ").is_empty());
        let long = "é".repeat(100);
        assert!(terms(&long)[0].len() <= 64);
    }

    #[test]
    fn edge_work_keys_roundtrip() {
        let k = edge_work(7, 1 << 40);
        assert!(k.starts_with(&edge_work_prefix()));
        assert_eq!(edge_work_ids(&k).expect("ids"), (7, 1 << 40));
        assert!(edge_work_ids(&follows(7, 8)).is_err());
        assert_ne!(node_lease(1), ticket_counter(1));
    }

    #[test]
    fn short_keys_are_corrupt_not_panics() {
        assert!(trailing_id(b"abc").is_err());
        assert!(decode_u64(b"abc").is_err());
    }
}
