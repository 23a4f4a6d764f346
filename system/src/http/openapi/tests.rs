//! The generated document against the route table.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;

fn doc() -> Value {
    serde_json::from_str(json()).expect("the served document is JSON")
}

#[test]
fn every_route_has_its_own_description() {
    let ids: BTreeSet<&str> = ROUTES.iter().map(|r| ops::of(r).id).collect();
    assert_eq!(ids.len(), ROUTES.len(), "operation ids are unique");
    assert!(!ids.contains("undocumented"), "{ids:?}");
}

#[test]
fn each_operation_names_the_listeners_that_serve_it() {
    let doc = doc();
    for r in ROUTES {
        let op = &doc["paths"][r.path][r.verb.openapi_name()];
        let servers: Vec<&str> = op["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .filter_map(|s| s["description"].as_str())
            .collect();
        let want: Vec<bool> = [Listener::Write, Listener::Read]
            .map(|l| r.group.served_by(l))
            .to_vec();
        let got = vec![
            servers.iter().any(|s| s.starts_with("write")),
            servers.iter().any(|s| s.starts_with("read")),
        ];
        assert_eq!(got, want, "{} {}", r.verb.openapi_name(), r.path);
    }
}

#[test]
fn every_error_has_the_error_body_and_every_ref_resolves() {
    let doc = doc();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r.strip_prefix('#').expect("local ref");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    for r in ROUTES {
        let op = &doc["paths"][r.path][r.verb.openapi_name()];
        let responses = op["responses"].as_object().expect("responses");
        for (status, res) in responses {
            let n: u16 = status.parse().expect("numeric status");
            if n >= 400 {
                let schema = &res["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(schema, "#/components/schemas/Error", "{} {status}", r.path);
            }
        }
        for n in [400, 431] {
            assert!(responses.contains_key(&n.to_string()), "{} {n}", r.path);
        }
        let admitted = r.group != Group::Base;
        assert_eq!(responses.contains_key("503"), admitted, "{}", r.path);
    }
}

#[test]
fn secured_operations_answer_401_and_say_so() {
    let doc = doc();
    for r in [api::UPLOAD, api::DELETE_PHOTO, api::FOLLOW, api::FEED] {
        let op = &doc["paths"][r.path][r.verb.openapi_name()];
        assert!(op["responses"]["401"].is_object(), "{}", r.path);
        assert_eq!(op["security"][0]["bearer"], serde_json::json!([]));
    }
    let search = &doc["paths"][api::SEARCH.path]["get"];
    assert!(search["security"].is_null() && search["responses"]["401"].is_null());
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}
