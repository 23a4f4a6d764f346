//! HttpTarget's requests: the method, URL, query string, headers and body it builds for every
//! endpoint, without a server. `http.rs` checks the op mapping and response parsing against a
//! scripted server.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, Request};
use feedlab_workload::{Endpoint, HttpConfig, HttpTarget, ReqBody, UserDirectory};

fn target(write: &str, read: &str) -> HttpTarget {
    HttpTarget::new(HttpConfig::new(write, read), Arc::new(UserDirectory::new())).expect("client")
}

fn header(req: &Request<ReqBody>, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The other endpoints with their request's method and URL (feed-updates waits round up to secs).
fn endpoint_cases() -> Vec<(Endpoint, &'static str, &'static str)> {
    let updates = |wait| Endpoint::FeedUpdates {
        since: "c1".into(),
        wait,
    };
    vec![
        (
            Endpoint::DeletePhoto("7".into()),
            "DELETE",
            "http://w.test:81/v1/photos/7",
        ),
        (
            Endpoint::Follow("1".into(), "2".into()),
            "PUT",
            "http://w.test:81/v1/users/1/following/2",
        ),
        (
            Endpoint::Unfollow("1".into(), "2".into()),
            "DELETE",
            "http://w.test:81/v1/users/1/following/2",
        ),
        (
            Endpoint::Photo("9".into()),
            "GET",
            "http://r.test:82/v1/photos/9",
        ),
        (
            Endpoint::PhotoMeta("9".into()),
            "GET",
            "http://r.test:82/v1/photos/9/meta",
        ),
        (
            Endpoint::UserPhotos("3".into()),
            "GET",
            "http://r.test:82/v1/users/3/photos",
        ),
        (
            Endpoint::Feed(20),
            "GET",
            "http://r.test:82/v1/feed?limit=20",
        ),
        (
            updates(Duration::from_millis(500)),
            "GET",
            "http://r.test:82/v1/feed/updates?since=c1&wait=1",
        ),
        (
            updates(Duration::from_secs(30)),
            "GET",
            "http://r.test:82/v1/feed/updates?since=c1&wait=30",
        ),
        (
            updates(Duration::from_millis(2_001)),
            "GET",
            "http://r.test:82/v1/feed/updates?since=c1&wait=3",
        ),
        (
            Endpoint::Search("baba ce".into(), 5),
            "GET",
            "http://r.test:82/v1/search?q=baba+ce&limit=5",
        ),
    ]
}

/// Writes go to the write base, reads to the read base, with the documented paths, query
/// strings (URL-encoded), bearer token and content type.
#[test]
fn requests_follow_the_api() {
    let t = target("http://w.test:81/", "http://r.test:82");
    let up = t
        .request(
            Endpoint::Upload {
                title: "sunset & sea".into(),
                content_type: "image/jpeg".into(),
                body: vec![0xFF, 0xD8, 0xFF, 1].into(),
            },
            Some("tok"),
        )
        .expect("request");
    assert_eq!(up.method(), Method::POST);
    assert_eq!(
        up.uri().to_string(),
        "http://w.test:81/v1/photos?title=sunset+%26+sea"
    );
    assert_eq!(header(&up, "authorization"), "Bearer tok");
    assert_eq!(header(&up, "content-type"), "image/jpeg");
    assert_eq!(
        &up.body().bytes().expect("whole body")[..3],
        &[0xFF, 0xD8, 0xFF]
    );

    for (ep, method, url) in endpoint_cases() {
        let req = t.request(ep, Some("tok")).expect("request");
        assert_eq!(req.method().as_str(), method);
        assert_eq!(req.uri().to_string(), url);
        assert_eq!(header(&req, "authorization"), "Bearer tok");
    }
    let create = t
        .request(
            Endpoint::CreateUser {
                name: "a".into(),
                email: "a@x".into(),
            },
            None,
        )
        .expect("request");
    assert_eq!(create.uri().to_string(), "http://w.test:81/v1/users");
    assert_eq!(header(&create, "authorization"), "");
    assert_eq!(header(&create, "content-type"), "application/json");
    let json: serde_json::Value =
        serde_json::from_slice(create.body().bytes().expect("whole")).expect("json");
    assert_eq!(json["email"], "a@x");
}

/// With `view_bytes`, a view asks for the file's first bytes in one range; nothing else
/// carries a `Range`, and without it a view reads the whole file.
#[test]
fn a_view_asks_for_its_first_bytes_when_view_bytes_is_set() {
    let mut cfg = HttpConfig::new("http://w.test:81", "http://r.test:82");
    cfg.view_bytes = Some(1 << 20);
    let t = HttpTarget::new(cfg, Arc::new(UserDirectory::new())).expect("client");
    let view = t.request(Endpoint::Photo("9".into()), None).expect("view");
    assert_eq!(header(&view, "range"), "bytes=0-1048575");
    let meta = t
        .request(Endpoint::PhotoMeta("9".into()), None)
        .expect("meta");
    assert_eq!(header(&meta, "range"), "");
    let whole = target("http://w.test:81", "http://r.test:82");
    let view = whole
        .request(Endpoint::Photo("9".into()), None)
        .expect("view");
    assert_eq!(header(&view, "range"), "");
}
