//! [`Origin`]: a lean HTTP/1.1 client for one `host:port`, one connection per request in flight.
//!
//! This is the load generator's hot path. The driver keeps up to `max_in_flight` requests
//! outstanding, and like wrk's `-c` each one has a connection of its own: a request takes an
//! idle connection (or opens one when none is idle), sends on it with hyper's HTTP/1 connection
//! API, reads the body (whole, or frame by frame counting its bytes: [`Read`]), and puts the
//! connection back at once. The pool therefore never
//! holds more connections than requests were ever in flight together, and a request never waits
//! on another one's connection.
//!
//! It replaces reqwest on this path. With reqwest (hyper-util's legacy client: URL parsing, a
//! pool checkout raced against a background connect, one more spawned task per request to
//! return the connection) the driver spent 18–28 µs of CPU per request against wrk's 9–11 µs;
//! with this pool about 16 µs. On a core shared with other work that CPU sets the throughput
//! (see `benches/driver_vs_wrk.rs`).
//!
//! A request's body is a [`ReqBody`]: bytes whole, or an upload body generated frame by frame
//! as hyper writes it.
//!
//! A request that fails before it was written (the server closed an idle keep-alive
//! connection) is retried once on a new connection; anything later is an error.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::BodyStream;
use crate::driver::OpError;

type Sender = SendRequest<ReqBody>;

/// Each connection reads into a buffer of this fixed size. hyper's default buffer grows to
/// ~400 KiB while a large body arrives and shrinks after; with one connection per request in
/// flight, a burst of photo views grew hundreds of them at once into memory the process had
/// not touched before, and on this guest every first touch of a page costs a fault the host
/// serves (BENCHMARKS.md, "Page faults").
const READ_BUF_BYTES: usize = 64 * 1024;

/// The body of a request the driver sends.
#[derive(Debug)]
pub enum ReqBody {
    /// These bytes, in one frame (`None` once sent).
    Whole(Option<Bytes>),
    /// A synthetic upload body, generated as it is written.
    Stream(BodyStream),
}

impl ReqBody {
    /// The bytes of a [`ReqBody::Whole`] not yet sent; `None` for a stream.
    pub fn bytes(&self) -> Option<&Bytes> {
        match self {
            ReqBody::Whole(b) => b.as_ref(),
            ReqBody::Stream(_) => None,
        }
    }
}

impl Body for ReqBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = match self.get_mut() {
            ReqBody::Whole(b) => b.take().filter(|b| !b.is_empty()),
            ReqBody::Stream(s) => s.next_frame(),
        };
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReqBody::Whole(b) => b.as_ref().is_none_or(Bytes::is_empty),
            ReqBody::Stream(s) => s.is_done(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(match self {
            ReqBody::Whole(b) => b.as_ref().map_or(0, |b| b.len() as u64),
            ReqBody::Stream(s) => s.remaining(),
        })
    }
}

/// How much of a response body [`Origin::send`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// The whole body, in one buffer.
    Whole,
    /// Its length only: each frame is dropped as it arrives, as a player consumes a download,
    /// so a large body is never gathered into one fresh buffer. An answer that is not a
    /// success is kept whole (it is a JSON error).
    Length,
}

/// Connections to one `host:port` (plain HTTP), reused for sequential requests.
#[derive(Debug)]
pub(crate) struct Origin {
    authority: String,
    host: HeaderValue,
    idle: Mutex<Vec<Sender>>,
}

impl Origin {
    /// Connections to `authority` (`host:port`, as in a URL), opened lazily.
    pub(crate) fn new(authority: &str) -> std::result::Result<Self, String> {
        let host = HeaderValue::from_str(authority).map_err(|e| e.to_string())?;
        Ok(Self {
            authority: authority.to_string(),
            host,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// `host:port` of this origin.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Sender>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `req` (any URI form; sent in origin form with this origin's `Host`) and reads the
    /// response body as `read` says: the status, the body kept (empty when only counted) and
    /// the body's length. Errors: `connect` (no connection), `transport` (failed after the
    /// connection was up).
    pub(crate) async fn send(
        &self,
        req: Request<ReqBody>,
        read: Read,
    ) -> std::result::Result<(StatusCode, Bytes, u64), OpError> {
        let (mut parts, body) = req.into_parts();
        if let Some(pq) = parts.uri.path_and_query() {
            parts.uri = Uri::from(pq.clone());
        }
        parts.headers.insert(HOST, self.host.clone());
        let mut req = Request::from_parts(parts, body);
        let (mut sender, mut fresh) = self.checkout().await?;
        let resp = loop {
            match sender.try_send_request(req).await {
                Ok(resp) => break resp,
                Err(mut e) => match e.take_message() {
                    // Never written: the idle connection was closed under us. Retry once, on
                    // a new connection.
                    Some(unsent) if !fresh => {
                        req = unsent;
                        sender = self.connect().await?;
                        fresh = true;
                    }
                    _ => return Err(transport(e.error())),
                },
            }
        };
        let (head, mut body) = resp.into_parts();
        let (bytes, len) = if read == Read::Whole || !head.status.is_success() {
            let bytes = body.collect().await.map_err(|e| transport(&e))?.to_bytes();
            let len = bytes.len() as u64;
            (bytes, len)
        } else {
            let mut len = 0u64;
            while let Some(frame) = body.frame().await {
                if let Some(data) = frame.map_err(|e| transport(&e))?.data_ref() {
                    len += data.len() as u64;
                }
            }
            (Bytes::new(), len)
        };
        if !sender.is_closed() {
            self.idle().push(sender);
        }
        Ok((head.status, bytes, len))
    }

    /// An idle connection that is ready for a request, else a new one (`true`).
    async fn checkout(&self) -> std::result::Result<(Sender, bool), OpError> {
        loop {
            let Some(mut sender) = self.idle().pop() else {
                return Ok((self.connect().await?, true));
            };
            // Normally ready at once; waits only while the connection finishes its last
            // response, and fails if the server closed it (then try the next one).
            if sender.ready().await.is_ok() {
                return Ok((sender, false));
            }
        }
    }

    async fn connect(&self) -> std::result::Result<Sender, OpError> {
        let connect = |e: String| OpError::new("connect", format!("{}: {e}", self.authority));
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|e| connect(e.to_string()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| connect(e.to_string()))?;
        let (sender, conn) = http1::Builder::new()
            .read_buf_exact_size(Some(READ_BUF_BYTES))
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| connect(e.to_string()))?;
        tokio::spawn(async move {
            // Ends when the server closes or the last sender is dropped; errors surface on
            // the request that was in flight.
            let _ = conn.await;
        });
        Ok(sender)
    }
}

fn transport(e: &hyper::Error) -> OpError {
    OpError::new("transport", e.to_string())
}
