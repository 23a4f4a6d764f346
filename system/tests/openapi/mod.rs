//! The service's OpenAPI document as a test model: its operations, each
//! with its listeners, parameters, body, security and documented answers
//! ([`Doc::load`]); proptest strategies that generate requests for them from
//! the document ([`generate`]); sending them ([`wire`]); and the check of a
//! request and of its answer against the document ([`check`]).
#![allow(dead_code)]

pub mod check;
pub mod generate;
pub mod wire;

use std::collections::BTreeMap;

use feedlab_system::http::api::Listener;
use serde_json::Value;

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A `{name}` segment of the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
}

/// One documented parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Where it goes.
    pub place: Place,
    /// Whether the document requires it.
    pub required: bool,
    /// Its schema, `$ref`s resolved.
    pub schema: Value,
    /// The JSON pointer of its schema in the document.
    pub at: String,
}

/// A documented request body.
#[derive(Debug, Clone)]
pub enum BodyDoc {
    /// `application/json` with this schema (resolved), and the schema's
    /// JSON pointer in the document.
    Json(Value, String),
    /// Raw bytes in any of these media types.
    Raw(Vec<String>),
}

/// One documented answer.
#[derive(Debug, Clone, Default)]
pub struct ResDoc {
    /// Media type (essence) → JSON pointer of its schema in the document,
    /// if it has one.
    pub content: BTreeMap<String, Option<String>>,
    /// The headers it carries.
    pub headers: Vec<String>,
}

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Op {
    /// `operationId`.
    pub id: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Path template.
    pub path: String,
    /// The listeners its `servers` name.
    pub listeners: Vec<Listener>,
    /// Path, query and header parameters.
    pub params: Vec<Param>,
    /// Whether it requires a bearer token.
    pub secured: bool,
    /// Its request body.
    pub body: Option<BodyDoc>,
    /// Its answers by status.
    pub responses: BTreeMap<u16, ResDoc>,
}

/// The document and its operations.
pub struct Doc {
    /// The document as served.
    pub value: Value,
    /// Every operation, in path then method order.
    pub ops: Vec<Op>,
}

/// `s` escaped as one JSON-pointer token.
pub fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

impl Doc {
    /// Read the operations of `value` (panics on a document this model
    /// cannot read: that is a test failure).
    pub fn load(value: Value) -> Doc {
        let mut ops = Vec::new();
        let paths = value["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("path item") {
                let base = format!("/paths/{}/{method}", pointer_token(path));
                ops.push(Doc::op(&value, path, method, op, &base));
            }
        }
        Doc { value, ops }
    }

    fn op(doc: &Value, path: &str, method: &str, op: &Value, base: &str) -> Op {
        let listeners = op["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .map(|s| match s["description"].as_str().unwrap_or("") {
                d if d.starts_with("write") => Listener::Write,
                d if d.starts_with("read") => Listener::Read,
                d => panic!("{path}: server {d:?} names no listener"),
            })
            .collect();
        let params = op["parameters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .map(|(i, p)| param(doc, p, format!("{base}/parameters/{i}/schema")))
                    .collect()
            })
            .unwrap_or_default();
        let body = op.get("requestBody").map(|b| {
            let content = b["content"].as_object().expect("body content");
            match content.get("application/json") {
                Some(c) => BodyDoc::Json(
                    resolve(doc, &c["schema"]),
                    format!("{base}/requestBody/content/application~1json/schema"),
                ),
                None => BodyDoc::Raw(content.keys().cloned().collect()),
            }
        });
        let mut responses = BTreeMap::new();
        for (status, res) in op["responses"].as_object().expect("responses") {
            let mut r = ResDoc::default();
            for (mime, c) in res["content"].as_object().into_iter().flatten() {
                let at = format!(
                    "{base}/responses/{status}/content/{}/schema",
                    pointer_token(mime)
                );
                r.content.insert(essence(mime), c.get("schema").map(|_| at));
            }
            r.headers = res["headers"]
                .as_object()
                .map(|h| h.keys().cloned().collect())
                .unwrap_or_default();
            responses.insert(status.parse().expect("numeric status"), r);
        }
        Op {
            id: op["operationId"].as_str().expect("operationId").to_string(),
            method: method.to_uppercase(),
            path: path.to_string(),
            listeners,
            params,
            secured: op["security"].as_array().is_some_and(|s| !s.is_empty()),
            body,
            responses,
        }
    }
}

fn param(doc: &Value, p: &Value, at: String) -> Param {
    let place = match p["in"].as_str() {
        Some("path") => Place::Path,
        Some("query") => Place::Query,
        Some("header") => Place::Header,
        other => panic!("parameter in {other:?}"),
    };
    Param {
        name: p["name"].as_str().expect("name").to_string(),
        place,
        required: p["required"].as_bool().unwrap_or(false),
        schema: resolve(doc, &p["schema"]),
        at,
    }
}

/// `schema` with a top-level `$ref` into the document followed.
pub fn resolve(doc: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(p) => resolve(doc, doc.pointer(p).expect("$ref resolves")),
        None => schema.clone(),
    }
}

/// A media type without its parameters, lower case.
pub fn essence(v: &str) -> String {
    v.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether `schema`'s `type` is or includes `t`.
pub fn has_type(schema: &Value, t: &str) -> bool {
    match &schema["type"] {
        Value::String(s) => s == t,
        Value::Array(a) => a.iter().any(|x| x == t),
        _ => false,
    }
}
