//! Photo bodies over 1 MiB are streamed in pieces (never held whole), with
//! the same bytes, ranges and headers as a body read at once.

mod common;

use axum::http::{StatusCode, header};
use common::*;
use feedlab_system::service::media::sample_body;
use futures::StreamExt;
use tower::ServiceExt;

/// GET `uri` with an optional `Range`; returns status, Content-Length and
/// the body's pieces.
async fn pieces(
    env: &Env,
    uri: &str,
    range: Option<&str>,
) -> anyhow::Result<(StatusCode, String, Vec<bytes::Bytes>)> {
    let mut req = get(uri, None);
    if let Some(r) = range {
        req.headers_mut().insert(header::RANGE, r.parse()?);
    }
    let res = env.read.clone().oneshot(req).await?;
    let status = res.status();
    let len = res
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut out = Vec::new();
    let mut s = res.into_body().into_data_stream();
    while let Some(p) = s.next().await {
        out.push(p?);
    }
    Ok((status, len, out))
}

#[tokio::test]
async fn large_bodies_stream_in_pieces_with_the_same_bytes() -> anyhow::Result<()> {
    let env = env_with(|c| c.video_limit = 8 << 20).await?;
    let a = create_user(&env, "alice").await;
    let mut body = sample_body("video/mp4", 3_500_000, 0);
    for (i, b) in body.iter_mut().enumerate().skip(64) {
        *b = (i % 251) as u8;
    }
    let id = pid(&upload(&env, &a, "v", "video/mp4", body.clone()).await);
    let uri = format!("/v1/photos/{id}");
    let (status, len, got) = pieces(&env, &uri, None).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(len, body.len().to_string());
    assert!(got.len() >= 4, "{} pieces", got.len());
    assert!(got.iter().all(|p| p.len() <= 1 << 20));
    assert_eq!(got.concat(), body);
    for (range, lo, hi) in [
        ("bytes=1000000-2500000", 1_000_000, 2_500_001),
        ("bytes=-1200000", body.len() - 1_200_000, body.len()),
        ("bytes=5-15", 5, 16),
    ] {
        let (status, len, got) = pieces(&env, &uri, Some(range)).await?;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(len, (hi - lo).to_string(), "{range}");
        assert_eq!(got.concat(), body[lo..hi], "{range}");
    }
    // A small photo is one piece, as before.
    let p = pid(&upload_png(&env, &a, "p", 5000, 1).await);
    let (_, _, got) = pieces(&env, &format!("/v1/photos/{p}"), None).await?;
    assert_eq!(got.len(), 1);
    Ok(())
}
