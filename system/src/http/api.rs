//! The HTTP API in one table: every route's method, path template, the
//! admission group (and so the listener) that serves it, and the workload op
//! it performs.
//!
//! The routers register each route from its [`Route`] (path and method
//! come from here, only the handler is theirs), the load generator's client
//! builds its requests from the same entries, the request metrics name the
//! op of a request through [`op_of`], and tests check the table against
//! `openapi.json` and against what the routers answer.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};

use crate::service::Service;

use Group::{Base, Longpoll, Read, Upload, Write};
use Verb::{Delete, Get, Post, Put};

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl Verb {
    /// The method as sent on the wire.
    pub fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Delete => Method::DELETE,
        }
    }

    /// The method as OpenAPI names it in a path item (`get`, `post`, …).
    pub fn openapi_name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Put => "put",
            Verb::Delete => "delete",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// Which listener a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listener {
    /// The write router's listener.
    Write,
    /// The read router's listener.
    Read,
}

/// The admission group a route belongs to: each has its own concurrency
/// limit, and the group decides the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// Small writes (write listener).
    Write,
    /// Uploads (write listener, a pool apart).
    Upload,
    /// Short reads (read listener).
    Read,
    /// Long-polls (read listener, a pool apart).
    Longpoll,
    /// Health, metrics and the API description: both listeners, outside
    /// admission control.
    Base,
}

impl Group {
    /// Whether `listener` serves this group's routes.
    pub fn served_by(self, listener: Listener) -> bool {
        match self {
            Group::Write | Group::Upload => listener == Listener::Write,
            Group::Read | Group::Longpoll => listener == Listener::Read,
            Group::Base => true,
        }
    }

    /// The listener a client sends this group's requests to (the read one
    /// for [`Group::Base`]).
    pub fn listener(self) -> Listener {
        match self {
            Group::Write | Group::Upload => Listener::Write,
            Group::Read | Group::Longpoll | Group::Base => Listener::Read,
        }
    }
}

/// One route of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Its method.
    pub verb: Verb,
    /// Its path template, parameters as `{name}` segments (the syntax of
    /// both axum and OpenAPI); also the `route` label of the request metrics.
    pub path: &'static str,
    /// The admission group that serves it.
    pub group: Group,
    /// The workload op kind a request to it performs (the driver's names:
    /// `upload`, `feed`, `photo_get`, `search`, `follow`, `unfollow`).
    pub op: Option<&'static str>,
}

impl Route {
    const fn new(verb: Verb, path: &'static str, group: Group, op: Option<&'static str>) -> Self {
        Route {
            verb,
            path,
            group,
            op,
        }
    }

    /// The path with its `{name}` segments replaced by `args`, in order. A
    /// parameter without an argument is left as it is (the router then
    /// answers 400 or 404).
    pub fn path_with(&self, args: &[&str]) -> String {
        let mut args = args.iter();
        let mut out = String::with_capacity(self.path.len() + 24);
        for seg in self.path.split('/').skip(1) {
            out.push('/');
            let arg = if seg.starts_with('{') {
                args.next()
            } else {
                None
            };
            out.push_str(arg.unwrap_or(&seg));
        }
        out
    }

    /// The path's parameter names, in order.
    pub fn params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
    }

    /// A method router serving this route's method with `handler`.
    pub(crate) fn to<H, T>(&self, handler: H) -> MethodRouter<Service>
    where
        H: Handler<T, Service>,
        T: 'static,
    {
        axum::routing::on(self.verb.filter(), handler)
    }
}

/// `POST /v1/users`: create a user (no auth).
pub const CREATE_USER: Route = Route::new(Post, "/v1/users", Write, None);
/// `POST /v1/photos?title=`: upload a photo or video.
pub const UPLOAD: Route = Route::new(Post, "/v1/photos", Upload, Some("upload"));
/// `DELETE /v1/photos/{id}`: delete one's photo.
pub const DELETE_PHOTO: Route = Route::new(Delete, "/v1/photos/{id}", Write, None);
/// `PUT /v1/users/{id}/following/{leader}`: follow.
pub const FOLLOW: Route = Route::new(
    Put,
    "/v1/users/{id}/following/{leader}",
    Write,
    Some("follow"),
);
/// `DELETE /v1/users/{id}/following/{leader}`: unfollow.
pub const UNFOLLOW: Route = Route::new(
    Delete,
    "/v1/users/{id}/following/{leader}",
    Write,
    Some("unfollow"),
);
/// `GET /v1/photos/{id}`: a photo's bytes.
pub const PHOTO: Route = Route::new(Get, "/v1/photos/{id}", Read, Some("photo_get"));
/// `GET /v1/photos/{id}/meta`: a photo's metadata.
pub const PHOTO_META: Route = Route::new(Get, "/v1/photos/{id}/meta", Read, None);
/// `GET /v1/users/{id}/photos`: a user's photos.
pub const USER_PHOTOS: Route = Route::new(Get, "/v1/users/{id}/photos", Read, None);
/// `GET /v1/feed?limit=`: the caller's home feed.
pub const FEED: Route = Route::new(Get, "/v1/feed", Read, Some("feed"));
/// `GET /v1/feed/updates?since=&wait=`: long-poll for new feed entries.
pub const FEED_UPDATES: Route = Route::new(Get, "/v1/feed/updates", Longpoll, None);
/// `GET /v1/search?q=&limit=`: title search.
pub const SEARCH: Route = Route::new(Get, "/v1/search", Read, Some("search"));
/// `GET /healthz`: liveness.
pub const HEALTHZ: Route = Route::new(Get, "/healthz", Base, None);
/// `GET /metrics`: Prometheus metrics.
pub const METRICS: Route = Route::new(Get, "/metrics", Base, None);
/// `GET /openapi.json`: the OpenAPI description.
pub const OPENAPI_JSON: Route = Route::new(Get, "/openapi.json", Base, None);

/// Every route of the API.
pub const ROUTES: [Route; 14] = [
    CREATE_USER,
    UPLOAD,
    DELETE_PHOTO,
    FOLLOW,
    UNFOLLOW,
    PHOTO,
    PHOTO_META,
    USER_PHOTOS,
    FEED,
    FEED_UPDATES,
    SEARCH,
    HEALTHZ,
    METRICS,
    OPENAPI_JSON,
];

/// The workload op kind a request with `method` to the route template
/// `route` performs, if it is one.
pub fn op_of(method: &Method, route: &str) -> Option<&'static str> {
    ROUTES
        .iter()
        .find(|r| r.path == route && r.verb.method() == *method)
        .and_then(|r| r.op)
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
