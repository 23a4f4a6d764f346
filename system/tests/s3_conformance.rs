//! The S3 blob backend against a real S3-compatible server (Garage from
//! `scripts/s3-dev start`; MinIO or AWS work the same). Reads `FEEDLAB_S3_*`;
//! when `FEEDLAB_S3_ENDPOINT` is unset each test prints the skip line and
//! passes, unless `FEEDLAB_REQUIRE_S3=1`. Every test writes under its own
//! key prefix.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use feedlab_system::Error;
use feedlab_system::blob::s3::PART_SIZE;
use feedlab_system::blob::{BlobKey, BlobStore, S3BlobStore, conformance};
use feedlab_system::service::S3Config;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(seed: u64, len: usize) -> Bytes {
    let mut v = vec![0u8; len];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut v);
    Bytes::from(v)
}

async fn store(test: &str) -> Option<(S3Config, S3BlobStore)> {
    let cfg = common::s3_config(test)?;
    let store = S3BlobStore::open(&cfg).await.expect("open the S3 store");
    Some((cfg, store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_passes_the_blob_conformance_suite() {
    let Some((cfg, store)) = store("conformance").await else {
        return;
    };
    eprintln!(
        "running the blob conformance suite on S3 at {}",
        cfg.endpoint
    );
    conformance::test_suite(Arc::new(store)).await;
}

/// A video-sized blob goes up as a multipart upload (three parts) and reads
/// back whole and across the part boundaries; a second put is a no-op.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_multipart_video_roundtrip_and_ranges() {
    let Some((_cfg, store)) = store("multipart").await else {
        return;
    };
    let len = 2 * PART_SIZE + 123_457;
    let data = random(7, len as usize);
    let key = BlobKey::of(&data);
    store.put(&key, data.clone()).await.expect("multipart put");
    let head = store.head(&key).await.expect("head");
    assert_eq!(head.map(|m| m.size), Some(len));
    let got = store.get(&key, None).await.expect("full get");
    assert!(got == data, "multipart blob read back differently");
    for r in [
        PART_SIZE - 10..PART_SIZE + 10,
        2 * PART_SIZE - 1..2 * PART_SIZE + 1,
        len - 5..len + 100,
    ] {
        let got = store.get(&key, Some(r.clone())).await.expect("range");
        let end = r.end.min(len) as usize;
        assert!(got == data[r.start as usize..end], "range {r:?} differs");
    }
    store.put(&key, data).await.expect("second put");
    store.delete(&key).await.expect("delete");
    assert_eq!(store.head(&key).await.expect("head"), None);
}

/// An object whose bytes do not hash to its key (written behind the
/// store's back with a plain S3 client) is reported corrupt on a full read,
/// never returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_full_read_verifies_the_hash() {
    use minio::s3::client::MinioClientBuilder;
    use minio::s3::creds::StaticProvider;
    let Some((cfg, store)) = store("corrupt").await else {
        return;
    };
    let (good, bad) = (random(1, 10_000), random(2, 10_000));
    let key = BlobKey::of(&good);
    let raw = MinioClientBuilder::new(cfg.endpoint.parse().expect("endpoint"))
        .provider(Some(StaticProvider::new(
            &cfg.access_key,
            &cfg.secret_key,
            None,
        )))
        .build()
        .expect("client");
    raw.put_object_content(cfg.bucket.as_str(), store.object_name(&key), bad)
        .expect("request")
        .build()
        .send()
        .await
        .expect("raw put");
    let got = store.get(&key, None).await;
    assert!(
        matches!(got, Err(Error::Corrupt(_))),
        "want Corrupt, got {:?}",
        got.map(|b| b.len())
    );
    // A put of the right bytes repairs it (small blobs are overwritten).
    store.put(&key, good.clone()).await.expect("put");
    assert!(store.get(&key, None).await.expect("get") == good);
}

/// Connection refused is `Unavailable` (retryable, 503), quickly.
#[tokio::test]
async fn s3_unreachable_server_is_unavailable() {
    let Some(cfg) = common::s3_config("unreachable") else {
        return;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let cfg = S3Config {
        endpoint: format!("http://127.0.0.1:{port}"),
        ..cfg
    };
    match S3BlobStore::open(&cfg).await {
        Err(e @ Error::Unavailable(_)) => assert!(e.is_retryable()),
        other => panic!("want Unavailable, got {other:?}"),
    }
    let store = S3BlobStore::new(&cfg).expect("client");
    let data = random(3, 1000);
    let res = store.put(&BlobKey::of(&data), data).await;
    assert!(matches!(res, Err(Error::Unavailable(_))), "{res:?}");
}

/// Configuration faults are clear and not retryable.
#[tokio::test]
async fn s3_bad_bucket_and_credentials_are_config_errors() {
    let Some(cfg) = common::s3_config("badcfg") else {
        return;
    };
    let missing = S3Config {
        bucket: "feedlab-no-such-bucket".into(),
        ..cfg.clone()
    };
    match S3BlobStore::open(&missing).await {
        Err(Error::InvalidInput(m)) => assert!(m.contains("does not exist"), "{m}"),
        other => panic!("want InvalidInput for a missing bucket, got {other:?}"),
    }
    let wrong = S3Config {
        secret_key: "0".repeat(64),
        ..cfg.clone()
    };
    let store = S3BlobStore::new(&wrong).expect("client");
    let data = random(4, 1000);
    let res = store.put(&BlobKey::of(&data), data).await;
    match res {
        Err(e) => assert!(!e.is_retryable(), "bad credentials are retryable: {e:?}"),
        Ok(()) => panic!("a put with a wrong secret key succeeded"),
    }
    let empty = S3Config {
        endpoint: String::new(),
        ..cfg
    };
    assert!(matches!(
        S3BlobStore::new(&empty),
        Err(Error::InvalidInput(_))
    ));
}
