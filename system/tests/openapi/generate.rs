//! Requests generated from the document: for each operation, values for
//! each parameter from its schema (within bounds, from its pattern or
//! examples, or from the fixture's ids; and, less often, out of bounds or of
//! the wrong type), a body from the request body's schema or media types
//! (valid, truncated, mistyped, oversized), and with or without a token.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

use super::{BodyDoc, Doc, Op, Param, Place, has_type};

/// Values the fixture created, offered where a parameter names them.
#[derive(Debug, Clone, Default)]
pub struct Pools {
    /// User ids.
    pub users: Vec<u64>,
    /// Photo ids.
    pub photos: Vec<u64>,
    /// Valid tokens.
    pub tokens: Vec<String>,
    /// ETags of stored photos.
    pub etags: Vec<String>,
    /// Words of stored titles.
    pub words: Vec<String>,
    /// The largest photo the service takes, in bytes.
    pub photo_limit: usize,
}

/// A request body.
#[derive(Clone)]
pub struct Body {
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.bytes[..self.bytes.len().min(24)];
        write!(
            f,
            "Body({:?}, {} bytes: {:?})",
            self.content_type,
            self.bytes.len(),
            String::from_utf8_lossy(head)
        )
    }
}

/// One generated request.
#[derive(Debug, Clone)]
pub struct Call {
    /// Index of the operation in [`Doc::ops`].
    pub op: usize,
    /// Which of the operation's listeners (modulo their count).
    pub listener: usize,
    /// Parameter values by index in [`Op::params`] (`None`: not sent).
    pub values: Vec<Option<String>>,
    /// An extra query parameter the document does not list.
    pub unknown_param: bool,
    /// A query string byte that is not UTF-8 once decoded.
    pub bad_utf8: bool,
    /// More header lines than the service reads.
    pub many_headers: bool,
    /// `Authorization`, if sent.
    pub auth: Option<String>,
    /// The body, if sent.
    pub body: Option<Body>,
    /// Sent as several copies at once (to meet admission control).
    pub burst: bool,
}

/// Requests for every operation of `doc`.
pub fn calls(doc: &Doc, pools: &Pools) -> BoxedStrategy<Call> {
    let each: Vec<BoxedStrategy<Call>> = doc
        .ops
        .iter()
        .enumerate()
        .map(|(i, op)| call(i, op, pools))
        .collect();
    proptest::strategy::Union::new(each).boxed()
}

fn call(i: usize, op: &Op, pools: &Pools) -> BoxedStrategy<Call> {
    let values: Vec<BoxedStrategy<Option<String>>> = op
        .params
        .iter()
        .map(|p| param(&op.path, p, pools))
        .collect();
    let body = match &op.body {
        Some(BodyDoc::Json(schema, _)) => json_body(schema).prop_map(Some).boxed(),
        Some(BodyDoc::Raw(types)) => raw_body(types, pools).prop_map(Some).boxed(),
        None => Just(None).boxed(),
    };
    // A user's own route (`/v1/users/{id}/…` with a token): half the time
    // the caller is `{id}`, so the call gets past the ownership check.
    let own = op
        .params
        .iter()
        .position(|p| p.name == "id" && p.place == Place::Path)
        .filter(|_| op.secured && op.path.starts_with("/v1/users/"));
    let (users, tokens) = (pools.users.clone(), pools.tokens.clone());
    let as_owner = (prop::bool::weighted(0.5), 0..users.len().max(1));
    (
        0..op.listeners.len().max(1),
        values,
        prop::bool::weighted(0.08),
        (prop::bool::weighted(0.05), prop::bool::weighted(0.03)),
        (auth(op.secured, pools), as_owner),
        body,
        prop::bool::weighted(0.08),
    )
        .prop_map(
            move |(
                listener,
                mut values,
                unknown_param,
                (bad_utf8, many_headers),
                (mut auth, (as_owner, who)),
                body,
                burst,
            )| {
                if let (Some(at), true, Some(user), Some(token)) =
                    (own, as_owner, users.get(who), tokens.get(who))
                {
                    values[at] = Some(user.to_string());
                    auth = Some(format!("Bearer {token}"));
                }
                Call {
                    op: i,
                    listener,
                    values,
                    unknown_param,
                    bad_utf8,
                    many_headers,
                    auth,
                    body,
                    burst,
                }
            },
        )
        .boxed()
}

/// A value for `p`: mostly valid by its schema, sometimes not; absent
/// sometimes when optional.
fn param(path: &str, p: &Param, pools: &Pools) -> BoxedStrategy<Option<String>> {
    let value = prop_oneof![4 => valid(path, p, pools), 1 => invalid(p)];
    // Without `wait` a long-poll waits 25 s: always send it.
    if p.required || p.name == "wait" {
        value.prop_map(Some).boxed()
    } else {
        prop_oneof![1 => Just(None), 3 => value.prop_map(Some)].boxed()
    }
}

/// The fixture's values for parameter `name` of `path`, if it names ids
/// (`{id}` is a photo id under `/v1/photos`, else a user id).
fn pool(path: &str, name: &str, pools: &Pools) -> Vec<String> {
    let s = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>();
    match name {
        "id" if path.starts_with("/v1/photos") => s(&pools.photos),
        "id" => s(&pools.users),
        "leader" => s(&pools.users),
        "before" | "since" => s(&pools.photos),
        "If-None-Match" => pools.etags.clone(),
        "q" => pools.words.clone(),
        _ => Vec::new(),
    }
}

fn valid(path: &str, p: &Param, pools: &Pools) -> BoxedStrategy<String> {
    let s = &p.schema;
    if p.name == "wait" {
        // Within the documented bounds, kept short so the run is.
        return prop_oneof![3 => Just("0".to_string()), 1 => Just("1".to_string())].boxed();
    }
    let mut from_schema = if has_type(s, "integer") {
        let min = s["minimum"].as_u64().unwrap_or(0);
        let max = s["maximum"].as_u64().unwrap_or(u64::MAX);
        prop_oneof![min..=max.min(min + 150), min..=max]
            .prop_map(|n| n.to_string())
            .boxed()
    } else if let Some(pattern) = s["pattern"].as_str() {
        prop_oneof![2 => from_pattern(pattern, s["maxLength"].as_u64()), 1 => text(p)].boxed()
    } else {
        text(p)
    };
    if let Some(ex) = s["examples"].as_array().filter(|e| !e.is_empty()) {
        let ex: Vec<String> = ex
            .iter()
            .filter_map(|e| e.as_str().map(String::from))
            .collect();
        from_schema = prop_oneof![2 => select(ex), 1 => from_schema].boxed();
    }
    let ids = pool(path, &p.name, pools);
    if ids.is_empty() {
        from_schema
    } else {
        prop_oneof![2 => select(ids), 1 => from_schema].boxed()
    }
}

/// Strings matching `pattern` (its anchors dropped), cut to `max_len`
/// characters.
fn from_pattern(pattern: &str, max_len: Option<u64>) -> BoxedStrategy<String> {
    let bare = pattern.trim_start_matches('^').trim_end_matches('$');
    let max = max_len.unwrap_or(u64::MAX) as usize;
    proptest::string::string_regex(bare)
        .expect("the pattern is a regex")
        .prop_map(move |s| s.chars().take(max).collect())
        .boxed()
}

/// A string for a parameter with no tighter schema.
fn text(p: &Param) -> BoxedStrategy<String> {
    let max = p.schema["maxLength"].as_u64().unwrap_or(24).min(40);
    if p.place == Place::Header {
        return format!("[ -~]{{0,{max}}}").boxed_regex();
    }
    prop_oneof![
        format!("[a-z ]{{1,{}}}", max.max(1)).boxed_regex(),
        format!("\\PC{{0,{max}}}").boxed_regex(),
    ]
    .boxed()
}

/// A value the schema does not allow (or, for a free string, one the
/// service may refuse: control characters, past `maxLength`).
fn invalid(p: &Param) -> BoxedStrategy<String> {
    let s = &p.schema;
    let mut fixed: Vec<String> = vec!["-1".into(), "1.5".into(), "0x1F".into(), "１".into()];
    if has_type(s, "integer") {
        let max = s["maximum"].as_u64().unwrap_or(u64::MAX);
        fixed.push((u128::from(max) + 1).to_string());
        if let Some(min) = s["minimum"].as_u64().filter(|m| *m > 0) {
            fixed.push((min - 1).to_string());
        }
    }
    if let Some(n) = s["maxLength"].as_u64() {
        fixed.push("x".repeat(n as usize + 1));
    }
    let words = if p.place == Place::Path {
        "[a-zA-Z_-]{1,8}"
    } else if p.place == Place::Header {
        "[ -~]{0,24}"
    } else {
        "[a-z]{0,3}[\\x00-\\x1f][a-z]{0,3}"
    };
    prop_oneof![select(fixed), words.boxed_regex()].boxed()
}

fn auth(secured: bool, pools: &Pools) -> BoxedStrategy<Option<String>> {
    let valid = select(pools.tokens.clone()).prop_map(|t| format!("Bearer {t}"));
    let altered = select(pools.tokens.clone()).prop_map(|t| format!("Bearer {t}0"));
    let junk = "[ -~]{0,30}".boxed_regex();
    if secured {
        prop_oneof![
            6 => valid.prop_map(Some),
            1 => Just(None),
            1 => altered.prop_map(Some),
            1 => junk.prop_map(Some),
        ]
        .boxed()
    } else {
        prop_oneof![4 => Just(None), 1 => valid.prop_map(Some)].boxed()
    }
}

/// A JSON body for `schema` (an object schema): valid, a field missing,
/// mistyped or unknown, or not JSON at all; mostly as `application/json`.
fn json_body(schema: &Value) -> BoxedStrategy<Body> {
    let props: Vec<String> = schema["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let n = props.len();
    let fields: Vec<BoxedStrategy<Value>> = props
        .iter()
        .map(|k| {
            let prop = &schema["properties"][k];
            match prop["pattern"].as_str() {
                Some(p) => prop_oneof![
                    2 => from_pattern(p, prop["maxLength"].as_u64()).prop_map(Value::String),
                    1 => json_string(),
                ]
                .boxed(),
                None => json_string(),
            }
        })
        .collect();
    let object = (fields, 0..6u8, 0..n.max(1)).prop_map(move |(vals, how, k)| {
        let mut m: Map<String, Value> = props.iter().cloned().zip(vals).collect();
        let key = props.get(k).cloned().unwrap_or_default();
        match how {
            0 => drop(m.remove(&key)),
            1 => drop(m.insert(key, json!(42))),
            2 => drop(m.insert("unknown".into(), json!(true))),
            _ => {}
        }
        serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
    });
    let bytes = prop_oneof![
        8 => object,
        1 => select(vec![b"{".to_vec(), b"[]".to_vec(), Vec::new(), b"null".to_vec()]),
        // Past the 2 MB a JSON body may have.
        1 => Just(format!(r#"{{"name":"{}"}}"#, "a".repeat(2 << 20)).into_bytes()),
    ];
    let content_type = prop_oneof![
        6 => Just(Some("application/json".to_string())),
        1 => Just(None),
        1 => Just(Some("text/plain".to_string())),
    ];
    (content_type, bytes)
        .prop_map(|(content_type, bytes)| Body {
            content_type,
            bytes,
        })
        .boxed()
}

/// A JSON string value: a plausible name or email, any text, or one with
/// a control character.
fn json_string() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => "[a-z]{1,8}@[a-z]{1,6}\\.test".boxed_regex(),
        3 => "[a-z][a-z ]{0,11}".boxed_regex(),
        1 => "\\PC{0,20}".boxed_regex(),
        1 => "[a-z]{1,3}[\\x00-\\x1f][a-z]{1,3}".boxed_regex(),
    ]
    .prop_map(Value::String)
    .boxed()
}

/// A raw body in (mostly) one of `types`: a well-formed file, a truncated
/// one, one over the photo limit, or arbitrary bytes; declared as one of
/// `types`, as nothing, or as something else.
fn raw_body(types: &[String], pools: &Pools) -> BoxedStrategy<Body> {
    let media: Vec<String> = types
        .iter()
        .filter(|t| t.starts_with("image/") || t.starts_with("video/"))
        .cloned()
        .collect();
    let over = pools.photo_limit + 1024;
    let file = (select(media.clone()), 64..4096usize, any::<u8>())
        .prop_map(|(m, len, fill)| feedlab_system::service::media::sample_body(&m, len, fill));
    let bytes = prop_oneof![
        6 => file.clone(),
        1 => file.prop_map(|b| b[..b.len() / 2].to_vec()),
        1 => Just(feedlab_system::service::media::sample_body("image/jpeg", over, 7)),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
    ];
    let declared = prop_oneof![
        4 => select(types.to_vec()).prop_map(Some),
        1 => Just(None),
        1 => Just(Some("text/plain".to_string())),
    ];
    (declared, bytes)
        .prop_map(|(content_type, bytes)| Body {
            content_type,
            bytes,
        })
        .boxed()
}

/// `self` as a regex strategy (the patterns here are constants that parse).
trait BoxedRegex {
    fn boxed_regex(&self) -> BoxedStrategy<String>;
}

impl<S: AsRef<str>> BoxedRegex for S {
    fn boxed_regex(&self) -> BoxedStrategy<String> {
        proptest::string::string_regex(self.as_ref())
            .expect("a valid regex")
            .boxed()
    }
}
