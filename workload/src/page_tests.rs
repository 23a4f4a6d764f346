//! The streaming page reader against a reading of the same bytes through
//! `serde_json::Value` (the rules of the module docs, written the obvious
//! way), on hand-picked pages and on seeded random JSON documents.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::feed_ids;

/// The module's rules over a parsed tree.
fn by_tree(body: &[u8]) -> Option<Vec<String>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let list = match &v {
        Value::Array(a) => a,
        Value::Object(o) => ["items", "photos", "feed"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_array))?,
        _ => return None,
    };
    let id = |e: &Value| match e.get("id").unwrap_or(e) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    Some(list.iter().filter_map(id).collect())
}

fn ids(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

#[test]
fn reads_each_accepted_shape() {
    let cases: [(&[u8], Option<Vec<String>>); 12] = [
        (br#"{"items":[{"id":12},{"id":"13"}]}"#, ids(&["12", "13"])),
        (br#"[1,2]"#, ids(&["1", "2"])),
        (br#"[-3, 1.5, "x"]"#, ids(&["-3", "1.5", "x"])),
        (
            br#"{"photos":[{"title":"a","id":"7","n":[1,{}]}]}"#,
            ids(&["7"]),
        ),
        (
            br#"{"feed":[{"id":{"x":1}},{"id":true},null,[],{"id":9}]}"#,
            ids(&["9"]),
        ),
        (br#"{"feed":[1],"items":[2]}"#, ids(&["2"])),
        (br#"{"items":{"id":1},"photos":[3]}"#, ids(&["3"])),
        (br#"{"items":"no","feed":[4],"next":"c"}"#, ids(&["4"])),
        (br#"{"next":"c"}"#, None),
        (br#"[]"#, ids(&[])),
        (b"nope", None),
        (br#"[1] trailing"#, None),
    ];
    for (body, want) in cases {
        let what = String::from_utf8_lossy(body);
        assert_eq!(feed_ids(body), want, "{what}");
        assert_eq!(by_tree(body), want, "the tree reading of {what}");
    }
}

#[test]
fn a_non_page_is_none() {
    for body in [&b"1"[..], b"\"a\"", b"null", b"true", b"", b"{", b"[1,"] {
        assert_eq!(feed_ids(body), None, "{}", String::from_utf8_lossy(body));
    }
}

/// A random JSON value, biased towards page-like shapes.
fn random_value(rng: &mut ChaCha8Rng, depth: u32) -> Value {
    let leaf = depth >= 3;
    match rng.random_range(0..if leaf { 6 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => json!(rng.random_range(-1_000_000i64..1_000_000)),
        3 => json!(rng.random::<u64>()),
        4 => json!(rng.random_range(-1e6..1e6f64)),
        5 => json!(format!("s{}", rng.random_range(0..1000))),
        6 => Value::Array(
            (0..rng.random_range(0..5))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            const KEYS: [&str; 6] = ["id", "items", "photos", "feed", "title", "next"];
            let mut m = serde_json::Map::new();
            for _ in 0..rng.random_range(0..5) {
                let k = KEYS[rng.random_range(0..KEYS.len())];
                m.insert(k.to_string(), random_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

#[test]
fn agrees_with_the_tree_reading_on_random_documents() {
    let seed = std::env::var("FEEDLAB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7u64);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pages = 0;
    for _ in 0..20_000 {
        let body = serde_json::to_vec(&random_value(&mut rng, 0)).expect("serializable");
        let want = by_tree(&body);
        pages += usize::from(want.as_ref().is_some_and(|v| !v.is_empty()));
        assert_eq!(
            feed_ids(&body),
            want,
            "seed {seed}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert!(pages > 1_000, "only {pages} non-empty pages were generated");
}
