//! The case-system API (`/api/v1`): bearer key locally, IAM (SigV4, enforced by API Gateway) on AWS.

use axum::extract::Query;
use axum::extract::{Extension, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use portaal_core::casetype::CaseType;
use portaal_core::domain::{CaseId, Id};
use portaal_core::usecases::dossier::{DossierInput, Saved};
use portaal_core::usecases::lifecycle::{CloseInput, HoldInput};
use portaal_core::usecases::limits::Limit;
use portaal_core::usecases::publication::PublicationInput;
use portaal_core::usecases::request::{Overview, RequestInput, RequestPatch, RotateInput};
use portaal_core::usecases::review::RejectInput;
use portaal_core::views::DossierView;
use sha2::Digest;

use crate::AppState;
use crate::caller::Caller;
use crate::portal::ClientIp;
use crate::problem::{ApiError, ApiResult, AppJson, OptionalJson, found};
use crate::state::{PublicBase, client_key};
use portaal_core::Portaal;

pub const OPENAPI: &str = include_str!("../assets/openapi.json");

pub fn routes(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/dossiers/{case_id}", put(put_dossier).get(get_dossier))
        .route("/dossiers/{case_id}/timeline", get(get_timeline))
        .route("/dossiers/{case_id}/requests", post(create_request))
        .route(
            "/dossiers/{case_id}/deliveries/{delivery_id}",
            get(get_delivery),
        )
        .route(
            "/dossiers/{case_id}/deliveries/{delivery_id}/approve",
            post(approve),
        )
        .route(
            "/dossiers/{case_id}/deliveries/{delivery_id}/reject",
            post(reject),
        )
        .route(
            "/dossiers/{case_id}/documents/{document_id}/content",
            get(content),
        )
        .route(
            "/dossiers/{case_id}/requests/{request_id}",
            patch(update_request),
        )
        .route(
            "/dossiers/{case_id}/requests/{request_id}/link",
            post(rotate_link),
        )
        .route("/dossiers/{case_id}/publications", post(create_publication))
        .route(
            "/dossiers/{case_id}/publications/{publication_id}/publish",
            post(publish),
        )
        .route("/requests", get(overview))
        .route("/dossiers/{case_id}/close", post(close))
        .route("/dossiers/{case_id}/reopen", post(reopen))
        .route("/dossiers/{case_id}/hold", put(hold).delete(lift_hold))
        .merge(crate::records::routes())
        .merge(crate::integration::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ));
    // The one room the administrator's key opens.
    let case_types = Router::new()
        .route("/case-types", get(case_types))
        .route(
            "/case-types/{key}",
            get(case_type).put(put_case_type).patch(patch_case_type),
        )
        .route("/case-types/{key}/preview", post(preview))
        .layer(axum::middleware::from_fn_with_state(
            state,
            authenticate_for_case_types,
        ));
    Router::new()
        .route("/openapi.json", get(openapi))
        .merge(protected)
        .merge(case_types)
}

/// Compares in constant time, so the key cannot be guessed byte by byte.
fn same_key(given: &str, expected: &str) -> bool {
    let (a, b) = (
        sha2::Sha256::digest(given.as_bytes()),
        sha2::Sha256::digest(expected.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Failed authentications an address may make per 10 minutes (`PORTAAL_AUTH_FAILURE_LIMIT`).
fn auth_failure_limit(state: &AppState) -> Limit {
    Limit {
        scope: "auth",
        limit: state.system.config.limits.auth_failures,
        window_secs: 600,
        what: "failed authentications from one address",
    }
}

fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

fn iam_caller(req: &Request) -> Option<String> {
    use lambda_http::request::RequestContext;
    match req.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV1(c) => c.identity.user_arn.clone(),
        _ => None,
    }
}

/// Any caller but the administrator's key, which opens the case types only.
async fn authenticate(
    State(state): State<AppState>,
    ip: ClientIp,
    req: Request,
    next: Next,
) -> Response {
    admit(&state, &ip, req, next, false).await
}

/// Any caller; the handlers decide who may change.
async fn authenticate_for_case_types(
    State(state): State<AppState>,
    ip: ClientIp,
    req: Request,
    next: Next,
) -> Response {
    admit(&state, &ip, req, next, true).await
}

/// Runs the request as its caller, or answers the refusal.
async fn admit(
    state: &AppState,
    ip: &ClientIp,
    mut req: Request,
    next: Next,
    admin_allowed: bool,
) -> Response {
    match identify(state, ip, credentials(&req)).await {
        Ok(Caller::Admin) if !admin_allowed => ApiError::Forbidden(
            "the administrator key (PORTAAL_ADMIN_KEY) only reads and changes case types",
        )
        .into_response(),
        Ok(caller) => {
            let audited = crate::records::AuditedCall::of(&mut req, &caller, ip).await;
            req.extensions_mut().insert(caller);
            let res = next.run(req).await;
            if let Some(call) = audited {
                call.record(state, res.status()).await;
            }
            res
        }
        Err(refused) => refused,
    }
}

/// What the request says of its caller: the bearer key given, and the IAM caller that API
/// Gateway names. Owned, so nothing of the request is held across the store calls.
fn credentials(req: &Request) -> (Option<String>, Option<String>) {
    (bearer(req.headers()).map(str::to_owned), iam_caller(req))
}

/// Who the bearer key says the caller is, or the refusal.
async fn identify(
    state: &AppState,
    ip: &ClientIp,
    (given, iam): (Option<String>, Option<String>),
) -> Result<Caller, Response> {
    // Behind API Gateway its AWS_IAM authoriser already checked the caller.
    let Some(api_key) = state.system.api_auth.bearer_key() else {
        return Ok(Caller::Iam(iam));
    };
    let limit = auth_failure_limit(state);
    let address = ip.0.map(|ip| client_key(ip).to_string());
    if let Some(address) = &address {
        // An address that failed too often is refused before any key is even compared. Only
        // addresses this process saw fail are looked up: the case system's calls cost no read.
        if state.auth_suspects.seen(address)
            && let Err(e) = state.system.portaal.check_limit(&limit, address).await
        {
            return Err(ApiError::Core(e).into_response());
        }
    }
    let given = given.as_deref();
    let admin_key = state.system.config.admin_key.as_ref();
    if admin_key.is_some_and(|admin| given.is_some_and(|g| same_key(g, admin.expose()))) {
        return Ok(Caller::Admin);
    }
    if given.is_some_and(|g| same_key(g, api_key)) {
        return Ok(Caller::CaseSystem);
    }
    if let Some(address) = &address {
        state.auth_suspects.saw(address);
        if let Err(e) = state.system.portaal.count(&limit, address).await {
            tracing::warn!(error = %e, "failed authentication not counted");
        }
    }
    Err(ApiError::Unauthorized.into_response())
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

fn case_id(raw: &str) -> ApiResult<CaseId> {
    Ok(CaseId::parse(raw)?)
}

fn id(raw: &str, what: &str) -> ApiResult<Id> {
    Id::parse(raw).map_err(|_| ApiError::NotFound(format!("{what} {raw} not found")))
}

async fn put_dossier(
    State(portaal): State<Portaal>,
    Path(case): Path<String>,
    AppJson(input): AppJson<DossierInput>,
) -> ApiResult<Response> {
    let case = case_id(&case)?;
    let (saved, view) = portaal.put_dossier(&case, &input).await?;
    let status = if saved == Saved::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)).into_response())
}

async fn get_dossier(
    State(portaal): State<Portaal>,
    Path(case): Path<String>,
) -> ApiResult<Response> {
    let case = case_id(&case)?;
    Ok(Json(portaal.get_dossier(&case).await?).into_response())
}

async fn get_timeline(
    State(portaal): State<Portaal>,
    Path(case): Path<String>,
    Query(q): Query<crate::portal::TimelineQuery>,
) -> ApiResult<Response> {
    let case = case_id(&case)?;
    let before = q.cursor()?;
    Ok(Json(portaal.events_before(&case, &before).await?).into_response())
}

async fn create_request(
    State(portaal): State<Portaal>,
    Extension(base): Extension<PublicBase>,
    Path(case): Path<String>,
    AppJson(input): AppJson<RequestInput>,
) -> ApiResult<Response> {
    let case = case_id(&case)?;
    let view = portaal
        .with_public_url(&base.url)
        .create_request(&case, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn get_delivery(
    State(portaal): State<Portaal>,
    Path((case, delivery)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (case, delivery) = (case_id(&case)?, id(&delivery, "delivery")?);
    Ok(Json(portaal.get_delivery(&case, &delivery).await?).into_response())
}

async fn approve(
    State(portaal): State<Portaal>,
    Path((case, delivery)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (case, delivery) = (case_id(&case)?, id(&delivery, "delivery")?);
    Ok(Json(portaal.approve_delivery(&case, &delivery).await?).into_response())
}

async fn reject(
    State(portaal): State<Portaal>,
    Path((case, delivery)): Path<(String, String)>,
    AppJson(input): AppJson<RejectInput>,
) -> ApiResult<Response> {
    let (case, delivery) = (case_id(&case)?, id(&delivery, "delivery")?);
    Ok(Json(portaal.reject_delivery(&case, &delivery, &input).await?).into_response())
}

async fn content(
    State(portaal): State<Portaal>,
    Path((case, document)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (case, document) = (case_id(&case)?, id(&document, "document")?);
    Ok(found(&portaal.document_url(&case, &document).await?))
}

async fn case_types(State(portaal): State<Portaal>) -> ApiResult<Response> {
    let all = portaal.case_types().await?;
    Ok(Json(all.iter().map(CaseType::view).collect::<Vec<_>>()).into_response())
}

async fn case_type(State(portaal): State<Portaal>, Path(key): Path<String>) -> ApiResult<Response> {
    Ok(Json(portaal.case_type_view(&key).await?).into_response())
}

/// Who may change case types: with `PORTAAL_ADMIN_KEY` set, only its holder. An extractor, so
/// the refusal comes before the body is read.
struct CaseTypeEditor(Caller);

impl axum::extract::FromRequestParts<AppState> for CaseTypeEditor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Forbidden("no caller was identified"))?;
        if s.system.config.admin_key.is_some() && caller != Caller::Admin {
            return Err(ApiError::Forbidden(
                "changing a case type needs the administrator key (PORTAAL_ADMIN_KEY); the case-system key may only read",
            ));
        }
        Ok(Self(caller))
    }
}

async fn put_case_type(
    State(portaal): State<Portaal>,
    CaseTypeEditor(caller): CaseTypeEditor,
    Path(key): Path<String>,
    AppJson(case_type): AppJson<CaseType>,
) -> ApiResult<Response> {
    if case_type.key.as_str() != key {
        return Err(ApiError::BadRequest(format!(
            "the body's key '{}' differs from the path's '{key}'",
            case_type.key
        )));
    }
    let saved = portaal.put_case_type(case_type, &caller.actor()).await?;
    Ok(Json(saved.view()).into_response())
}

async fn patch_case_type(
    State(portaal): State<Portaal>,
    CaseTypeEditor(caller): CaseTypeEditor,
    Path(key): Path<String>,
    AppJson(patch): AppJson<serde_json::Value>,
) -> ApiResult<Response> {
    let saved = portaal
        .patch_case_type(&key, &patch, &caller.actor())
        .await?;
    Ok(Json(saved.view()).into_response())
}

#[derive(serde::Deserialize)]
struct PreviewInput {
    kind: portaal_core::model::MailKind,
    #[serde(default)]
    template: Option<portaal_core::casetype::Template>,
    #[serde(default)]
    language: Option<String>,
}

async fn preview(
    State(portaal): State<Portaal>,
    Path(key): Path<String>,
    AppJson(input): AppJson<PreviewInput>,
) -> ApiResult<Response> {
    let language = input
        .language
        .as_deref()
        .map(portaal_core::mailtext::Language::parse)
        .transpose()?
        .unwrap_or_default();
    let rendered = portaal
        .preview_mail(&key, input.kind, input.template.as_ref(), language)
        .await?;
    Ok(Json(rendered).into_response())
}

async fn close(
    State(portaal): State<Portaal>,
    Path(case): Path<String>,
    OptionalJson(input): OptionalJson<CloseInput>,
) -> ApiResult<Response> {
    let case = case_id(&case)?;
    let d = portaal.close_dossier(&case, &input).await?;
    Ok(Json(DossierView::summary(&d)).into_response())
}

async fn reopen(State(portaal): State<Portaal>, Path(case): Path<String>) -> ApiResult<Response> {
    let case = case_id(&case)?;
    Ok(Json(DossierView::summary(&portaal.reopen_dossier(&case).await?)).into_response())
}

async fn hold(
    State(portaal): State<Portaal>,
    Path(case): Path<String>,
    AppJson(input): AppJson<HoldInput>,
) -> ApiResult<Response> {
    let case = case_id(&case)?;
    let d = portaal.set_hold(&case, Some(&input.reason)).await?;
    Ok(Json(DossierView::summary(&d)).into_response())
}

async fn lift_hold(
    State(portaal): State<Portaal>,
    Path(case): Path<String>,
) -> ApiResult<Response> {
    let case = case_id(&case)?;
    Ok(Json(DossierView::summary(&portaal.set_hold(&case, None).await?)).into_response())
}

async fn update_request(
    State(portaal): State<Portaal>,
    Path((case, request)): Path<(String, String)>,
    AppJson(patch): AppJson<RequestPatch>,
) -> ApiResult<Response> {
    let (case, request) = (case_id(&case)?, id(&request, "request")?);
    Ok(Json(portaal.update_request(&case, &request, &patch).await?).into_response())
}

async fn rotate_link(
    State(portaal): State<Portaal>,
    Extension(base): Extension<PublicBase>,
    Path((case, request)): Path<(String, String)>,
    OptionalJson(input): OptionalJson<RotateInput>,
) -> ApiResult<Response> {
    let (case, request) = (case_id(&case)?, id(&request, "request")?);
    let view = portaal
        .with_public_url(&base.url)
        .rotate_link(&case, &request, &input)
        .await?;
    Ok(Json(view).into_response())
}

async fn create_publication(
    State(portaal): State<Portaal>,
    Path(case): Path<String>,
    AppJson(input): AppJson<PublicationInput>,
) -> ApiResult<Response> {
    let case = case_id(&case)?;
    let draft = portaal.create_publication(&case, &input).await?;
    let answer = serde_json::json!({"id": draft.id, "document_id": draft.document_id, "upload": draft.upload});
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn publish(
    State(portaal): State<Portaal>,
    Path((case, publication)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (case, publication) = (case_id(&case)?, id(&publication, "publication")?);
    Ok(Json(portaal.publish(&case, &publication).await?).into_response())
}

#[derive(serde::Deserialize)]
struct OverviewQuery {
    status: Option<String>,
    due_before: Option<String>,
}

async fn overview(
    State(portaal): State<Portaal>,
    Query(q): Query<OverviewQuery>,
) -> ApiResult<Response> {
    let which = match q.status.as_deref() {
        None | Some("open") => Overview::Open,
        Some("overdue") => Overview::Overdue,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "status must be 'open' or 'overdue', not '{other}'"
            )));
        }
    };
    let due_before = q
        .due_before
        .as_deref()
        .map(portaal_core::domain::Date::parse)
        .transpose()
        .map_err(|e| ApiError::BadRequest(format!("due_before: {e}")))?;
    Ok(Json(portaal.deadline_overview(which, due_before).await?).into_response())
}
