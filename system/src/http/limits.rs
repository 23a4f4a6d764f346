//! Request limits enforced before and while a handler reads the request:
//! the header count, a declared `Content-Length` over the upload limit, and
//! the body-read timeout.
//!
//! The body timeout follows Apache's `mod_reqtimeout`: once a handler first
//! reads the body, the client has `body_timeout_ms` to send data, and every
//! `body_min_rate` bytes it sends buy one more second; a pause of
//! `body_timeout_ms` with no data also ends it. A client that trickles its
//! body (one byte every few seconds) thus loses the connection within about
//! `body_timeout_ms`, instead of holding a slot for as long as it likes. The
//! handler's read fails with [`BodyTimeout`], answered as 408.
//!
//! An answer sent before the request's body was read to its end (a 401 or
//! 413 on an upload, say) carries `Connection: close` (RFC 9112 §9.6): the
//! connection closes after it, and a client must not send its next request
//! on it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::{Instant, Sleep};

use super::ApiError;
use crate::error::Error;
use crate::service::{Service, media};

/// Most header lines a request may carry (431 beyond).
pub const MAX_HEADERS: usize = 100;

/// The error a timed-out body read fails with.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body arrived too slowly")]
pub struct BodyTimeout;

/// True if `e` or any error in its source chain is a [`BodyTimeout`].
pub fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(x) = cur {
        if x.is::<BodyTimeout>() {
            return true;
        }
        cur = x.source();
    }
    false
}

/// The pace a body must keep (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct BodyPace {
    /// Allowance at the start, and the longest pause between data.
    pub timeout: Duration,
    /// Bytes per second that each earn one more second.
    pub min_rate: u64,
}

/// A request body that fails with [`BodyTimeout`] when it falls behind its
/// [`BodyPace`]. The clock starts at the first read.
pub struct TimedBody {
    inner: Body,
    pace: BodyPace,
    /// (start of the first read, bytes received, the pending deadline).
    clock: Option<(Instant, u64, Pin<Box<Sleep>>)>,
    /// Set once the body has been read to its end.
    ended: Arc<AtomicBool>,
}

impl TimedBody {
    /// Wrap `inner`.
    pub fn new(inner: Body, pace: BodyPace) -> Self {
        TimedBody {
            inner,
            pace,
            clock: None,
            ended: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A flag that turns true once the body has been read to its end.
    pub fn ended(&self) -> Arc<AtomicBool> {
        self.ended.clone()
    }

    /// The deadline after `received` bytes, the last of them at `now`.
    fn deadline(&self, start: Instant, received: u64, now: Instant) -> Instant {
        let earned = Duration::from_secs_f64(received as f64 / self.pace.min_rate.max(1) as f64);
        (start + self.pace.timeout + earned).min(now + self.pace.timeout)
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.clock.is_none() {
            let now = Instant::now();
            let sleep = Box::pin(tokio::time::sleep_until(now + this.pace.timeout));
            this.clock = Some((now, 0, sleep));
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || this.inner.is_end_stream() {
            this.ended.store(true, Ordering::Release);
        }
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref()
                    && !d.is_empty()
                {
                    let now = Instant::now();
                    let (start, received) = this.clock.as_ref().map_or((now, 0), |c| (c.0, c.1));
                    let received = received + d.len() as u64;
                    let deadline = this.deadline(start, received, now);
                    if let Some(c) = &mut this.clock {
                        c.1 = received;
                        c.2.as_mut().reset(deadline);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                if let Some((_, _, sleep)) = &mut this.clock
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    return Poll::Ready(Some(Err(axum::Error::new(BodyTimeout))));
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Middleware: refuse more than [`MAX_HEADERS`] header lines (431), put
/// the body on the service's [`BodyPace`], and close the connection after
/// an answer sent before the body was read to its end.
pub async fn guard(State(svc): State<Service>, req: Request, next: Next) -> Response {
    let has_body = !req.body().is_end_stream();
    if req.headers().len() > MAX_HEADERS {
        let res = ApiError {
            status: axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            code: "headers_too_large",
            message: format!("more than {MAX_HEADERS} header lines"),
        }
        .into_response();
        return close_if(has_body, res);
    }
    let cfg = svc.config();
    let pace = BodyPace {
        timeout: Duration::from_millis(cfg.body_timeout_ms),
        min_rate: cfg.body_min_rate,
    };
    let (parts, body) = req.into_parts();
    let body = TimedBody::new(body, pace);
    let ended = body.ended();
    let res = next.run(Request::from_parts(parts, Body::new(body))).await;
    close_if(has_body && !ended.load(Ordering::Acquire), res)
}

/// `res` with `Connection: close` when `close`.
fn close_if(close: bool, mut res: Response) -> Response {
    if close {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Middleware of the upload route: a declared `Content-Length` over the
/// limit of the declared media type (the larger limit when the type says
/// nothing) is refused with 413 before any of the body is read.
pub async fn declared_length(State(svc): State<Service>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let declared_type = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let cfg = svc.config();
    let limit = media::limit_for(declared_type, cfg.photo_limit, cfg.video_limit);
    let len = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if len.is_some_and(|n| n > limit) {
        return ApiError::from(Error::PayloadTooLarge { limit }).into_response();
    }
    next.run(req).await
}
