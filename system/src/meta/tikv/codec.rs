//! Pure encodings of the TiKV backend: namespaced keys, tagged values and
//! the mapping of a caller's [`KeyRange`] into the stored key space.
//!
//! - **Keys.** Every stored key is `namespace ++ key`. A namespace lets many
//!   stores (one per shard, one per test run) share one cluster without
//!   seeing each other's keys. Namespaces must be *prefix-free* among the
//!   stores sharing a cluster (none a prefix of another), which
//!   [`shard_namespace`] guarantees by ending every namespace with a
//!   fixed-width shard id and `/`.
//! - **Values.** TiKV does not accept empty values everywhere (the raw API
//!   rejects them and an empty value is ambiguous with "no value" in some
//!   client paths), while the [`MetaStore`](crate::meta::MetaStore) contract
//!   allows them. Every stored value is therefore `VALUE_TAG ++ value`: one
//!   byte of overhead, never empty, and a version byte should the encoding
//!   ever change. A stored value without the tag is reported as
//!   [`Error::Corrupt`] rather than returned half-decoded.
//! - **Ranges.** `[start, end)` maps to `[ns ++ start, ns ++ end)`; an
//!   unbounded end maps to the namespace's prefix successor, so a scan never
//!   leaves its namespace (and never walks the regions of other
//!   namespaces). Namespaces made only of `0xff` bytes have no successor and
//!   are rejected by [`validate_namespace`], so a mapped range always has an
//!   end.

use crate::error::{Error, Result};
use crate::meta::{KeyRange, prefix_successor};

/// First byte of every stored value: version 1 of the value encoding.
pub const VALUE_TAG: u8 = 0x01;

/// A range of stored (namespaced) keys, `[start, end)`, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRange {
    /// Inclusive lower bound (a stored key).
    pub start: Vec<u8>,
    /// Exclusive upper bound (a stored key); always greater than `start`.
    pub end: Vec<u8>,
}

/// Check that `ns` can serve as a namespace: non-empty and not all `0xff`
/// (such a prefix has no successor, so its end could not be bounded).
pub fn validate_namespace(ns: &[u8]) -> Result<()> {
    if ns.is_empty() {
        return Err(Error::InvalidInput(
            "tikv namespace must not be empty".into(),
        ));
    }
    if prefix_successor(ns).is_none() {
        return Err(Error::InvalidInput(
            "tikv namespace must not consist only of 0xff bytes".into(),
        ));
    }
    Ok(())
}

/// The namespace of shard `shard` under `base` (e.g. `b"feedlab/"`):
/// `base ++ 8 lowercase hex digits ++ "/"`. Fixed width makes the namespaces
/// of different shards prefix-free.
pub fn shard_namespace(base: &[u8], shard: u32) -> Vec<u8> {
    let mut ns = base.to_vec();
    ns.extend_from_slice(format!("{shard:08x}/").as_bytes());
    ns
}

/// The stored key of `key` in namespace `ns`.
pub fn encode_key(ns: &[u8], key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(ns.len() + key.len());
    k.extend_from_slice(ns);
    k.extend_from_slice(key);
    k
}

/// The caller's key of a stored key; [`Error::Corrupt`] if the stored key
/// lies outside `ns` (a scan returned a key it should not have).
pub fn decode_key(ns: &[u8], stored: &[u8]) -> Result<Vec<u8>> {
    stored
        .strip_prefix(ns)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Error::Corrupt(format!("tikv key {stored:02x?} is outside the namespace")))
}

/// The stored form of a value: [`VALUE_TAG`] followed by the bytes.
pub fn encode_value(value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(value.len() + 1);
    v.push(VALUE_TAG);
    v.extend_from_slice(value);
    v
}

/// The caller's value of a stored value; [`Error::Corrupt`] when the tag is
/// missing or unknown.
pub fn decode_value(mut stored: Vec<u8>) -> Result<Vec<u8>> {
    match stored.first() {
        Some(&VALUE_TAG) => {
            stored.remove(0);
            Ok(stored)
        }
        Some(t) => Err(Error::Corrupt(format!(
            "tikv value has unknown tag {t:#04x}"
        ))),
        None => Err(Error::Corrupt("tikv value is empty (no tag)".into())),
    }
}

/// Map `range` into namespace `ns`; `None` when the range is empty
/// (`end <= start`), so no request needs to be sent. `ns` must have passed
/// [`validate_namespace`].
pub fn map_range(ns: &[u8], range: &KeyRange) -> Option<StoredRange> {
    let start = encode_key(ns, &range.start);
    let end = match &range.end {
        Some(e) => encode_key(ns, e),
        None => prefix_successor(ns)?,
    };
    (start < end).then_some(StoredRange { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_keep_order() {
        let ns = b"feedlab/00000001/";
        let mut keys: Vec<&[u8]> = vec![b"", b"\x00", b"a", b"ab", b"b", b"\xff", b"\xff\xff"];
        keys.sort();
        let stored: Vec<Vec<u8>> = keys.iter().map(|k| encode_key(ns, k)).collect();
        assert!(stored.windows(2).all(|w| w[0] < w[1]), "order preserved");
        for (k, s) in keys.iter().zip(&stored) {
            assert!(s.starts_with(ns));
            assert_eq!(decode_key(ns, s).expect("inside"), k.to_vec());
        }
        assert!(matches!(
            decode_key(ns, b"feedlab/00000002/a"),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn shard_namespaces_are_prefix_free() {
        let all: Vec<Vec<u8>> = [0u32, 1, 10, 16, 255, 4096, u32::MAX]
            .iter()
            .map(|&s| shard_namespace(b"feedlab/", s))
            .collect();
        assert_eq!(all[2], b"feedlab/0000000a/".to_vec());
        for a in &all {
            validate_namespace(a).expect("valid");
            for b in &all {
                assert!(a == b || !b.starts_with(a), "{a:?} prefixes {b:?}");
            }
        }
    }

    #[test]
    fn bad_namespaces_are_rejected() {
        assert!(matches!(
            validate_namespace(b""),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            validate_namespace(&[0xff, 0xff]),
            Err(Error::InvalidInput(_))
        ));
        validate_namespace(&[0xff, 0xfe]).expect("has a successor");
    }

    #[test]
    fn values_are_tagged_and_empty_values_survive() {
        for v in [&b""[..], b"\x00", b"\x01", b"hello", &[0xffu8; 300]] {
            let s = encode_value(v);
            assert_eq!(s.len(), v.len() + 1);
            assert_eq!(s[0], VALUE_TAG);
            assert_eq!(decode_value(s).expect("tagged"), v.to_vec());
        }
        assert!(!encode_value(b"").is_empty(), "never stores an empty value");
        assert!(matches!(decode_value(Vec::new()), Err(Error::Corrupt(_))));
        assert!(matches!(
            decode_value(vec![0x02, 1]),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn ranges_map_into_the_namespace() {
        let ns = b"ns/";
        let r = map_range(ns, &KeyRange::between(b"a", b"c")).expect("non-empty");
        assert_eq!(r.start, b"ns/a".to_vec());
        assert_eq!(r.end, b"ns/c".to_vec());
        // Unbounded end stops at the namespace's end ('/' + 1 = '0').
        let r = map_range(
            ns,
            &KeyRange {
                start: b"x".to_vec(),
                end: None,
            },
        )
        .expect("non-empty");
        assert_eq!(r.end, b"ns0".to_vec());
        assert!(!r.end.starts_with(ns) && r.end > encode_key(ns, &[0xff; 64]));
        // The whole namespace, via the empty prefix.
        let r = map_range(ns, &KeyRange::prefix(b"")).expect("non-empty");
        assert_eq!((r.start, r.end), (b"ns/".to_vec(), b"ns0".to_vec()));
        // A prefix ending in 0xff.
        let r = map_range(ns, &KeyRange::prefix(&[b'k', 0xff])).expect("non-empty");
        assert_eq!(r.end, b"ns/l".to_vec());
        // Empty and inverted ranges need no request.
        assert_eq!(map_range(ns, &KeyRange::between(b"c", b"c")), None);
        assert_eq!(map_range(ns, &KeyRange::between(b"d", b"c")), None);
        // A namespace ending in 0xff carries into the byte before it.
        let r = map_range(b"n\xff", &KeyRange::prefix(b"")).expect("non-empty");
        assert_eq!(r.end, b"o".to_vec());
    }

    #[test]
    fn mapped_ranges_contain_exactly_the_mapped_keys() {
        let ns = b"q/";
        let keys: Vec<Vec<u8>> = (0u8..=255).step_by(15).map(|b| vec![b, b]).collect();
        let ranges = [
            KeyRange::prefix(&[0x0f]),
            KeyRange::between(&[0x10], &[0xf0]),
            KeyRange {
                start: vec![0x80],
                end: None,
            },
            KeyRange::prefix(&[0xff]),
        ];
        for range in &ranges {
            let r = map_range(ns, range).expect("non-empty");
            for k in &keys {
                let s = encode_key(ns, k);
                let inside = s >= r.start && s < r.end;
                assert_eq!(inside, range.contains(k), "{range:?} {k:?}");
            }
            // Keys of a neighbouring namespace are never inside.
            assert!(b"q0".to_vec() >= r.end && b"q.".to_vec() < r.start);
        }
    }
}
