//! Admission control of one group of routes.
//!
//! At most `concurrency` requests of the group run at once. Up to `queue`
//! more wait for a slot, each for at most `queue_wait`. Any other request,
//! and any that waited that long, is answered at once with
//! `503 {"code":"overloaded"}` and `Retry-After: 1`. Past the knee the
//! excess is thereby refused for the price of parsing its head, instead of
//! queueing until every request, admitted or not, misses its target. The
//! refusals are counted in `feedlab_http_shed_total{group}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::ApiError;
use crate::service::Service;

/// The bounds of one group (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Requests running at once.
    pub concurrency: usize,
    /// Requests waiting for a slot at once.
    pub queue: usize,
    /// Longest wait for a slot.
    pub queue_wait: Duration,
}

/// The state of one group's admission.
struct Gate {
    group: &'static str,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    bounds: Bounds,
    svc: Service,
}

/// Put every route of `router` under one admission gate named `group`.
pub fn limit(
    router: Router<Service>,
    group: &'static str,
    bounds: Bounds,
    svc: &Service,
) -> Router<Service> {
    let gate = Arc::new(Gate {
        group,
        slots: Arc::new(Semaphore::new(bounds.concurrency.max(1))),
        waiting: AtomicUsize::new(0),
        bounds,
        svc: svc.clone(),
    });
    // `route_layer` wraps each route separately; they share `gate`, so the
    // bounds hold for the group as a whole.
    router.route_layer(middleware::from_fn_with_state(gate, admit))
}

async fn admit(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    let permit = match gate.slots.clone().try_acquire_owned() {
        Ok(p) => Some(p),
        Err(_) => queue(&gate).await,
    };
    match permit {
        Some(_permit) => next.run(req).await,
        None => {
            gate.svc
                .metrics()
                .http_shed
                .with_label_values(&[gate.group])
                .inc();
            overloaded(gate.group).into_response()
        }
    }
}

/// Wait for a slot if the queue has room, for at most the queue wait.
async fn queue(gate: &Gate) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if gate.waiting.fetch_add(1, Ordering::AcqRel) >= gate.bounds.queue {
        gate.waiting.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    let waited =
        tokio::time::timeout(gate.bounds.queue_wait, gate.slots.clone().acquire_owned()).await;
    gate.waiting.fetch_sub(1, Ordering::AcqRel);
    waited.ok().and_then(Result::ok)
}

/// The answer to a refused request.
pub fn overloaded(group: &str) -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "overloaded",
        message: format!("the {group} routes are at capacity; retry later"),
    }
}
