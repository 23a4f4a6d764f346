//! [`Linger`]: the connection wrapper that closes the way a client still
//! sending a body can hear the answer ("lingering close", RFC 9112 §9.6).
//!
//! An answer sent before the request body was read (a 413, a 431, a 401 on
//! an upload) carries `Connection: close`, and hyper then closes the socket.
//! If unread body bytes are still in the kernel's receive buffer at that
//! moment, closing makes the kernel send a reset, and a client still writing
//! its body gets "broken pipe" or "connection reset" instead of the answer
//! that was already on its way. So when hyper shuts the connection down,
//! this wrapper first closes the write side (the answer and a FIN go out)
//! and then reads and discards what the client still sends, until the
//! client closes, or [`IDLE`] passes with nothing read, or [`TOTAL`] passes,
//! or [`MAX_BYTES`] were discarded — whichever comes first. A connection
//! therefore lingers for at most [`TOTAL`]; an idle keep-alive client that
//! does not close costs at most [`IDLE`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Longest a closing connection keeps discarding the client's bytes.
pub const TOTAL: Duration = Duration::from_secs(2);
/// Longest it waits for the next byte before giving up on the client.
pub const IDLE: Duration = Duration::from_millis(250);
/// Most bytes it discards.
pub const MAX_BYTES: u64 = 64 << 20;

/// Where a connection is in its close.
#[derive(Debug)]
enum State {
    Open,
    /// Write side shut; discarding reads until one of the limits.
    Draining {
        total: Pin<Box<Sleep>>,
        idle: Pin<Box<Sleep>>,
        discarded: u64,
    },
    Closed,
}

/// A connection that lingers on close; see the module docs.
#[derive(Debug)]
pub struct Linger<T> {
    io: T,
    state: State,
}

impl<T> Linger<T> {
    /// Wrap `io`.
    pub fn new(io: T) -> Self {
        Linger {
            io,
            state: State::Open,
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Linger<T> {
    /// Discard reads until the client closes or a limit is reached.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let State::Draining {
            total,
            idle,
            discarded,
        } = &mut self.state
        else {
            return Poll::Ready(());
        };
        let mut scratch = [0u8; 16 * 1024];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    *discarded += buf.filled().len() as u64;
                    if *discarded >= MAX_BYTES {
                        return Poll::Ready(());
                    }
                    idle.as_mut().reset(Instant::now() + IDLE);
                }
                // The client closed, or the socket failed: nothing to wait for.
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => {
                    if total.as_mut().poll(cx).is_ready() || idle.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Linger<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Linger<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    /// Passed through, so that hyper writes a response's head and body with one `writev`
    /// instead of copying the body into its own buffer: the copy of a 1 MiB photo read put
    /// every view's bytes through freshly faulted memory.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let State::Open = this.state {
            ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
            let now = Instant::now();
            this.state = State::Draining {
                total: Box::pin(tokio::time::sleep_until(now + TOTAL)),
                idle: Box::pin(tokio::time::sleep_until(now + IDLE)),
                discarded: 0,
            };
        }
        ready!(this.poll_drain(cx));
        this.state = State::Closed;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Vectored writes reach the socket as such: hyper copies every body into its own
    /// buffer when the connection says it cannot take them.
    #[tokio::test]
    async fn vectored_writes_pass_through() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (client, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        let (mut client, (server, _)) = (client.expect("connect"), accepted.expect("accept"));
        assert!(
            server.is_write_vectored(),
            "a TCP stream takes vectored writes"
        );
        let mut server = Linger::new(server);
        assert!(server.is_write_vectored());
        let bufs = [io::IoSlice::new(b"head "), io::IoSlice::new(b"body")];
        let n = server.write_vectored(&bufs).await.expect("writev");
        assert_eq!(n, 9, "both slices in one write");
        let mut got = [0u8; 9];
        client.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"head body");
    }

    /// A peer that sends after the close has its bytes discarded, and the
    /// close ends when the peer closes, before any limit.
    #[tokio::test]
    async fn drains_until_the_peer_closes() {
        let (server, mut client) = tokio::io::duplex(1024);
        let mut server = Linger::new(server);
        let closing = tokio::spawn(async move {
            server.write_all(b"answer").await.expect("write");
            server.shutdown().await.expect("shutdown");
            server
        });
        let mut got = [0u8; 6];
        client.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"answer");
        for _ in 0..64 {
            client.write_all(&[7u8; 1000]).await.expect("body");
        }
        drop(client);
        let server = closing.await.expect("join");
        match server.state {
            State::Closed => {}
            other => panic!("still {other:?}"),
        }
    }

    /// A peer that neither sends nor closes is given up on after [`IDLE`].
    #[tokio::test(start_paused = true)]
    async fn an_idle_peer_is_given_up_on() {
        let (server, _client) = tokio::io::duplex(1024);
        let mut server = Linger::new(server);
        let start = Instant::now();
        server.shutdown().await.expect("shutdown");
        let waited = start.elapsed();
        assert!(waited >= IDLE && waited < TOTAL, "{waited:?}");
    }

    /// A peer that keeps sending is cut off after [`TOTAL`].
    #[tokio::test(start_paused = true)]
    async fn a_sending_peer_is_cut_off_after_the_total() {
        let (server, mut client) = tokio::io::duplex(1024);
        let mut server = Linger::new(server);
        let feeder = tokio::spawn(async move {
            while client.write_all(&[1u8; 10]).await.is_ok() {
                tokio::time::sleep(IDLE / 4).await;
            }
        });
        let start = Instant::now();
        server.shutdown().await.expect("shutdown");
        let waited = start.elapsed();
        assert!(waited >= TOTAL && waited < TOTAL + IDLE, "{waited:?}");
        feeder.abort();
    }
}
