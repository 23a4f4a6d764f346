//! [`TikvStore`]: the [`MetaStore`] implementation on a TiKV cluster.
//!
//! The encodings, pagination, batching and error classes it relies on are
//! pure functions in the sibling modules; this file only talks to the
//! cluster. See the parent module for the design.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tikv_client::{
    CheckLevel, Config, KvPair, Snapshot, TimestampExt, Transaction, TransactionClient,
    TransactionOptions,
};

use super::batch::{Mutation, lower_batch};
use super::codec::{decode_key, decode_value, encode_key, encode_value, map_range};
use super::errors::{Class, classify, map_err};
use super::pager::{DEFAULT_PAGE, ScanPager};
use crate::error::{Error, Result};
use crate::meta::{CasOutcome, Direction, Entry, KeyRange, MetaStore, WriteBatch};

/// Tuning knobs for [`TikvStore::connect_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TikvOptions {
    /// Entries per scan request (default 256); at least 1.
    pub page_size: u32,
    /// Transactions tried per `write` or `cas` before a persistent write
    /// conflict is reported (default 16); at least 1.
    pub max_attempts: u32,
    /// Timeout of one request to PD or TiKV (default 2 s).
    pub request_timeout: Duration,
    /// Largest gRPC response accepted (default 64 MiB; the client's own
    /// default of 4 MiB is too small for a page of large values).
    pub max_message_bytes: usize,
}

impl Default for TikvOptions {
    fn default() -> Self {
        TikvOptions {
            page_size: DEFAULT_PAGE,
            max_attempts: 16,
            request_timeout: Duration::from_secs(2),
            max_message_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Ordered KV store in one namespace of a TiKV cluster; a cheap-to-clone
/// handle. Several stores (with prefix-free namespaces, see
/// [`super::shard_namespace`]) may share a cluster and a client.
#[derive(Clone)]
pub struct TikvStore {
    client: TransactionClient,
    ns: Arc<[u8]>,
    options: Arc<TikvOptions>,
}

impl std::fmt::Debug for TikvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TikvStore")
            .field("namespace", &String::from_utf8_lossy(&self.ns))
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl TikvStore {
    /// Connect to the cluster whose PD endpoints (`host:port`) are given,
    /// with [`TikvOptions::default`], and use keys under `namespace`.
    /// Fails with [`Error::InvalidInput`] for an empty or all-`0xff`
    /// namespace or no endpoints, and with [`Error::Unavailable`] when PD
    /// cannot be reached.
    pub async fn connect(pd_endpoints: Vec<String>, namespace: &[u8]) -> Result<TikvStore> {
        Self::connect_with(pd_endpoints, namespace, TikvOptions::default()).await
    }

    /// [`Self::connect`] with explicit options.
    pub async fn connect_with(
        pd_endpoints: Vec<String>,
        namespace: &[u8],
        options: TikvOptions,
    ) -> Result<TikvStore> {
        super::codec::validate_namespace(namespace)?;
        if pd_endpoints.is_empty() {
            return Err(Error::InvalidInput("no PD endpoints given".into()));
        }
        let config = Config::default()
            .with_timeout(options.request_timeout)
            .with_grpc_max_decoding_message_size(options.max_message_bytes);
        let client = TransactionClient::new_with_config(pd_endpoints, config)
            .await
            .map_err(|e| map_err("connect to PD", e))?;
        Ok(Self::with_client(client, namespace, options))
    }

    /// A store in `namespace` on an already connected client (to share one
    /// client between the shards of a process). The namespace is not
    /// validated here; use [`super::codec::validate_namespace`].
    pub fn with_client(
        client: TransactionClient,
        namespace: &[u8],
        options: TikvOptions,
    ) -> TikvStore {
        TikvStore {
            client,
            ns: namespace.into(),
            options: Arc::new(TikvOptions {
                page_size: options.page_size.max(1),
                max_attempts: options.max_attempts.max(1),
                ..options
            }),
        }
    }

    /// The namespace every key of this store lives under.
    pub fn namespace(&self) -> &[u8] {
        &self.ns
    }

    /// A read-only snapshot at a fresh timestamp.
    async fn snapshot(&self) -> Result<Snapshot> {
        let ts = self
            .client
            .current_timestamp()
            .await
            .map_err(|e| map_err("get timestamp", e))?;
        Ok(self.client.snapshot(ts, txn_options()))
    }

    async fn begin(&self) -> Result<Transaction> {
        self.client
            .begin_with_options(txn_options())
            .await
            .map_err(|e| map_err("begin transaction", e))
    }

    /// Sleep before retry `attempt` (1-based) of a conflicted transaction:
    /// exponential from 2 ms, capped at 100 ms, with a jitter taken from the
    /// losing transaction's start timestamp (unique per transaction).
    async fn backoff(attempt: u32, start_ts: u64) {
        let base = (2u64 << attempt.min(6)).min(100);
        let jitter = start_ts % base.max(1);
        tokio::time::sleep(Duration::from_millis(base / 2 + jitter / 2)).await;
    }

    /// One attempt of `write`: buffer the mutations and commit.
    async fn try_write(&self, muts: &[Mutation]) -> Result<(), (Class, tikv_client::Error, u64)> {
        let mut txn = match self.client.begin_with_options(txn_options()).await {
            Ok(t) => t,
            Err(e) => return Err((classify(&e), e, 0)),
        };
        let ts = txn.start_timestamp().version();
        let r = async {
            for m in muts {
                match m {
                    Mutation::Put(k, v) => txn.put(k.clone(), v.clone()).await?,
                    Mutation::Delete(k) => txn.delete(k.clone()).await?,
                }
            }
            txn.commit().await
        }
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                // Best effort: release prewrite locks now instead of at TTL.
                let _ = txn.rollback().await;
                Err((classify(&e), e, ts))
            }
        }
    }

    /// One attempt of `cas`; `Err((class, error, start_ts))` on failure.
    async fn try_cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<Result<CasOutcome, (Class, tikv_client::Error, u64)>> {
        let mut txn = self.begin().await?;
        let ts = txn.start_timestamp().version();
        let current = match txn.get(key.to_vec()).await {
            Ok(v) => v.map(decode_value).transpose()?,
            Err(e) => return Ok(Err((classify(&e), e, ts))),
        };
        if current.as_deref() != expected {
            // Nothing buffered, no locks taken: dropping the txn is enough.
            return Ok(Ok(CasOutcome::Mismatch(current)));
        }
        let r = match new {
            Some(v) => txn.put(key.to_vec(), encode_value(v)).await,
            None => txn.delete(key.to_vec()).await,
        };
        let r = match r {
            Ok(()) => txn.commit().await.map(|_| ()),
            Err(e) => Err(e),
        };
        Ok(match r {
            Ok(()) => Ok(CasOutcome::Swapped),
            Err(e) => {
                let _ = txn.rollback().await;
                Err((classify(&e), e, ts))
            }
        })
    }
}

/// Transaction options for every transaction and snapshot of the store:
/// optimistic, and no panic when a transaction is dropped without commit or
/// rollback (the default `CheckLevel::Panic` would turn an early `?` into a
/// panic; read-only snapshots are always dropped that way).
fn txn_options() -> TransactionOptions {
    TransactionOptions::new_optimistic().drop_check(CheckLevel::None)
}

/// Decode one scanned pair from stored form.
fn decode_pair(ns: &[u8], kv: KvPair) -> Result<Entry> {
    let (k, v): (tikv_client::Key, tikv_client::Value) = kv.into();
    let k: Vec<u8> = k.into();
    Ok((decode_key(ns, &k)?, decode_value(v)?))
}

#[async_trait]
impl MetaStore for TikvStore {
    fn backend(&self) -> &'static str {
        "tikv"
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut snap = self.snapshot().await?;
        let v = snap
            .get(encode_key(&self.ns, key))
            .await
            .map_err(|e| map_err("get", e))?;
        v.map(decode_value).transpose()
    }

    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let stored: Vec<Vec<u8>> = keys.iter().map(|k| encode_key(&self.ns, k)).collect();
        let mut unique = stored.clone();
        unique.sort_unstable();
        unique.dedup();
        let mut snap = self.snapshot().await?;
        let found: HashMap<Vec<u8>, Vec<u8>> = snap
            .batch_get(unique)
            .await
            .map_err(|e| map_err("batch_get", e))?
            .map(|kv| {
                let (k, v): (tikv_client::Key, tikv_client::Value) = kv.into();
                (k.into(), v)
            })
            .collect();
        stored
            .iter()
            .map(|k| found.get(k).cloned().map(decode_value).transpose())
            .collect()
    }

    async fn scan(
        &self,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let Some(stored) = map_range(&self.ns, range).filter(|_| limit > 0) else {
            return Ok(Vec::new());
        };
        let mut pager = ScanPager::new(stored, direction, limit, self.options.page_size);
        let mut snap = self.snapshot().await?;
        let mut out = Vec::new();
        while let Some(p) = pager.next_page() {
            let bounds = p.start..p.end;
            let page: Vec<KvPair> = match direction {
                Direction::Forward => snap.scan(bounds, p.limit).await.map(Iterator::collect),
                Direction::Reverse => snap
                    .scan_reverse(bounds, p.limit)
                    .await
                    .map(Iterator::collect),
            }
            .map_err(|e| map_err("scan", e))?;
            let last: Option<Vec<u8>> = page.last().map(|kv| kv.key().clone().into());
            pager.record(page.len(), last.as_deref());
            for kv in page {
                out.push(decode_pair(&self.ns, kv)?);
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn write(&self, batch: WriteBatch) -> Result<()> {
        let muts = lower_batch(&self.ns, &batch)?;
        if muts.is_empty() {
            return Ok(());
        }
        let attempts = self.options.max_attempts;
        for attempt in 1..=attempts {
            match self.try_write(&muts).await {
                Ok(()) => return Ok(()),
                Err((Class::Conflict, _, ts)) if attempt < attempts => {
                    Self::backoff(attempt, ts).await;
                }
                Err((_, e, _)) => {
                    return Err(map_err(&format!("write (attempt {attempt})"), e));
                }
            }
        }
        Err(Error::Internal("tikv write: retry loop ended".into()))
    }

    async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome> {
        if key.is_empty() {
            return Err(Error::InvalidInput("empty key".into()));
        }
        let stored = encode_key(&self.ns, key);
        let attempts = self.options.max_attempts;
        for attempt in 1..=attempts {
            match self.try_cas(&stored, expected, new.as_deref()).await? {
                Ok(outcome) => return Ok(outcome),
                Err((Class::Conflict, _, ts)) => {
                    if attempt < attempts {
                        Self::backoff(attempt, ts).await;
                    }
                }
                Err((_, e, _)) => return Err(map_err("cas", e)),
            }
        }
        // Every attempt lost a conflict, so nothing was written. A value
        // other than `expected` now is a genuine mismatch.
        let now = self.get(key).await?;
        if now.as_deref() != expected {
            return Ok(CasOutcome::Mismatch(now));
        }
        Err(Error::Unavailable(format!(
            "tikv cas: write conflict on each of {attempts} attempts"
        )))
    }
}
