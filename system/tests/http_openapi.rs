//! The service against its own OpenAPI document, property-based: both
//! listeners run on real sockets over a fixture of users, follows and
//! photos; proptest generates requests for every documented operation from
//! the document served at `/openapi.json` (see `openapi/gen.rs`), and every
//! answer must be documented for its operation, match the documented
//! schema, carry the documented headers, and never be a 5xx (other than
//! `503 overloaded`, which admission control documents). A request the
//! document calls valid (every parameter, the body and the token as it
//! asks) must not be refused as malformed (400 or 422), but for the one
//! rule no schema states: a user cannot follow themselves.
//!
//! `FEEDLAB_SEED` picks the generator's seed (default 15) and
//! `FEEDLAB_OPENAPI_CASES` the number of cases (default 500);
//! `FEEDLAB_OPENAPI_TRACE=1` prints each generated request.

mod common;
mod openapi;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use feedlab_system::policy::FanoutKind;
use feedlab_system::service::media::sample_body;
use feedlab_system::{Service, ServiceConfig};
use openapi::check::{Answer, Checker};
use openapi::generate::{Call, Pools};
use openapi::wire::{Bases, send};
use openapi::{Doc, Op};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};

/// Small pools and no queue, so a burst of copies meets admission control;
/// few followees allowed, so a follow can meet its limit.
fn config(dir: &tempfile::TempDir) -> ServiceConfig {
    let mut cfg = common::config(dir, FanoutKind::Push);
    cfg.write_concurrency = 1;
    cfg.read_concurrency = 1;
    cfg.upload_concurrency = 1;
    cfg.longpoll_concurrency = 1;
    cfg.admission_queue = 0;
    cfg.max_followees = 2;
    cfg
}

#[test]
fn every_answer_is_the_documented_one() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let svc = rt.block_on(Service::open(config(&dir)))?;
    let (wl, rl) = rt.block_on(async {
        let w = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let r = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        anyhow::Ok((w, r))
    })?;
    let bases = Bases {
        write: format!("http://{}", wl.local_addr()?),
        read: format!("http://{}", rl.local_addr()?),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(feedlab_system::http::serve(wl, rl, svc.clone(), async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()?;

    let (doc, pools) = rt.block_on(async {
        let doc = served_document(&http, &bases).await?;
        let pools = fixture(&http, &bases).await?;
        anyhow::Ok((doc, pools))
    })?;
    let checker = Checker::new(&doc);
    let seen: Mutex<BTreeMap<(String, u16), usize>> = Mutex::new(BTreeMap::new());
    let valid_calls = std::sync::atomic::AtomicUsize::new(0);
    let strategy = openapi::generate::calls(&doc, &pools);
    let mut runner = runner();
    let result = runner.run(&strategy, |call| {
        let op = &doc.ops[call.op];
        if std::env::var_os("FEEDLAB_OPENAPI_TRACE").is_some() {
            eprintln!("{} {} {call:?}", op.method, op.path);
        }
        let valid = checker.request_valid(op, &call, &pools.tokens) && !self_follow(op, &call);
        if valid {
            valid_calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let answers = rt.block_on(send(&http, &bases, op, &call));
        for a in answers {
            let a =
                a.map_err(|e| TestCaseError::fail(format!("{} {}: {e}", op.method, op.path)))?;
            *seen
                .lock()
                .expect("coverage")
                .entry((op.id.clone(), a.status))
                .or_default() += 1;
            let refused = (valid && matches!(a.status, 400 | 422))
                .then(|| format!("the document calls the request valid, yet {}", a.status));
            if let Some(p) = refused.or_else(|| problem(&checker, op, &a)) {
                let body = String::from_utf8_lossy(&a.body[..a.body.len().min(300)]).into_owned();
                return Err(TestCaseError::fail(format!(
                    "{} {} ({}): {p}; body {body:?}",
                    op.method, op.path, op.id
                )));
            }
        }
        Ok(())
    });
    let _ = stop.send(());
    rt.block_on(server)??;
    let seen = seen.into_inner().expect("coverage");
    let valid_calls = valid_calls.into_inner();
    eprintln!("{valid_calls} valid requests; (operation, status) → answers: {seen:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    coverage(&doc, &seen);
    assert!(
        valid_calls >= 100,
        "only {valid_calls} requests the document calls valid"
    );
    Ok(())
}

/// The proptest runner: a fixed seed unless `FEEDLAB_SEED` says otherwise,
/// no failure files in the repository, bounded shrinking (each step is a
/// round trip to a service whose state moved on).
fn runner() -> TestRunner {
    let seed: u64 = std::env::var("FEEDLAB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let cases = std::env::var("FEEDLAB_OPENAPI_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500);
    eprintln!("http_openapi: seed {seed} ({cases} cases; FEEDLAB_SEED to change)");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// A follow or unfollow of oneself: valid by every schema, refused (400)
/// by a rule between two parameters that OpenAPI cannot state.
fn self_follow(op: &Op, call: &Call) -> bool {
    matches!(op.id.as_str(), "follow" | "unfollow")
        && call
            .values
            .first()
            .is_some_and(|a| call.values.get(1) == Some(a))
}

/// What is wrong with `a`: a 5xx other than `503 overloaded`, or anything
/// the document does not allow.
fn problem(checker: &Checker, op: &Op, a: &Answer) -> Option<String> {
    if a.status >= 500 {
        let code = serde_json::from_slice::<Value>(&a.body)
            .ok()
            .and_then(|v| v["code"].as_str().map(String::from));
        if !(a.status == 503 && code.as_deref() == Some("overloaded")) {
            return Some(format!("a server error {} ({code:?})", a.status));
        }
    }
    checker.problem(op, a)
}

/// Every operation was exercised, and the answers were varied enough to
/// show the generator reaches both successes and refusals.
fn coverage(doc: &Doc, seen: &BTreeMap<(String, u16), usize>) {
    for op in &doc.ops {
        assert!(
            seen.keys().any(|(id, _)| *id == op.id),
            "{} was never exercised",
            op.id
        );
    }
    let ok = seen.keys().filter(|(_, s)| *s < 300).count();
    let refused = seen.keys().filter(|(_, s)| *s >= 400).count();
    assert!(ok >= 10, "only {ok} (operation, 2xx) pairs: {seen:?}");
    assert!(
        refused >= 25,
        "only {refused} (operation, 4xx/5xx) pairs: {seen:?}"
    );
}

/// The document as both listeners serve it (they must agree).
async fn served_document(http: &reqwest::Client, bases: &Bases) -> anyhow::Result<Doc> {
    let mut docs = Vec::new();
    for base in [&bases.write, &bases.read] {
        let res = http.get(format!("{base}/openapi.json")).send().await?;
        anyhow::ensure!(res.status() == 200, "{base}/openapi.json: {}", res.status());
        docs.push(res.json::<Value>().await?);
    }
    anyhow::ensure!(
        docs[0] == docs[1],
        "the listeners serve different documents"
    );
    Ok(Doc::load(docs.remove(0)))
}

/// Four users who follow each other and 24 photos of every type (deletes
/// take some of them as the run goes).
async fn fixture(http: &reqwest::Client, bases: &Bases) -> anyhow::Result<Pools> {
    let mut pools = Pools {
        photo_limit: common::PHOTO_LIMIT as usize,
        ..Pools::default()
    };
    for name in ["alice", "bob", "carol", "dave"] {
        let body = json!({"name": name, "email": format!("{name}@x.test")});
        let res = http
            .post(format!("{}/v1/users", bases.write))
            .json(&body)
            .send()
            .await?;
        let v: Value = res.error_for_status()?.json().await?;
        pools.users.push(v["id"].as_u64().unwrap_or_default());
        pools
            .tokens
            .push(v["token"].as_str().unwrap_or_default().to_string());
    }
    let (u, t) = (pools.users.clone(), pools.tokens.clone());
    // Dave follows as many as allowed: his next follow is a 409.
    for (who, leader) in [(1, 0), (2, 0), (0, 1), (3, 0), (3, 1)] {
        let url = format!(
            "{}/v1/users/{}/following/{}",
            bases.write, u[who], u[leader]
        );
        http.put(url)
            .bearer_auth(&t[who])
            .send()
            .await?
            .error_for_status()?;
    }
    let files = [
        "image/jpeg",
        "image/png",
        "video/mp4",
        "image/gif",
        "image/webp",
        "video/webm",
    ];
    let titles = ["sunset at sea", "harbour lights", "sea birds", "old town"];
    for i in 0..24 {
        let (mime, title) = (files[i % files.len()], titles[i % titles.len()]);
        let res = http
            .post(format!("{}/v1/photos", bases.write))
            .query(&[("title", title)])
            .bearer_auth(&t[i % 2])
            .header("content-type", mime)
            .body(sample_body(mime, 1500 + 100 * i, i as u8))
            .send()
            .await?;
        let v: Value = res.error_for_status()?.json().await?;
        let id: u64 = v["id"].as_str().unwrap_or_default().parse()?;
        pools.photos.push(id);
        let got = http
            .get(format!("{}/v1/photos/{id}", bases.read))
            .send()
            .await?;
        if let Some(etag) = got.headers().get("etag").and_then(|v| v.to_str().ok()) {
            pools.etags.push(etag.to_string());
        }
    }
    pools.words = ["sunset", "sea", "harbour", "town", "nothing"]
        .map(String::from)
        .to_vec();
    Ok(pools)
}
