//! HTTP: a write router and a read router on two listeners.
//!
//! Uploads are slow and must not starve reads, so reads and writes are split:
//! each router has its own listener and its own
//! concurrency limit. Both serve `/healthz`, `/metrics` and `/openapi.json`.
//! Every error is JSON `{ "code", "message" }` ([`error::ApiError`]).
//!
//! Entry points: [`write_router`], [`read_router`] (for `oneshot` tests) and
//! [`serve`] (both listeners with graceful shutdown, header and body
//! timeouts; see [`limits`] and [`conn`]).

pub mod admit;
pub mod api;
pub mod conn;
pub mod error;
pub mod limits;
pub mod linger;
pub mod openapi;
mod read;
mod serve;
mod write;

use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

pub use api::op_of;
pub use error::{ApiError, ApiResult};
pub use serve::serve;

use api::{Group, Route};

use crate::policy::UserId;
use crate::service::Service;

/// The authenticated caller, from `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Copy)]
pub struct Caller(pub UserId);

impl FromRequestParts<Service> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, svc: &Service) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(crate::Error::Unauthorized)?;
        let value = header.to_str().map_err(|_| crate::Error::Unauthorized)?;
        // RFC 9110 §11.1: the scheme is case-insensitive; one space, then
        // the token exactly as issued (checked by `authenticate`).
        let token = value
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("Bearer "))
            .and_then(|_| value.get(7..))
            .ok_or(crate::Error::Unauthorized)?;
        Ok(Caller(svc.authenticate(token).await?))
    }
}

/// Parse a decimal id from a path segment: 1–20 ASCII digits, no sign, no
/// overflow. Anything else (`..`, `%2F`, letters) is a 400.
pub fn parse_id(what: &str, s: &str) -> ApiResult<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad(format!(
            "{what} must be a decimal id, got {s:?}"
        )));
    }
    s.parse()
        .map_err(|_| ApiError::bad(format!("{what} is out of range: {s:?}")))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics(State(svc): State<Service>) -> ApiResult<Response> {
    let text = svc.render_metrics()?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response())
}

async fn openapi_doc() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        openapi::json(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::no_route()
}

/// Reject a query string whose percent-decoding is not UTF-8 (400). The
/// query extractor would otherwise replace the bad bytes with U+FFFD and, for
/// instance, store a title the client never sent.
async fn strict_query(req: Request, next: Next) -> Response {
    if req.uri().query().is_some_and(|q| !query_is_utf8(q)) {
        return ApiError::bad("the query string is not valid UTF-8 once percent-decoded")
            .into_response();
    }
    next.run(req).await
}

/// Whether `q` percent-decodes to UTF-8 (`&` and `=` are ASCII, so checking
/// the whole string checks every key and value).
fn query_is_utf8(q: &str) -> bool {
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
    let b = q.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(b.get(i + 1)), hex(b.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h << 4 | l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&out).is_ok()
}

/// Times and counts every request by router, route and status; when the service records
/// (a live run), also meters the work of each successful op request (see [`api::op_of`]) and
/// records its app-side time (`app-<op>`) and its handler wall time for the in-situ calibration.
async fn record(router: &'static str, svc: Service, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let op = op_of(req.method(), &route);
    let t0 = Instant::now();
    let res = match (op, svc.recorder()) {
        (Some(op), Some(rec)) if rec.is_on() => {
            let run = Box::pin(crate::timing::metered(next.run(req)));
            let ((res, work), times) = crate::timing::scoped_cpu(run).await;
            if res.status().is_success() {
                rec.record_op(op, &work);
                let ns = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX);
                rec.record_handler(op, ns);
                if let Some(app) = crate::timing::app_op(op) {
                    let app_ns = ns.saturating_sub(times.store_ns);
                    let size = crate::timing::app_size(op, work.blob_bytes_written);
                    rec.record_ns(app, size, app_ns, times.app_cpu_ns.min(app_ns));
                }
            }
            res
        }
        _ => next.run(req).await,
    };
    let m = svc.metrics();
    m.http_seconds
        .with_label_values(&[router, &route])
        .observe(t0.elapsed().as_secs_f64());
    m.http_requests
        .with_label_values(&[router, &route, res.status().as_str()])
        .inc();
    res
}

/// Put the routes of `router` under admission control as `group`, with
/// `concurrency` slots and the service's queue bounds (see [`admit`]).
fn limited(
    router: Router<Service>,
    group: &'static str,
    concurrency: usize,
    svc: &Service,
) -> Router<Service> {
    let cfg = svc.config();
    let bounds = admit::Bounds {
        concurrency,
        queue: cfg.admission_queue,
        queue_wait: std::time::Duration::from_millis(cfg.admission_wait_ms),
    };
    admit::limit(router, group, bounds, svc)
}

/// A route of [`api::ROUTES`] with the handler that serves it.
struct Served {
    route: Route,
    handler: MethodRouter<Service>,
}

impl Served {
    fn new(route: Route, handler: MethodRouter<Service>) -> Self {
        Served { route, handler }
    }
}

/// The routes of `served` in admission group `group`, as one router.
fn group(served: &[Served], group: Group) -> Router<Service> {
    served
        .iter()
        .filter(|s| s.route.group == group)
        .fold(Router::new(), |r, s| {
            r.route(s.route.path, s.handler.clone())
        })
}

/// `/healthz`, `/metrics` and `/openapi.json`, served by both routers
/// outside admission control (they answer under overload too).
fn base_routes() -> Router<Service> {
    let served = [
        Served::new(api::HEALTHZ, api::HEALTHZ.to(healthz)),
        Served::new(api::METRICS, api::METRICS.to(metrics)),
        Served::new(api::OPENAPI_JSON, api::OPENAPI_JSON.to(openapi_doc)),
    ];
    group(&served, Group::Base)
}

fn common(router: Router<Service>, name: &'static str, svc: Service) -> Router {
    router
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::bad_method() })
        .layer(middleware::from_fn(strict_query))
        .layer(middleware::from_fn_with_state(svc.clone(), limits::guard))
        .layer(middleware::from_fn_with_state(
            svc.clone(),
            move |State(s): State<Service>, req: Request, next: Next| record(name, s, req, next),
        ))
        .with_state(svc)
}

/// The write router: create users, upload and delete photos, follow and
/// unfollow. Uploads have their own concurrency limit, so slow uploads can
/// never take every slot of the other writes.
pub fn write_router(svc: Service) -> Router {
    let cfg = svc.config();
    let served = write::routes(&svc);
    let small = group(&served, Group::Write);
    let uploads = group(&served, Group::Upload);
    let routes = limited(small, "write", cfg.write_concurrency, &svc)
        .merge(limited(uploads, "upload", cfg.upload_concurrency, &svc))
        .merge(base_routes());
    common(routes, "write", svc)
}

/// The read router: photo bytes and metadata, a user's photos, feed,
/// search, and long-poll updates (a pool apart: a long-poll holds its slot
/// for up to 30 s).
pub fn read_router(svc: Service) -> Router {
    let cfg = svc.config();
    let served = read::routes();
    let (reads, longpolls) = (group(&served, Group::Read), group(&served, Group::Longpoll));
    let routes = limited(reads, "read", cfg.read_concurrency, &svc)
        .merge(limited(
            longpolls,
            "longpoll",
            cfg.longpoll_concurrency,
            &svc,
        ))
        .merge(base_routes());
    common(routes, "read", svc)
}
