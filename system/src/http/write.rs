//! Handlers of the write router.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, post, put};
use axum::{Json, Router, middleware};
use bytes::Bytes;
use serde::Deserialize;

use super::read::PhotoView;
use super::{ApiResult, Caller, limits, parse_id};
use crate::id::PhotoId;
use crate::service::Service;
use crate::service::users::{FollowChange, NewUser};

/// The write routes: (small writes, uploads), each group to be bounded by
/// its own concurrency limit. A declared upload body over the limit is
/// refused before it is read.
pub(super) fn routes(svc: &Service) -> (Router<Service>, Router<Service>) {
    let cfg = svc.config();
    let body_limit = cfg.photo_limit.max(cfg.video_limit) as usize;
    let uploads = Router::new()
        .route(
            "/v1/photos",
            post(upload).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route_layer(middleware::from_fn_with_state(
            svc.clone(),
            limits::declared_length,
        ));
    let small = Router::new()
        .route("/v1/users", post(create_user))
        .route("/v1/photos/{id}", delete(delete_photo))
        .route(
            "/v1/users/{id}/following/{leader}",
            put(follow).delete(unfollow),
        );
    (small, uploads)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    name: String,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    #[serde(default)]
    title: String,
}

async fn upload(
    State(svc): State<Service>,
    Caller(me): Caller,
    q: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<PhotoView>)> {
    let Query(q) = q?;
    let body = body?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let row = svc.upload(me, &q.title, declared, body).await?;
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
