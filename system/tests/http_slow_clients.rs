//! `http::serve` against hostile clients, over real sockets: uploads that
//! trickle their bodies, heads that never finish, a declared body far over
//! the limit, and heads hyper cannot parse. The service must stay
//! responsive, close what it should, and answer in JSON wherever it answers.

mod common;

use std::time::{Duration, Instant};

use common::*;
use feedlab_system::{Service, ServiceConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A served service on ephemeral ports; stops when dropped.
struct Served {
    svc: Service,
    write: std::net::SocketAddr,
    read: std::net::SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn serve(tweak: impl FnOnce(&mut ServiceConfig)) -> anyhow::Result<Served> {
    let dir = tempfile::tempdir()?;
    let mut cfg = config(&dir, feedlab_system::policy::FanoutKind::Push);
    tweak(&mut cfg);
    let svc = Service::open_embedded(cfg).await?;
    let wl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let rl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (write, read) = (wl.local_addr()?, rl.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(feedlab_system::http::serve(wl, rl, svc.clone(), async {
        let _ = stopped.await;
    }));
    Ok(Served {
        svc,
        write,
        read,
        _stop: stop,
        _dir: dir,
    })
}

/// Read one response (head and a `content-length` body) from `s`, waiting
/// at most `within`. Returns (status, head, body); status 0 if the server
/// closed without answering.
async fn response(s: &mut TcpStream, within: Duration) -> anyhow::Result<(u16, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let read_all = async {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    return Ok::<_, std::io::Error>(Some((end, len)));
                }
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return Ok(None),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let got = tokio::time::timeout(within, read_all).await??;
    let Some((end, len)) = got else {
        return Ok((0, String::new(), buf));
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, head, buf[end + 4..end + 4 + len].to_vec()))
}

/// Assert a JSON error body with `code`.
fn json_code(body: &[u8], code: &str) {
    let v: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(body)));
    assert_eq!(v["code"], code, "{v}");
    assert!(v["message"].is_string(), "{v}");
}

/// `POST /v1/users` over a fresh connection; returns the status and how
/// long the answer took.
async fn create_user_timed(
    addr: std::net::SocketAddr,
    n: usize,
) -> anyhow::Result<(u16, Duration)> {
    let body = format!(r#"{{"name":"u{n}","email":"u{n}@x.test"}}"#);
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).await?;
    let req = format!(
        "POST /v1/users HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let (status, _, _) = response(&mut s, Duration::from_secs(30)).await?;
    Ok((status, t0.elapsed()))
}

/// A user's token, made directly on the service.
async fn token(svc: &Service) -> anyhow::Result<String> {
    Ok(svc.create_user("uploader", "up@x.test").await?.token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_uploads_do_not_block_other_writes() -> anyhow::Result<()> {
    // The default body pace would end a trickle after 10 s; the test is
    // over well before that, so all 300 stay open while users are created.
    let s = serve(|_| {}).await?;
    let tok = token(&s.svc).await?;
    let head = format!(
        "POST /v1/photos HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {tok}\r\ncontent-type: image/jpeg\r\ncontent-length: 60000\r\n\r\n"
    );
    let mut tricklers = Vec::new();
    for _ in 0..300 {
        let mut c = TcpStream::connect(s.write).await?;
        c.write_all(head.as_bytes()).await?;
        c.write_all(&[0xFF, 0xD8, 0xFF]).await?;
        tricklers.push(c);
    }
    let mut worst = Duration::ZERO;
    for round in 0..10 {
        for c in &mut tricklers {
            // A trickler past the upload pool's slots and queue was refused
            // (503) and its connection closed: its writes may fail.
            let _ = c.write_all(&[0]).await;
        }
        let (status, took) = create_user_timed(s.write, round).await?;
        assert_eq!(status, 201, "round {round}");
        worst = worst.max(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each trickler holds an upload slot, still unanswered (the load was
    // real), or was refused by admission control: never anything else.
    let (mut open, mut refused) = (0, 0);
    for c in &mut tricklers {
        let mut b = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(1), c.peek(&mut b)).await {
            Err(_) => open += 1,
            // Answered: it must be the refusal. (Its writes after the
            // answer may have reset the connection, losing the answer.)
            Ok(Ok(n)) if n > 0 => {
                let (status, head, body) = response(c, Duration::from_secs(5)).await?;
                assert_eq!(status, 503, "{head}");
                json_code(&body, "overloaded");
                refused += 1;
            }
            Ok(_) => refused += 1,
        }
    }
    let slots = feedlab_system::ServiceConfig::default().upload_concurrency;
    assert_eq!(
        (open, refused),
        (slots, 300 - slots),
        "held and refused uploads"
    );
    // The issue's acceptance line, as a generous bound: a blocked write
    // waits for a trickle to end (seconds), a free one takes milliseconds.
    assert!(
        worst < Duration::from_secs(1),
        "POST /v1/users took {worst:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_trickled_body_times_out_408_and_a_stalled_head_is_closed() -> anyhow::Result<()> {
    let s = serve(|c| {
        c.body_timeout_ms = 300;
        c.body_min_rate = 1024;
        c.header_timeout_ms = 300;
    })
    .await?;
    let tok = token(&s.svc).await?;
    let mut c = TcpStream::connect(s.write).await?;
    let head = format!(
        "POST /v1/photos HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {tok}\r\ncontent-length: 5000\r\n\r\n"
    );
    c.write_all(head.as_bytes()).await?;
    c.write_all(&[0xFF, 0xD8, 0xFF]).await?;
    let (status, head, body) = response(&mut c, Duration::from_secs(20)).await?;
    assert_eq!(status, 408, "{head}");
    json_code(&body, "body_timeout");
    assert!(head.to_lowercase().contains("connection: close"), "{head}");

    // Half a head, then silence: the connection is closed.
    let mut c = TcpStream::connect(s.read).await?;
    c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n").await?;
    let mut b = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(20), c.read(&mut b)).await?;
    assert!(matches!(n, Ok(0) | Err(_)), "expected a close, got {n:?}");
    Ok(())
}

#[tokio::test]
async fn a_declared_600_mb_upload_is_refused_before_its_body() -> anyhow::Result<()> {
    let s = serve(|c| c.video_limit = 500 << 20).await?;
    let tok = token(&s.svc).await?;
    for (ct, expect) in [("video/mp4", 413), ("", 413), ("image/jpeg", 413)] {
        let mut c = TcpStream::connect(s.write).await?;
        let ct = if ct.is_empty() {
            String::new()
        } else {
            format!("content-type: {ct}\r\n")
        };
        // Not one byte of body is ever sent: an answer proves it was not read.
        let head = format!(
            "POST /v1/photos HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {tok}\r\n{ct}expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
            600u64 << 20
        );
        c.write_all(head.as_bytes()).await?;
        let (status, head, body) = response(&mut c, Duration::from_secs(20)).await?;
        assert_eq!(status, expect, "{head}");
        json_code(&body, "payload_too_large");
    }
    // A photo type is held to the photo limit already at the head.
    let mut c = TcpStream::connect(s.write).await?;
    let head = format!(
        "POST /v1/photos HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {tok}\r\ncontent-type: image/png\r\ncontent-length: {}\r\n\r\n",
        PHOTO_LIMIT + 1
    );
    c.write_all(head.as_bytes()).await?;
    let (status, _, body) = response(&mut c, Duration::from_secs(20)).await?;
    assert_eq!(status, 413);
    json_code(&body, "payload_too_large");
    Ok(())
}

#[tokio::test]
async fn unparseable_heads_get_a_json_error() -> anyhow::Result<()> {
    let s = serve(|_| {}).await?;
    let many: String = (0..300).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases = [
        (
            "GET /healthz HTTP/1.1\r\nhost: x\r\nx-bad: a\x01b\r\n\r\n".to_string(),
            400,
            "invalid_request",
        ),
        (
            "GET /healthz HTTP/1.1\r\nhost: x\r\nx-bad: \x1b[31m\r\n\r\n".to_string(),
            400,
            "invalid_request",
        ),
        (
            "GET /hea lthz HTTP/1.1\r\nhost: x\r\n\r\n".to_string(),
            400,
            "invalid_request",
        ),
        (
            format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many}\r\n"),
            431,
            "headers_too_large",
        ),
        (
            format!(
                "GET /healthz HTTP/1.1\r\nhost: x\r\n{}\r\n",
                &many[..many.len() / 2]
            ),
            431,
            "headers_too_large",
        ),
    ];
    for (req, status, code) in cases {
        let mut c = TcpStream::connect(s.read).await?;
        c.write_all(req.as_bytes()).await?;
        let (got, head, body) = response(&mut c, Duration::from_secs(20)).await?;
        assert_eq!(got, status, "{head}");
        assert!(
            head.to_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        json_code(&body, code);
    }
    // A good request on a keep-alive connection still works after all that.
    let mut c = TcpStream::connect(s.read).await?;
    for _ in 0..2 {
        c.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await?;
        assert_eq!(response(&mut c, Duration::from_secs(20)).await?.0, 200);
    }
    Ok(())
}
