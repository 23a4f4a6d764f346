//! The three invariant checks of a live fault run, run on the service directly once the
//! driver and the fan-out are done (see [`crate::summary::Invariants`] for what each means).
//!
//! Bounds, so a long run's check stays short: at most [`READBACK_MAX`] uploads are read back
//! (all of them when there are no more, else a seeded sample), [`USERS`] users' feeds and
//! photo lists and [`SEARCHES`] searches are read, and the deleted photos are looked for in
//! their owners' lists and in up to [`DELETE_READERS`] followers' feeds each. Every choice is
//! a seeded hash, so a run's seed fixes what is checked given what was acknowledged. At most
//! [`MAX_VIOLATIONS`] violations of each invariant are kept.

use std::collections::{BTreeMap, BTreeSet};

use feedlab_system::blob::BlobKey;
use feedlab_system::id::PhotoId;
use feedlab_system::policy::UserId;
use feedlab_system::{Error, Service};
use feedlab_workload::hash::mix;

use super::{Acked, STREAM};
use crate::summary::{Invariant, Invariants, Violation};

/// Most acknowledged uploads read back.
pub const READBACK_MAX: usize = 1_000;
/// Users whose feed and photo list are read.
pub const USERS: usize = 50;
/// Searches run.
pub const SEARCHES: usize = 20;
/// Followers of each deleted photo's owner whose feed is read.
pub const DELETE_READERS: usize = 20;
/// Violations kept per invariant.
pub const MAX_VIOLATIONS: usize = 20;
/// Entries read per feed, photo list and search.
const PAGE: usize = 100;

/// One check pass over a service.
pub struct Checker<'a> {
    svc: &'a Service,
    ids: &'a [UserId],
    seed: u64,
    out: Invariants,
    deleted: BTreeMap<PhotoId, UserId>,
}

impl<'a> Checker<'a> {
    /// A checker of `svc`, whose population user `i` is `ids[i]`, sampling with `seed`.
    pub fn new(svc: &'a Service, ids: &'a [UserId], seed: u64) -> Self {
        Checker {
            svc,
            ids,
            seed,
            out: Invariants::default(),
            deleted: BTreeMap::new(),
        }
    }

    /// Runs every check on the uploads `acked` and the photos `deleted` (acknowledged
    /// deletes, a subset of `acked`).
    pub async fn run(mut self, acked: &[Acked], deleted: &[Acked]) -> Invariants {
        self.out.uploads_acknowledged = acked.len() as u64;
        self.out.deletes = deleted.len() as u64;
        self.deleted = deleted.iter().map(|a| (a.photo, a.owner)).collect();
        let live: Vec<&Acked> = acked
            .iter()
            .filter(|a| !self.deleted.contains_key(&a.photo))
            .collect();
        self.readback(&live).await;
        self.dangling(acked).await;
        self.deletes(deleted).await;
        self.out.held = self.out.violations.is_empty();
        self.out
    }

    fn pick(&self, id: u64) -> u64 {
        mix(self.seed, STREAM, id)
    }

    fn violate(&mut self, invariant: Invariant, detail: String) {
        let kept = self.out.violations.iter();
        if kept.filter(|v| v.invariant == invariant).count() < MAX_VIOLATIONS {
            self.out.violations.push(Violation { invariant, detail });
        }
    }

    /// Invariant 1: the uploads read back with the length and digest sent.
    async fn readback(&mut self, live: &[&Acked]) {
        let mut chosen = live.to_vec();
        self.out.uploads_selection = if chosen.len() > READBACK_MAX {
            chosen.sort_by_key(|a| (self.pick(a.seq), a.seq));
            chosen.truncate(READBACK_MAX);
            "sample".into()
        } else {
            "all".into()
        };
        self.out.uploads_checked = chosen.len() as u64;
        for a in chosen {
            let got = self.svc.photo_bytes(a.photo, None).await;
            let who = format!("photo {} of user {}", a.photo.0, a.owner);
            match got {
                Ok((_, bytes)) if bytes.len() as u64 != a.len => self.violate(
                    Invariant::Readback,
                    format!("{who}: {} bytes read, {} sent", bytes.len(), a.len),
                ),
                Ok((_, bytes)) if *blake3::hash(&bytes).as_bytes() != a.digest => self.violate(
                    Invariant::Readback,
                    format!("{who}: the bytes read differ from those sent (BLAKE3)"),
                ),
                Ok(_) => {}
                Err(e) => self.violate(Invariant::Readback, format!("{who}: read fails: {e}")),
            }
        }
    }

    /// Invariant 2: sampled feeds, photo lists and searches name only readable photos.
    async fn dangling(&mut self, acked: &[Acked]) {
        let mut users: Vec<u64> = (0..self.ids.len() as u64).collect();
        users.sort_by_key(|&i| (self.pick(i), i));
        users.truncate(USERS);
        self.out.users_sampled = users.len() as u64;
        for i in users {
            let uid = self.ids[i as usize];
            self.feed(uid, &format!("the feed of user {uid}")).await;
            self.list(uid).await;
        }
        let mut titled: Vec<&Acked> = acked.iter().collect();
        titled.sort_by_key(|a| (self.pick(a.seq ^ 1), a.seq));
        let queries: BTreeSet<String> = titled
            .iter()
            .filter_map(|a| a.title.split_whitespace().next().map(str::to_string))
            .take(SEARCHES)
            .collect();
        self.out.searches = queries.len() as u64;
        for q in queries {
            self.search(&q).await;
        }
    }

    /// Checks every entry of `uid`'s feed page; `whose` names it in a violation.
    async fn feed(&mut self, uid: UserId, whose: &str) {
        let limit = PAGE.min(self.svc.config().feed_limit);
        match self.svc.feed(uid, limit).await {
            Ok(rows) => {
                for r in rows {
                    self.entry(r.id, Some(&r.blob), whose).await;
                }
            }
            Err(e) => self.violate(Invariant::Dangling, format!("{whose} fails: {e}")),
        }
    }

    /// Checks every entry of `uid`'s photo list.
    async fn list(&mut self, uid: UserId) {
        let whose = format!("the photo list of user {uid}");
        match self.svc.user_photo_ids(uid, PAGE, None).await {
            Ok(ids) => {
                for id in ids {
                    self.entry(id, None, &whose).await;
                }
            }
            Err(e) => self.violate(Invariant::Dangling, format!("{whose} fails: {e}")),
        }
    }

    /// Checks every result of the search `q`.
    async fn search(&mut self, q: &str) {
        let whose = format!("the search {q:?}");
        match self.svc.search(q, PAGE).await {
            Ok(rows) => {
                for r in rows {
                    self.entry(r.id, Some(&r.blob), &whose).await;
                }
            }
            Err(e) => self.violate(Invariant::Dangling, format!("{whose} fails: {e}")),
        }
    }

    /// One entry `id` listed in `whose` (with its row's blob key when the listing gave one):
    /// a deleted photo breaks `deleted`, a missing row or missing bytes break `dangling`.
    async fn entry(&mut self, id: PhotoId, blob: Option<&str>, whose: &str) {
        self.out.entries_checked += 1;
        if let Some(owner) = self.deleted.get(&id) {
            let detail = format!("deleted photo {} of user {owner} is in {whose}", id.0);
            return self.violate(Invariant::Deleted, detail);
        }
        let blob = match blob {
            Some(b) => b.to_string(),
            None => match self.svc.photo(id).await {
                Ok(row) => row.blob.clone(),
                Err(e) => {
                    let detail = format!("photo {} in {whose}: its row fails: {e}", id.0);
                    return self.violate(Invariant::Dangling, detail);
                }
            },
        };
        let head = match BlobKey::parse(&blob) {
            Ok(key) => self.svc.blobs().head(&key).await,
            Err(e) => Err(e),
        };
        match head {
            Ok(Some(_)) => {}
            Ok(None) => self.violate(
                Invariant::Dangling,
                format!("photo {} in {whose}: its bytes are missing", id.0),
            ),
            Err(e) => self.violate(
                Invariant::Dangling,
                format!("photo {} in {whose}: its bytes fail: {e}", id.0),
            ),
        }
    }

    /// Invariant 3: each deleted photo answers 404 and is in no list, feed or search read.
    async fn deletes(&mut self, deleted: &[Acked]) {
        let mut readers = BTreeSet::new();
        for a in deleted {
            match self.svc.photo_bytes(a.photo, None).await {
                Err(Error::NotFound(_)) => {}
                Ok(_) => self.violate(
                    Invariant::Deleted,
                    format!(
                        "deleted photo {} of user {} still reads",
                        a.photo.0, a.owner
                    ),
                ),
                Err(e) => self.violate(
                    Invariant::Deleted,
                    format!("deleted photo {} answers {e}, not 404", a.photo.0),
                ),
            }
            readers.insert(a.owner);
            self.list(a.owner).await;
            if let Some(q) = a.title.split_whitespace().next() {
                self.search(q).await;
            }
            let mut followers = self.svc.followers_of(a.owner).await.unwrap_or_default();
            followers.sort_by_key(|&f| (self.pick(f), f));
            followers.truncate(DELETE_READERS);
            readers.extend(followers);
        }
        self.out.delete_readers = readers.len() as u64;
        for uid in readers {
            self.feed(uid, &format!("the feed of user {uid}")).await;
        }
    }
}
