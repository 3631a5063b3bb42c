//! The case system's integration routes under `/api/v1`: webhook subscriptions, the event feed,
//! and the dossier and delivery lists. Authenticated like the rest of the API.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use portaal_core::domain::Id;
use portaal_core::usecases::feed::{DeliveryFilter, DossierFilter, SubscriptionInput};
use serde::Deserialize;

use crate::AppState;
use crate::problem::{ApiError, ApiResult, AppJson, OptionalJson};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/subscriptions",
            post(create_subscription).get(list_subscriptions),
        )
        .route("/subscriptions/{id}", delete(delete_subscription))
        .route("/subscriptions/{id}/rotate-secret", post(rotate_secret))
        .route("/subscriptions/{id}/redeliver", post(redeliver))
        .route("/events", get(events))
        .route("/dossiers", get(list_dossiers))
        .route("/deliveries", get(list_deliveries))
}

/// Query strings parse into problems like bodies do.
pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    q.map(|Query(v)| v).map_err(|e| {
        ApiError::BadRequest(format!("the query string is not valid: {}", e.body_text()))
    })
}

fn subscription_id(raw: &str) -> ApiResult<Id> {
    Id::parse(raw).map_err(|_| ApiError::NotFound(format!("subscription {raw} not found")))
}

async fn create_subscription(
    State(s): State<AppState>,
    AppJson(input): AppJson<SubscriptionInput>,
) -> ApiResult<Response> {
    let created = s.system.portaal.create_subscription(&input).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list_subscriptions(State(s): State<AppState>) -> ApiResult<Response> {
    let all = s.system.portaal.subscriptions().await?;
    Ok(Json(serde_json::json!({ "subscriptions": all })).into_response())
}

async fn delete_subscription(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    s.system
        .portaal
        .delete_subscription(&subscription_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_secret(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let rotated = s
        .system
        .portaal
        .rotate_subscription_secret(&subscription_id(&id)?)
        .await?;
    Ok(Json(rotated).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeliverInput {
    since: Option<DateTime<Utc>>,
}

async fn redeliver(
    State(s): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(input): OptionalJson<RedeliverInput>,
) -> ApiResult<Response> {
    let queued = s
        .system
        .portaal
        .redeliver(&subscription_id(&id)?, input.since)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "queued": queued })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    after: Option<String>,
    limit: Option<usize>,
}

async fn events(
    State(s): State<AppState>,
    q: Result<Query<FeedQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let page = s
        .system
        .portaal
        .events_page(q.after.as_deref(), q.limit)
        .await?;
    Ok(Json(page).into_response())
}

async fn list_dossiers(
    State(s): State<AppState>,
    q: Result<Query<DossierFilter>, QueryRejection>,
) -> ApiResult<Response> {
    let page = s.system.portaal.list_dossiers(&query(q)?).await?;
    Ok(Json(serde_json::json!({ "dossiers": page.items, "next": page.next })).into_response())
}

async fn list_deliveries(
    State(s): State<AppState>,
    q: Result<Query<DeliveryFilter>, QueryRejection>,
) -> ApiResult<Response> {
    let page = s.system.portaal.list_deliveries(&query(q)?).await?;
    Ok(Json(serde_json::json!({ "deliveries": page.items, "next": page.next })).into_response())
}
