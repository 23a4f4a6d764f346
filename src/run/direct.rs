//! [`DirectTarget`]: the workload driver's [`Target`] calling the reference
//! [`Service`] in-process, with no HTTP in between.
//!
//! It maps planned ops exactly as `feedlab_workload::HttpTarget` maps them to
//! API calls: population ids become service ids through the table filled at
//! seeding, a photo fetch resolves its `pick` against the user's last feed
//! page (else the most recent uploads seen), and the freshness probe reads
//! the follower's feed and looks for the upload's id. Service errors become
//! the same short codes the HTTP API would return (`http_404`, …) so both
//! transports count errors alike. Use it for tests and to measure the
//! service without the HTTP stack; live runs default to real HTTP.
//!
//! With a [`Recorder`] it also records each successful op's app-side time
//! (`app-feed`, `app-photo_get`, …): its wall time less the time its task
//! spent in storage calls (see `feedlab_system::timing`), for the in-situ
//! calibration of the simulator's app-server step, and its work counters
//! (`feedlab_system::timing::work`) under the op kind's name, as the HTTP
//! routers record them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use feedlab_system::id::PhotoId;
use feedlab_system::policy::UserId;
use feedlab_system::timing::{Recorder, app_op, app_size, metered, scoped_cpu};
use feedlab_system::{Error, Service};
use feedlab_workload::{OpError, OpOutcome, Payload, PlannedOp, Target, content_type, upload_body};

/// Recent upload ids remembered for photo fetches.
const RECENT: usize = 4_096;
/// Feed page size of a freshness probe (as `HttpTarget`'s default).
const PROBE_LIMIT: usize = 50;

/// In-process target over a [`Service`]; see the module docs.
pub struct DirectTarget {
    svc: Service,
    ids: Vec<UserId>,
    recent: Mutex<VecDeque<PhotoId>>,
    last_feed: Mutex<HashMap<u64, Vec<PhotoId>>>,
    /// Photos that existed before the run (see [`DirectTarget::remembering`]).
    known: Vec<PhotoId>,
    recorder: Option<Arc<Recorder>>,
    /// A view reads at most this many bytes; 0 reads whole files.
    view_bytes: u64,
}

/// The status code the HTTP API gives `e` as the driver's error code, with the service's
/// error code (its JSON `code`) as the reason.
pub fn error_code(e: &Error) -> OpError {
    let (status, reason) = match e {
        Error::NotFound(_) => (404, "not_found"),
        Error::InvalidInput(_) => (400, "invalid_input"),
        Error::Unauthorized => (401, "unauthorized"),
        Error::Forbidden(_) => (403, "forbidden"),
        Error::UnsupportedMedia(_) => (415, "unsupported_media"),
        Error::Conflict(_) => (409, "conflict"),
        Error::Unavailable(_) => (503, "unavailable"),
        Error::PayloadTooLarge { .. } => (413, "payload_too_large"),
        Error::Lost(_) => (500, "data_lost"),
        _ => (500, "internal"),
    };
    OpError::new(format!("http_{status}"), e.to_string()).with_reason(reason)
}

impl DirectTarget {
    /// A target over `svc` where population user `i` is service user `ids[i]`.
    pub fn new(svc: Service, ids: Vec<UserId>) -> Self {
        DirectTarget {
            svc,
            ids,
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
            last_feed: Mutex::new(HashMap::new()),
            known: Vec::new(),
            recorder: None,
            view_bytes: 0,
        }
    }

    /// Photos that exist before the run: a view by a user with no feed page
    /// yet, made before this target has seen an upload, picks among them
    /// instead of failing with `no_photo`.
    pub fn remembering(mut self, ids: &[PhotoId]) -> Self {
        self.known = ids.to_vec();
        self
    }

    /// Views read at most the first `n` bytes of a file (a range, as the HTTP driver's
    /// `Range` request); 0 reads whole files.
    pub fn viewing(mut self, n: u64) -> Self {
        self.view_bytes = n;
        self
    }

    /// Also record each successful op's app-side time in `recorder` (see the module docs).
    pub fn recording(mut self, recorder: Arc<Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Performs `op` on the service.
    async fn call(&self, op: &PlannedOp) -> Result<OpOutcome, OpError> {
        let me = self.user(op.user)?;
        let svc = &self.svc;
        let mut out = OpOutcome::default();
        match &op.payload {
            Payload::Upload(spec) => {
                let body = Bytes::from(upload_body(spec));
                out.bytes = body.len() as u64;
                let row = svc
                    .upload(me, &spec.title, Some(content_type(spec)), body)
                    .await
                    .map_err(|e| error_code(&e))?;
                let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back(row.id);
                out.id = Some(row.id.0.to_string());
            }
            Payload::Feed { limit } => {
                let rows = svc
                    .feed(me, *limit as usize)
                    .await
                    .map_err(|e| error_code(&e))?;
                let ids: Vec<PhotoId> = rows.iter().map(|r| r.id).collect();
                out.bytes = ids.len() as u64;
                self.last_feed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(op.user, ids);
            }
            Payload::PhotoGet { pick } => {
                let pid = self.photo_for(op.user, *pick)?;
                let range = (self.view_bytes > 0).then_some(0..self.view_bytes);
                let (_, bytes) = svc
                    .photo_bytes(pid, range)
                    .await
                    .map_err(|e| error_code(&e))?;
                out.bytes = bytes.len() as u64;
            }
            Payload::Search { query, limit } => {
                let rows = svc
                    .search(query, *limit as usize)
                    .await
                    .map_err(|e| error_code(&e))?;
                out.bytes = rows.len() as u64;
            }
            Payload::Follow { leader } => {
                let leader = self.user(*leader)?;
                svc.follow(me, me, leader)
                    .await
                    .map_err(|e| error_code(&e))?;
            }
            Payload::Unfollow { leader } => {
                let leader = self.user(*leader)?;
                svc.unfollow(me, me, leader)
                    .await
                    .map_err(|e| error_code(&e))?;
            }
        }
        Ok(out)
    }

    fn user(&self, index: u64) -> Result<UserId, OpError> {
        self.ids
            .get(index as usize)
            .copied()
            .ok_or_else(|| OpError::new("no_user", format!("no service account for user {index}")))
    }

    fn photo_for(&self, user: u64, pick: u64) -> Result<PhotoId, OpError> {
        let feeds = self.last_feed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ids) = feeds.get(&user).filter(|v| !v.is_empty()) {
            return Ok(ids[(pick % ids.len() as u64) as usize]);
        }
        drop(feeds);
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if !recent.is_empty() {
            return Ok(recent[(pick % recent.len() as u64) as usize]);
        }
        if self.known.is_empty() {
            return Err(OpError::new("no_photo", "no photo known yet"));
        }
        Ok(self.known[(pick % self.known.len() as u64) as usize])
    }
}

#[async_trait]
impl Target for DirectTarget {
    async fn execute(&self, op: &PlannedOp) -> Result<OpOutcome, OpError> {
        let Some(rec) = &self.recorder else {
            return self.call(op).await;
        };
        let t = Instant::now();
        let ((out, work), times) = scoped_cpu(Box::pin(metered(self.call(op)))).await;
        if out.is_ok() {
            rec.record_op(op.kind.name(), &work);
            let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
            rec.record_handler(op.kind.name(), ns);
            if let Some(app) = app_op(op.kind.name()) {
                let app_ns = ns.saturating_sub(times.store_ns);
                let size = app_size(op.kind.name(), work.blob_bytes_written);
                rec.record_ns(app, size, app_ns, times.app_cpu_ns.min(app_ns));
            }
        }
        out
    }

    async fn probe_visible(
        &self,
        _upload: &PlannedOp,
        outcome: &OpOutcome,
        follower: u64,
    ) -> Result<bool, OpError> {
        let Some(id) = outcome.id.as_deref().and_then(|s| s.parse::<u64>().ok()) else {
            return Err(OpError::unsupported());
        };
        let reader = self.user(follower)?;
        let rows = self
            .svc
            .feed(reader, PROBE_LIMIT.min(self.svc.config().feed_limit))
            .await
            .map_err(|e| error_code(&e))?;
        Ok(rows.iter().any(|r| r.id.0 == id))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use feedlab_system::ServiceConfig;
    use feedlab_system::service::bulk_photos::{HistoryPhoto, SharedBody};
    use feedlab_system::service::media::sample_body;
    use feedlab_workload::{OpKind, Payload, PlannedOp, Target};

    use super::*;

    /// A view of a 3 MB video reads its first MiB with `viewing(1 MiB)` and all of it with
    /// `viewing(0)`; a photo under the limit is read whole either way.
    #[tokio::test]
    async fn a_view_reads_at_most_its_view_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = ServiceConfig {
            data_dir: dir.path().to_path_buf(),
            blob_replicas: 1,
            ..ServiceConfig::default()
        };
        let svc = Service::open_embedded(cfg).await.expect("open");
        let me = svc.bulk_create_users(1).await.expect("user")[0].id;
        let body = |ct: &str, n| SharedBody {
            bytes: Bytes::from(sample_body(ct, n, 5)),
            content_type: ct.into(),
        };
        let bodies = [body("video/mp4", 3_000_000), body("image/jpeg", 200_000)];
        let items: Vec<HistoryPhoto> = (0..2)
            .map(|i| HistoryPhoto {
                owner: me,
                title: "lake".into(),
                body: i,
            })
            .collect();
        let ids = svc.bulk_photos(&items, &bodies).await.expect("photos");
        let view = PlannedOp {
            seq: 0,
            at: Duration::ZERO,
            kind: OpKind::PhotoGet,
            user: 0,
            payload: Payload::PhotoGet { pick: 0 },
        };
        for (limit, want) in [(1 << 20, [1 << 20, 200_000]), (0, [3_000_000, 200_000])] {
            for (id, want) in ids.iter().zip(want) {
                let t = DirectTarget::new(svc.clone(), vec![me])
                    .remembering(&[*id])
                    .viewing(limit);
                let got = t.execute(&view).await.expect("view").bytes;
                assert_eq!(got, want, "limit {limit}");
            }
        }
    }
}
