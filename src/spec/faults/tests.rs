//! Unit tests of `[[faults]]` resolution: windows, overlaps and each kind's keys.

use super::*;

fn spec(kind: FaultKind, at_s: f64, for_s: f64, shard: Option<usize>) -> FaultSpec {
    FaultSpec {
        kind,
        at_s,
        for_s,
        shard,
        extra_ms: (kind == FaultKind::SlowShard).then_some(50.0),
        how: None,
        photos: None,
        factor: None,
    }
}

#[test]
fn windows_resolve_and_overlaps_of_one_target_are_refused() {
    let ok = [
        spec(FaultKind::SlowShard, 5.0, 5.0, Some(1)),
        spec(FaultKind::SlowShard, 10.0, 5.0, Some(1)),
        spec(FaultKind::ShardDown, 6.0, 2.0, Some(1)),
        spec(FaultKind::MaterializerPause, 0.0, 20.0, None),
    ];
    let faults = resolve(&ok, 4, 20.0).expect("valid");
    assert_eq!(faults[0].action.target(), "shard 1");
    assert_eq!(faults[3].end_s(), 20.0);
    let mut bad = ok.to_vec();
    bad.push(spec(FaultKind::SlowShard, 14.0, 1.0, Some(1)));
    let e = resolve(&bad, 4, 20.0).expect_err("overlap");
    assert_eq!((e.index, e.key), (4, "at-s"));
    assert!(e.message.contains("faults[1]"), "{}", e.message);
}

#[test]
fn each_rule_names_its_key() {
    let cases: [(FaultSpec, &str); 6] = [
        (spec(FaultKind::ShardDown, 1.0, 1.0, None), "kind"),
        (
            spec(FaultKind::MaterializerPause, 1.0, 1.0, Some(0)),
            "shard",
        ),
        (spec(FaultKind::ShardDown, -1.0, 1.0, Some(0)), "at-s"),
        (spec(FaultKind::ShardDown, 1.0, 0.0, Some(0)), "for-s"),
        (spec(FaultKind::ShardDown, 15.0, 6.0, Some(0)), "for-s"),
        (spec(FaultKind::ShardDown, 1.0, 1.0, Some(4)), "shard"),
    ];
    for (s, key) in cases {
        let e = resolve(std::slice::from_ref(&s), 4, 20.0).expect_err("invalid");
        assert_eq!(e.key, key, "{s:?}: {}", e.message);
        assert!(e.message.starts_with(&format!("faults[0].{key}:")));
    }
}

#[test]
fn the_later_kinds_check_their_own_keys() {
    let base = |kind| FaultSpec {
        kind,
        at_s: 1.0,
        for_s: 2.0,
        shard: None,
        extra_ms: None,
        how: None,
        photos: None,
        factor: None,
    };
    let crowd = |factor| FaultSpec {
        factor: Some(factor),
        ..base(FaultKind::FlashCrowd)
    };
    let burst = |photos| FaultSpec {
        photos: Some(photos),
        ..base(FaultKind::CelebrityBurst)
    };
    let blob = FaultSpec {
        how: Some(BlobHow::CorruptReplica),
        ..base(FaultKind::BlobOutage)
    };
    let ok = [crowd(4.0), burst(50), blob.clone()];
    let faults = resolve(&ok, 4, 20.0).expect("valid");
    assert_eq!(faults[0].action, FaultAction::FlashCrowd { factor: 4.0 });
    assert_eq!(faults[2].action.target(), "blob store (corrupt-replica)");
    let cases: [(FaultSpec, &str); 5] = [
        (crowd(1.0), "factor"),
        (burst(0), "photos"),
        (base(FaultKind::Network), "kind"),
        (
            FaultSpec {
                shard: Some(1),
                ..blob
            },
            "shard",
        ),
        (
            FaultSpec {
                how: Some(BlobHow::Stop),
                ..crowd(2.0)
            },
            "how",
        ),
    ];
    for (s, key) in cases {
        let e = resolve(std::slice::from_ref(&s), 4, 20.0).expect_err("invalid");
        assert_eq!(e.key, key, "{s:?}: {}", e.message);
    }
    assert!(!FaultKind::Network.live() && FaultKind::SlowShard.live());
}

#[test]
fn live_refuses_network_and_replica_damage_it_cannot_do() {
    let blob = |how| FaultSpec {
        kind: FaultKind::BlobOutage,
        at_s: 1.0,
        for_s: 1.0,
        shard: None,
        extra_ms: None,
        how: Some(how),
        photos: None,
        factor: None,
    };
    let network = FaultSpec {
        kind: FaultKind::Network,
        how: None,
        extra_ms: Some(5.0),
        ..blob(BlobHow::Stop)
    };
    let mut system = feedlab_system::ServiceConfig::default();
    let plan = |specs: &[FaultSpec]| resolve(specs, 4, 20.0).expect("valid");
    let ok = plan(&[blob(BlobHow::Stop), blob(BlobHow::CorruptReplica)]);
    assert!(ok.iter().all(|f| f.action.kind().live()));
    assert_eq!(live_refusal(&ok[1..], &system), None, "local, 2 replicas");
    let e = live_refusal(&plan(&[network]), &system).expect("sim only");
    assert_eq!((e.index, e.key), (0, "kind"));
    assert!(
        e.message.contains("does not apply network"),
        "{}",
        e.message
    );
    system.blob_replicas = 1;
    let e = live_refusal(&ok, &system).expect("one replica");
    assert_eq!((e.index, e.key), (1, "how"));
    assert!(e.message.contains("blob-replicas >= 2"), "{}", e.message);
    system.blob = feedlab_system::service::BlobBackend::S3;
    let e = live_refusal(&ok, &system).expect("s3");
    assert!(
        e.message.contains("corrupt-replica needs the local"),
        "{}",
        e.message
    );
    assert_eq!(
        live_refusal(&ok[..1], &system),
        None,
        "stop works on any backend"
    );
}
