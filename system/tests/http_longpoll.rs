//! HTTP tests of `GET /v1/feed/updates` (long-poll) under push fan-out, and
//! of the routers' concurrency limits: a router's limit is one pool shared
//! by all its routes, and the read and write pools are separate.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use common::*;

#[tokio::test]
async fn long_poll_returns_a_followed_authors_new_photo() -> anyhow::Result<()> {
    let env = env().await?;
    let reader = create_user(&env, "reader").await;
    let author = create_user(&env, "author").await;
    let stranger = create_user(&env, "stranger").await;
    assert!(follow(&env, &reader, &author).await);
    let first = pid(&upload_png(&env, &author, "first", 100, 1).await);
    env.svc.drain().await;
    let all = call(
        &env.read,
        get("/v1/feed/updates?since=0&wait=0", Some(&reader.token)),
    )
    .await;
    assert_eq!(item_ids(&all), vec![first.clone()], "since=0 is everything");
    // Nothing newer than the latest: wait=0 answers at once, empty.
    let uri = format!("/v1/feed/updates?since={first}&wait=0");
    let before = item_ids(&call(&env.read, get(&uri, Some(&reader.token))).await);
    assert!(before.is_empty());

    // A long-poll is parked; another task uploads a followed author's photo.
    let (read, token) = (env.read.clone(), reader.token.clone());
    let uri = format!("/v1/feed/updates?since={first}&wait=5");
    let poll = tokio::spawn(async move { call(&read, get(&uri, Some(&token))).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (write, tok) = (env.write.clone(), author.token.clone());
    let uploader = tokio::spawn(async move {
        let body = feedlab_system::service::media::sample_body("image/png", 100, 2);
        let r = call(
            &write,
            upload_req(Some(&tok), "title=second", Some("image/png"), body),
        )
        .await;
        pid(&r.expect(StatusCode::CREATED).json())
    });
    let second = uploader.await?;
    let after = poll.await?;
    let after_ids = item_ids(&after);
    assert!(before.len() < after_ids.len(), "the poll saw the upload");
    assert_eq!(
        after_ids,
        vec![second.clone()],
        "only entries newer than since"
    );
    assert_eq!(after.json()["items"][0]["title"], "second");

    // A stranger's upload does not answer the poll: it times out empty.
    let (read, token) = (env.read.clone(), reader.token.clone());
    let uri = format!("/v1/feed/updates?since={second}&wait=1");
    let poll = tokio::spawn(async move { call(&read, get(&uri, Some(&token))).await });
    upload_png(&env, &stranger, "unrelated", 100, 3).await;
    let r = poll.await?;
    assert!(item_ids(&r).is_empty(), "not followed, not delivered");
    Ok(())
}

#[tokio::test]
async fn long_poll_rejects_bad_input() -> anyhow::Result<()> {
    let env = env().await?;
    let reader = create_user(&env, "reader").await;
    for q in [
        "wait=31",
        "wait=100000",
        "wait=-1",
        "wait=abc",
        "wait=18446744073709551616",
        "since=abc",
        "since=-1",
        "since=18446744073709551616",
        "since=..%2F..%2Fetc",
        "since=%2e%2e",
        "since=%FF%FE",
        "since=",
        "limit=5",
    ] {
        let r = call(
            &env.read,
            get(&format!("/v1/feed/updates?{q}"), Some(&reader.token)),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        r.expect_error(StatusCode::BAD_REQUEST, "invalid_input");
    }
    // The boundary wait=30 is accepted (answered at once: there is data).
    let author = create_user(&env, "author").await;
    assert!(follow(&env, &reader, &author).await);
    let p = pid(&upload_png(&env, &author, "x", 100, 1).await);
    env.svc.drain().await;
    let r = call(
        &env.read,
        get("/v1/feed/updates?wait=30&since=0", Some(&reader.token)),
    )
    .await;
    assert_eq!(item_ids(&r), vec![p]);
    Ok(())
}

#[tokio::test]
async fn long_polls_have_a_pool_apart_from_the_other_reads() -> anyhow::Result<()> {
    let env = env_with(|c| {
        c.read_concurrency = 1;
        c.longpoll_concurrency = 1;
        c.admission_queue = 0;
    })
    .await?;
    let reader = create_user(&env, "reader").await;
    let order = Arc::new(AtomicUsize::new(0));
    // Hold the only long-poll slot with a long-poll that nothing answers.
    let (read, token, o) = (env.read.clone(), reader.token.clone(), order.clone());
    let poll = tokio::spawn(async move {
        let r = call(&read, get("/v1/feed/updates?wait=1", Some(&token))).await;
        (o.fetch_add(1, Ordering::SeqCst), item_ids(&r).len())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The one read slot is free: a feed read answers while the poll waits.
    call(&env.read, get("/v1/feed", Some(&reader.token)))
        .await
        .expect(StatusCode::OK);
    let read_done = order.fetch_add(1, Ordering::SeqCst);
    let (poll_done, n) = poll.await?;
    assert_eq!(n, 0);
    assert!(
        read_done < poll_done,
        "a feed read waited for the long-poll (read finished #{read_done}, poll #{poll_done})"
    );
    Ok(())
}
