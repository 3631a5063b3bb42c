//! Routes for link holders: the page, staged uploads, *Bevestigen en versturen*, documents.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Extension, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use portaal_core::domain::{Id, LinkToken};
use portaal_core::usecases::portal::{
    CompleteInput, ConfirmInput, Confirmed, PartInput, UploadInput, UploadPlan,
};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::negotiate::wants_json;
use crate::page::{self, Lang};
use crate::problem::{ApiError, ApiResult, AppJson, found, problem_response};
use crate::state::PublicBase;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/p/{token}", get(view))
        .route("/p/{token}/timeline", get(timeline))
        .route("/p/{token}/uploads", post(stage))
        .route("/p/{token}/uploads/{upload_id}", delete(unstage))
        .route(
            "/p/{token}/uploads/{upload_id}/parts",
            post(part_url).get(received_parts),
        )
        .route("/p/{token}/uploads/{upload_id}/complete", post(complete))
        .route("/p/{token}/deliveries", post(confirm))
        .route("/p/{token}/documents/{document_id}", get(document))
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
    /// An older page of the timeline (`timeline_next` of the page before).
    before: Option<String>,
}

/// The client's address, for rate limits: the socket locally, the source IP that API Gateway
/// reports on Lambda; `X-Forwarded-For` only when that address is one of `PORTAAL_TRUSTED_PROXIES`
/// (otherwise the header is the client's to set).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let trusted = &state.system.config.limits.trusted_proxies;
        let peer = Self::peer(parts);
        Ok(ClientIp(peer.map(|ip| {
            crate::middleware::forwarded_client(ip, &parts.headers, trusted)
        })))
    }
}

impl ClientIp {
    /// Where a request came from, for the audit trail.
    pub fn origin(&self) -> portaal_core::audit::Origin {
        portaal_core::audit::Origin::from_address(self.0.map(|ip| ip.to_string()))
    }

    fn peer(parts: &Parts) -> Option<IpAddr> {
        if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            return Some(addr.ip());
        }
        // Behind API Gateway: the source address it saw (X-Forwarded-For is the client's to set).
        let source = match parts
            .extensions
            .get::<lambda_http::request::RequestContext>()
        {
            Some(lambda_http::request::RequestContext::ApiGatewayV1(ctx)) => {
                ctx.identity.source_ip.clone()
            }
            Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => {
                ctx.http.source_ip.clone()
            }
            _ => None,
        };
        source.and_then(|ip| ip.parse().ok())
    }
}

/// Parses the token and applies the guess limit: unknown links count as misses, and an address
/// with too many is answered 429 instead of 404. A link that resolves always works, whatever
/// its address guessed before (departments share proxies).
async fn with_link<T>(
    state: &AppState,
    ip: &ClientIp,
    raw: &str,
    f: impl AsyncFnOnce(LinkToken) -> Result<T, portaal_core::Error>,
) -> ApiResult<T> {
    let result = match LinkToken::parse(raw) {
        Ok(token) => f(token).await,
        Err(e) => Err(e),
    };
    if let Err(portaal_core::Error::UnknownLink) = &result {
        let blocked = state.guesses.blocked(ip.0);
        state.guesses.miss(ip.0);
        if blocked {
            return Err(ApiError::TooManyRequests);
        }
    }
    Ok(result?)
}

/// State-changing calls must come from our own scripts: a cross-site form can send neither this
/// header nor a JSON content type. An extractor, so the refusal comes before the body is read;
/// `JSON` says whether the call carries a JSON body.
struct FromOurScript<const JSON: bool>;

impl<const JSON: bool, S: Send + Sync> FromRequestParts<S> for FromOurScript<JSON> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        let ours = headers.get("x-portaal-client").is_some_and(|v| v == "1");
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| portaal_core::domain::ContentType::essence(v) == "application/json");
        if !ours || (JSON && !json) {
            return Err(ApiError::Forbidden(
                "state-changing calls need the headers X-Portaal-Client: 1 and Content-Type: application/json",
            ));
        }
        Ok(Self)
    }
}

pub async fn home(
    State(state): State<AppState>,
    Extension(base): Extension<PublicBase>,
    Query(q): Query<LangQuery>,
) -> Html<String> {
    let lang = Lang::from_query(q.lang.as_deref());
    let dev: &[(&str, &str)] = &[
        ("Outbox (/dev/mail)", "/dev/mail"),
        ("API (OpenAPI)", "/api/v1/openapi.json"),
    ];
    Html(page::home_page(
        lang,
        state
            .system
            .embedded
            .as_ref()
            .filter(|_| state.system.config.dev_routes)
            .map(|_| dev),
        &base.path,
        &state.system.config.org_name,
    ))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

pub async fn css() -> Response {
    asset("text/css; charset=utf-8", page::PORTAL_CSS)
}

/// `GET /assets/js/{name}`: one of the page's script modules; any other name is not found.
pub async fn script(Path(name): Path<String>) -> Response {
    match page::script(&name) {
        Some(body) => asset("text/javascript; charset=utf-8", body),
        None => problem_response(StatusCode::NOT_FOUND, "no such script".to_owned()),
    }
}

/// `GET /p/{token}`: HTML for people, JSON for scripts. Changes nothing.
async fn view(
    State(state): State<AppState>,
    Extension(base): Extension<PublicBase>,
    ip: ClientIp,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_query(q.lang.as_deref());
    let before = q.before.as_deref();
    let result = with_link(&state, &ip, &token, async |t| {
        let portaal = &state.system.portaal;
        match before {
            None => portaal.portal_view(&t, &ip.origin()).await,
            Some(raw) => {
                let cursor = portaal_core::usecases::timeline::parse_cursor(raw)?;
                portaal.portal_view_before(&t, &cursor, &ip.origin()).await
            }
        }
    })
    .await;
    let paged_back = before.is_some();
    match (result, wants_json(&headers)) {
        (Ok(view), true) => Json(view).into_response(),
        (Ok(view), false) => {
            Html(page::portal_page(&view, lang, &base.path, paged_back)).into_response()
        }
        (Err(e), true) => e.into_response(),
        (Err(e), false) => {
            let status = e.status();
            if status.is_server_error() {
                tracing::error!(error = %e, "portal page failed");
            }
            let withdrawn = matches!(e, ApiError::Core(portaal_core::Error::RequestWithdrawn));
            let (title, detail) = if withdrawn {
                withdrawn_text(lang)
            } else {
                error_text(status, lang)
            };
            let hint = if withdrawn {
                None
            } else {
                page::hint_for(status.as_u16())
            };
            (
                status,
                Html(page::error_page(
                    status.as_u16(),
                    title,
                    detail,
                    hint,
                    lang,
                    &base.path,
                    &state.system.config.org_name,
                )),
            )
                .into_response()
        }
    }
}

fn withdrawn_text(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::Nl => (
            "Verzoek ingetrokken",
            "Juridische zaken heeft dit verzoek ingetrokken; via deze link kunt u niets meer inzien of aanleveren. Neem bij vragen contact op met de behandelaar.",
        ),
        Lang::En => (
            "Request withdrawn",
            "The legal department withdrew this request; the link no longer gives access. Contact the case handler with any questions.",
        ),
    }
}

fn error_text(status: StatusCode, lang: Lang) -> (&'static str, &'static str) {
    match (status.as_u16(), lang) {
        (404, Lang::Nl) => (
            "Link niet gevonden",
            "Deze link is onbekend of vervangen door een nieuwe. Controleer de link in uw e-mail of vraag de behandelaar om een nieuwe.",
        ),
        (404, Lang::En) => (
            "Link not found",
            "This link is unknown or was replaced by a new one. Check the link in your e-mail or ask the case handler for a new one.",
        ),
        (410, Lang::Nl) => (
            "Dossier gesloten",
            "Dit dossier is gesloten; via deze link kunt u niets meer inzien of aanleveren.",
        ),
        (410, Lang::En) => (
            "Dossier closed",
            "This dossier is closed; the link no longer gives access.",
        ),
        (429, Lang::Nl) => (
            "Te veel pogingen",
            "Er zijn te veel onbekende links geprobeerd. Wacht enkele minuten.",
        ),
        (429, Lang::En) => (
            "Too many attempts",
            "Too many unknown links were tried. Wait a few minutes.",
        ),
        (_, Lang::Nl) => (
            "Er ging iets mis",
            "Er ging aan onze kant iets mis; er is niets veranderd. Probeer het later opnieuw.",
        ),
        (_, Lang::En) => (
            "Something went wrong",
            "Something went wrong on our side; nothing was changed. Try again later.",
        ),
    }
}

#[derive(Deserialize)]
pub(crate) struct TimelineQuery {
    pub before: Option<String>,
}

impl TimelineQuery {
    /// The cursor, which this route needs (the newest page is in the view itself).
    pub(crate) fn cursor(&self) -> ApiResult<Id> {
        let raw = self.before.as_deref().ok_or_else(|| {
            ApiError::BadRequest(
                "before is required: pass the timeline_next of the view (the newest events are in the view itself)".into(),
            )
        })?;
        Ok(portaal_core::usecases::timeline::parse_cursor(raw)?)
    }
}

/// `GET /p/{token}/timeline?before=`: older history of the link's request (JSON).
async fn timeline(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    Query(q): Query<TimelineQuery>,
) -> ApiResult<Response> {
    let before = q.cursor()?;
    let page = with_link(&state, &ip, &token, async |t| {
        state
            .system
            .portaal
            .portal_events_before(&t, &before, &ip.origin())
            .await
    })
    .await?;
    Ok(Json(page).into_response())
}

async fn stage(
    State(state): State<AppState>,
    Extension(base): Extension<PublicBase>,
    ip: ClientIp,
    Path(token): Path<String>,
    _: FromOurScript<true>,
    AppJson(input): AppJson<UploadInput>,
) -> ApiResult<impl IntoResponse> {
    let staged = with_link(&state, &ip, &token, async |t| {
        state
            .system
            .portaal
            .stage_upload(&t, &input, &ip.origin())
            .await
    })
    .await?;
    let upload = match &staged.upload {
        UploadPlan::Single(target) => json!(target),
        UploadPlan::Parts { part_size } => {
            let upload = format!("{}/p/{token}/uploads/{}", base.url, staged.document.id);
            json!({
                "part_size": part_size,
                "parts_url": format!("{upload}/parts"),
                "complete_url": format!("{upload}/complete"),
            })
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": staged.document.id, "document": staged.document, "upload": upload })),
    ))
}

/// `POST /p/{token}/uploads/{id}/parts`: the signed URL for one part.
async fn part_url(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((token, upload_id)): Path<(String, String)>,
    _: FromOurScript<true>,
    AppJson(input): AppJson<PartInput>,
) -> ApiResult<Response> {
    let id = Id::parse(&upload_id)?;
    let target = with_link(&state, &ip, &token, async |t| {
        state.system.portaal.part_upload(&t, &id, &input).await
    })
    .await?;
    Ok(Json(json!({
        "url": target.url,
        "headers": target.headers,
        "expires_at": target.expires_at,
    }))
    .into_response())
}

/// `GET /p/{token}/uploads/{id}/parts`: what arrived, for resuming.
async fn received_parts(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((token, upload_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = Id::parse(&upload_id)?;
    let received = with_link(&state, &ip, &token, async |t| {
        state.system.portaal.received_parts(&t, &id).await
    })
    .await?;
    Ok(Json(received).into_response())
}

/// `POST /p/{token}/uploads/{id}/complete`: joins the parts; answers the staged document.
async fn complete(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((token, upload_id)): Path<(String, String)>,
    _: FromOurScript<true>,
    AppJson(input): AppJson<CompleteInput>,
) -> ApiResult<Response> {
    let id = Id::parse(&upload_id)?;
    let document = with_link(&state, &ip, &token, async |t| {
        state
            .system
            .portaal
            .complete_upload(&t, &id, &input, &ip.origin())
            .await
    })
    .await?;
    Ok(Json(document).into_response())
}

async fn unstage(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((token, upload_id)): Path<(String, String)>,
    _: FromOurScript<false>,
) -> ApiResult<StatusCode> {
    let id = Id::parse(&upload_id)?;
    with_link(&state, &ip, &token, async |t| {
        state
            .system
            .portaal
            .remove_upload(&t, &id, &ip.origin())
            .await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn confirm(
    State(state): State<AppState>,
    ip: ClientIp,
    Path(token): Path<String>,
    _: FromOurScript<true>,
    AppJson(input): AppJson<ConfirmInput>,
) -> ApiResult<Response> {
    let confirmed = with_link(&state, &ip, &token, async |t| {
        state
            .system
            .portaal
            .confirm_delivery(&t, &input, &ip.origin())
            .await
    })
    .await?;
    Ok(match confirmed {
        Confirmed::Created(d) => (StatusCode::CREATED, Json(d)).into_response(),
        Confirmed::AlreadyConfirmed(d) => (StatusCode::OK, Json(d)).into_response(),
    })
}

async fn document(
    State(state): State<AppState>,
    ip: ClientIp,
    Path((token, document_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = Id::parse(&document_id)
        .map_err(|_| ApiError::NotFound(format!("document {document_id} not found")))?;
    let url = with_link(&state, &ip, &token, async |t| {
        state
            .system
            .portaal
            .portal_document_url(&t, &id, &ip.origin())
            .await
    })
    .await?;
    Ok(found(&url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(res: &Response, name: header::HeaderName) -> &str {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[tokio::test]
    async fn scripts_are_served_by_name_and_only_those() {
        let res = script(Path("main.js".to_owned())).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            header_of(&res, header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache");
        for unknown in ["portal.js", "..%2Fportal.css", "main.mjs"] {
            let res = script(Path(unknown.to_owned())).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{unknown}");
            assert_eq!(
                header_of(&res, header::CONTENT_TYPE),
                "application/problem+json"
            );
        }
    }
}
