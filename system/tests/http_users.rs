//! HTTP tests of `POST /v1/users` and of bearer-token authentication on every
//! authenticated endpoint: missing token, malformed `Authorization` headers,
//! and wrong tokens (right user id with a wrong secret; unknown user id).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::*;
use feedlab_system::service::media::sample_body;

#[tokio::test]
async fn create_user_returns_id_and_a_working_token() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    assert_ne!(a.id, b.id, "ids are unique");
    assert_ne!(a.token, b.token);
    let secret = a.token.split_once('.').map(|(_, s)| s).unwrap_or("");
    assert_eq!(secret.len(), 32, "token secret is 32 hex digits");
    assert!(secret.bytes().all(|c| c.is_ascii_hexdigit()));
    // The token authenticates as its user: the feed answers, and an upload
    // is owned by that user.
    call(&env.read, get("/v1/feed", Some(&a.token)))
        .await
        .expect(StatusCode::OK);
    let v = upload_png(&env, &a, "mine", 100, 1).await;
    assert_eq!(v["owner"], a.id);
    // Names and e-mails are trimmed; the service stored the row.
    let r = call(
        &env.write,
        json_req(
            Method::POST,
            "/v1/users",
            r#"{"name":"  carol  ","email":" c@x.test "}"#,
        ),
    )
    .await;
    r.expect(StatusCode::CREATED);
    assert!(
        r.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let id = r.json()["id"].as_u64().expect("id");
    let row = env.svc.user(id).await?;
    assert_eq!(
        (row.name.as_str(), row.email.as_str()),
        ("carol", "c@x.test")
    );
    Ok(())
}

/// `POST /v1/users` bodies that must be refused, as (body, status, code):
/// malformed JSON and invalid UTF-8 inside a string (400 `invalid_json`),
/// well-formed JSON of the wrong shape (422 `invalid_json`), and the right
/// shape with invalid values (400 `invalid_input`).
const BAD_BODIES: &[(&[u8], StatusCode, &str)] = &[
    (b"{\"name\":", StatusCode::BAD_REQUEST, "invalid_json"),
    (b"not json", StatusCode::BAD_REQUEST, "invalid_json"),
    (b"", StatusCode::BAD_REQUEST, "invalid_json"),
    // Invalid UTF-8 inside a JSON string, raw and as a lone surrogate.
    (
        b"{\"name\":\"\xff\xfe\",\"email\":\"a@b.c\"}",
        StatusCode::BAD_REQUEST,
        "invalid_json",
    ),
    (
        b"{\"name\":\"\\ud800\",\"email\":\"a@b.c\"}",
        StatusCode::BAD_REQUEST,
        "invalid_json",
    ),
    // Well-formed JSON of the wrong shape.
    (b"[1,2]", StatusCode::UNPROCESSABLE_ENTITY, "invalid_json"),
    (
        b"{\"name\":\"x\"}",
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_json",
    ),
    (
        b"{\"name\":1,\"email\":\"a@b.c\"}",
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_json",
    ),
    (
        b"{\"name\":\"x\",\"email\":\"a@b.c\",\"admin\":true}",
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_json",
    ),
    // Valid shape, invalid values.
    (
        b"{\"name\":\"   \",\"email\":\"a@b.c\"}",
        StatusCode::BAD_REQUEST,
        "invalid_input",
    ),
    (
        b"{\"name\":\"x\",\"email\":\"no-at-sign\"}",
        StatusCode::BAD_REQUEST,
        "invalid_input",
    ),
    (
        b"{\"name\":\"x\",\"email\":\"a@b@c\"}",
        StatusCode::BAD_REQUEST,
        "invalid_input",
    ),
];

#[tokio::test]
async fn create_user_rejects_bad_bodies() -> anyhow::Result<()> {
    let env = env().await?;
    for (body, status, code) in BAD_BODIES {
        let r = call(
            &env.write,
            json_req(Method::POST, "/v1/users", body.to_vec()),
        )
        .await;
        assert_eq!(r.status, *status, "{:?}", String::from_utf8_lossy(body));
        r.expect_error(*status, code);
    }
    let long = serde_json::json!({ "name": "n".repeat(65), "email": "a@b.c" }).to_string();
    call(&env.write, json_req(Method::POST, "/v1/users", long))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    // No JSON Content-Type.
    let r = Request::builder()
        .method(Method::POST)
        .uri("/v1/users")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(r#"{"name":"x","email":"a@b.c"}"#))?;
    call(&env.write, r)
        .await
        .expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media");
    // Oversize: past the 2 MB JSON limit.
    let huge = format!(
        r#"{{"name":"x","email":"a@b.c","pad":"{}"}}"#,
        "x".repeat(3 << 20)
    );
    call(&env.write, json_req(Method::POST, "/v1/users", huge))
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // No user was created by any of these.
    let ok = create_user(&env, "after").await;
    assert_eq!(ok.id, 1, "rejected requests allocated no user");
    Ok(())
}

/// Every authenticated endpoint, as (router is write, method, uri).
fn authed(photo: &str, me: u64, other: u64) -> Vec<(bool, Method, String)> {
    vec![
        (true, Method::POST, "/v1/photos?title=t".into()),
        (true, Method::DELETE, format!("/v1/photos/{photo}")),
        (
            true,
            Method::PUT,
            format!("/v1/users/{me}/following/{other}"),
        ),
        (
            true,
            Method::DELETE,
            format!("/v1/users/{me}/following/{other}"),
        ),
        (false, Method::GET, "/v1/feed".into()),
        (false, Method::GET, "/v1/feed/updates?wait=0".into()),
    ]
}

#[tokio::test]
async fn every_authenticated_endpoint_rejects_missing_malformed_and_wrong_tokens()
-> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    let photo = pid(&upload_png(&env, &a, "kept", 100, 3).await);
    let secret_b = b.token.split_once('.').map(|(_, s)| s).unwrap_or("");
    let bad_headers: Vec<Option<Vec<u8>>> = vec![
        None,
        Some(b"".to_vec()),
        Some(b"Bearer".to_vec()),
        Some(b"Bearer ".to_vec()),
        Some(format!("Basic {}", a.token).into_bytes()),
        Some(a.token.clone().into_bytes()),
        Some(b"Bearer no-dot-here".to_vec()),
        Some(b"Bearer abc.def".to_vec()),
        Some(b"Bearer -1.00".to_vec()),
        Some(b"Bearer 99999999999999999999999.00".to_vec()),
        Some(b"Bearer \xff\xfe".to_vec()),
        // Right user id, wrong secret (another user's secret).
        Some(format!("Bearer {}.{secret_b}", a.id).into_bytes()),
        Some(format!("Bearer {}.{}", a.id, "0".repeat(32)).into_bytes()),
        // Unknown user id.
        Some(format!("Bearer 4242.{secret_b}").into_bytes()),
        Some(b"Bearer 0.x".to_vec()),
    ];
    for (is_write, method, uri) in authed(&photo, a.id, b.id) {
        let router = if is_write { &env.write } else { &env.read };
        for h in &bad_headers {
            let mut r = Request::builder().method(method.clone()).uri(&uri);
            if let Some(h) = h {
                r = r.header(header::AUTHORIZATION, header::HeaderValue::from_bytes(h)?);
            }
            let body = if method == Method::POST {
                Body::from(sample_body("image/png", 64, 0))
            } else {
                Body::empty()
            };
            let res = call(router, r.body(body)?).await;
            assert_eq!(
                res.status,
                StatusCode::UNAUTHORIZED,
                "{method} {uri} with {:?}",
                h.as_ref().map(|h| String::from_utf8_lossy(h))
            );
            res.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
            assert_eq!(res.header(header::WWW_AUTHENTICATE), "Bearer");
        }
    }
    // Nothing changed: the photo is there, no follow happened, and the only
    // upload is the one made with a good token.
    call(&env.read, get(&format!("/v1/photos/{photo}/meta"), None))
        .await
        .expect(StatusCode::OK);
    assert!(env.svc.followees(a.id).await?.is_empty());
    let r = call(&env.read, get(&format!("/v1/users/{}/photos", a.id), None)).await;
    assert_eq!(item_ids(&r), vec![photo]);
    Ok(())
}
