//! Handlers of the write router.

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::{Json, middleware};
use futures::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::read::PhotoView;
use super::{ApiError, ApiResult, Caller, Served, api, limits, parse_id};
use crate::id::PhotoId;
use crate::service::Service;
use crate::service::photos::check_title;
use crate::service::users::{FollowChange, NewUser};

/// The write routes with their handlers (small writes and uploads; the
/// table gives each its admission group). A declared upload body over the
/// limit is refused before it is read, and an undeclared one at the piece
/// that crosses the limit.
pub(super) fn routes(svc: &Service) -> Vec<Served> {
    let declared = middleware::from_fn_with_state(svc.clone(), limits::declared_length);
    vec![
        Served::new(api::UPLOAD, api::UPLOAD.to(upload).route_layer(declared)),
        Served::new(api::CREATE_USER, api::CREATE_USER.to(create_user)),
        Served::new(api::DELETE_PHOTO, api::DELETE_PHOTO.to(delete_photo)),
        Served::new(api::FOLLOW, api::FOLLOW.to(follow)),
        Served::new(api::UNFOLLOW, api::UNFOLLOW.to(unfollow)),
    ]
}

/// The body of `POST /v1/users`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewUserBody {
    /// Display name: 1–64 characters once trimmed, no control characters.
    #[schema(max_length = 64)]
    #[schema(pattern = r"^[^\s\p{Cc}]([^\p{Cc}]*[^\s\p{Cc}])?$")]
    name: String,
    /// Email: 3–128 characters with exactly one `@`, no control characters.
    #[schema(min_length = 3, max_length = 128)]
    #[schema(pattern = r"^[^\s@\p{Cc}]*@[^\s@\p{Cc}]*$")]
    email: String,
}

async fn create_user(
    State(svc): State<Service>,
    body: Result<Json<NewUserBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<NewUser>)> {
    let Json(b) = body?;
    Ok((
        StatusCode::CREATED,
        Json(svc.create_user(&b.name, &b.email).await?),
    ))
}

/// The query of `POST /v1/photos`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct UploadQuery {
    /// The photo's title: at most 200 characters, no control characters (default empty).
    #[serde(default)]
    #[param(max_length = 200, pattern = r"^\P{Cc}*$")]
    title: String,
}

/// Streams the body into the service's [`crate::service::receive::Receiver`]:
/// validated, hashed and (past `upload-memory-bytes`) written to the blob
/// store's sink as it arrives, so memory stays bounded whatever the body's size.
async fn upload(
    State(svc): State<Service>,
    Caller(me): Caller,
    q: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<PhotoView>)> {
    let Query(q) = q?;
    check_title(&q.title)?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let mut rx = svc.receiver();
    let mut stream = body.into_data_stream();
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(ApiError::from_body_error)?;
        rx.push(&piece).await?;
    }
    let received = rx.finish(declared).await?;
    let row = svc.store_upload(me, &q.title, received).await?;
    Ok((StatusCode::CREATED, Json(PhotoView::from(&row))))
}

async fn delete_photo(
    State(svc): State<Service>,
    Caller(me): Caller,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    let Path(id) = id?;
    let pid = PhotoId(parse_id("photo id", &id)?);
    svc.delete_photo(me, pid).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn follow(
    State(svc): State<Service>,
    Caller(me): Caller,
    p: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<FollowChange>> {
    let Path((id, leader)) = p?;
    let (id, leader) = (parse_id("user id", &id)?, parse_id("leader id", &leader)?);
    Ok(Json(svc.follow(me, id, leader).await?))
}

async fn unfollow(
    State(svc): State<Service>,
    Caller(me): Caller,
    p: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<FollowChange>> {
    let Path((id, leader)) = p?;
    let (id, leader) = (parse_id("user id", &id)?, parse_id("leader id", &leader)?);
    Ok(Json(svc.unfollow(me, id, leader).await?))
}
