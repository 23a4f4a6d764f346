//! The route table against itself and against `openapi.json`.

use std::collections::BTreeSet;

use super::*;

#[test]
fn routes_are_distinct() {
    let pairs: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| (r.path, r.verb.openapi_name()))
        .collect();
    assert_eq!(pairs.len(), ROUTES.len());
}

#[test]
fn openapi_describes_exactly_the_routes() {
    let doc: serde_json::Value =
        serde_json::from_str(super::super::openapi::json()).expect("openapi.json");
    let paths = doc["paths"].as_object().expect("paths");
    let verbs = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let described: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(p, item)| {
            verbs
                .iter()
                .filter(|v| item.get(**v).is_some())
                .map(move |v| (p.clone(), v.to_string()))
        })
        .collect();
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.path.to_string(), r.verb.openapi_name().to_string()))
        .collect();
    assert_eq!(described, table);
}

#[test]
fn openapi_declares_each_path_parameter() {
    let doc: serde_json::Value =
        serde_json::from_str(super::super::openapi::json()).expect("openapi.json");
    for r in ROUTES {
        let item = &doc["paths"][r.path];
        let declared: BTreeSet<&str> = [
            &item["parameters"],
            &item[r.verb.openapi_name()]["parameters"],
        ]
        .into_iter()
        .filter_map(|p| p.as_array())
        .flatten()
        .filter(|p| p["in"] == "path")
        .filter_map(|p| p["name"].as_str())
        .collect();
        let params: BTreeSet<&str> = r.params().collect();
        assert_eq!(declared, params, "{} {}", r.verb.openapi_name(), r.path);
    }
}

#[test]
fn paths_are_filled_in_order() {
    assert_eq!(FOLLOW.path_with(&["7", "9"]), "/v1/users/7/following/9");
    assert_eq!(PHOTO_META.path_with(&["42"]), "/v1/photos/42/meta");
    assert_eq!(FEED.path_with(&[]), "/v1/feed");
    assert_eq!(PHOTO.path_with(&[]), "/v1/photos/{id}");
    assert_eq!(FOLLOW.params().collect::<Vec<_>>(), ["id", "leader"]);
}

#[test]
fn ops_are_found_by_method_and_template() {
    assert_eq!(op_of(&Method::PUT, FOLLOW.path), Some("follow"));
    assert_eq!(op_of(&Method::DELETE, UNFOLLOW.path), Some("unfollow"));
    assert_eq!(op_of(&Method::GET, PHOTO.path), Some("photo_get"));
    assert_eq!(op_of(&Method::DELETE, DELETE_PHOTO.path), None);
    assert_eq!(op_of(&Method::GET, "unmatched"), None);
    let ops: BTreeSet<_> = ROUTES.iter().filter_map(|r| r.op).collect();
    let expected = [
        "feed",
        "follow",
        "photo_get",
        "search",
        "unfollow",
        "upload",
    ];
    assert_eq!(ops, expected.into_iter().collect());
}

#[test]
fn groups_pick_their_listener() {
    for r in ROUTES {
        assert!(r.group.served_by(r.group.listener()), "{}", r.path);
    }
    assert!(HEALTHZ.group.served_by(Listener::Write) && HEALTHZ.group.served_by(Listener::Read));
    assert!(!UPLOAD.group.served_by(Listener::Read));
    assert!(!FEED_UPDATES.group.served_by(Listener::Write));
}
