//! What each route's handler takes and answers, for the document: its query
//! and header parameters and request body (from the handler's types), its
//! successful answers, and the errors it sends beyond those every operation
//! shares (see [`super::operation`]).

use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Content, ContentBuilder, Header, Ref, Required, Response, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use super::super::api::{self, Route};
use super::super::{read, write};
use crate::service::media;
use crate::service::users::{FollowChange, NewUser};

/// One operation's own part of the document.
pub struct Op {
    /// `operationId`.
    pub id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Needs `Authorization: Bearer <token>` (adds 401).
    pub secured: bool,
    /// Reads or writes the stores (adds 500 and 503 `unavailable`).
    pub stores: bool,
    /// Query and header parameters (path parameters come from the route).
    pub params: Vec<Parameter>,
    /// The request body, if any.
    pub body: Option<RequestBody>,
    /// Successful answers by status.
    pub ok: Vec<(u16, Response)>,
    /// Errors by status, each with why it is sent.
    pub errors: Vec<(u16, &'static str)>,
}

impl Op {
    fn new(id: &'static str, summary: &'static str) -> Self {
        Op {
            id,
            summary,
            secured: false,
            stores: true,
            params: Vec::new(),
            body: None,
            ok: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn secured(mut self) -> Self {
        self.secured = true;
        self
    }

    fn query<P: IntoParams>(mut self) -> Self {
        self.params
            .extend(P::into_params(|| Some(ParameterIn::Query)));
        self
    }

    fn ok(mut self, status: u16, res: Response) -> Self {
        self.ok.push((status, res));
        self
    }

    fn errors(mut self, errors: &[(u16, &'static str)]) -> Self {
        self.errors.extend_from_slice(errors);
        self
    }
}

/// A JSON answer whose body is `T`.
fn json<T: ToSchema>(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", schema_ref::<T>())
        .build()
}

fn schema_ref<T: ToSchema>() -> Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(T::name())))
        .build()
}

fn header(description: &str) -> Header {
    let mut h = Header::new(String::schema());
    h.description = Some(description.into());
    h
}

/// The media types of photo bytes: those uploads are accepted in.
fn media_answer(description: &str, partial: bool) -> Response {
    let mut b = ResponseBuilder::new().description(description);
    for (mime, _) in media::ACCEPTED {
        b = b.content(*mime, Content::new(None::<Ref>));
    }
    b = b
        .header("ETag", header("the content hash, quoted"))
        .header(
            "Cache-Control",
            header("`public, max-age=31536000, immutable`"),
        )
        .header("Accept-Ranges", header("`bytes`"));
    if partial {
        b = b.header("Content-Range", header("`bytes <first>-<last>/<size>`"));
    }
    b.build()
}

fn header_param(name: &str, description: &str, examples: &[&str]) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[\x20-\x7e]*$"))
                .examples(examples.iter().copied()),
        ))
        .build()
}

/// The raw upload body: any accepted media type, or none said.
fn upload_body() -> RequestBody {
    let mut b = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .description(Some(
            "The file's bytes. Its type is detected from the bytes and must agree with \
             Content-Type when one is given (application/octet-stream says nothing). \
             Photos up to the service's photo-limit, videos up to its video-limit.",
        ));
    for mime in media::ACCEPTED
        .iter()
        .map(|(m, _)| *m)
        .chain(["application/octet-stream"])
    {
        b = b.content(mime, Content::new(None::<Ref>));
    }
    b.build()
}

fn json_body<T: ToSchema>() -> RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content("application/json", schema_ref::<T>())
        .build()
}

/// Errors of a handler that reads a JSON body (axum's `Json`).
const JSON_BODY: &[(u16, &str)] = &[
    (400, "the body is not JSON"),
    (408, "the body arrived too slowly"),
    (413, "the body is over 2 MB"),
    (415, "Content-Type is not application/json"),
    (
        422,
        "JSON of the wrong shape: a field missing, mistyped or unknown",
    ),
];

const BAD_ID: (u16, &str) = (400, "an id that is not a decimal u64");
const BAD_QUERY: (u16, &str) = (400, "a query parameter out of bounds, malformed or unknown");

/// `POST /v1/users`.
fn create_user() -> Op {
    let mut op = Op::new("createUser", "Create a user; the token is shown once")
        .ok(201, json::<NewUser>("the user's id and bearer token"))
        .errors(JSON_BODY)
        .errors(&[(400, "a name or email out of bounds")]);
    op.body = Some(json_body::<write::NewUserBody>());
    op
}

/// The document's part of route `r`.
pub fn of(r: &Route) -> Op {
    match *r {
        api::CREATE_USER => create_user(),
        api::UPLOAD => {
            let mut op = Op::new("upload", "Upload a photo or video (raw body)")
                .secured()
                .query::<write::UploadQuery>()
                .ok(201, json::<read::PhotoView>("the stored photo"))
                .errors(&[
                    (400, "a title too long or with control characters, an unknown query parameter, an empty or unreadable body"),
                    (408, "the body arrived too slowly"),
                    (413, "over the limit of its media type (a declared Content-Length is refused before the body is read)"),
                    (415, "not JPEG, PNG, WebP, GIF, MP4 or WebM, a truncated or disguised file, or bytes that disagree with Content-Type"),
                ]);
            op.body = Some(upload_body());
            op
        }
        api::DELETE_PHOTO => Op::new("deletePhoto", "Delete one's own photo")
            .secured()
            .ok(204, ResponseBuilder::new().description("deleted").build())
            .errors(&[BAD_ID, (403, "not the owner"), (404, "no such photo")]),
        api::FOLLOW => Op::new("follow", "Follow (idempotent)")
            .secured()
            .ok(200, json::<FollowChange>("whether this call changed the graph"))
            .errors(&[
                BAD_ID,
                (400, "a user cannot follow themselves"),
                (403, "only {id} itself may change its follows"),
                (404, "no such leader"),
                (409, "{id} already follows the most users allowed"),
            ]),
        api::UNFOLLOW => Op::new("unfollow", "Unfollow (idempotent)")
            .secured()
            .ok(200, json::<FollowChange>("whether this call changed the graph"))
            .errors(&[
                BAD_ID,
                (400, "a user cannot unfollow themselves"),
                (403, "only {id} itself may change its follows"),
                (404, "no such leader"),
            ]),
        api::PHOTO => photo_bytes(),
        api::PHOTO_META => Op::new("photoMeta", "A photo's metadata")
            .ok(200, json::<read::PhotoView>("the photo"))
            .errors(&[BAD_ID, (404, "no such photo")]),
        api::USER_PHOTOS => Op::new("userPhotos", "A user's photos, newest first")
            .query::<read::ListQuery>()
            .ok(200, json::<read::Items>("the photos"))
            .errors(&[BAD_ID, BAD_QUERY, (404, "no such user")]),
        api::FEED => Op::new("feed", "The caller's home feed")
            .secured()
            .query::<read::FeedQuery>()
            .ok(200, json::<read::Items>("the feed's top entries"))
            .errors(&[BAD_QUERY]),
        api::FEED_UPDATES => Op::new(
            "feedUpdates",
            "Long-poll for feed entries newer than `since`",
        )
        .secured()
        .query::<read::UpdatesQuery>()
        .ok(200, json::<read::Items>("the new entries (none when the wait ran out)"))
        .errors(&[BAD_QUERY]),
        api::SEARCH => Op::new("search", "Title search: every word, newest first")
            .query::<read::SearchQuery>()
            .ok(200, json::<read::Items>("the matching photos"))
            .errors(&[(400, "q missing or without a letter or digit, or another query parameter out of bounds, malformed or unknown")]),
        api::HEALTHZ => base("healthz", "Liveness", "text/plain", "`ok`"),
        api::METRICS => {
            base("metrics", "Prometheus metrics", "text/plain", "the metrics")
                .errors(&[(500, "the metrics could not be rendered")])
        }
        api::OPENAPI_JSON => base("openapi", "This document", "application/json", "the document"),
        _ => Op::new("undocumented", "a route without a description in openapi/ops.rs"),
    }
}

/// `GET /v1/photos/{id}`: bytes, ranges and revalidation.
fn photo_bytes() -> Op {
    let mut op = Op::new("photo", "A photo's bytes, with Range and ETag")
        .ok(200, media_answer("the whole photo", false))
        .ok(206, media_answer("the requested range", true))
        .ok(
            304,
            ResponseBuilder::new()
                .description("If-None-Match matched: not modified")
                .header("ETag", header("the content hash, quoted"))
                .header(
                    "Cache-Control",
                    header("`public, max-age=31536000, immutable`"),
                )
                .build(),
        )
        .errors(&[
            BAD_ID,
            (400, "a Range header that is not ASCII"),
            (404, "no such photo"),
            (416, "a Range outside the photo"),
        ]);
    op.params = vec![
        header_param(
            "Range",
            "one byte range (several: the whole photo)",
            &[
                "bytes=0-99",
                "bytes=-10",
                "bytes=5-",
                "bytes=0-0,2-3",
                "bytes=99999999-",
            ],
        ),
        header_param("If-None-Match", "ETags, or `*`", &["*"]),
    ];
    op
}

/// An operational route of both listeners: a fixed body type, no admission.
fn base(id: &'static str, summary: &'static str, mime: &str, what: &str) -> Op {
    let mut op = Op::new(id, summary);
    op.stores = false;
    let content = if mime == "application/json" {
        ContentBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
            .build()
    } else {
        ContentBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()
    };
    op.ok(
        200,
        ResponseBuilder::new()
            .description(what)
            .content(mime, content)
            .build(),
    )
}
