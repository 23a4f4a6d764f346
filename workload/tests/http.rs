//! HttpTarget unit tests: the op mapping and response parsing checked against a small scripted
//! server whose every reply the test controls (201 + JSON ids, bearer auth, separate write and
//! read ports). The requests it builds are checked in `http_requests.rs`; the real service is
//! driven end to end over HTTP by `tests/run.rs` at the workspace root; the connection pool is
//! tested in `http_pool.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use feedlab_workload::{
    Endpoint, HttpConfig, HttpTarget, OpKind, Payload, PlannedOp, ServiceUser, Target, UploadSpec,
    UserDirectory, feed_ids, upload_body,
};

fn target(write: &str, read: &str) -> HttpTarget {
    HttpTarget::new(HttpConfig::new(write, read), Arc::new(UserDirectory::new())).expect("client")
}

/// Ops are mapped with service ids; missing accounts and photos give `no_user` / `no_photo`.
#[test]
fn ops_map_population_ids_to_service_ids() {
    let t = target("http://w.test", "http://r.test");
    t.users().insert(
        5,
        ServiceUser {
            id: "u5".into(),
            token: "t5".into(),
        },
    );
    let follow = PlannedOp {
        seq: 0,
        at: Duration::ZERO,
        kind: OpKind::Follow,
        user: 5,
        payload: Payload::Follow { leader: 6 },
    };
    assert_eq!(
        t.endpoint_for(&follow).expect_err("no leader").code,
        "no_user"
    );
    t.users().insert(
        6,
        ServiceUser {
            id: "u6".into(),
            token: "t6".into(),
        },
    );
    assert_eq!(
        t.endpoint_for(&follow).expect("mapped"),
        Endpoint::Follow("u5".into(), "u6".into())
    );
    let get = PlannedOp {
        payload: Payload::PhotoGet { pick: 3 },
        kind: OpKind::PhotoGet,
        ..follow
    };
    assert_eq!(
        t.endpoint_for(&get).expect_err("nothing known").code,
        "no_photo"
    );
    // Photos that existed before the run: pick 3 of two known ids is the second.
    t.remember_photos(["41".to_string(), "42".to_string()]);
    assert_eq!(
        t.endpoint_for(&get).expect("a known photo"),
        Endpoint::Photo("42".into())
    );
    assert_eq!(
        feed_ids(br#"{"items":[{"id":12},{"id":"13"}]}"#),
        Some(vec!["12".into(), "13".into()])
    );
    assert_eq!(feed_ids(br#"[1,2]"#), Some(vec!["1".into(), "2".into()]));
    assert_eq!(feed_ids(b"nope"), None);
}

#[derive(Default)]
struct Mock {
    log: Mutex<Vec<String>>,
    /// Each upload's declared `Content-Length` and the bytes that arrived.
    uploads: Mutex<Vec<(String, Bytes)>>,
    photos: Mutex<Vec<String>>,
}

async fn serve(mock: Arc<Mock>) -> String {
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let mock = mock.clone();
            async move { handle(&mock, method, uri, headers, body) }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A view's body: more than three of the driver's 64 KiB reads, so its bytes are counted
/// across frames.
const VIEW_BYTES: usize = 3 * 65_536 + 321;

fn handle(mock: &Mock, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    mock.log
        .lock()
        .expect("lock")
        .push(format!("{method} {uri} {auth}"));
    let path = uri.path();
    if method == Method::POST && path == "/v1/users" {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let id = v["name"].as_str().unwrap_or("?").to_string();
        return (
            StatusCode::CREATED,
            format!(r#"{{"id":"{id}","token":"tok-{id}"}}"#),
        )
            .into_response();
    }
    if !auth.starts_with("Bearer tok-") {
        return (StatusCode::UNAUTHORIZED, r#"{"code":"unauthorized"}"#).into_response();
    }
    match (method.as_str(), path) {
        ("POST", "/v1/photos") => {
            let jpeg = headers
                .get("content-type")
                .is_some_and(|v| v == "image/jpeg");
            if !jpeg || !body.starts_with(&[0xFF, 0xD8, 0xFF]) {
                return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}").into_response();
            }
            let declared = headers
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none");
            let arrived = (declared.to_string(), body.clone());
            mock.uploads.lock().expect("lock").push(arrived);
            let mut photos = mock.photos.lock().expect("lock");
            let id = 1_000 + photos.len() as u64;
            photos.push(id.to_string());
            (
                StatusCode::CREATED,
                format!(r#"{{"id":{id},"bytes":{}}}"#, body.len()),
            )
                .into_response()
        }
        ("GET", "/v1/feed") => {
            let items: Vec<String> = mock
                .photos
                .lock()
                .expect("lock")
                .iter()
                .map(|p| format!(r#"{{"id":{p}}}"#))
                .collect();
            (
                StatusCode::OK,
                format!(r#"{{"items":[{}]}}"#, items.join(",")),
            )
                .into_response()
        }
        ("GET", "/v1/photos/404404") => {
            (StatusCode::NOT_FOUND, r#"{"code":"not_found"}"#).into_response()
        }
        ("GET", p) if p.starts_with("/v1/photos/") => {
            (StatusCode::OK, vec![7u8; VIEW_BYTES]).into_response()
        }
        ("GET", "/v1/search") => {
            (StatusCode::SERVICE_UNAVAILABLE, r#"{"code":"overloaded"}"#).into_response()
        }
        ("PUT", p) if p.contains("/following/") => StatusCode::NO_CONTENT.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Checks the mocks' logs: the upload and the follow (by service ids) went to the write port as
/// `n0`, the photo fetch to the read port, and the freshness probe read as the follower `n1`.
fn check_logs(write_mock: &Mock, read_mock: &Mock) {
    let writes = write_mock.log.lock().expect("lock").clone();
    assert!(
        writes
            .iter()
            .any(|l| l.starts_with("POST /v1/photos?title=baba Bearer tok-n0")),
        "{writes:?}"
    );
    assert!(
        writes
            .iter()
            .any(|l| l.starts_with("PUT /v1/users/n0/following/n1 Bearer tok-n0"))
    );
    let reads = read_mock.log.lock().expect("lock").clone();
    assert!(
        reads.iter().any(|l| l.starts_with("GET /v1/photos/1000 ")),
        "{reads:?}"
    );
    assert!(
        reads.iter().any(|l| l.ends_with("Bearer tok-n1")),
        "probe reads as the follower"
    );
}

/// End to end against the mock: accounts are created, an upload is acknowledged with its id,
/// the feed caches ids for a later photo fetch, follows use service ids on the write port,
/// non-2xx statuses become `http_<status>` codes with the JSON body's `code` as the reason,
/// and the freshness probe finds the upload.
#[tokio::test]
async fn executes_ops_against_a_mock_service() {
    let (write_mock, read_mock) = (Arc::new(Mock::default()), Arc::new(Mock::default()));
    let write = serve(write_mock.clone()).await;
    let read = serve(read_mock.clone()).await;
    let t = target(&write, &read);
    for i in 0..2u64 {
        let u = t
            .create_user(i, &format!("n{i}"), &format!("n{i}@x"))
            .await
            .expect("created");
        assert_eq!(
            u,
            ServiceUser {
                id: format!("n{i}"),
                token: format!("tok-n{i}")
            }
        );
    }
    let op = |kind, payload| PlannedOp {
        seq: 1,
        at: Duration::ZERO,
        kind,
        user: 0,
        payload,
    };
    // Over three of the generator's frames: the body streams, with its length declared.
    let spec = UploadSpec {
        bytes: 3 * 65_536 + 3,
        video: false,
        title: "baba".into(),
        content_seed: 1,
    };
    let upload = op(OpKind::Upload, Payload::Upload(spec.clone()));
    let acked = t.execute(&upload).await.expect("upload");
    assert_eq!(acked.id.as_deref(), Some("1000"));
    let (declared, arrived) = write_mock.uploads.lock().expect("lock")[0].clone();
    assert_eq!(declared, spec.bytes.to_string());
    assert!(arrived == upload_body(&spec), "the bytes of upload_body");
    // The read side of this mock has its own photo list; share the id through it.
    read_mock.photos.lock().expect("lock").push("1000".into());
    read_mock.photos.lock().expect("lock").push("404404".into());
    t.execute(&op(OpKind::Feed, Payload::Feed { limit: 20 }))
        .await
        .expect("feed");
    let got = t
        .execute(&op(OpKind::PhotoGet, Payload::PhotoGet { pick: 4 }))
        .await
        .expect("photo");
    assert_eq!(got.bytes, VIEW_BYTES as u64, "every frame counted");
    // A view only counts its bytes, but an error's JSON body is still read for its code.
    let gone = t
        .execute(&op(OpKind::PhotoGet, Payload::PhotoGet { pick: 5 }))
        .await;
    let err = gone.expect_err("the mock has no such photo");
    assert_eq!(
        (err.code.as_str(), err.reason.as_deref()),
        ("http_404", Some("not_found"))
    );
    t.execute(&op(OpKind::Follow, Payload::Follow { leader: 1 }))
        .await
        .expect("follow");
    let search = Payload::Search {
        query: "baba".into(),
        limit: 5,
    };
    let err = t
        .execute(&op(OpKind::Search, search))
        .await
        .expect_err("mock search is down");
    assert_eq!(err.code, "http_503");
    assert_eq!(
        err.reason.as_deref(),
        Some("overloaded"),
        "the JSON body's code"
    );
    assert!(t.probe_visible(&upload, &acked, 1).await.expect("probe"));
    check_logs(&write_mock, &read_mock);
}
