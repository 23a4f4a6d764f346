//! Handlers of the read router.
//!
//! Photo bytes are immutable and content-addressed, so they are served with
//! a strong ETag (the content hash) and `Cache-Control: immutable`, and a
//! CDN can cache them forever. Single byte ranges are honoured (206); a
//! multi-range request gets the whole body (200), as RFC 9110 allows.
//! Bodies over 1 MiB are streamed in verified pieces, never held whole.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, ApiResult, Caller, Served, api, parse_id};
use crate::error::Error;
use crate::id::PhotoId;
use crate::service::Service;
use crate::service::photos::PhotoBody;
use crate::tables::PhotoRow;

/// Cache policy of photo bytes: content-addressed, so cacheable forever.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The read routes with their handlers (short reads and long-polls; the
/// table gives each its admission group).
pub(super) fn routes() -> Vec<Served> {
    vec![
        Served::new(api::PHOTO, api::PHOTO.to(photo_bytes)),
        Served::new(api::PHOTO_META, api::PHOTO_META.to(photo_meta)),
        Served::new(api::USER_PHOTOS, api::USER_PHOTOS.to(user_photos)),
        Served::new(api::FEED, api::FEED.to(feed)),
        Served::new(api::SEARCH, api::SEARCH.to(search)),
        Served::new(api::FEED_UPDATES, api::FEED_UPDATES.to(feed_updates)),
    ]
}

/// A photo's public metadata. Ids are strings: 64-bit ids do not survive
/// JavaScript numbers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhotoView {
    /// Photo id (decimal string).
    #[schema(pattern = "^[0-9]{1,20}$")]
    pub id: String,
    /// Uploader's user id.
    pub owner: u64,
    /// Title.
    pub title: String,
    /// Media type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Upload time, Unix ms.
    pub created_ms: u64,
    /// Where the bytes are.
    #[schema(pattern = "^/v1/photos/[0-9]{1,20}$")]
    pub url: String,
}

impl From<&PhotoRow> for PhotoView {
    fn from(r: &PhotoRow) -> Self {
        PhotoView {
            id: r.id.0.to_string(),
            owner: r.owner,
            title: r.title.clone(),
            content_type: r.content_type.clone(),
            size: r.size,
            created_ms: r.created_ms,
            url: format!("/v1/photos/{}", r.id.0),
        }
    }
}

/// A list of photos.
#[derive(Debug, Serialize, ToSchema)]
pub struct Items {
    /// The photos, in the endpoint's order.
    pub items: Vec<PhotoView>,
}

fn items(rows: &[std::sync::Arc<PhotoRow>]) -> Json<Items> {
    Json(Items {
        items: rows.iter().map(|r| PhotoView::from(r.as_ref())).collect(),
    })
}

fn photo_id(p: Result<Path<String>, PathRejection>) -> ApiResult<PhotoId> {
    let Path(id) = p?;
    Ok(PhotoId(parse_id("photo id", &id)?))
}

/// Parse a `Range` header against an object of `size` bytes: `None` means
/// serve everything; a single valid range is `start..end` (end exclusive).
fn byte_range(headers: &HeaderMap, size: u64) -> ApiResult<Option<std::ops::Range<u64>>> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::bad("Range header is not ASCII"))?;
    let unsatisfiable = || ApiError::from(Error::RangeNotSatisfiable { size });
    let mut parsed = http_range_header::parse_range_header(s).map_err(|_| unsatisfiable())?;
    // RFC 9110 §14.1.3: a suffix longer than the object selects all of it.
    for r in &mut parsed.ranges {
        if let http_range_header::StartPosition::FromLast(n) = &mut r.start {
            *n = (*n).min(size);
        }
    }
    let ranges = parsed.validate(size).map_err(|_| unsatisfiable())?;
    match ranges.as_slice() {
        [r] => Ok(Some(*r.start()..*r.end() + 1)),
        _ => Ok(None),
    }
}

async fn photo_bytes(
    State(svc): State<Service>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let pid = photo_id(id)?;
    let row = svc.photo(pid).await?;
    let etag = format!("\"{}\"", row.blob);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        // RFC 9110 §15.4.5: a 304 carries the Cache-Control a 200 would.
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag.as_str()),
                (header::CACHE_CONTROL, IMMUTABLE),
            ],
        )
            .into_response());
    }
    let range = match byte_range(&headers, row.size) {
        Err(e) if e.status == StatusCode::RANGE_NOT_SATISFIABLE => {
            let mut res = e.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", row.size)) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(res);
        }
        other => other?,
    };
    let (row, body) = svc.photo_body(pid, range.clone()).await?;
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut res = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, &row.content_type)
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, IMMUTABLE)
        .header(header::ACCEPT_RANGES, "bytes");
    if let Some(r) = &range {
        res = res.header(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", r.start, r.end - 1, row.size),
        );
    }
    let body = match body {
        PhotoBody::Whole(bytes) => Body::from(bytes),
        PhotoBody::Stream(len, stream) => {
            res = res.header(header::CONTENT_LENGTH, len);
            Body::from_stream(stream)
        }
    };
    res.body(body)
        .map_err(|e| Error::Internal(format!("response: {e}")).into())
}

async fn photo_meta(
    State(svc): State<Service>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<PhotoView>> {
    let row = svc.photo(photo_id(id)?).await?;
    Ok(Json(PhotoView::from(row.as_ref())))
}

/// The query of `GET /v1/users/{id}/photos`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// How many photos (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
    /// Only photos older than this photo id.
    #[param(schema_with = super::openapi::id_schema)]
    before: Option<String>,
}

async fn user_photos(
    State(svc): State<Service>,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Items>> {
    let Path(id) = id?;
    let uid = parse_id("user id", &id)?;
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad("limit must be 1–100"));
    }
    let before = q
        .before
        .as_deref()
        .map(|b| parse_id("before", b))
        .transpose()?;
    svc.user(uid).await?;
    Ok(items(
        &svc.user_photos(uid, limit, before.map(PhotoId)).await?,
    ))
}

/// The query of `GET /v1/feed`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct FeedQuery {
    /// How many entries (default and maximum: the service's feed limit, 100 unless configured).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

async fn feed(
    State(svc): State<Service>,
    Caller(me): Caller,
    q: Result<Query<FeedQuery>, QueryRejection>,
) -> ApiResult<Json<Items>> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(svc.config().feed_limit);
    Ok(items(&svc.feed(me, limit).await?))
}

/// The query of `GET /v1/feed/updates`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct UpdatesQuery {
    /// Only entries with a newer photo id (default 0: all).
    #[param(schema_with = super::openapi::id_schema)]
    since: Option<String>,
    /// Longest wait for a new entry, in seconds (default 25).
    #[param(minimum = 0, maximum = 30)]
    wait: Option<u64>,
}

async fn feed_updates(
    State(svc): State<Service>,
    Caller(me): Caller,
    q: Result<Query<UpdatesQuery>, QueryRejection>,
) -> ApiResult<Json<Items>> {
    let Query(q) = q?;
    let since = q
        .since
        .as_deref()
        .map(|s| parse_id("since", s))
        .transpose()?
        .unwrap_or(0);
    let wait = Duration::from_secs(q.wait.unwrap_or(25));
    Ok(items(&svc.feed_updates(me, PhotoId(since), wait).await?))
}

/// The query of `GET /v1/search`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SearchQuery {
    /// The words every title must contain (at least one letter or digit).
    #[param(required = true, pattern = r"[\p{L}\p{N}]")]
    q: Option<String>,
    /// How many photos (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

async fn search(
    State(svc): State<Service>,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> ApiResult<Json<Items>> {
    let Query(q) = q?;
    let text = q.q.ok_or_else(|| ApiError::bad("missing q"))?;
    Ok(items(&svc.search(&text, q.limit.unwrap_or(20)).await?))
}
