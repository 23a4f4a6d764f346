//! [`JsonErrors`]: the connection wrapper that gives hyper's own error
//! answers the service's JSON error body.
//!
//! When hyper cannot parse a request head (a control byte in a header, more
//! header lines than it parses, a bad request line, an over-long URI), it
//! answers by itself — a bare status with `content-length: 0` — and closes
//! the connection; the service never sees the request. The service itself
//! never sends a 4xx or 5xx without a body (every error is JSON), so such a
//! head, written alone, can only be hyper's. This wrapper recognises exactly
//! that head on its way out and sends in its place the same status with a
//! `{"code","message"}` body and `connection: close`. Everything else passes
//! through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose bodiless error heads are rewritten to JSON errors.
#[derive(Debug)]
pub struct JsonErrors<T> {
    io: T,
    /// A rewritten answer not yet fully written, and how much of it was.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrors<T> {
    /// Wrap `io`.
    pub fn new(io: T) -> Self {
        JsonErrors { io, pending: None }
    }
}

/// The JSON `(code, message)` for a status hyper answers by itself.
fn error_for(status: &[u8]) -> (&'static str, &'static str) {
    match status {
        b"431" => (
            "headers_too_large",
            "the request has too many header lines or too many header bytes",
        ),
        b"414" => ("uri_too_long", "the request URI is too long"),
        _ => (
            "invalid_request",
            "the request line or a header could not be parsed (bad syntax or control bytes)",
        ),
    }
}

/// If `buf` is exactly one bodiless 4xx/5xx response head, the JSON answer
/// to send instead.
pub fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(buf).ok()?.strip_suffix("\r\n\r\n")?;
    if head.contains("\r\n\r\n") {
        return None;
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?;
    let status = rest.as_bytes().get(..3)?;
    if !matches!(status[0], b'4' | b'5') || !status.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut kept = Vec::new();
    let mut empty = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "content-length" if value.trim() == "0" => empty = true,
            "content-length" | "content-type" | "transfer-encoding" => return None,
            "connection" => {}
            _ => kept.push(line),
        }
    }
    if !empty {
        return None;
    }
    let (code, message) = error_for(status);
    let body = format!(r#"{{"code":"{code}","message":"{message}"}}"#);
    let mut out = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for line in kept {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Some(out.into_bytes())
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Write out the pending rewritten answer, if any.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((buf, pos)) = &mut self.pending {
            if *pos == buf.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &buf[*pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *pos += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Take `buf` as written, queueing its JSON replacement.
    fn replace(
        &mut self,
        cx: &mut Context<'_>,
        with: Vec<u8>,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        self.pending = Some((with, 0));
        match self.drain(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // The rest goes out on the next write, flush or shutdown.
            _ => Poll::Ready(Ok(len)),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(json) = rewrite(buf) {
            return self.replace(cx, json, buf.len());
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        let mut full = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (full.next(), full.next())
            && let Some(json) = rewrite(only)
        {
            return self.replace(cx, json, only.len());
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_a_bodiless_error_head() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite(hyper_400).expect("rewritten")).expect("utf8");
        let (head, body) = out.split_once("\r\n\r\n").expect("head");
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(head.contains("date: x"), "{head}");
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(v["code"], "invalid_request");
        let h431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(
            String::from_utf8_lossy(&rewrite(h431).expect("431")).contains("headers_too_large")
        );
        for keep in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nextra",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            b"{\"code\":1}",
        ] {
            assert!(rewrite(keep).is_none(), "{}", String::from_utf8_lossy(keep));
        }
    }
}
