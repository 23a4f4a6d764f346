//! `http::serve` on real listeners (`127.0.0.1:0`), driven over TCP by
//! reqwest: both routers answer on their own ports, errors keep their JSON
//! shape on the wire, and the shutdown future stops both listeners.

mod common;

use axum::http::{StatusCode, header};
use common::*;
use serde_json::Value;

/// A reqwest response, buffered and put through the suite's checks.
async fn fetch(rb: reqwest::RequestBuilder) -> anyhow::Result<Resp> {
    let res = rb.send().await?;
    let what = res.url().to_string();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.bytes().await?;
    Ok(checked(
        &what,
        Resp {
            status,
            headers,
            body,
        },
    ))
}

/// Over the write listener `w`: create alice and bob, and have bob follow
/// alice (asserting each 201 and the follow's `changed: true`). Returns
/// alice's and bob's tokens.
async fn users_and_follow(http: &reqwest::Client, w: &str) -> anyhow::Result<(String, String)> {
    let mk = |name: &str| serde_json::json!({ "name": name, "email": format!("{name}@x.test") });
    let a = fetch(http.post(format!("{w}/v1/users")).json(&mk("alice"))).await?;
    let a: Value = serde_json::from_slice(&a.expect(StatusCode::CREATED).body)?;
    let b = fetch(http.post(format!("{w}/v1/users")).json(&mk("bob"))).await?;
    let b: Value = serde_json::from_slice(&b.expect(StatusCode::CREATED).body)?;
    let (ta, tb) = (
        a["token"].as_str().unwrap_or(""),
        b["token"].as_str().unwrap_or(""),
    );
    let follow = fetch(
        http.put(format!("{w}/v1/users/{}/following/{}", b["id"], a["id"]))
            .bearer_auth(tb),
    )
    .await?;
    assert_eq!(follow.expect(StatusCode::OK).json()["changed"], true);
    Ok((ta.to_owned(), tb.to_owned()))
}

/// Alice (`ta`) uploads over `w`; over `r` a range read answers 206 with the
/// right bytes and `Content-Range`, and once `svc` has drained, bob's (`tb`)
/// feed and a title search each list exactly that photo.
async fn upload_then_read(
    http: &reqwest::Client,
    (w, r): (&str, &str),
    (ta, tb): (&str, &str),
    svc: &feedlab_system::Service,
) -> anyhow::Result<()> {
    let body = patterned_png(2048);
    let up = fetch(
        http.post(format!("{w}/v1/photos?title=over%20the%20wire"))
            .bearer_auth(ta)
            .header(header::CONTENT_TYPE, "image/png")
            .body(body.clone()),
    )
    .await?;
    let photo = pid(&up.expect(StatusCode::CREATED).json());
    let got = fetch(
        http.get(format!("{r}/v1/photos/{photo}"))
            .header(header::RANGE, "bytes=100-199"),
    )
    .await?;
    got.expect(StatusCode::PARTIAL_CONTENT);
    assert_eq!(got.body.as_ref(), &body[100..200]);
    assert_eq!(got.header(header::CONTENT_RANGE), "bytes 100-199/2048");
    svc.drain().await;
    let feed = fetch(http.get(format!("{r}/v1/feed")).bearer_auth(tb)).await?;
    assert_eq!(item_ids(&feed), vec![photo.clone()]);
    let s = fetch(http.get(format!("{r}/v1/search?q=wire"))).await?;
    assert_eq!(item_ids(&s), vec![photo]);
    Ok(())
}

/// Errors over the wire are JSON too, with the right status: 401 without a
/// token, 404 for no route, 405 for a wrong method, 413 for an oversized
/// photo (as alice, `ta`); and `/healthz` answers `ok`.
async fn errors_on_the_wire(
    http: &reqwest::Client,
    (w, r): (&str, &str),
    ta: &str,
) -> anyhow::Result<()> {
    fetch(http.get(format!("{r}/v1/feed")))
        .await?
        .expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
    fetch(http.get(format!("{r}/no/such/route")))
        .await?
        .expect_error(StatusCode::NOT_FOUND, "not_found");
    fetch(http.get(format!("{w}/v1/users")))
        .await?
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let big = fetch(http.post(format!("{w}/v1/photos")).bearer_auth(ta).body(
        feedlab_system::service::media::sample_body("image/png", PHOTO_LIMIT as usize + 1, 0),
    ))
    .await?;
    big.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let h = fetch(http.get(format!("{r}/healthz"))).await?;
    assert_eq!(h.expect(StatusCode::OK).body.as_ref(), b"ok");
    Ok(())
}

/// A push service in `dir` served by `feedlab_system::http::serve` on two loopback listeners.
struct Serving {
    svc: feedlab_system::Service,
    /// Base URL of the write listener.
    write: String,
    /// Base URL of the read listener.
    read: String,
    /// Sending (or dropping) it shuts the server down.
    stop: tokio::sync::oneshot::Sender<()>,
    /// The server's task; it ends once stopped.
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Open a push service in `dir` and serve it (see [`Serving`]).
async fn serving(dir: &tempfile::TempDir) -> anyhow::Result<Serving> {
    let svc = feedlab_system::Service::open_embedded(config(
        dir,
        feedlab_system::policy::FanoutKind::Push,
    ))
    .await?;
    let wl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let rl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (write, read) = (
        format!("http://{}", wl.local_addr()?),
        format!("http://{}", rl.local_addr()?),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(feedlab_system::http::serve(wl, rl, svc.clone(), async {
        let _ = stopped.await;
    }));
    Ok(Serving {
        svc,
        write,
        read,
        stop,
        server,
    })
}

#[tokio::test]
async fn serve_answers_on_real_listeners_and_shuts_down() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let Serving {
        svc,
        write: w,
        read: r,
        stop,
        server,
    } = serving(&dir).await?;
    let http = reqwest::Client::builder().no_proxy().build()?;

    let (ta, tb) = users_and_follow(&http, &w).await?;
    upload_then_read(&http, (&w, &r), (&ta, &tb), &svc).await?;
    errors_on_the_wire(&http, (&w, &r), &ta).await?;

    let _ = stop.send(());
    server.await??;
    assert!(
        http.get(format!("{r}/healthz")).send().await.is_err(),
        "read listener closed"
    );
    assert!(
        http.get(format!("{w}/healthz")).send().await.is_err(),
        "write listener closed"
    );
    Ok(())
}

/// An answer sent before the body was read (431 for too many header lines,
/// 413 for an oversized declared length) reaches a client that is still
/// writing a large body: the server lingers on close instead of resetting
/// the connection under the client's writes. Repeated, because the reset
/// was a race the client lost only some of the time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_answer_reaches_a_client_still_sending_its_body() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let Serving {
        write: w,
        stop,
        server,
        ..
    } = serving(&dir).await?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let big = vec![b'a'; 2 << 20];
    for _ in 0..40 {
        let mut rb = http
            .post(format!("{w}/v1/users"))
            .header(header::CONTENT_TYPE, "application/json");
        for i in 0..=feedlab_system::http::limits::MAX_HEADERS {
            rb = rb.header(format!("x-filler-{i}"), "1");
        }
        fetch(rb.body(big.clone())).await?.expect_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
        );
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}
