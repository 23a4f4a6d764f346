//! The routers against the route table (`feedlab_system::http::api`): every
//! method of every table path is sent to both routers, and each answers
//! exactly where the table says it is served. A served route must not
//! answer "no such route" or 405; a method the table does not list for a
//! path must get 405 where the path is served with another method, and
//! "no such route" where the path is not served at all. So a route the
//! routers register without the table (on a table path), or a table route a
//! router does not serve, fails here.

mod common;

use axum::Router;
use axum::http::StatusCode;
use common::{Resp, call, env, req};
use feedlab_system::http::api::{Group, Listener, ROUTES, Verb};

const VERBS: [Verb; 4] = [Verb::Get, Verb::Post, Verb::Put, Verb::Delete];

/// Whether the table has `verb path` on `listener`.
fn served(listener: Listener, verb: Verb, path: &str) -> bool {
    ROUTES
        .iter()
        .any(|r| r.path == path && r.verb == verb && r.group.served_by(listener))
}

/// Whether `listener` serves `path` with any method.
fn path_served(listener: Listener, path: &str) -> bool {
    VERBS.iter().any(|&v| served(listener, v, path))
}

fn no_route(r: &Resp) -> bool {
    r.status == StatusCode::NOT_FOUND && r.json()["message"] == "no such route"
}

#[tokio::test]
async fn routers_serve_exactly_the_table() -> anyhow::Result<()> {
    let env = env().await?;
    let routers: [(Listener, &Router); 2] =
        [(Listener::Write, &env.write), (Listener::Read, &env.read)];
    let mut checked = 0;
    for route in ROUTES {
        // Ids that parse but name nothing: every answer is an error or a
        // health/metrics page, never a changed store.
        let ids: Vec<String> = route.params().map(|_| "1".to_string()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let uri = route.path_with(&ids);
        for (listener, router) in routers {
            for verb in VERBS {
                let what = format!("{verb:?} {uri} on {listener:?}");
                let r = call(router, req(verb.method(), &uri, None, Vec::<u8>::new())).await;
                if served(listener, verb, route.path) {
                    assert!(!no_route(&r), "{what}: table route not served");
                    assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
                } else if path_served(listener, route.path) {
                    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
                } else {
                    assert!(no_route(&r), "{what}: served but not in the table");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, ROUTES.len() * 2 * VERBS.len());
    Ok(())
}

#[tokio::test]
async fn every_group_has_routes_and_base_routes_are_on_both_listeners() {
    for g in [
        Group::Write,
        Group::Upload,
        Group::Read,
        Group::Longpoll,
        Group::Base,
    ] {
        assert!(ROUTES.iter().any(|r| r.group == g), "{g:?} has no route");
    }
    for r in ROUTES.iter().filter(|r| r.group == Group::Base) {
        assert!(served(Listener::Write, r.verb, r.path) && served(Listener::Read, r.verb, r.path));
    }
}
