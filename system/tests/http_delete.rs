//! HTTP tests of `DELETE /v1/photos/{id}`: the photo disappears from every
//! read path, only its owner may delete it, a blob shared by two photos
//! survives until the last one goes, and bad ids are 400s.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use common::*;
use feedlab_system::blob::BlobKey;
use feedlab_system::service::media::sample_body;

#[tokio::test]
async fn delete_removes_the_photo_everywhere() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let v = upload_png(&env, &a, "doomed sunset", 300, 5).await;
    let id = pid(&v);
    let r = call(
        &env.write,
        req(
            Method::DELETE,
            &format!("/v1/photos/{id}"),
            Some(&a.token),
            Body::empty(),
        ),
    )
    .await;
    r.expect(StatusCode::NO_CONTENT);
    assert!(r.body.is_empty(), "204 has no body");
    for uri in [format!("/v1/photos/{id}"), format!("/v1/photos/{id}/meta")] {
        call(&env.read, get(&uri, None))
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    let r = call(&env.read, get("/v1/search?q=doomed", None)).await;
    assert!(item_ids(&r).is_empty());
    let r = call(&env.read, get(&format!("/v1/users/{}/photos", a.id), None)).await;
    assert!(item_ids(&r).is_empty());
    let key = BlobKey::of(&sample_body("image/png", 300, 5));
    assert!(
        env.svc.blobs().head(&key).await?.is_none(),
        "unshared blob is gone"
    );
    // Deleting again is a 404.
    call(
        &env.write,
        req(
            Method::DELETE,
            &format!("/v1/photos/{id}"),
            Some(&a.token),
            Body::empty(),
        ),
    )
    .await
    .expect_error(StatusCode::NOT_FOUND, "not_found");
    Ok(())
}

#[tokio::test]
async fn a_user_cannot_delete_someone_elses_photo() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    let body = patterned_png(400);
    let v = upload(&env, &b, "bobs", "image/png", body.clone()).await;
    let id = pid(&v);
    call(
        &env.write,
        req(
            Method::DELETE,
            &format!("/v1/photos/{id}"),
            Some(&a.token),
            Body::empty(),
        ),
    )
    .await
    .expect_error(StatusCode::FORBIDDEN, "forbidden");
    // Still there: metadata, bytes, listing and search.
    let r = call(&env.read, get(&format!("/v1/photos/{id}/meta"), None)).await;
    assert_eq!(r.expect(StatusCode::OK).json(), v);
    let r = call(&env.read, get(&format!("/v1/photos/{id}"), None)).await;
    assert_eq!(r.expect(StatusCode::OK).body.as_ref(), body.as_slice());
    let r = call(&env.read, get("/v1/search?q=bobs", None)).await;
    assert_eq!(item_ids(&r), vec![id.clone()]);
    // Its owner can.
    call(
        &env.write,
        req(
            Method::DELETE,
            &format!("/v1/photos/{id}"),
            Some(&b.token),
            Body::empty(),
        ),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    Ok(())
}

#[tokio::test]
async fn identical_bytes_share_a_blob_until_the_last_photo_goes() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    let body = patterned_png(700);
    let first = pid(&upload(&env, &a, "one", "image/png", body.clone()).await);
    let second = pid(&upload(&env, &b, "two", "image/png", body.clone()).await);
    assert_ne!(first, second);
    let e1 = call(&env.read, get(&format!("/v1/photos/{first}"), None)).await;
    let e2 = call(&env.read, get(&format!("/v1/photos/{second}"), None)).await;
    assert_eq!(
        e1.header(header::ETAG),
        e2.header(header::ETAG),
        "same content, same ETag"
    );
    call(
        &env.write,
        req(
            Method::DELETE,
            &format!("/v1/photos/{first}"),
            Some(&a.token),
            Body::empty(),
        ),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    let r = call(&env.read, get(&format!("/v1/photos/{second}"), None)).await;
    assert_eq!(
        r.expect(StatusCode::OK).body.as_ref(),
        body.as_slice(),
        "shared blob kept"
    );
    call(
        &env.write,
        req(
            Method::DELETE,
            &format!("/v1/photos/{second}"),
            Some(&b.token),
            Body::empty(),
        ),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    assert!(
        env.svc.blobs().head(&BlobKey::of(&body)).await?.is_none(),
        "last reference gone"
    );
    Ok(())
}

#[tokio::test]
async fn delete_rejects_bad_ids() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let keep = pid(&upload_png(&env, &a, "keep", 100, 1).await);
    for bad in BAD_IDS {
        let r = call(
            &env.write,
            req(
                Method::DELETE,
                &format!("/v1/photos/{bad}"),
                Some(&a.token),
                Body::empty(),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "id {bad:?}");
        r.expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
    for uri in [
        "/v1/photos/",
        "/v1/photos/../x",
        "/v1/photos/../../etc/passwd",
    ] {
        let r = call(
            &env.write,
            req(Method::DELETE, uri, Some(&a.token), Body::empty()),
        )
        .await;
        r.expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    for unknown in ["0", "1", "18446744073709551615"] {
        call(
            &env.write,
            req(
                Method::DELETE,
                &format!("/v1/photos/{unknown}"),
                Some(&a.token),
                Body::empty(),
            ),
        )
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    }
    let r = call(&env.read, get(&format!("/v1/users/{}/photos", a.id), None)).await;
    assert_eq!(item_ids(&r), vec![keep], "nothing was deleted");
    Ok(())
}
