//! HTTP tests of the list endpoints: `GET /v1/users/{id}/photos` (newest
//! first, `before` pagination), `GET /v1/search` (AND of terms, newest
//! first) and `GET /v1/feed` (after follow, upload and a materializer
//! drain), each with its bad-input cases.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::*;

#[tokio::test]
async fn user_photos_paginate_newest_first_with_before() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(pid(&upload_png(
            &env,
            &a,
            &format!("p{i}"),
            100 + i,
            i as u8,
        )
        .await));
    }
    upload_png(&env, &b, "not alices", 100, 0).await;
    ids.reverse(); // newest first
    let r = call(&env.read, get(&format!("/v1/users/{}/photos", a.id), None)).await;
    assert_eq!(item_ids(&r), ids, "default limit covers all");
    let first = &r.json()["items"][0];
    assert_eq!(first["title"], "p6");
    assert_eq!(first["owner"], a.id);
    assert_eq!(first["url"], format!("/v1/photos/{}", ids[0]));
    // Walk pages of 3 with `before` = the last id of the previous page.
    let mut walked = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let uri = match &before {
            Some(b) => format!("/v1/users/{}/photos?limit=3&before={b}", a.id),
            None => format!("/v1/users/{}/photos?limit=3", a.id),
        };
        let page = item_ids(&call(&env.read, get(&uri, None)).await);
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        before = page.last().cloned();
        walked.extend(page);
    }
    assert_eq!(
        walked, ids,
        "pages are disjoint and cover everything in order"
    );
    // `before` excludes itself; `before` of the oldest is empty.
    let uri = format!("/v1/users/{}/photos?before={}", a.id, ids[6]);
    assert!(item_ids(&call(&env.read, get(&uri, None)).await).is_empty());
    let uri = format!("/v1/users/{}/photos?limit=1&before={}", a.id, ids[0]);
    assert_eq!(
        item_ids(&call(&env.read, get(&uri, None)).await),
        vec![ids[1].clone()]
    );
    // A user with no photos: empty, not 404.
    let c = create_user(&env, "carol").await;
    let r = call(&env.read, get(&format!("/v1/users/{}/photos", c.id), None)).await;
    assert_eq!(r.json(), serde_json::json!({ "items": [] }));
    Ok(())
}

#[tokio::test]
async fn user_photos_rejects_bad_input() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let base = format!("/v1/users/{}/photos", a.id);
    for q in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=99999999999999999999999",
        "before=abc",
        "before=-1",
        "before=18446744073709551616",
        "before=..%2F..%2Fetc",
        "before=%FF%FE",
        "before=",
        "owner=1",
    ] {
        let r = call(&env.read, get(&format!("{base}?{q}"), None)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        r.expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
    for bad in BAD_IDS {
        call(&env.read, get(&format!("/v1/users/{bad}/photos"), None))
            .await
            .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
    call(&env.read, get("/v1/users/4242/photos", None))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    call(&env.read, get("/v1/users//photos", None))
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    call(&env.read, get("/v1/users/../../photos", None))
        .await
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    Ok(())
}

#[tokio::test]
async fn search_is_an_and_of_terms_newest_first() -> anyhow::Result<()> {
    let env = env().await?;
    let a = create_user(&env, "alice").await;
    let b = create_user(&env, "bob").await;
    let titles = [
        (&a, "red sunset over the beach"),
        (&b, "red car"),
        (&a, "blue sunset"),
        (&b, "Sunset, RED!"),
        (&a, "sunset red red"),
        (&b, "sunsets are reddish"),
    ];
    let mut ids = Vec::new();
    for (who, t) in titles {
        ids.push(pid(&upload_png(&env, who, t, 120, ids.len() as u8).await));
        // Different owners in one millisecond order by shard bits, not by
        // upload order; step the clock so "newest" is unambiguous.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let s = |q: &str| format!("/v1/search?q={q}");
    let both = item_ids(&call(&env.read, get(&s("red%20sunset"), None)).await);
    assert_eq!(both, vec![ids[4].clone(), ids[3].clone(), ids[0].clone()]);
    // Term order, case and `+` for space do not matter.
    let swapped = item_ids(&call(&env.read, get(&s("SUNSET+red"), None)).await);
    assert_eq!(swapped, both);
    let one = item_ids(&call(&env.read, get(&s("sunset"), None)).await);
    assert_eq!(
        one,
        vec![
            ids[4].clone(),
            ids[3].clone(),
            ids[2].clone(),
            ids[0].clone()
        ]
    );
    let r = call(&env.read, get(&s("red%20sunset&limit=2"), None)).await;
    assert_eq!(item_ids(&r), both[..2].to_vec(), "limit keeps the newest");
    let r = call(&env.read, get(&s("red%20sunset%20car"), None)).await;
    assert!(item_ids(&r).is_empty(), "no title has all three");
    let r = call(&env.read, get(&s("nothing"), None)).await;
    assert_eq!(r.json(), serde_json::json!({ "items": [] }));
    // The items are full photo views.
    let r = call(&env.read, get(&s("car"), None)).await;
    let item = &r.json()["items"][0];
    assert_eq!(
        (item["title"].as_str(), item["owner"].as_u64()),
        (Some("red car"), Some(b.id))
    );
    // Bad input.
    for q in [
        "/v1/search",
        "/v1/search?q=",
        "/v1/search?q=%20%21%21",
        "/v1/search?q=%FF%FE",
        "/v1/search?q=red&limit=0",
        "/v1/search?q=red&limit=101",
        "/v1/search?q=red&limit=x",
        "/v1/search?q=red&page=2",
    ] {
        let r = call(&env.read, get(q, None)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        r.expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
    Ok(())
}

#[tokio::test]
async fn feed_shows_followed_authors_after_drain() -> anyhow::Result<()> {
    let env = env().await?;
    let reader = create_user(&env, "reader").await;
    let b = create_user(&env, "bob").await;
    let c = create_user(&env, "carol").await;
    let d = create_user(&env, "dave").await;
    // Bob posts before the follow (backfill), Carol after (fan-out), Dave
    // is not followed.
    let b1 = pid(&upload_png(&env, &b, "b1", 100, 1).await);
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert!(follow(&env, &reader, &b).await);
    assert!(follow(&env, &reader, &c).await);
    let c1 = pid(&upload_png(&env, &c, "c1", 100, 2).await);
    tokio::time::sleep(Duration::from_millis(2)).await;
    upload_png(&env, &d, "d1", 100, 3).await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    let b2 = pid(&upload_png(&env, &b, "b2", 100, 4).await);
    env.svc.drain().await;
    let r = call(&env.read, get("/v1/feed", Some(&reader.token))).await;
    assert_eq!(item_ids(&r), vec![b2.clone(), c1.clone(), b1.clone()]);
    assert_eq!(r.json()["items"][1]["owner"], c.id);
    let r = call(&env.read, get("/v1/feed?limit=2", Some(&reader.token))).await;
    assert_eq!(item_ids(&r), vec![b2.clone(), c1.clone()]);
    // Authors do not see themselves; Dave follows nobody.
    let r = call(&env.read, get("/v1/feed", Some(&d.token))).await;
    assert_eq!(r.json(), serde_json::json!({ "items": [] }));
    // Unfollow and delete take entries out after the next drain.
    let r = follow_call(
        &env,
        Method::DELETE,
        &reader.token,
        &reader.id.to_string(),
        &c.id.to_string(),
    )
    .await;
    assert_eq!(r.expect(StatusCode::OK).json()["changed"], true);
    let del = req(
        Method::DELETE,
        &format!("/v1/photos/{b1}"),
        Some(&b.token),
        axum::body::Body::empty(),
    );
    call(&env.write, del).await.expect(StatusCode::NO_CONTENT);
    env.svc.drain().await;
    let r = call(&env.read, get("/v1/feed", Some(&reader.token))).await;
    assert_eq!(item_ids(&r), vec![b2]);
    // Bad input.
    for q in ["limit=0", "limit=101", "limit=-3", "limit=ten", "since=1"] {
        let r = call(
            &env.read,
            get(&format!("/v1/feed?{q}"), Some(&reader.token)),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        r.expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
    Ok(())
}
