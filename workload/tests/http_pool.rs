//! HttpTarget's connection pool against a bare HTTP/1.1 server that counts connections: one
//! connection per request in flight and reuse after, replacement of a connection the server
//! closed while idle, and how timeouts, refused connections and bad base URLs are reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use feedlab_workload::{Endpoint, HttpConfig, HttpTarget, UserDirectory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn target(write: &str, read: &str) -> HttpTarget {
    HttpTarget::new(HttpConfig::new(write, read), Arc::new(UserDirectory::new())).expect("client")
}

/// A bare HTTP/1.1 server that counts connections and answers every request `200 ok`; with
/// `close` it closes each connection after one response (as an idle timeout would), with
/// `mute` it never answers.
async fn counting_server(close: bool, mute: bool) -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let conns = Arc::new(AtomicU64::new(0));
    let counter = conns.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut req = Vec::new();
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                    if mute || !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        continue;
                    }
                    req.clear();
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if sock.write_all(ok).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), conns)
}

/// Sequential requests share one connection; concurrent ones use at most one connection each
/// (like wrk's `-c`), and those are kept for the next round rather than reopened.
#[tokio::test]
async fn connections_are_reused_one_per_request_in_flight() {
    let (base, conns) = counting_server(false, false).await;
    let t = Arc::new(target(&base, &base));
    for _ in 0..50 {
        let body = t.call(Endpoint::Health, None).await.expect("health");
        assert_eq!(&body[..], b"ok");
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1);
    for _ in 0..5 {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let t = t.clone();
            tasks.spawn(async move { t.call(Endpoint::Health, None).await });
        }
        while let Some(r) = tasks.join_next().await {
            r.expect("task").expect("health");
        }
    }
    let n = conns.load(Ordering::SeqCst);
    assert!((1..=8).contains(&n), "{n} connections for 8 in flight");
}

/// A connection the server closed while it was idle is replaced, not reported as an error.
#[tokio::test]
async fn a_connection_closed_while_idle_is_replaced() {
    let (base, conns) = counting_server(true, false).await;
    let t = target(&base, &base);
    for _ in 0..5 {
        t.call(Endpoint::Health, None).await.expect("health");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(conns.load(Ordering::SeqCst), 5);
}

/// No answer within the configured timeout is `timeout`; a refused connection is `connect`;
/// only plain-HTTP bases are accepted.
#[tokio::test]
async fn timeouts_refusals_and_bad_bases_are_reported() {
    let (base, _) = counting_server(false, true).await;
    let mut cfg = HttpConfig::new(&base, &base);
    cfg.timeout = Duration::from_millis(200);
    let t = HttpTarget::new(cfg, Arc::new(UserDirectory::new())).expect("client");
    let err = t.call(Endpoint::Health, None).await.expect_err("mute");
    assert_eq!(err.code, "timeout", "{err}");

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let t = target(&format!("http://{addr}"), &format!("http://{addr}"));
    let err = t.call(Endpoint::Health, None).await.expect_err("refused");
    assert_eq!(err.code, "connect", "{err}");

    for bad in ["https://x.test", "x.test:80", "http://"] {
        assert!(
            HttpTarget::new(HttpConfig::new(bad, bad), Arc::new(UserDirectory::new())).is_err(),
            "{bad}"
        );
    }
}
