//! A 400 MB video goes in and comes back out through `feedlab serve` with
//! bounded memory: the upload streams through the spool into the blob
//! store, and the download streams back piece by piece, so the server's
//! peak resident set stays far below the video's size.

use std::process::{Child, Command};

use anyhow::{Context, bail};

mod common;
use bytes::Bytes;
use futures::StreamExt;

/// The video's size.
const LEN: usize = 400 << 20;
/// The bound on the server's peak resident set.
const RSS_LIMIT_KB: u64 = 200 << 10;
/// Bytes per piece the client sends.
const PIECE: usize = 256 << 10;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `feedlab serve` on loopback; (server, write url, read url).
fn start(data: &std::path::Path) -> anyhow::Result<(Server, String, String)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedlab"));
    cmd.args(["serve", "--data"])
        .arg(data)
        .args(["--write-addr", "127.0.0.1:0", "--read-addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn");
    let (child, write, read) = common::serve::spawn(cmd)?;
    Ok((Server(child), write, read))
}

/// Peak resident set of process `pid`, KiB (`VmHWM`).
fn peak_rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmHWM value")?
        .parse()?)
}

/// The video's bytes as a stream of pieces: a well-formed MP4 frame around
/// a filler that varies per piece. Also returns its BLAKE3.
fn video() -> (
    impl futures::Stream<Item = std::io::Result<Bytes>>,
    blake3::Hash,
) {
    let (head, tail) = feedlab_system::service::media::sample_frame("video/mp4", LEN);
    let filler = LEN - head.len() - tail.len();
    let piece = move |i: usize| -> Bytes {
        let n = PIECE.min(filler - i * PIECE);
        Bytes::from(vec![(i % 251) as u8; n])
    };
    let pieces = filler.div_ceil(PIECE);
    let mut hasher = blake3::Hasher::new();
    hasher.update(&head);
    for i in 0..pieces {
        hasher.update(&piece(i));
    }
    hasher.update(&tail);
    let body = futures::stream::iter(
        std::iter::once(Bytes::from(head))
            .chain((0..pieces).map(piece))
            .chain(std::iter::once(Bytes::from(tail)))
            .map(Ok),
    );
    (body, hasher.finalize())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_mb_video_goes_in_and_out_with_the_server_under_200_mb() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (server, write, read) = start(dir.path())?;
    let pid = server.0.id();
    let http = reqwest::Client::new();
    let user: serde_json::Value = http
        .post(format!("{write}/v1/users"))
        .json(&serde_json::json!({"name": "big", "email": "big@x.test"}))
        .send()
        .await?
        .json()
        .await?;
    let token = user["token"].as_str().context("token")?;
    let before = peak_rss_kb(pid)?;
    let (body, want) = video();
    let r = http
        .post(format!("{write}/v1/photos?title=big"))
        .bearer_auth(token)
        .header("content-type", "video/mp4")
        .header("content-length", LEN.to_string())
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await?;
    if r.status() != 201 {
        bail!("upload answered {}: {}", r.status(), r.text().await?);
    }
    let row: serde_json::Value = r.json().await?;
    assert_eq!(row["size"].as_u64(), Some(LEN as u64));
    let after_upload = peak_rss_kb(pid)?;
    let id = row["id"].as_str().context("id")?;
    let r = http.get(format!("{read}/v1/photos/{id}")).send().await?;
    assert_eq!(r.status(), 200);
    let (mut hasher, mut got) = (blake3::Hasher::new(), 0usize);
    let mut stream = r.bytes_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece?;
        got += piece.len();
        hasher.update(&piece);
    }
    assert_eq!(got, LEN, "downloaded length");
    assert_eq!(
        hasher.finalize(),
        want,
        "the video reads back byte-identical"
    );
    let after_download = peak_rss_kb(pid)?;
    eprintln!(
        "server peak RSS: {before} KiB before, {after_upload} KiB after the upload, \
         {after_download} KiB after the download of {} MiB",
        LEN >> 20
    );
    assert!(
        after_download < RSS_LIMIT_KB,
        "peak RSS {after_download} KiB is over {RSS_LIMIT_KB} KiB"
    );
    let spool = dir.path().join("spool");
    let left = std::fs::read_dir(&spool).map_or(0, |d| d.count());
    assert_eq!(left, 0, "the spool file is removed after the upload");
    Ok(())
}
