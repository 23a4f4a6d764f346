//! Input validation that must answer 4xx with the JSON error: media bodies
//! that only look like media, tokens in non-canonical forms, control
//! characters in names, too many headers.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::*;
use feedlab_system::service::media::sample_body;

#[tokio::test]
async fn media_that_only_wears_a_magic_number_is_refused_415() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0\x80\x10\x40\0";
    let jpeg = sample_body("image/jpeg", 2000, 1);
    let png = patterned_png(3000);
    let mp4 = sample_body("video/mp4", 3000, 2);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("image/jpeg", vec![0xFF, 0xD8, 0xFF]),
        ("image/jpeg", [&[0xFF, 0xD8, 0xFF][..], elf].concat()),
        (
            "image/jpeg",
            [&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16][..], elf, b"\xFF\xD9"].concat(),
        ),
        ("image/jpeg", jpeg[..1500].to_vec()),
        ("image/png", png[..2000].to_vec()),
        ("image/png", [&png[..], b"MZ\x90\0"].concat()),
        ("video/mp4", mp4[..2999].to_vec()),
        ("video/mp4", [&mp4[..24], elf].concat()),
        ("image/gif", b"GIF89a".to_vec()),
        (
            "image/webp",
            sample_body("image/webp", 500, 0)[..400].to_vec(),
        ),
        (
            "video/webm",
            sample_body("video/webm", 500, 0)[..300].to_vec(),
        ),
    ];
    for (i, (mime, body)) in cases.into_iter().enumerate() {
        for declared in [Some(mime), None] {
            let r = call(
                &env.write,
                upload_req(Some(&a.token), "", declared, body.clone()),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "case {i} ({mime})"
            );
            r.expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media");
        }
    }
    // The well-formed versions of the same files go in.
    for (mime, body) in [("image/jpeg", jpeg), ("image/png", png), ("video/mp4", mp4)] {
        call(&env.write, upload_req(Some(&a.token), "", Some(mime), body))
            .await
            .expect(StatusCode::CREATED);
    }
    Ok(())
}

#[tokio::test]
async fn only_the_canonical_token_authenticates() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let (id, secret) = a.token.split_once('.').expect("id.secret");
    let refused = [
        format!("Bearer +{}", a.token),
        format!("Bearer 0{}", a.token),
        format!("Bearer 00{}", a.token),
        format!("Bearer {id}.{}", secret.to_uppercase()),
        format!("Bearer {id}.{secret}0"),
        format!("Bearer  {}", a.token),
        format!("Bearer {} x", a.token),
        format!("Bearer {id}.+{}", &secret[1..]),
        format!("Bearer\t{}", a.token),
    ];
    for h in &refused {
        let r = Request::builder()
            .uri("/v1/feed")
            .header(header::AUTHORIZATION, h)
            .body(Body::empty())?;
        call(&env.read, r)
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = Request::builder()
            .uri("/v1/feed")
            .header(header::AUTHORIZATION, format!("{scheme} {}", a.token))
            .body(Body::empty())?;
        call(&env.read, r).await.expect(StatusCode::OK);
    }
    Ok(())
}

#[tokio::test]
async fn control_characters_in_names_and_emails_are_refused_400() -> anyhow::Result<()> {
    let env = env().await?;
    let bad = [
        ("a\u{0}b", "a@x.test"),
        ("\u{1b}[31mred", "r@x.test"),
        ("tab\there", "t@x.test"),
        ("del\u{7f}", "d@x.test"),
        ("line\u{85}next", "n@x.test"),
        ("ok", "a\u{0}@x.test"),
    ];
    for (name, email) in bad {
        let body = serde_json::json!({ "name": name, "email": email }).to_string();
        call(&env.write, json_req(Method::POST, "/v1/users", body))
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
    // Non-ASCII letters are fine.
    create_user(&env, "Zoë-Ünal").await;
    Ok(())
}

#[tokio::test]
async fn more_than_100_headers_is_a_json_431() -> anyhow::Result<()> {
    let env = env().await?;
    let mut r = Request::builder().uri("/healthz");
    for i in 0..101 {
        r = r.header(format!("x-h{i}"), "v");
    }
    call(&env.read, r.body(Body::empty())?).await.expect_error(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    );
    let mut r = Request::builder().uri("/healthz");
    for i in 0..100 {
        r = r.header(format!("x-h{i}"), "v");
    }
    call(&env.read, r.body(Body::empty())?)
        .await
        .expect(StatusCode::OK);
    Ok(())
}
