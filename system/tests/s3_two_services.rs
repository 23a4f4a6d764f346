//! Two app servers over one S3 bucket (Garage from `scripts/s3-dev start`)
//! and shared fjall metadata: uploads through both under each id scheme,
//! every photo read back byte for byte through the other server. Reads
//! `FEEDLAB_S3_*`; when `FEEDLAB_S3_ENDPOINT` is unset the test prints the
//! skip line and passes, unless `FEEDLAB_REQUIRE_S3=1`.

mod common;
mod pair;

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use feedlab_system::blob::{BlobStore, S3BlobStore};
use feedlab_system::ids::IdScheme;
use feedlab_system::service::media::sample_body;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_share_one_bucket() {
    for ids in [IdScheme::Node, IdScheme::Ticket] {
        let Some(s3) = common::s3_config("two-services") else {
            return;
        };
        let mut stores = pair::fjall(false);
        stores.blobs = Arc::new(S3BlobStore::open(&s3).await.expect("open the S3 store"))
            as Arc<dyn BlobStore>;
        let cfg = pair::config(&stores, ids);
        let (a, b) = pair::pair(&stores, &cfg).await;
        let owner = a.create_user("o", "o@x.test").await.expect("user").id;
        let mut uploaded = Vec::new();
        for i in 0..40usize {
            let svc = if i % 2 == 0 { &a } else { &b };
            let body = Bytes::from(sample_body("image/png", 1_000 + i, i as u8));
            let row = svc
                .upload(owner, "s3 pair", Some("image/png"), body.clone())
                .await
                .expect("upload");
            uploaded.push((i, row.id, body));
        }
        let ids_seen: HashSet<_> = uploaded.iter().map(|(_, id, _)| *id).collect();
        assert_eq!(
            ids_seen.len(),
            uploaded.len(),
            "{}: duplicate ids",
            ids.name()
        );
        for (i, pid, body) in &uploaded {
            let other = if i % 2 == 0 { &b } else { &a };
            let (_, got) = other.photo_bytes(*pid, None).await.expect("read back");
            assert!(
                got == *body,
                "photo {} differs through the other server",
                pid.0
            );
        }
        a.shutdown().await;
        b.shutdown().await;
        eprintln!(
            "{}: 40 uploads over one bucket through two servers",
            ids.name()
        );
    }
}
