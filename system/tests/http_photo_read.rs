//! HTTP tests of `GET /v1/photos/{id}` and `GET /v1/photos/{id}/meta`:
//! cache headers (strong ETag = content hash, immutable), conditional
//! requests (304), byte ranges (206, suffix, open-ended, 416, multi-range),
//! and ids that are not ids (letters, signs, overflow, traversal).

mod common;

use axum::http::{Request, StatusCode, header};
use common::*;
use feedlab_system::blob::BlobKey;

const SIZE: usize = 1000;

async fn one_photo() -> anyhow::Result<(Env, String, Vec<u8>)> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let body = patterned_png(SIZE);
    let v = upload(&env, &a, "ranged", "image/png", body.clone()).await;
    Ok((env, pid(&v), body))
}

fn ranged(id: &str, range: &str) -> Request<axum::body::Body> {
    let mut r = get(&format!("/v1/photos/{id}"), None);
    r.headers_mut()
        .insert(header::RANGE, range.parse().expect("ascii range"));
    r
}

#[tokio::test]
async fn photo_bytes_have_cdn_friendly_headers_and_honour_if_none_match() -> anyhow::Result<()> {
    let (env, id, body) = one_photo().await?;
    let r = call(&env.read, get(&format!("/v1/photos/{id}"), None)).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body.as_ref(), body.as_slice());
    let etag = format!("\"{}\"", BlobKey::of(&body));
    assert_eq!(r.header(header::ETAG), etag, "strong ETag = content hash");
    assert_eq!(r.header(header::CONTENT_TYPE), "image/png");
    assert_eq!(r.header(header::CONTENT_LENGTH), SIZE.to_string());
    assert_eq!(r.header(header::ACCEPT_RANGES), "bytes");
    let cc = r.header(header::CACHE_CONTROL);
    assert!(cc.contains("immutable") && cc.contains("public"), "{cc}");
    // Conditional GET: a matching tag (alone, in a list, or `*`) is a 304
    // with no body that still carries the validators and cache policy.
    for inm in [etag.clone(), format!("\"nope\", {etag}"), "*".to_string()] {
        let mut q = get(&format!("/v1/photos/{id}"), None);
        q.headers_mut().insert(header::IF_NONE_MATCH, inm.parse()?);
        let r = call(&env.read, q).await;
        r.expect(StatusCode::NOT_MODIFIED);
        assert!(r.body.is_empty());
        assert_eq!(r.header(header::ETAG), etag);
        assert!(r.header(header::CACHE_CONTROL).contains("immutable"));
    }
    // A different tag gets the full body.
    let mut q = get(&format!("/v1/photos/{id}"), None);
    q.headers_mut()
        .insert(header::IF_NONE_MATCH, "\"other\"".parse()?);
    let r = call(&env.read, q).await;
    assert_eq!(r.expect(StatusCode::OK).body.len(), SIZE);
    Ok(())
}

#[tokio::test]
async fn single_ranges_are_206_with_content_range() -> anyhow::Result<()> {
    let (env, id, body) = one_photo().await?;
    let n = SIZE;
    let cases: &[(&str, usize, usize)] = &[
        ("bytes=0-9", 0, 10),
        ("bytes=10-", 10, n),
        ("bytes=-5", n - 5, n),
        ("bytes=995-999", 995, n),
        // An end past the size is clamped (RFC 9110 §14.1.2).
        ("bytes=990-5000", 990, n),
        ("bytes=0-0", 0, 1),
        ("bytes=-5000", 0, n),
    ];
    for &(range, start, end) in cases {
        let r = call(&env.read, ranged(&id, range)).await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(r.body.as_ref(), &body[start..end], "{range}");
        assert_eq!(
            r.header(header::CONTENT_RANGE),
            format!("bytes {start}-{}/{n}", end - 1),
            "{range}"
        );
        assert_eq!(r.header(header::CONTENT_LENGTH), (end - start).to_string());
        assert_eq!(r.header(header::CONTENT_TYPE), "image/png");
        assert!(r.header(header::ETAG).len() > 2);
    }
    Ok(())
}

#[tokio::test]
async fn unsatisfiable_ranges_are_416_json_and_multi_ranges_get_the_whole_body()
-> anyhow::Result<()> {
    let (env, id, body) = one_photo().await?;
    for range in [
        "bytes=1000-",
        "bytes=5000-6000",
        "bytes=20-10",
        "bytes=-0",
        "bytes=abc",
        "bytes=0-5,3-8",
    ] {
        let r = call(&env.read, ranged(&id, range)).await;
        assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        r.expect_error(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable");
        assert_eq!(r.header(header::CONTENT_RANGE), format!("bytes */{SIZE}"));
    }
    for range in ["bytes=0-1,5-6", "bytes=0-9, 20-29, -5"] {
        let r = call(&env.read, ranged(&id, range)).await;
        assert_eq!(r.status, StatusCode::OK, "{range}");
        assert_eq!(r.body.as_ref(), body.as_slice(), "{range}");
        assert_eq!(r.header(header::CONTENT_RANGE), "", "{range}");
    }
    // A non-ASCII Range header is a plain 400.
    let mut q = get(&format!("/v1/photos/{id}"), None);
    q.headers_mut().insert(
        header::RANGE,
        header::HeaderValue::from_bytes(b"bytes=\xff-")?,
    );
    call(&env.read, q)
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    Ok(())
}

#[tokio::test]
async fn meta_matches_the_upload_response() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let v = upload_png(&env, &a, "Meta data", 321, 4).await;
    let r = call(
        &env.read,
        get(&format!("/v1/photos/{}/meta", pid(&v)), None),
    )
    .await;
    r.expect(StatusCode::OK);
    assert!(
        r.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    assert_eq!(r.json(), v);
    assert_eq!(r.json()["size"], 321);
    Ok(())
}

#[tokio::test]
async fn bad_and_unknown_photo_ids() -> anyhow::Result<()> {
    let (env, id, _) = one_photo().await?;
    for suffix in ["", "/meta"] {
        for bad in BAD_IDS {
            let r = call(&env.read, get(&format!("/v1/photos/{bad}{suffix}"), None)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "id {bad:?}{suffix}");
            r.expect_error(StatusCode::BAD_REQUEST, "invalid_input");
        }
        for unknown in ["0", "1", "18446744073709551615"] {
            call(
                &env.read,
                get(&format!("/v1/photos/{unknown}{suffix}"), None),
            )
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        }
        // `..` followed by more segments: no route matches.
        for uri in [
            format!("/v1/photos/../{id}{suffix}"),
            format!("/v1/photos/../../etc/passwd{suffix}"),
        ] {
            call(&env.read, get(&uri, None))
                .await
                .expect_error(StatusCode::NOT_FOUND, "not_found");
        }
    }
    // Empty ids: a 400 in the middle of the path, no route at the end.
    call(&env.read, get("/v1/photos//meta", None))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    call(&env.read, get("/v1/photos/", None))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    // A leading zero is the same id.
    let r = call(&env.read, get(&format!("/v1/photos/0{id}/meta"), None)).await;
    assert_eq!(r.expect(StatusCode::OK).json()["id"], id);
    Ok(())
}
