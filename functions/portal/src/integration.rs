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
use portaal_core::usecases::feed::SubscriptionInput;
use portaal_core::usecases::lists::{DeliveryFilter, DossierFilter};
use serde::Deserialize;

use crate::AppState;
use crate::problem::{ApiError, ApiResult, AppJson, OptionalJson};
use portaal_core::Portaal;

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
    State(portaal): State<Portaal>,
    AppJson(input): AppJson<SubscriptionInput>,
) -> ApiResult<Response> {
    let created = portaal.create_subscription(&input).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list_subscriptions(State(portaal): State<Portaal>) -> ApiResult<Response> {
    let all = portaal.subscriptions().await?;
    Ok(Json(serde_json::json!({ "subscriptions": all })).into_response())
}

async fn delete_subscription(
    State(portaal): State<Portaal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    portaal.delete_subscription(&subscription_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate_secret(
    State(portaal): State<Portaal>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let rotated = portaal
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
    State(portaal): State<Portaal>,
    Path(id): Path<String>,
    OptionalJson(input): OptionalJson<RedeliverInput>,
) -> ApiResult<Response> {
    let queued = portaal
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
    State(portaal): State<Portaal>,
    q: Result<Query<FeedQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let q = query(q)?;
    let page = portaal.events_page(q.after.as_deref(), q.limit).await?;
    Ok(Json(page).into_response())
}

async fn list_dossiers(
    State(portaal): State<Portaal>,
    q: Result<Query<DossierFilter>, QueryRejection>,
) -> ApiResult<Response> {
    let page = portaal.list_dossiers(&query(q)?).await?;
    Ok(Json(serde_json::json!({ "dossiers": page.items, "next": page.next })).into_response())
}

async fn list_deliveries(
    State(portaal): State<Portaal>,
    q: Result<Query<DeliveryFilter>, QueryRejection>,
) -> ApiResult<Response> {
    let page = portaal.list_deliveries(&query(q)?).await?;
    Ok(Json(serde_json::json!({ "deliveries": page.items, "next": page.next })).into_response())
}
