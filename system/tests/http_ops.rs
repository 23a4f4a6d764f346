//! HTTP tests of the operational endpoints and the routers' edges:
//! `/healthz`, `/metrics` (Prometheus text with HTTP and per-shard
//! counters), `/openapi.json` (valid, and in step with the route table the
//! routers register from), unknown routes (404 JSON) and wrong methods (405 JSON).

mod common;

use axum::body::Body;
use std::collections::BTreeSet;

use axum::http::{Method, StatusCode, header};
use common::*;
use feedlab_system::http::api::{Listener, ROUTES};

#[tokio::test]
async fn openapi_documents_every_registered_route_and_nothing_else() -> anyhow::Result<()> {
    let env = env().await?;
    let mut docs = Vec::new();
    for router in [&env.write, &env.read] {
        let r = call(router, get("/openapi.json", None)).await;
        r.expect(StatusCode::OK);
        assert!(
            r.header(header::CONTENT_TYPE)
                .starts_with("application/json")
        );
        docs.push(r.json());
    }
    assert_eq!(docs[0], docs[1], "both routers serve the same document");
    let doc = &docs[0];
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths object");
    // The routers register exactly the table (tests/http_routes.rs); the
    // document must describe exactly the table.
    let described: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(p, item)| {
            let ops = item.as_object().expect("path item");
            ops.keys().map(move |m| (p.clone(), m.clone()))
        })
        .collect();
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.path.to_string(), r.verb.openapi_name().to_string()))
        .collect();
    assert_eq!(described, table);
    // And every documented operation is served (not a 404 route miss or 405).
    for r in ROUTES {
        let uri = r.path.replace("{id}", "1").replace("{leader}", "2");
        let router = match r.group.listener() {
            Listener::Write => &env.write,
            Listener::Read => &env.read,
        };
        let res = call(router, req(r.verb.method(), &uri, None, Body::empty())).await;
        assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
        if res.status == StatusCode::NOT_FOUND {
            assert_ne!(res.json()["message"], "no such route", "{uri}");
        }
    }
    Ok(())
}

/// The value of the first sample of `family` in the Prometheus `text` whose
/// line holds every one of `labels`.
fn metric(text: &str, family: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
        .find(|l| labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The `/metrics` `text` of router `name` declares the HTTP, shard, cache
/// and CPU families as counters, the request-latency histogram, and the
/// resident-memory gauge.
fn check_metric_families(name: &str, text: &str) {
    for family in [
        "feedlab_http_requests_total",
        "feedlab_shard_ops_total",
        "feedlab_cache_lookups_total",
        "feedlab_process_cpu_seconds_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} counter")),
            "{family} is a counter on {name}"
        );
    }
    assert!(text.contains("# TYPE feedlab_http_request_seconds histogram"));
    assert!(text.contains("feedlab_process_resident_memory_bytes "));
}

/// The `/metrics` `text` of router `name` counts what the test did: two
/// users created (201 on the write router), one meta read answered 200 and
/// one 400 on the read router, read and write ops on each of the three
/// shards with at least three writes in all, and one upload.
fn check_metric_counts(name: &str, text: &str) {
    let value = |family: &str, labels: &[&str]| metric(text, family, labels);
    let users = value(
        "feedlab_http_requests_total",
        &["router=\"write\"", "route=\"/v1/users\"", "status=\"201\""],
    );
    assert_eq!(users, Some(2.0), "two users created, on {name}");
    let meta = ["router=\"read\"", "route=\"/v1/photos/{id}/meta\""];
    assert_eq!(
        value(
            "feedlab_http_requests_total",
            &[meta[0], meta[1], "status=\"200\""]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            "feedlab_http_requests_total",
            &[meta[0], meta[1], "status=\"400\""]
        ),
        Some(1.0)
    );
    for shard in 0..3 {
        let s = format!("shard=\"{shard}\"");
        for kind in ["read", "write"] {
            let v = value(
                "feedlab_shard_ops_total",
                &[&s, &format!("kind=\"{kind}\"")],
            );
            assert!(
                v.is_some(),
                "no feedlab_shard_ops_total for shard {shard} {kind}"
            );
        }
    }
    let writes: f64 = (0..3)
        .filter_map(|i| {
            value(
                "feedlab_shard_ops_total",
                &[&format!("shard=\"{i}\""), "kind=\"write\""],
            )
        })
        .sum();
    assert!(
        writes >= 3.0,
        "two users and an upload were written: {writes}"
    );
    let uploads = text
        .lines()
        .find_map(|l| l.strip_prefix("feedlab_uploads_total "));
    assert_eq!(uploads, Some("1"), "one upload counted");
}

#[tokio::test]
async fn healthz_and_metrics_on_both_routers() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    create_user(&env, "bob").await;
    let v = upload_png(&env, &a, "counted", 100, 1).await;
    call(
        &env.read,
        get(&format!("/v1/photos/{}/meta", pid(&v)), None),
    )
    .await
    .expect(StatusCode::OK);
    call(&env.read, get("/v1/photos/abc/meta", None))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    for (name, router) in [("write", &env.write), ("read", &env.read)] {
        let r = call(router, get("/healthz", None)).await;
        assert_eq!(r.expect(StatusCode::OK).body.as_ref(), b"ok");
        let r = call(router, get("/metrics", None)).await;
        r.expect(StatusCode::OK);
        assert!(
            r.header(header::CONTENT_TYPE).starts_with("text/plain"),
            "{name}"
        );
        let text = std::str::from_utf8(&r.body)?;
        check_metric_families(name, text);
        check_metric_counts(name, text);
    }
    Ok(())
}

/// (on the write router, method, URI, expected status) of a request.
type RouteCase = (bool, Method, &'static str, StatusCode);

/// Requests that match no route on the router they are sent to (unknown
/// paths, extra segments, and routes served only by the other router): each
/// a 404.
fn unknown_route_cases() -> Vec<RouteCase> {
    vec![
        (true, Method::GET, "/nope", StatusCode::NOT_FOUND),
        (false, Method::GET, "/nope", StatusCode::NOT_FOUND),
        (false, Method::GET, "/v1", StatusCode::NOT_FOUND),
        (
            false,
            Method::GET,
            "/v1/photos/1/meta/extra",
            StatusCode::NOT_FOUND,
        ),
        (false, Method::POST, "/v1/photos", StatusCode::NOT_FOUND),
        (
            false,
            Method::PUT,
            "/v1/users/1/following/2",
            StatusCode::NOT_FOUND,
        ),
        (true, Method::GET, "/v1/feed", StatusCode::NOT_FOUND),
        (true, Method::GET, "/v1/search?q=x", StatusCode::NOT_FOUND),
    ]
}

/// Requests to a routed path with a method it does not serve, on either
/// router: each a 405.
fn wrong_method_cases() -> Vec<RouteCase> {
    vec![
        (
            true,
            Method::GET,
            "/v1/users",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            true,
            Method::GET,
            "/v1/photos",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            true,
            Method::GET,
            "/v1/photos/1",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            true,
            Method::PATCH,
            "/v1/photos/1",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            true,
            Method::POST,
            "/v1/users/1/following/2",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            false,
            Method::DELETE,
            "/v1/photos/1",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            false,
            Method::POST,
            "/v1/feed",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            false,
            Method::PUT,
            "/v1/search",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            true,
            Method::POST,
            "/healthz",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            false,
            Method::DELETE,
            "/metrics",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ]
}

#[tokio::test]
async fn unknown_routes_are_404_json_and_wrong_methods_405_json() -> anyhow::Result<()> {
    let env = env().await?;
    let cases = [unknown_route_cases(), wrong_method_cases()];
    for (is_write, method, uri, status) in cases.into_iter().flatten() {
        let router = if is_write { &env.write } else { &env.read };
        let r = call(router, req(method.clone(), uri, None, Body::empty())).await;
        assert_eq!(
            r.status,
            status,
            "{method} {uri} on {}",
            if is_write { "write" } else { "read" }
        );
        let code = if status == StatusCode::NOT_FOUND {
            "not_found"
        } else {
            "method_not_allowed"
        };
        r.expect_error(status, code);
    }
    Ok(())
}
