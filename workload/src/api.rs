//! The service API as the load generator sees it: the accounts it acts as
//! ([`UserDirectory`] of [`ServiceUser`]s, population id → service id and
//! bearer token) and the calls it makes ([`Endpoint`]).
//! [`crate::http::HttpTarget`] turns these into requests; it reads feed pages
//! with [`crate::feed_ids`]. Each call's method, path and listener come from the
//! service's route table ([`feedlab_system::http::api`]), which its routers
//! and `openapi.json` are checked against.

use std::collections::HashMap;
use std::sync::RwLock;

use feedlab_system::http::api::{self, Listener, Route};
use serde_json::Value;

/// A service account: its id in the service and its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUser {
    /// The service's user id (as it appears in URLs).
    pub id: String,
    /// Bearer token.
    pub token: String,
}

/// Population id → service account; shared between setup and the target.
#[derive(Debug, Default)]
pub struct UserDirectory {
    users: RwLock<HashMap<u64, ServiceUser>>,
}

impl UserDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the account of population user `index`.
    pub fn insert(&self, index: u64, user: ServiceUser) {
        self.users
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(index, user);
    }

    /// The account of population user `index`.
    pub fn get(&self, index: u64) -> Option<ServiceUser> {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&index)
            .cloned()
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.users.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An upload's body: bytes given whole, or a synthetic body ([`crate::upload_body`]'s bytes)
/// generated while the request is written, in bounded memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadBody {
    /// These bytes.
    Bytes(Vec<u8>),
    /// The synthetic body of this upload.
    Generated(crate::ops::UploadSpec),
}

impl From<Vec<u8>> for UploadBody {
    fn from(bytes: Vec<u8>) -> Self {
        UploadBody::Bytes(bytes)
    }
}

/// One call of the service API, with service ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/users` with JSON `{name, email}` (no auth).
    CreateUser {
        /// Display name.
        name: String,
        /// E-mail address.
        email: String,
    },
    /// `POST /v1/photos?title=…`, raw body with its content type.
    Upload {
        /// Title.
        title: String,
        /// MIME type.
        content_type: String,
        /// The body.
        body: UploadBody,
    },
    /// `DELETE /v1/photos/{id}`.
    DeletePhoto(String),
    /// `PUT /v1/users/{user}/following/{leader}`.
    Follow(String, String),
    /// `DELETE /v1/users/{user}/following/{leader}`.
    Unfollow(String, String),
    /// `GET /v1/photos/{id}` (bytes).
    Photo(String),
    /// `GET /v1/photos/{id}/meta`.
    PhotoMeta(String),
    /// `GET /v1/users/{id}/photos`.
    UserPhotos(String),
    /// `GET /v1/feed?limit=`.
    Feed(u32),
    /// `GET /v1/feed/updates?since=&wait=`: a long-poll for entries newer
    /// than `since`. The service takes `wait` in whole seconds, at most 30.
    FeedUpdates {
        /// Cursor from a previous page.
        since: String,
        /// How long the service may hold the request; sent in whole seconds,
        /// rounded up.
        wait: std::time::Duration,
    },
    /// `GET /v1/search?q=&limit=`.
    Search(String, u32),
    /// `GET /healthz` on the read router (no auth).
    Health,
}

impl Endpoint {
    /// The service route this call requests: its method, path template and
    /// listener come from the service's own table ([`api`]).
    pub fn route(&self) -> Route {
        match self {
            Endpoint::CreateUser { .. } => api::CREATE_USER,
            Endpoint::Upload { .. } => api::UPLOAD,
            Endpoint::DeletePhoto(_) => api::DELETE_PHOTO,
            Endpoint::Follow(..) => api::FOLLOW,
            Endpoint::Unfollow(..) => api::UNFOLLOW,
            Endpoint::Photo(_) => api::PHOTO,
            Endpoint::PhotoMeta(_) => api::PHOTO_META,
            Endpoint::UserPhotos(_) => api::USER_PHOTOS,
            Endpoint::Feed(_) => api::FEED,
            Endpoint::FeedUpdates { .. } => api::FEED_UPDATES,
            Endpoint::Search(..) => api::SEARCH,
            Endpoint::Health => api::HEALTHZ,
        }
    }

    /// The route's path with this call's ids in place of its parameters
    /// (no query string).
    pub fn path(&self) -> String {
        let route = self.route();
        match self {
            Endpoint::DeletePhoto(id)
            | Endpoint::Photo(id)
            | Endpoint::PhotoMeta(id)
            | Endpoint::UserPhotos(id) => route.path_with(&[id]),
            Endpoint::Follow(user, leader) | Endpoint::Unfollow(user, leader) => {
                route.path_with(&[user, leader])
            }
            _ => route.path_with(&[]),
        }
    }

    /// The listener the call goes to (the read one for `/healthz`, which
    /// both serve).
    pub fn listener(&self) -> Listener {
        self.route().group.listener()
    }

    /// Whether the call goes to the write router rather than the read one.
    pub fn is_write(&self) -> bool {
        self.listener() == Listener::Write
    }
}

/// The `id` field of a JSON object, as a string (numbers are formatted).
pub(crate) fn id_of(v: &Value) -> Option<String> {
    match v.get("id").unwrap_or(v) {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
