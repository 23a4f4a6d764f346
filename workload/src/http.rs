//! [`HttpTarget`]: executes planned ops against the reference service's stable HTTP API.
//!
//! Writes (POST, PUT, DELETE) go to `write_base`, reads (GET) to `read_base`, matching the
//! service's two routers. Every request but user creation carries `Authorization: Bearer` with
//! the acting user's token from a [`UserDirectory`] (population id → service id and token),
//! which a setup step fills (e.g. with [`HttpTarget::create_user`]) and may share.
//!
//! Ops name population ids; the target maps them. A photo fetch resolves its `pick` against the
//! user's last feed page, else against the most recent uploads seen by this target, else fails
//! with `no_photo`. Feed pages are read leniently: an array at the top level or under `items`,
//! `photos` or `feed`, whose elements are ids or objects with an `id` (number or string).
//! Error codes: `http_<status>`, `timeout`, `connect`, `transport`, `decode`, `no_user`,
//! `no_photo`, `request` (an id that cannot be put in a URL).
//!
//! Requests go over [`crate::conn`]'s lean HTTP/1.1 pool (one connection per request in
//! flight), not a general-purpose client: this is the load generator's hot path. Bases must be
//! plain `http://` URLs.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use feedlab_system::http::api::Listener;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Uri};
use serde_json::Value;

use crate::api::UploadBody;
use crate::body::{BodyStream, content_type};
use crate::conn::{Origin, Read, ReqBody};
use crate::driver::{OpError, OpOutcome, Target};
use crate::error::{Error, Result};
use crate::ops::{Payload, PlannedOp};

use crate::api::id_of;
pub use crate::api::{Endpoint, ServiceUser, UserDirectory};
pub use crate::page::feed_ids;

/// How many recent upload ids the target remembers for photo fetches.
const RECENT: usize = 4_096;

/// Where the service listens and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Base URL of the write router, e.g. `http://127.0.0.1:8081`.
    pub write_base: String,
    /// Base URL of the read router, e.g. `http://127.0.0.1:8080`.
    pub read_base: String,
    /// Per-request timeout (reported as `timeout`). Default 30 s.
    pub timeout: Duration,
    /// Feed page size used by freshness probes. Default 50.
    pub probe_limit: u32,
    /// A view ([`Endpoint::Photo`]) asks for at most the first `n` bytes of the file with
    /// one `Range: bytes=0-(n-1)` request, as a video player's first segment does; `None`
    /// (the default) reads whole files.
    pub view_bytes: Option<u64>,
}

impl HttpConfig {
    /// Config with the given bases and default timeout and probe limit.
    pub fn new(write_base: impl Into<String>, read_base: impl Into<String>) -> Self {
        Self {
            write_base: write_base.into().trim_end_matches('/').to_string(),
            read_base: read_base.into().trim_end_matches('/').to_string(),
            timeout: Duration::from_secs(30),
            probe_limit: 50,
            view_bytes: None,
        }
    }
}

/// The HTTP target; see the module docs.
#[derive(Debug)]
pub struct HttpTarget {
    write: Origin,
    read: Origin,
    cfg: HttpConfig,
    users: std::sync::Arc<UserDirectory>,
    recent: Mutex<VecDeque<String>>,
    /// Photos that existed before the run: views fall back to them only
    /// while no upload has been seen.
    known: Mutex<Vec<String>>,
    last_feed: Mutex<HashMap<u64, Vec<String>>>,
}

/// The `host:port` of a plain-HTTP base URL.
fn authority_of(base: &str) -> Result<String> {
    let uri: Uri = base
        .parse()
        .map_err(|e| Error::Http(format!("base URL {base:?}: {e}")))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http"), Some(a)) => Ok(a.as_str().to_string()),
        _ => Err(Error::Http(format!(
            "base URL {base:?}: only http://host:port bases are supported"
        ))),
    }
}

/// The URL-encoded query string, the content type and the body of `endpoint`'s request.
fn payload(endpoint: Endpoint) -> (Option<String>, Option<String>, ReqBody) {
    let whole = |b: Vec<u8>| ReqBody::Whole(Some(Bytes::from(b)));
    match endpoint {
        Endpoint::CreateUser { name, email } => {
            let json = serde_json::json!({ "name": name, "email": email });
            let body = serde_json::to_vec(&json).unwrap_or_default();
            (None, Some("application/json".to_string()), whole(body))
        }
        Endpoint::Upload {
            title,
            content_type,
            body,
        } => {
            let body = match body {
                UploadBody::Bytes(b) => whole(b),
                UploadBody::Generated(spec) => ReqBody::Stream(BodyStream::new(&spec)),
            };
            (Some(query(&[("title", &title)])), Some(content_type), body)
        }
        Endpoint::Feed(limit) => {
            let q = query(&[("limit", &limit.to_string())]);
            (Some(q), None, whole(vec![]))
        }
        Endpoint::FeedUpdates { since, wait } => {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let q = query(&[("since", &since), ("wait", &secs.to_string())]);
            (Some(q), None, whole(vec![]))
        }
        Endpoint::Search(q, limit) => {
            let q = query(&[("q", &q), ("limit", &limit.to_string())]);
            (Some(q), None, whole(vec![]))
        }
        Endpoint::DeletePhoto(_)
        | Endpoint::Follow(..)
        | Endpoint::Unfollow(..)
        | Endpoint::Photo(_)
        | Endpoint::PhotoMeta(_)
        | Endpoint::UserPhotos(_)
        | Endpoint::Health => (None, None, whole(vec![])),
    }
}

/// `application/x-www-form-urlencoded` query string of `pairs`.
fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

impl HttpTarget {
    /// A target for `cfg` using the accounts in `users`. Fails unless both bases are plain
    /// `http://host:port` URLs (optionally with a path prefix).
    pub fn new(cfg: HttpConfig, users: std::sync::Arc<UserDirectory>) -> Result<Self> {
        let origin = |base: &str| {
            Origin::new(&authority_of(base)?).map_err(|e| Error::Http(format!("{base:?}: {e}")))
        };
        Ok(Self {
            write: origin(&cfg.write_base)?,
            read: origin(&cfg.read_base)?,
            cfg,
            users,
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
            last_feed: Mutex::new(HashMap::new()),
            known: Mutex::new(Vec::new()),
        })
    }

    /// Photo ids (as they appear in URLs) that exist before the run: a view
    /// by a user with no feed page yet, made before this target has seen an
    /// upload, picks among them instead of failing with `no_photo`.
    pub fn remember_photos(&self, ids: impl IntoIterator<Item = String>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.extend(ids);
    }

    /// The account directory.
    pub fn users(&self) -> &std::sync::Arc<UserDirectory> {
        &self.users
    }

    /// Builds the request for `endpoint`, authorized with `token` if given, with an absolute
    /// URI (base + path + URL-encoded query); a generated upload body streams, with its
    /// `Content-Length`, and any other body is whole. Fails with `request` if an
    /// id does not fit in a URL.
    pub fn request(
        &self,
        endpoint: Endpoint,
        token: Option<&str>,
    ) -> std::result::Result<Request<ReqBody>, OpError> {
        let route = endpoint.route();
        let base = match route.group.listener() {
            Listener::Write => &self.cfg.write_base,
            Listener::Read => &self.cfg.read_base,
        };
        let mut url = format!("{base}{}", endpoint.path());
        let range = match (&endpoint, self.cfg.view_bytes) {
            (Endpoint::Photo(_), Some(n)) if n > 0 => Some(format!("bytes=0-{}", n - 1)),
            _ => None,
        };
        let (query, content, body) = payload(endpoint);
        if let Some(q) = query {
            url.push('?');
            url.push_str(&q);
        }
        let bad = |e: String| OpError::new("request", e);
        let mut b = Request::builder().method(route.verb.method()).uri(url);
        if let Some(t) = token {
            let v =
                HeaderValue::from_str(&format!("Bearer {t}")).map_err(|e| bad(e.to_string()))?;
            b = b.header(header::AUTHORIZATION, v);
        }
        if let Some(c) = content {
            b = b.header(header::CONTENT_TYPE, c);
        }
        if let Some(r) = range {
            b = b.header(header::RANGE, r);
        }
        if let ReqBody::Stream(s) = &body {
            b = b.header(header::CONTENT_LENGTH, s.content_length());
        }
        b.body(body).map_err(|e| bad(e.to_string()))
    }

    /// Sends `endpoint`; a non-2xx status is `http_<status>` (with the `code` of a JSON error
    /// body as its reason), no answer within the configured timeout is `timeout`. Returns the
    /// body.
    pub async fn call(
        &self,
        endpoint: Endpoint,
        token: Option<&str>,
    ) -> std::result::Result<Bytes, OpError> {
        Ok(self.exchange(endpoint, token, Read::Whole).await?.0)
    }

    /// [`HttpTarget::call`], reading the body as `read` says: the body kept and its length.
    async fn exchange(
        &self,
        endpoint: Endpoint,
        token: Option<&str>,
        read: Read,
    ) -> std::result::Result<(Bytes, u64), OpError> {
        let origin = [&self.read, &self.write][usize::from(endpoint.is_write())];
        let req = self.request(endpoint, token)?;
        let (status, body, len) = tokio::time::timeout(self.cfg.timeout, origin.send(req, read))
            .await
            .map_err(|_| {
                OpError::new(
                    "timeout",
                    format!(
                        "no answer from {} in {:?}",
                        origin.authority(),
                        self.cfg.timeout
                    ),
                )
            })??;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            let e = OpError::new(format!("http_{}", status.as_u16()), text);
            let reason = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_string));
            return Err(match reason {
                Some(r) => e.with_reason(r),
                None => e,
            });
        }
        Ok((body, len))
    }

    /// Creates a service account for population user `index` and records it in the directory.
    pub async fn create_user(
        &self,
        index: u64,
        name: &str,
        email: &str,
    ) -> std::result::Result<ServiceUser, OpError> {
        let ep = Endpoint::CreateUser {
            name: name.to_string(),
            email: email.to_string(),
        };
        let body = self.call(ep, None).await?;
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| OpError::new("decode", e.to_string()))?;
        let (Some(id), Some(token)) = (id_of(&v), v.get("token").and_then(Value::as_str)) else {
            return Err(OpError::new("decode", "user response lacks id or token"));
        };
        let user = ServiceUser {
            id,
            token: token.to_string(),
        };
        self.users.insert(index, user.clone());
        Ok(user)
    }

    fn account(&self, index: u64) -> std::result::Result<ServiceUser, OpError> {
        self.users
            .get(index)
            .ok_or_else(|| OpError::new("no_user", format!("no service account for user {index}")))
    }

    fn photo_for(&self, user: u64, pick: u64) -> std::result::Result<String, OpError> {
        if let Some(ids) = self
            .last_feed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
            && !ids.is_empty()
        {
            return Ok(ids[(pick % ids.len() as u64) as usize].clone());
        }
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if !recent.is_empty() {
            return Ok(recent[(pick % recent.len() as u64) as usize].clone());
        }
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.is_empty() {
            return Err(OpError::new("no_photo", "no photo known yet"));
        }
        Ok(known[(pick % known.len() as u64) as usize].clone())
    }

    /// Maps a planned op to its endpoint (resolving population ids and picks).
    pub fn endpoint_for(&self, op: &PlannedOp) -> std::result::Result<Endpoint, OpError> {
        Ok(match &op.payload {
            Payload::Upload(spec) => Endpoint::Upload {
                title: spec.title.clone(),
                content_type: content_type(spec).to_string(),
                body: UploadBody::Generated(spec.clone()),
            },
            Payload::Feed { limit } => Endpoint::Feed(*limit),
            Payload::PhotoGet { pick } => Endpoint::Photo(self.photo_for(op.user, *pick)?),
            Payload::Search { query, limit } => Endpoint::Search(query.clone(), *limit),
            Payload::Follow { leader } => {
                Endpoint::Follow(self.account(op.user)?.id, self.account(*leader)?.id)
            }
            Payload::Unfollow { leader } => {
                Endpoint::Unfollow(self.account(op.user)?.id, self.account(*leader)?.id)
            }
        })
    }
}

#[async_trait]
impl Target for HttpTarget {
    async fn execute(&self, op: &PlannedOp) -> std::result::Result<OpOutcome, OpError> {
        let account = self.account(op.user)?;
        let endpoint = self.endpoint_for(op)?;
        // A view's bytes are only counted, as a player streams them.
        let view = matches!(op.payload, Payload::PhotoGet { .. });
        let read = if view { Read::Length } else { Read::Whole };
        let (body, bytes) = self.exchange(endpoint, Some(&account.token), read).await?;
        let mut outcome = OpOutcome { id: None, bytes };
        match op.payload {
            Payload::Upload(_) => {
                let v: Value = serde_json::from_slice(&body)
                    .map_err(|e| OpError::new("decode", e.to_string()))?;
                let id =
                    id_of(&v).ok_or_else(|| OpError::new("decode", "upload response lacks id"))?;
                let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back(id.clone());
                outcome.id = Some(id);
            }
            Payload::Feed { .. } => {
                let ids = feed_ids(&body)
                    .ok_or_else(|| OpError::new("decode", "unreadable feed page"))?;
                self.last_feed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(op.user, ids);
            }
            _ => {}
        }
        Ok(outcome)
    }

    async fn probe_visible(
        &self,
        _upload: &PlannedOp,
        outcome: &OpOutcome,
        follower: u64,
    ) -> std::result::Result<bool, OpError> {
        let Some(id) = &outcome.id else {
            return Err(OpError::unsupported());
        };
        let account = self.account(follower)?;
        let body = self
            .call(Endpoint::Feed(self.cfg.probe_limit), Some(&account.token))
            .await?;
        let ids = feed_ids(&body).ok_or_else(|| OpError::new("decode", "unreadable feed page"))?;
        Ok(ids.iter().any(|x| x == id))
    }
}
