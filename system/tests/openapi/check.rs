//! An answer against the document: its status is listed for the operation,
//! its media type is one the status lists, its JSON body validates against
//! the listed schema (boon, JSON Schema 2020-12 as OpenAPI 3.1 uses), and
//! every listed header is present. And a request against the document:
//! whether every parameter, the body and the token are what it asks for.

use std::collections::BTreeMap;

use serde_json::Value;

use super::generate::Call;
use super::{BodyDoc, Doc, Op, essence, has_type};

/// Where the document is registered with the validator.
const DOC_URL: &str = "http://feedlab.test/openapi.json";

/// A buffered answer.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Header names present, lower case.
    pub headers: Vec<String>,
    /// Body.
    pub body: Vec<u8>,
}

/// Every response schema of the document, compiled.
pub struct Checker {
    schemas: boon::Schemas,
    index: BTreeMap<String, boon::SchemaIndex>,
}

impl Checker {
    /// Compile every response schema of `doc` (panics if one does not
    /// compile: the document is then broken).
    pub fn new(doc: &Doc) -> Checker {
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler
            .add_resource(DOC_URL, doc.value.clone())
            .expect("the document loads as a schema resource");
        let mut schemas = boon::Schemas::new();
        let mut index = BTreeMap::new();
        for op in &doc.ops {
            let responses = op
                .responses
                .values()
                .flat_map(|r| r.content.values().flatten());
            let params = op.params.iter().map(|p| &p.at);
            let body = match &op.body {
                Some(BodyDoc::Json(_, at)) => Some(at),
                _ => None,
            };
            for at in responses.chain(params).chain(body) {
                let loc = format!("{DOC_URL}#{}", fragment(at));
                let i = compiler
                    .compile(&loc, &mut schemas)
                    .unwrap_or_else(|e| panic!("{at}: {e:#}"));
                index.insert(at.clone(), i);
            }
        }
        Checker { schemas, index }
    }

    /// Whether the document calls `call` a valid request of `op`: every
    /// required parameter sent, every parameter valid by its schema, none
    /// it does not list, a readable query and head, a body of a listed media
    /// type (a JSON body valid by its schema), and one of `tokens` when the
    /// operation needs one.
    pub fn request_valid(&self, op: &Op, call: &Call, tokens: &[String]) -> bool {
        if call.unknown_param || call.bad_utf8 || call.many_headers {
            return false;
        }
        let params = op.params.iter().zip(&call.values).all(|(p, v)| match v {
            None => !p.required,
            Some(v) => param_json(&p.schema, v).is_some_and(|j| self.valid(&p.at, &j)),
        });
        let token = !op.secured
            || call
                .auth
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "))
                .is_some_and(|t| tokens.iter().any(|x| x == t));
        let body = match (&op.body, &call.body) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(BodyDoc::Json(_, at)), Some(b)) => {
                b.content_type.as_deref() == Some("application/json")
                    && serde_json::from_slice::<Value>(&b.bytes).is_ok_and(|j| self.valid(at, &j))
            }
            (Some(BodyDoc::Raw(types)), Some(b)) => {
                !b.bytes.is_empty() && b.content_type.as_ref().is_none_or(|t| types.contains(t))
            }
        };
        params && token && body
    }

    fn valid(&self, at: &str, value: &Value) -> bool {
        self.schemas.validate(value, self.index[at]).is_ok()
    }

    /// What is wrong with `a` as an answer of `op`; `None` when nothing is.
    pub fn problem(&self, op: &Op, a: &Answer) -> Option<String> {
        let Some(res) = op.responses.get(&a.status) else {
            return Some(format!(
                "status {} is not documented (documented: {:?})",
                a.status,
                op.responses.keys().collect::<Vec<_>>()
            ));
        };
        for h in &res.headers {
            if !a.headers.contains(&h.to_ascii_lowercase()) {
                return Some(format!("{}: documented header {h} is missing", a.status));
            }
        }
        if res.content.is_empty() {
            return (!a.body.is_empty())
                .then(|| format!("{}: a body where the document has none", a.status));
        }
        let mime = essence(a.content_type.as_deref().unwrap_or(""));
        let Some(schema) = res.content.get(&mime) else {
            return Some(format!(
                "{}: Content-Type {mime:?} is not documented (documented: {:?})",
                a.status,
                res.content.keys().collect::<Vec<_>>()
            ));
        };
        let at = schema.as_ref()?;
        let value: Value = if mime == "application/json" {
            match serde_json::from_slice(&a.body) {
                Ok(v) => v,
                Err(e) => return Some(format!("{}: body is not JSON: {e}", a.status)),
            }
        } else {
            Value::String(String::from_utf8_lossy(&a.body).into_owned())
        };
        let i = self.index[at];
        self.schemas
            .validate(&value, i)
            .err()
            .map(|e| format!("{}: body does not match {at}: {e:#}", a.status))
    }
}

/// A parameter's text as the JSON value its schema judges: a number for an
/// integer schema (`None` unless it is one, written canonically), else the
/// string itself.
fn param_json(schema: &Value, v: &str) -> Option<Value> {
    if !has_type(schema, "integer") {
        return Some(Value::String(v.to_string()));
    }
    let canonical = |s: String| (s == v).then_some(());
    if let Ok(n) = v.parse::<u64>() {
        return canonical(n.to_string()).map(|()| Value::from(n));
    }
    let n = v.parse::<i64>().ok()?;
    canonical(n.to_string()).map(|()| Value::from(n))
}

/// A JSON pointer as a URI fragment (RFC 6901 §6: percent-encoded).
fn fragment(pointer: &str) -> String {
    let mut out = String::new();
    for c in pointer.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '/' | '~' | '-' | '.' | '_' => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}
