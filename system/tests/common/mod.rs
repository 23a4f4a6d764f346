//! Shared helpers of the HTTP test suite (`tests/http_*.rs`).
//!
//! Each test opens its own service in a temp dir (three shards, small
//! upload limits; blobs local, or on S3 with `FEEDLAB_TEST_BLOB=s3`, each
//! service under its own key prefix) and drives the write and read routers with
//! `tower::ServiceExt::oneshot`. [`call`] is the single way requests are
//! sent: it fails the test on any 5xx, and checks every response with a
//! status ≥ 400 through [`assert_error_shape`], so no error in the suite
//! escapes the JSON `{code, message}` contract. The S3 settings and the
//! per-test key prefixes live in the `s3` submodule, re-exported here.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use bytes::Bytes;
use feedlab_system::policy::FanoutKind;
use feedlab_system::service::BlobBackend;
use feedlab_system::service::media::sample_body;
use feedlab_system::{Service, ServiceConfig};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

mod s3;
// Re-exported so `common::s3_config` and friends keep their paths; a test
// target that uses none of them must not warn (as `dead_code` above).
#[allow(unused_imports)]
pub use s3::{s3_config, test_blob_is_s3, unique_prefix};

/// Largest accepted photo in these tests.
pub const PHOTO_LIMIT: u64 = 64 * 1024;
/// Largest accepted video in these tests (also the upload body limit).
pub const VIDEO_LIMIT: u64 = 256 * 1024;

/// A running service with both routers.
pub struct Env {
    /// The service behind the routers.
    pub svc: Service,
    /// The write router.
    pub write: Router,
    /// The read router.
    pub read: Router,
    /// Keeps the data directory alive.
    pub dir: TempDir,
}

/// The test configuration: three shards, small limits, `kind` fan-out.
pub fn config(dir: &TempDir, kind: FanoutKind) -> ServiceConfig {
    let mut cfg = ServiceConfig {
        data_dir: dir.path().to_path_buf(),
        photo_limit: PHOTO_LIMIT,
        video_limit: VIDEO_LIMIT,
        ..ServiceConfig::default()
    };
    cfg.sharding.shards = 3;
    cfg.fanout.kind = kind;
    cfg
}

/// A service with push fan-out.
pub async fn env() -> anyhow::Result<Env> {
    env_with(|_| {}).await
}

/// A service with push fan-out and `tweak` applied to the configuration.
pub async fn env_with(tweak: impl FnOnce(&mut ServiceConfig)) -> anyhow::Result<Env> {
    let dir = tempfile::tempdir()?;
    let mut cfg = config(&dir, FanoutKind::Push);
    if test_blob_is_s3() {
        cfg.blob = BlobBackend::S3;
        cfg.s3 = s3_config("http").expect("FEEDLAB_TEST_BLOB=s3 needs FEEDLAB_S3_ENDPOINT");
    }
    tweak(&mut cfg);
    let svc = Service::open(cfg).await?;
    Ok(Env {
        write: feedlab_system::http::write_router(svc.clone()),
        read: feedlab_system::http::read_router(svc.clone()),
        svc,
        dir,
    })
}

/// A response, fully buffered.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (fails the test if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header as a string ("" when absent).
    pub fn header(&self, name: impl header::AsHeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Assert the status, with the body in the failure message.
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status,
            status,
            "body: {:?}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Assert an error response: `status`, JSON content type, and the
    /// stable `code`.
    pub fn expect_error(&self, status: StatusCode, code: &str) -> &Self {
        self.expect(status);
        assert_error_shape(self);
        assert_eq!(self.json()["code"], code, "wrong code for {status}");
        self
    }
}

/// Every error response must be `application/json` `{code, message}` with a
/// non-empty string `code` and a string `message`.
pub fn assert_error_shape(r: &Resp) {
    assert!(r.status.as_u16() >= 400, "not an error: {}", r.status);
    let ct = r.header(header::CONTENT_TYPE);
    assert!(
        ct.starts_with("application/json"),
        "{} has Content-Type {ct:?}",
        r.status
    );
    let v = r.json();
    let code = v["code"].as_str().unwrap_or("");
    assert!(!code.is_empty(), "{} has no code: {v}", r.status);
    assert!(v["message"].is_string(), "{} has no message: {v}", r.status);
    let keys: Vec<&String> = v
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys.len(), 2, "error body has extra fields: {v}");
}

/// Send `req` to `router` and return the response as it is, 5xx included
/// (for tests of the service's refusals; everything else uses [`call`]).
pub async fn send(router: &Router, req: Request<Body>) -> Resp {
    let res = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let (status, headers) = (res.status(), res.headers().clone());
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("buffer response body");
    Resp {
        status,
        headers,
        body,
    }
}

/// Send `req` to `router`. Fails on any 5xx; checks the error shape of every
/// 4xx.
pub async fn call(router: &Router, req: Request<Body>) -> Resp {
    let what = format!("{} {}", req.method(), req.uri());
    checked(&what, send(router, req).await)
}

/// The checks every response in the suite goes through: no 5xx, and every
/// status ≥ 400 has the JSON error shape. `what` names the request.
pub fn checked(what: &str, r: Resp) -> Resp {
    assert!(
        !r.status.is_server_error(),
        "{what} gave {}: {:?}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    if r.status.as_u16() >= 400 {
        assert_error_shape(&r);
    }
    r
}

/// Build a request; `token` becomes `Authorization: Bearer <token>`.
pub fn req(method: Method, uri: &str, token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(body.into()).expect("valid request")
}

/// A GET, authenticated when `token` is given.
pub fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    req(Method::GET, uri, token, Body::empty())
}

/// A request with a JSON content type and `body`.
pub fn json_req(method: Method, uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .expect("valid request")
}

/// An upload request: raw `body`, optional Content-Type, `query` appended
/// verbatim after `?` (so tests can send any encoding).
pub fn upload_req(
    token: Option<&str>,
    query: &str,
    ct: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut r = req(Method::POST, &format!("/v1/photos?{query}"), token, body);
    if let Some(ct) = ct {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            ct.parse().expect("valid Content-Type"),
        );
    }
    r
}

/// Percent-encode everything but unreserved characters (RFC 3986).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A user created over HTTP.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: u64,
    /// Bearer token.
    pub token: String,
}

/// `POST /v1/users`; asserts the 201 and the `{id, token}` shape.
pub async fn create_user(env: &Env, name: &str) -> User {
    let body = serde_json::json!({ "name": name, "email": format!("{name}@x.test") });
    let r = call(
        &env.write,
        json_req(Method::POST, "/v1/users", body.to_string()),
    )
    .await;
    r.expect(StatusCode::CREATED);
    let v = r.json();
    let id = v["id"].as_u64().expect("numeric id");
    let token = v["token"].as_str().expect("string token").to_owned();
    assert!(
        token.starts_with(&format!("{id}.")),
        "token {token} names user {id}"
    );
    User { id, token }
}

/// Upload `body` as `who` with `title`; asserts 201 and returns the view.
pub async fn upload(env: &Env, who: &User, title: &str, mime: &str, body: Vec<u8>) -> Value {
    let q = format!("title={}", enc(title));
    let r = call(
        &env.write,
        upload_req(Some(&who.token), &q, Some(mime), body),
    )
    .await;
    r.expect(StatusCode::CREATED);
    r.json()
}

/// Upload a PNG of `len` bytes filled with `fill`.
pub async fn upload_png(env: &Env, who: &User, title: &str, len: usize, fill: u8) -> Value {
    upload(
        env,
        who,
        title,
        "image/png",
        sample_body("image/png", len, fill),
    )
    .await
}

/// A valid PNG of `len` bytes whose tail varies byte by byte (so every range
/// of it is distinct).
pub fn patterned_png(len: usize) -> Vec<u8> {
    let mut b = sample_body("image/png", len, 0);
    // The pattern fills the IDAT payload: after the 41-byte head, before
    // the 16-byte tail (IDAT CRC, IEND).
    let end = b.len() - 16;
    for (i, x) in b.iter_mut().enumerate().take(end).skip(41) {
        *x = (i * 7 % 251) as u8;
    }
    b
}

/// `PUT` (follow) or `DELETE` (unfollow) `/v1/users/{who}/following/{leader}`
/// with `token`.
pub async fn follow_call(env: &Env, method: Method, token: &str, who: &str, leader: &str) -> Resp {
    let uri = format!("/v1/users/{who}/following/{leader}");
    call(&env.write, req(method, &uri, Some(token), Body::empty())).await
}

/// Follow over HTTP; returns the `changed` flag.
pub async fn follow(env: &Env, me: &User, leader: &User) -> bool {
    let r = follow_call(
        env,
        Method::PUT,
        &me.token,
        &me.id.to_string(),
        &leader.id.to_string(),
    )
    .await;
    r.expect(StatusCode::OK);
    r.json()["changed"].as_bool().expect("changed is a bool")
}

/// The ids (strings) of an `{items: [...]}` response.
pub fn item_ids(r: &Resp) -> Vec<String> {
    r.expect(StatusCode::OK);
    r.json()["items"]
        .as_array()
        .expect("items array")
        .iter()
        .map(|p| p["id"].as_str().expect("string id").to_owned())
        .collect()
}

/// The id string of a photo view.
pub fn pid(v: &Value) -> String {
    v["id"].as_str().expect("string id").to_owned()
}

/// Path-segment ids of bad shapes, each a 400 `invalid_input` wherever an id
/// is expected: letters, sign, overflow past u64, decimals, spaces, invalid
/// UTF-8, and path traversal (raw and percent-encoded). An empty id is a 400
/// inside a path and a 404 (no route) as the last segment; tests check both.
pub const BAD_IDS: &[&str] = &[
    "..",
    ".",
    "abc",
    "12a",
    "-1",
    "+1",
    "18446744073709551616",
    "99999999999999999999999999",
    "1.5",
    "%20",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%2E%2E%2Fx",
    "0x10",
    "%FF",
];
