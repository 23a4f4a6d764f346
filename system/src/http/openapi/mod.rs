//! The OpenAPI 3.1 document of both listeners, served at `/openapi.json`.
//!
//! It is built, not written: paths, methods and the listener of each
//! operation come from the route table ([`super::api::ROUTES`]); request
//! bodies, query parameters and response schemas from the handlers' own
//! types (`utoipa::ToSchema` / `IntoParams` derives); the statuses and
//! headers each operation answers from [`ops`], next to the few answers every
//! operation shares (added here, from the route's admission group and
//! whether it needs a token).
//!
//! Contract: every status the service sends for an operation is listed
//! under it, every error has the `Error` body, every listed response header
//! is sent, and each operation's `servers` names the listener(s) that serve
//! it. `tests/http_openapi.rs` drives both listeners with requests generated
//! from this document and holds the service to it.

mod ops;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use utoipa::openapi::path::{Operation, OperationBuilder, Parameter, ParameterBuilder};
use utoipa::openapi::path::{ParameterIn, PathItem};
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::SecurityScheme;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement};
use utoipa::openapi::server::{Server, ServerBuilder, ServerVariableBuilder};
use utoipa::openapi::{
    ContentBuilder, Header, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, Required,
    Response, ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use super::api::{self, Group, Listener, ROUTES, Route};

use ops::Op;

/// The name of the bearer-token security scheme.
const BEARER: &str = "bearer";

/// The document, serialized once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        document()
            .to_json()
            .expect("the document is maps, strings and numbers, which always serialize")
    })
}

/// The document: one operation per route of [`ROUTES`].
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut items: BTreeMap<&str, Vec<(Route, Operation)>> = BTreeMap::new();
    for r in ROUTES {
        items
            .entry(r.path)
            .or_default()
            .push((r, operation(&r, ops::of(&r))));
    }
    for (path, operations) in items {
        let mut item: Option<PathItem> = None;
        for (r, op) in operations {
            let one = PathItem::new(r.verb.http_method(), op);
            match &mut item {
                Some(i) => i.merge_operations(one),
                None => item = Some(one),
            }
        }
        if let Some(item) = item {
            paths = paths.path(path, item);
        }
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("feedlab reference photo service")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Two listeners: the write listener (POST, PUT, DELETE) and the read \
                     listener (GET); each operation's `servers` names its listener, and \
                     /healthz, /metrics and /openapi.json are on both. Every error is JSON \
                     {code, message}; every listed response header is sent.",
                )),
        )
        .servers(Some([server(Listener::Write), server(Listener::Read)]))
        .paths(paths.build())
        .components(Some(components()))
        .build()
}

/// The schemas of the handlers' types and the bearer scheme.
fn components() -> utoipa::openapi::Components {
    fn add<T: ToSchema>(c: ComponentsBuilder) -> ComponentsBuilder {
        let mut deps = Vec::new();
        T::schemas(&mut deps);
        c.schema_from::<T>().schemas_from_iter(deps)
    }
    let c = ComponentsBuilder::new().security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("the token `POST /v1/users` returned, as issued"))
                .build(),
        ),
    );
    let c = add::<super::error::Body>(c);
    let c = add::<super::read::PhotoView>(c);
    let c = add::<super::read::Items>(c);
    let c = add::<super::write::NewUserBody>(c);
    let c = add::<crate::service::users::NewUser>(c);
    add::<crate::service::users::FollowChange>(c).build()
}

/// A listener as a server, its address a variable defaulting to the one
/// `feedlab serve` listens on.
fn server(l: Listener) -> Server {
    let (name, port) = match l {
        Listener::Write => ("write listener (`feedlab serve --write-addr`)", "8080"),
        Listener::Read => ("read listener (`feedlab serve --read-addr`)", "8081"),
    };
    ServerBuilder::new()
        .url("http://{host}:{port}")
        .description(Some(name))
        .parameter(
            "host",
            ServerVariableBuilder::new().default_value("127.0.0.1"),
        )
        .parameter("port", ServerVariableBuilder::new().default_value(port))
        .build()
}

/// The operation of `r`: `op`'s own parameters, body and answers, plus the
/// path parameters, servers, security and the answers every operation of
/// its kind shares.
fn operation(r: &Route, op: Op) -> Operation {
    let mut errors: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for (status, why) in op.errors.iter().copied().chain(shared_errors(r, &op)) {
        errors.entry(status).or_default().push(why);
    }
    let servers = [Listener::Write, Listener::Read]
        .into_iter()
        .filter(|l| r.group.served_by(*l))
        .map(server);
    let mut b = OperationBuilder::new()
        .summary(Some(op.summary))
        .operation_id(Some(op.id))
        .servers(Some(servers))
        .parameters(Some(r.params().map(|p| path_param(r, p)).chain(op.params)))
        .request_body(op.body);
    if op.secured {
        b = b.security(SecurityRequirement::new(BEARER, Vec::<String>::new()));
    }
    for (status, res) in op.ok {
        b = b.response(status.to_string(), res);
    }
    for (status, whys) in errors {
        b = b.response(status.to_string(), error(status, &whys.join("; ")));
    }
    b.build()
}

/// The errors an operation answers by its kind, whatever its handler does.
fn shared_errors(r: &Route, op: &Op) -> Vec<(u16, &'static str)> {
    let mut out = vec![
        (400, "the query string is not UTF-8 once percent-decoded"),
        (431, "more than 100 header lines"),
    ];
    if op.secured {
        out.push((401, "missing, malformed or unknown bearer token"));
    }
    if r.group != Group::Base {
        out.push((
            503,
            "`overloaded`: the route's admission group is at capacity",
        ));
    }
    if op.stores {
        out.push((503, "`unavailable`: a backend store cannot be reached"));
        out.push((
            500,
            "a server fault (`internal`), or `data_lost` when no good copy of a photo is left",
        ));
    }
    out
}

/// An error answer: the `Error` body, and the headers that come with its
/// status.
fn error(status: u16, description: &str) -> Response {
    let mut b = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(super::error::Body::name())))
            .build(),
    );
    let header = |d: &str| {
        let mut h = Header::new(String::schema());
        h.description = Some(d.into());
        h
    };
    match status {
        401 => b = b.header("WWW-Authenticate", header("`Bearer`")),
        408 => b = b.header("Connection", header("`close`")),
        416 => b = b.header("Content-Range", header("`bytes */<size>`")),
        503 => b = b.header("Retry-After", header("seconds to wait")),
        _ => {}
    }
    b.build()
}

/// A path parameter of `r`: every id in a path is a decimal `u64`, read by
/// [`super::parse_id`] (a photo id after `photos`, else a user id).
fn path_param(r: &Route, name: &str) -> Parameter {
    let what = r
        .path
        .split('/')
        .take_while(|s| s.trim_matches(['{', '}']) != name)
        .last();
    let description = match what {
        Some("photos") => "photo id",
        _ => "user id",
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(id_schema()))
        .build()
}

/// A decimal `u64` id.
pub(super) fn id_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .maximum(Some(u64::MAX))
}

impl api::Verb {
    /// The method as utoipa names it.
    fn http_method(self) -> utoipa::openapi::HttpMethod {
        use utoipa::openapi::HttpMethod as M;
        match self {
            api::Verb::Get => M::Get,
            api::Verb::Post => M::Post,
            api::Verb::Put => M::Put,
            api::Verb::Delete => M::Delete,
        }
    }
}

#[cfg(test)]
mod tests;
