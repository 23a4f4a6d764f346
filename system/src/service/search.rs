//! Title search: tokenized, AND of terms, newest first.
//!
//! The title index is document-partitioned: postings live on the photo's
//! shard, written in the same atomic batch as the photo row. A query
//! scatters to every shard; each walks the first term's postings newest
//! first in pages and checks the other terms with one `batch_get` per page;
//! the gather merges the shards' newest-first lists.

use std::sync::Arc;

use super::Service;
use crate::error::{Error, Result};
use crate::id::PhotoId;
use crate::meta::{Direction, KeyRange};
use crate::shards::Shard;
use crate::tables::{self, PhotoRow};

/// Postings examined per shard per query at most (bounds a query's cost).
pub const MAX_POSTINGS_SCANNED: usize = 20_000;
const PAGE: usize = 256;

async fn search_shard(shard: &Shard, terms: &[String], limit: usize) -> Result<Vec<PhotoId>> {
    let (first, rest) = terms
        .split_first()
        .ok_or_else(|| Error::Internal("no terms".into()))?;
    let mut range = KeyRange::prefix(&tables::title_prefix(first));
    let mut found = Vec::new();
    let mut scanned = 0;
    while found.len() < limit && scanned < MAX_POSTINGS_SCANNED {
        let page = shard.scan(&range, Direction::Reverse, PAGE).await?;
        scanned += page.len();
        let ids: Vec<PhotoId> = page
            .iter()
            .map(|(k, _)| tables::trailing_id(k).map(PhotoId))
            .collect::<Result<_>>()?;
        let mut ok = vec![true; ids.len()];
        for term in rest {
            let keys: Vec<Vec<u8>> = ids
                .iter()
                .map(|&id| tables::title_posting(term, id))
                .collect();
            for (slot, v) in ok.iter_mut().zip(shard.batch_get(&keys).await?) {
                *slot &= v.is_some();
            }
        }
        found.extend(
            ids.iter()
                .zip(&ok)
                .filter(|(_, ok)| **ok)
                .map(|(id, _)| *id),
        );
        match page.last() {
            Some((k, _)) if page.len() == PAGE => range.end = Some(k.clone()),
            _ => break,
        }
    }
    found.truncate(limit);
    Ok(found)
}

impl Service {
    /// Photos whose title contains every term of `query`, newest first, at
    /// most `limit` (1..=100). An empty query is [`Error::InvalidInput`].
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<Arc<PhotoRow>>> {
        self.burn("search");
        let terms = tables::terms(query);
        if terms.is_empty() {
            return Err(Error::InvalidInput("query has no searchable words".into()));
        }
        if !(1..=100).contains(&limit) {
            return Err(Error::InvalidInput("limit must be 1–100".into()));
        }
        let per_shard = self
            .inner
            .shards
            .all()
            .iter()
            .map(|s| search_shard(s, &terms, limit));
        let mut ids: Vec<PhotoId> = Vec::new();
        for r in futures::future::join_all(per_shard).await {
            ids.extend(r?);
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        ids.truncate(limit);
        self.photos(&ids).await
    }
}
