//! HTTP tests of `POST /v1/photos` (upload): the response body, media
//! detection by magic bytes (and declared types that contradict them), size
//! limits, and titles (including invalid percent-encoded UTF-8).

mod common;

use axum::http::{StatusCode, header};
use common::*;
use feedlab_system::blob::BlobKey;
use feedlab_system::service::media::sample_body;

#[tokio::test]
async fn upload_returns_the_photo_view_and_stores_the_bytes() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let body = patterned_png(1000);
    let before = feedlab_system::service::now_ms();
    let r = call(
        &env.write,
        upload_req(
            Some(&a.token),
            "title=Sunset%20%C3%A0%20la%20mer",
            Some("image/png"),
            body.clone(),
        ),
    )
    .await;
    r.expect(StatusCode::CREATED);
    assert!(
        r.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let v = r.json();
    let id = pid(&v);
    let n: u64 = id.parse()?;
    assert_eq!(v["owner"], a.id);
    assert_eq!(v["title"], "Sunset à la mer");
    assert_eq!(v["content_type"], "image/png");
    assert_eq!(v["size"], 1000);
    assert_eq!(v["url"], format!("/v1/photos/{n}"));
    let created = v["created_ms"].as_u64().expect("created_ms");
    assert!(created >= before && created <= feedlab_system::service::now_ms());
    assert_eq!(
        v.as_object().map(|o| o.len()),
        Some(7),
        "exactly 7 fields: {v}"
    );
    // The bytes round-trip and the row is durable in the service.
    let got = call(&env.read, get(&format!("/v1/photos/{id}"), None)).await;
    assert_eq!(got.expect(StatusCode::OK).body.as_ref(), body.as_slice());
    let row = env.svc.photo(feedlab_system::id::PhotoId(n)).await?;
    assert_eq!(row.blob, BlobKey::of(&body).to_string());
    // Every accepted type, declared or not (octet-stream means "detect").
    for (mime, declared) in [
        ("image/jpeg", Some("image/jpeg")),
        ("image/gif", None),
        ("image/webp", Some("application/octet-stream")),
        ("video/mp4", Some("video/mp4; codecs=avc1")),
        ("video/webm", Some("VIDEO/WEBM")),
    ] {
        let r = call(
            &env.write,
            upload_req(Some(&a.token), "", declared, sample_body(mime, 500, 9)),
        )
        .await;
        r.expect(StatusCode::CREATED);
        assert_eq!(r.json()["content_type"], mime);
        assert_eq!(r.json()["title"], "", "title defaults to empty");
    }
    // A video may exceed the photo limit (the video limit applies).
    let big = sample_body("video/mp4", PHOTO_LIMIT as usize + 1000, 1);
    let r = call(
        &env.write,
        upload_req(Some(&a.token), "title=clip", None, big),
    )
    .await;
    assert_eq!(
        r.expect(StatusCode::CREATED).json()["size"],
        PHOTO_LIMIT + 1000
    );
    Ok(())
}

/// (query, Content-Type, body, expected status, expected code).
type Case = (
    String,
    Option<&'static str>,
    Vec<u8>,
    StatusCode,
    &'static str,
);

/// A valid 200-byte PNG: the body of the cases that are wrong elsewhere.
fn png() -> Vec<u8> {
    sample_body("image/png", 200, 0)
}

/// Bodies whose magic bytes are not an accepted type, and declared types
/// that contradict the bytes: each a 415 `unsupported_media`.
fn bad_media_cases() -> Vec<Case> {
    vec![
        // Wrong magic bytes, declared or not.
        (
            "title=x".into(),
            None,
            b"hello, world".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
        ),
        (
            "title=x".into(),
            Some("image/png"),
            b"GIF8 not really".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
        ),
        (
            "title=x".into(),
            Some("image/jpeg"),
            b"%PDF-1.7 a document".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
        ),
        // A declared type that contradicts the bytes.
        (
            "title=x".into(),
            Some("image/jpeg"),
            png(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
        ),
        (
            "title=x".into(),
            Some("video/mp4"),
            png(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
        ),
        (
            "title=x".into(),
            Some("text/plain"),
            png(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
        ),
    ]
}

/// An empty body (400 `invalid_input`); a photo over the photo limit but
/// under the body limit, a video over the video limit, and a body far over
/// the body limit (each a 413 `payload_too_large`).
fn bad_size_cases() -> Vec<Case> {
    vec![
        // Empty body.
        (
            "title=x".into(),
            Some("image/png"),
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        // Over the photo limit (under the body limit), and over the body limit.
        (
            "title=x".into(),
            None,
            sample_body("image/png", PHOTO_LIMIT as usize + 1, 0),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "title=x".into(),
            None,
            sample_body("video/mp4", VIDEO_LIMIT as usize + 1, 0),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "title=x".into(),
            None,
            sample_body("image/png", 3 * VIDEO_LIMIT as usize, 0),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ]
}

/// Titles that are invalid percent-encoded UTF-8 (bad bytes, truncated,
/// overlong), hold control characters, or are over 200 characters, and
/// unknown query fields: each a 400 `invalid_input`.
fn bad_title_cases() -> Vec<Case> {
    vec![
        // Titles: invalid UTF-8 (percent-encoded), control characters, too
        // long, unknown query fields.
        (
            "title=%FF%FE".into(),
            None,
            png(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "title=ok%C3".into(),
            None,
            png(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "title=%C0%AF".into(),
            None,
            png(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "title=a%0Ab".into(),
            None,
            png(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "title=a%00b".into(),
            None,
            png(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            format!("title={}", "é".repeat(201)),
            None,
            png(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "title=x&owner=2".into(),
            None,
            png(),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
    ]
}

#[tokio::test]
async fn upload_rejects_bad_media_sizes_and_titles() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let t = Some(a.token.as_str());
    let cases = [bad_media_cases(), bad_size_cases(), bad_title_cases()];
    for (q, ct, body, status, code) in cases.into_iter().flatten() {
        let r = call(&env.write, upload_req(t, &q, ct, body)).await;
        assert_eq!(r.status, status, "query {q:?}, Content-Type {ct:?}");
        r.expect_error(status, code);
    }
    // A 200-character title is fine; none of the rejects was stored.
    let v = upload(&env, &a, &"é".repeat(200), "image/png", png()).await;
    let r = call(&env.read, get(&format!("/v1/users/{}/photos", a.id), None)).await;
    assert_eq!(item_ids(&r), vec![pid(&v)], "only the valid upload exists");
    Ok(())
}

#[tokio::test]
async fn an_answer_before_the_body_is_read_closes_the_connection() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let png = patterned_png(3000);
    // Refused before the body is read (no token): the rest of the body is
    // still on the wire, so the connection must not carry another request.
    let r = call(
        &env.write,
        upload_req(None, "", Some("image/png"), png.clone()),
    )
    .await;
    r.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(r.header(header::CONNECTION), "close");
    // Read to its end: the connection stays open.
    let r = call(
        &env.write,
        upload_req(Some(&a.token), "", Some("image/png"), png),
    )
    .await;
    r.expect(StatusCode::CREATED);
    assert_eq!(r.header(header::CONNECTION), "");
    // No body at all: nothing left unread.
    let r = call(&env.read, get("/v1/feed", None)).await;
    r.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(r.header(header::CONNECTION), "");
    Ok(())
}
