//! The load generator's client against the real service: the service's own
//! write and read routers on loopback (a temp data dir, default config), and
//! every variant of the client's [`Endpoint`] sent through [`HttpTarget`],
//! each of which must answer 2xx. The state each call needs is built by the
//! calls before it: two users, a follow, an upload.
//!
//! [`variant`] matches [`Endpoint`] without a wildcard, so a new variant does
//! not compile here until it is named; [`ALL`] lists the names the test must
//! have driven, so naming it without driving it fails the test. The routes
//! the calls went to must cover every route of the service's table
//! ([`api::ROUTES`]) but its health, metrics and description pages, so a
//! route the client cannot call fails the test too.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use feedlab_system::http::api::{self, Group, Verb};
use feedlab_system::service::media::sample_body;
use feedlab_system::{Service, ServiceConfig};
use feedlab_workload::{Endpoint, HttpConfig, HttpTarget, ServiceUser, UserDirectory};
use serde_json::Value;
use tokio::net::TcpListener;

/// The name of `e`'s variant.
fn variant(e: &Endpoint) -> &'static str {
    match e {
        Endpoint::CreateUser { .. } => "CreateUser",
        Endpoint::Upload { .. } => "Upload",
        Endpoint::DeletePhoto(_) => "DeletePhoto",
        Endpoint::Follow(..) => "Follow",
        Endpoint::Unfollow(..) => "Unfollow",
        Endpoint::Photo(_) => "Photo",
        Endpoint::PhotoMeta(_) => "PhotoMeta",
        Endpoint::UserPhotos(_) => "UserPhotos",
        Endpoint::Feed(_) => "Feed",
        Endpoint::FeedUpdates { .. } => "FeedUpdates",
        Endpoint::Search(..) => "Search",
        Endpoint::Health => "Health",
    }
}

/// Every variant [`variant`] names.
const ALL: [&str; 12] = [
    "CreateUser",
    "Upload",
    "DeletePhoto",
    "Follow",
    "Unfollow",
    "Photo",
    "PhotoMeta",
    "UserPhotos",
    "Feed",
    "FeedUpdates",
    "Search",
    "Health",
];

/// The client and the variants it has driven to a 2xx answer.
struct Client {
    target: HttpTarget,
    driven: BTreeSet<&'static str>,
    /// The table routes the driven calls went to.
    routes: HashSet<(Verb, &'static str)>,
}

impl Client {
    /// Send `ep` as `user` (none: no token); a non-2xx answer fails with
    /// its code. Returns the body as JSON (`Null` when it is not JSON).
    async fn call(&mut self, ep: Endpoint, user: Option<&ServiceUser>) -> anyhow::Result<Value> {
        let name = variant(&ep);
        let route = ep.route();
        let body = self
            .target
            .call(ep, user.map(|u| u.token.as_str()))
            .await
            .map_err(|e| anyhow!("{name}: {} ({})", e.code, e.message))?;
        self.driven.insert(name);
        self.routes.insert((route.verb, route.path));
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Create a user through [`Endpoint::CreateUser`].
    async fn user(&mut self, name: &str) -> anyhow::Result<ServiceUser> {
        let ep = Endpoint::CreateUser {
            name: name.into(),
            email: format!("{name}@feedlab.test"),
        };
        let v = self.call(ep, None).await?;
        Ok(ServiceUser {
            id: id(&v).context("user id")?,
            token: v["token"].as_str().context("user token")?.to_string(),
        })
    }
}

/// The `id` of an answer, as a string.
fn id(v: &Value) -> Option<String> {
    match &v["id"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_endpoint_answers_2xx_from_the_real_routers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svc = Service::open(ServiceConfig {
        data_dir: dir.path().to_path_buf(),
        ..ServiceConfig::default()
    })
    .await?;
    let (w, r) = (
        TcpListener::bind("127.0.0.1:0").await?,
        TcpListener::bind("127.0.0.1:0").await?,
    );
    let cfg = HttpConfig::new(
        format!("http://{}", w.local_addr()?),
        format!("http://{}", r.local_addr()?),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(feedlab_system::http::serve(w, r, svc, async move {
        let _ = stopped.await;
    }));
    let mut c = Client {
        target: HttpTarget::new(cfg, Arc::new(UserDirectory::new()))?,
        driven: BTreeSet::new(),
        routes: HashSet::new(),
    };

    c.call(Endpoint::Health, None).await?;
    let reader = c.user("reader").await?;
    let author = c.user("author").await?;
    c.call(
        Endpoint::Follow(reader.id.clone(), author.id.clone()),
        Some(&reader),
    )
    .await?;
    let upload = Endpoint::Upload {
        title: "sunset over the harbour".into(),
        content_type: "image/png".into(),
        body: sample_body("image/png", 4_096, 1).into(),
    };
    let photo = id(&c.call(upload, Some(&author)).await?).context("photo id")?;
    c.call(Endpoint::Photo(photo.clone()), Some(&reader))
        .await?;
    c.call(Endpoint::PhotoMeta(photo.clone()), Some(&reader))
        .await?;
    c.call(Endpoint::UserPhotos(author.id.clone()), Some(&reader))
        .await?;
    c.call(Endpoint::Feed(20), Some(&reader)).await?;
    // 1.5 s goes out as `wait=2`: a wait the service accepts (at most 30 s),
    // where the same wait in milliseconds was refused.
    let poll = Endpoint::FeedUpdates {
        since: "0".into(),
        wait: Duration::from_millis(1_500),
    };
    c.call(poll, Some(&reader)).await?;
    c.call(Endpoint::Search("sunset".into(), 5), Some(&reader))
        .await?;
    c.call(
        Endpoint::Unfollow(reader.id.clone(), author.id.clone()),
        Some(&reader),
    )
    .await?;
    c.call(Endpoint::DeletePhoto(photo), Some(&author)).await?;

    let _ = stop.send(());
    server.await??;
    let missing: Vec<_> = ALL.iter().filter(|n| !c.driven.contains(*n)).collect();
    assert!(missing.is_empty(), "variants not driven: {missing:?}");
    assert_eq!(c.driven.len(), ALL.len(), "driven: {:?}", c.driven);
    let uncalled: Vec<_> = api::ROUTES
        .iter()
        .filter(|r| r.group != Group::Base && !c.routes.contains(&(r.verb, r.path)))
        .map(|r| (r.verb, r.path))
        .collect();
    assert!(
        uncalled.is_empty(),
        "table routes no call reached: {uncalled:?}"
    );
    Ok(())
}
