//! The [`super::super::BlobSink`] part of the conformance suite: a blob written in pieces
//! reads back as `put` would store it, is stored only on commit, and a sink dropped or used
//! out of order stores nothing.

use super::Ctx;
use crate::blob::{BlobKey, BlobSink};
use crate::error::Error;

/// Writes `data` to a new sink in pieces of `piece` bytes (and one empty piece) and
/// finishes it, checking the key and length it names.
async fn filled(cx: &Ctx, spool: &std::path::Path, data: &[u8], piece: usize) -> Box<dyn BlobSink> {
    let tag = cx.tag("sink");
    let mut sink = match cx.store.sink(spool).await {
        Ok(s) => s,
        Err(e) => panic!("{tag}: opening a sink failed: {e}"),
    };
    let mut pieces: Vec<&[u8]> = data.chunks(piece.max(1)).collect();
    pieces.insert(pieces.len().min(1), &[]);
    for p in pieces {
        if let Err(e) = sink.write(p.to_vec()).await {
            panic!("{tag}: writing a {}-byte piece failed: {e}", p.len());
        }
    }
    match sink.finish().await {
        Ok((key, len)) => assert!(
            key == BlobKey::of(data) && len == data.len() as u64,
            "{tag}: finish named {key} and {len} bytes for {} bytes",
            data.len()
        ),
        Err(e) => panic!("{tag}: finish failed: {e}"),
    }
    sink
}

/// A blob written by a sink in pieces of several sizes (empty, across the local CRC chunk,
/// over one S3 part) is absent until its commit and reads back whole and by range after;
/// committing the same bytes again is a no-op; a finished sink dropped uncommitted stores
/// nothing; a write after finish is refused and a commit before it too.
pub(super) async fn sink(cx: &mut Ctx) {
    let spool = tempfile::tempdir().expect("spool dir");
    let tag = cx.tag("sink");
    for (len, piece) in [(0usize, 1), (200_000, 7_000), ((17 << 20) + 5, 256 << 10)] {
        let data = cx.data(len);
        let key = BlobKey::of(&data);
        let sink = filled(cx, spool.path(), &data, piece).await;
        if len > 0 {
            // The empty blob's key is every run's; earlier checks stored it.
            cx.check_absent(&key, "sink before commit").await;
        }
        let res = sink.commit().await;
        assert!(res.is_ok(), "{tag}: commit of {len} bytes: {res:?}");
        let got = cx.get(&key, None).await;
        assert!(got == data, "{tag}: {len}-byte blob read back differently");
        if len > super::CHUNK as usize {
            cx.check_range(&key, &data, super::CHUNK - 3..super::CHUNK + 3)
                .await;
        }
        let again = filled(cx, spool.path(), &data, 100_000)
            .await
            .commit()
            .await;
        assert!(
            again.is_ok(),
            "{tag}: second commit of {len} bytes: {again:?}"
        );
        assert!(
            cx.get(&key, None).await == data,
            "{tag}: changed by a second commit"
        );
    }
    let data = cx.data(300_000);
    let mut sink = filled(cx, spool.path(), &data, 50_000).await;
    let late = sink.write(vec![1, 2, 3]).await;
    assert!(
        matches!(late, Err(Error::Internal(_))),
        "{tag}: a write after finish: {late:?}"
    );
    drop(sink);
    cx.check_absent(&BlobKey::of(&data), "sink dropped uncommitted")
        .await;
    let early = cx
        .store
        .sink(spool.path())
        .await
        .expect("a sink")
        .commit()
        .await;
    assert!(
        matches!(early, Err(Error::Internal(_))),
        "{tag}: a commit before finish: {early:?}"
    );
    let left = std::fs::read_dir(spool.path()).expect("spool").count();
    assert_eq!(left, 0, "{tag}: {left} files left in the spool directory");
}
