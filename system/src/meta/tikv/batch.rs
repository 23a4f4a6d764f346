//! Lowering a [`WriteBatch`] into the mutations of one TiKV transaction.
//!
//! A batch's ops apply in order, so a later op on a key overrides an
//! earlier one. The lowering collapses each key to its last op (the same
//! rule as the embedded store), namespaces the keys and tags the values
//! (see [`super::codec`]). The result is sorted by stored key, so a given
//! batch always becomes the same transaction. Empty keys are rejected with
//! [`Error::InvalidInput`], as the embedded store does, before anything is
//! sent.

use std::collections::BTreeMap;

use super::codec::{encode_key, encode_value};
use crate::error::{Error, Result};
use crate::meta::{Op, WriteBatch};

/// One mutation in stored form (namespaced key, tagged value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Put the stored value at the stored key.
    Put(Vec<u8>, Vec<u8>),
    /// Delete the stored key.
    Delete(Vec<u8>),
}

impl Mutation {
    /// The stored key this mutation touches.
    pub fn key(&self) -> &[u8] {
        match self {
            Mutation::Put(k, _) | Mutation::Delete(k) => k,
        }
    }
}

/// The mutations of `batch` in namespace `ns`: one per distinct key (the
/// last op wins), sorted by stored key.
pub fn lower_batch(ns: &[u8], batch: &WriteBatch) -> Result<Vec<Mutation>> {
    let mut last: BTreeMap<Vec<u8>, Option<&[u8]>> = BTreeMap::new();
    for op in &batch.ops {
        let (key, value) = match op {
            Op::Put(k, v) => (k, Some(v.as_slice())),
            Op::Delete(k) => (k, None),
        };
        if key.is_empty() {
            return Err(Error::InvalidInput("empty key".into()));
        }
        last.insert(encode_key(ns, key), value);
    }
    Ok(last
        .into_iter()
        .map(|(k, v)| match v {
            Some(v) => Mutation::Put(k, encode_value(v)),
            None => Mutation::Delete(k),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::tikv::codec::VALUE_TAG;

    fn tagged(v: &[u8]) -> Vec<u8> {
        let mut t = vec![VALUE_TAG];
        t.extend_from_slice(v);
        t
    }

    #[test]
    fn last_op_per_key_wins() {
        let mut b = WriteBatch::new();
        b.put(b"b".to_vec(), b"1".to_vec())
            .put(b"a".to_vec(), b"x".to_vec())
            .delete(b"a".to_vec())
            .delete(b"c".to_vec())
            .put(b"c".to_vec(), b"back".to_vec())
            .put(b"b".to_vec(), b"2".to_vec())
            .put(b"e".to_vec(), Vec::new())
            .delete(b"d".to_vec());
        let got = lower_batch(b"n/", &b).expect("valid");
        assert_eq!(
            got,
            vec![
                Mutation::Delete(b"n/a".to_vec()),
                Mutation::Put(b"n/b".to_vec(), tagged(b"2")),
                Mutation::Put(b"n/c".to_vec(), tagged(b"back")),
                Mutation::Delete(b"n/d".to_vec()),
                Mutation::Put(b"n/e".to_vec(), tagged(b"")),
            ]
        );
    }

    #[test]
    fn lowering_matches_applying_ops_in_order() {
        // A model: apply every op in order to a map; the lowered mutations
        // applied to an empty map must give the same result.
        let keys: [&[u8]; 4] = [b"k1", b"k2", b"k3", b"k1\x00"];
        let mut b = WriteBatch::buffered();
        for i in 0u32..64 {
            let k = keys[(i * 7 % 4) as usize];
            if i % 5 == 0 {
                b.delete(k.to_vec());
            } else {
                b.put(k.to_vec(), i.to_be_bytes().to_vec());
            }
        }
        let mut model: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for op in &b.ops {
            match op {
                Op::Put(k, v) => model.insert(encode_key(b"s/", k), Some(encode_value(v))),
                Op::Delete(k) => model.insert(encode_key(b"s/", k), None),
            };
        }
        let got = lower_batch(b"s/", &b).expect("valid");
        assert_eq!(got.len(), model.len(), "one mutation per distinct key");
        for (m, (k, v)) in got.iter().zip(&model) {
            assert_eq!(m.key(), k.as_slice());
            match (m, v) {
                (Mutation::Put(_, got), Some(want)) => assert_eq!(got, want),
                (Mutation::Delete(_), None) => {}
                other => panic!("mismatch {other:?}"),
            }
        }
    }

    #[test]
    fn empty_batches_and_keys() {
        assert!(
            lower_batch(b"n/", &WriteBatch::new())
                .expect("ok")
                .is_empty()
        );
        let mut b = WriteBatch::new();
        b.put(b"ok".to_vec(), b"v".to_vec()).delete(Vec::new());
        assert!(matches!(
            lower_batch(b"n/", &b),
            Err(Error::InvalidInput(_))
        ));
    }
}
