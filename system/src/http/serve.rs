//! The accept loops of both listeners: HTTP/1.1 connections served by hyper
//! with the protections a public listener needs.
//!
//! - A request head must arrive within `header_timeout_ms`; a connection
//!   that dribbles its headers (or opens and sends nothing) is closed.
//! - hyper parses up to [`PARSED_HEADERS`] header lines, so a request with
//!   more than [`super::limits::MAX_HEADERS`] still reaches the service and
//!   gets the JSON 431; past that, and for every other head hyper cannot
//!   parse, [`super::conn::JsonErrors`] turns hyper's own bodiless error
//!   answer into the JSON error.
//! - Body reads are bounded by [`super::limits`] (a middleware, so it also
//!   covers `oneshot` tests).
//! - A closing connection lingers ([`super::linger`]), so a client still
//!   sending a body reads an early answer instead of a reset.
//!
//! Only HTTP/1.1 is spoken: h2c prior-knowledge would bypass the head
//! timeout, and no client of the service uses it.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::conn::JsonErrors;
use super::linger::Linger;
use crate::service::Service;

/// Header lines hyper will parse before answering 431 itself.
pub const PARSED_HEADERS: usize = 256;

/// Serve both routers until `shutdown` resolves, then stop accepting, let
/// in-flight requests finish and drain the materializer.
pub async fn serve(
    write: TcpListener,
    read: TcpListener,
    svc: Service,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let head = Duration::from_millis(svc.config().header_timeout_ms);
    let w = listen(write, super::write_router(svc.clone()), head, rx.clone());
    let r = listen(read, super::read_router(svc.clone()), head, rx);
    let (a, b) = tokio::join!(w, r);
    svc.shutdown().await;
    a.and(b)
}

/// Accept on `listener` until `stop` turns true, then wait for the open
/// connections to finish their requests.
async fn listen(
    listener: TcpListener,
    router: Router,
    head_timeout: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .max_headers(PARSED_HEADERS);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                accept_error(e).await;
                continue;
            }
        };
        // Small JSON answers: do not let Nagle hold them back.
        let _ = tcp.set_nodelay(true);
        let svc = router
            .clone()
            .map_request(|req: Request<Incoming>| req.map(Body::new));
        let conn = http.serve_connection(
            TokioIo::new(JsonErrors::new(Linger::new(tcp))),
            TowerToHyperService::new(svc),
        );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Per-connection accept errors (the peer reset) are ignored; anything else
/// (out of file descriptors) is logged and retried after a pause, so the
/// loop neither spins nor dies.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept failed: {e}; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
