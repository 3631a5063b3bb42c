//! What every request and response goes through: tower-http layers for the request id, the
//! security headers (built once), the request log line (by matched route, so link tokens stay
//! out), plus two small pieces of our own: the public base URL and waking the background work.

use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::state::{PublicBase, StagePrefix};

pub const API_VERSION: &str = "1";

/// Pages and API calls answer within this (Lambda's own limit is 15 s): a stuck call answers
/// `503` with a problem instead of holding a connection.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every route of `router` answers within `limit`, or `503` problem+json.
pub fn with_timeout<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limit: Duration,
) -> Router<S> {
    router.layer(
        tower::ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(
                move |_: tower::BoxError| async move {
                    crate::problem::problem_response(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "the call took longer than {} s and was stopped; what it had saved stays saved, so look before trying again",
                            limit.as_secs()
                        ),
                    )
                },
            ))
            .layer(tower::timeout::TimeoutLayer::new(limit)),
    )
}

/// Request bodies of every route of `router` stop at `limit` bytes: a larger one answers `413`
/// problem+json before a handler reads it.
pub fn with_body_limit<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limit: usize,
) -> Router<S> {
    router
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(
            move |res: Response| async move {
                // The layer's own answer to a too-large Content-Length is plain text.
                let problem = res
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
                if res.status() != axum::http::StatusCode::PAYLOAD_TOO_LARGE || problem {
                    return res;
                }
                crate::problem::problem_response(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is too large: at most {limit} bytes"),
                )
            },
        ))
}

/// Request ids are ULIDs (sortable, no extra dependency).
#[derive(Clone, Copy, Default)]
struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The Content-Security-Policy of every page: our own origin, and where browsers upload. Frames
/// only from our own origin: the console's mail preview, which allows only that framing itself. Forms
/// post to our own origin; with a staff console, `form-action` also names the identity
/// provider's origin: *Afmelden* posts to `/staff/logout`, which sends the browser on to the
/// provider's `end_session_endpoint`, and browsers check `form-action` on that redirect too.
fn content_security_policy(upload_origin: Option<&str>, sign_in_origin: Option<&str>) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'{}; \
         frame-src 'self'; form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
        upload_origin.map(|o| format!(" {o}")).unwrap_or_default(),
        sign_in_origin.map(|o| format!(" {o}")).unwrap_or_default()
    )
}

/// `scheme://host[:port]` of an issuer URL (none if it has no scheme or host).
fn origin_of(url: &str) -> Option<String> {
    let uri: axum::http::Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

/// Users reach the portal over https (then browsers are told to keep to it); a plain-http install
/// must stay reachable. Behind API Gateway without a public URL, the gateway's https address.
fn served_over_https(state: &AppState) -> bool {
    state.public_url_from_request || state.system.config.public_url.starts_with("https://")
}

/// Each route of `router` logs its requests: the span names the route matched (`/p/{token}`),
/// never the path with its token, so this layer wraps every route (the others wrap the app once).
pub fn logged<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // The route's template (`/p/{token}`), never the path with its token.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map(|m| m.as_str().to_owned())
                        .unwrap_or_else(|| redact(req.uri().path()));
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _: &tracing::Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        ms = latency.as_millis() as u64,
                        "request"
                    );
                })
                .on_failure(()),
    )
}

/// Wraps the whole app, the outermost layer added last. Only the request log wraps each route
/// (it names the route matched); every other layer wraps the routed app once: a layer added to
/// a Router is cloned and boxed for each of its routes, which a cold start pays for.
pub fn around(routed: Router, state: &AppState) -> Router {
    let fixed = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    let sign_in_origin = state
        .system
        .config
        .oidc
        .as_ref()
        .and_then(|oidc| origin_of(&oidc.issuer));
    let csp = HeaderValue::from_str(&content_security_policy(
        state.system.upload_origin.as_deref(),
        sign_in_origin.as_deref(),
    ))
    .expect("the policy is ASCII");
    let hsts = served_over_https(state).then(|| HeaderValue::from_static("max-age=31536000"));
    Router::new()
        .fallback_service(routed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            wake_background_work,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            with_public_base,
        ))
        .layer(fixed("api-version", API_VERSION))
        .layer(fixed("referrer-policy", "no-referrer"))
        .layer(fixed("x-content-type-options", "nosniff"))
        // The console's mail preview frame says SAMEORIGIN itself; every other answer DENY.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &Response| hsts.clone(),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(UlidRequestId))
}

/// Tells the handlers where this request reached us from outside.
async fn with_public_base(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let base = public_base(&state, &req);
    req.extensions_mut().insert(base);
    next.run(req).await
}

/// A change may have queued mail, webhook attempts or scans: the local workers look at once.
async fn wake_background_work(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    if method != Method::GET && method != Method::HEAD && res.status().is_success() {
        state.outbox_kick.notify_one();
        state.hook_kick.notify_one();
        state.scan_kick.notify_one();
    }
    res
}

/// Where this request reached us from outside: the configured public URL, or behind API Gateway
/// without one, the request's host and stage.
fn public_base(state: &AppState, req: &Request) -> PublicBase {
    if !state.public_url_from_request {
        return PublicBase::new(&state.system.config.public_url);
    }
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("https");
    let stage = req
        .extensions()
        .get::<StagePrefix>()
        .map(|s| s.0.as_str())
        .unwrap_or_default();
    PublicBase::new(&format!("{proto}://{host}{stage}"))
}

/// The path as it may be logged: link tokens and blob keys' signatures never reach a log line.
pub fn redact(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').collect();
    for i in 0..parts.len() {
        if parts[i] == "p" && i + 1 < parts.len() && !parts[i + 1].is_empty() {
            parts[i + 1] = "<token>";
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_call_that_takes_too_long_answers_a_problem() {
        let slow = axum::Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                "late"
            }),
        );
        let app = super::with_timeout(slow, std::time::Duration::from_millis(20));
        let res = app
            .oneshot(
                axum::http::Request::get("/slow")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_answers_a_problem_whether_announced_or_streamed() {
        let echo = axum::Router::new().route(
            "/echo",
            axum::routing::post(|crate::problem::AppJson(v): crate::problem::AppJson<serde_json::Value>| async move {
                axum::Json(v)
            }),
        );
        let app = super::with_body_limit(echo, 64);
        let big = serde_json::json!({ "text": "x".repeat(100) }).to_string();
        let announced = axum::http::Request::post("/echo")
            .header("content-type", "application/json")
            .header("content-length", big.len())
            .body(axum::body::Body::from(big.clone()))
            .unwrap();
        let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(big.clone())]);
        let streamed = axum::http::Request::post("/echo")
            .header("content-type", "application/json")
            .body(axum::body::Body::from_stream(chunks))
            .unwrap();
        for request in [announced, streamed] {
            let res = app.clone().oneshot(request).await.unwrap();
            assert_eq!(res.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
            assert_eq!(res.headers()["content-type"], "application/problem+json");
        }
        let small = axum::http::Request::post("/echo")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(r#"{"text":"x"}"#))
            .unwrap();
        assert_eq!(
            app.oneshot(small).await.unwrap().status(),
            axum::http::StatusCode::OK
        );
    }

    #[test]
    fn the_policy_names_the_upload_origin_only_when_there_is_one() {
        let with =
            super::content_security_policy(Some("https://b.s3.eu-west-1.amazonaws.com"), None);
        assert!(with.contains("connect-src 'self' https://b.s3.eu-west-1.amazonaws.com;"));
        assert!(super::content_security_policy(None, None).contains("connect-src 'self';"));
    }

    #[test]
    fn forms_may_go_on_to_the_identity_provider_only_with_a_console() {
        let origin = super::origin_of("https://login.microsoftonline.com/tenant/v2.0");
        assert_eq!(origin.as_deref(), Some("https://login.microsoftonline.com"));
        assert_eq!(
            super::origin_of("http://127.0.0.1:4000").as_deref(),
            Some("http://127.0.0.1:4000")
        );
        assert_eq!(super::origin_of("not a url"), None);
        let with = super::content_security_policy(None, origin.as_deref());
        assert!(with.contains("form-action 'self' https://login.microsoftonline.com;"));
        assert!(super::content_security_policy(None, None).contains("form-action 'self';"));
    }

    #[test]
    fn tokens_are_redacted_from_paths() {
        assert_eq!(super::redact("/p/SECRET/uploads/1"), "/p/<token>/uploads/1");
        assert_eq!(super::redact("/prod/p/SECRET"), "/prod/p/<token>");
        assert_eq!(super::redact("/api/v1/dossiers/x"), "/api/v1/dossiers/x");
    }
}

/// The client behind trusted proxies: walking `X-Forwarded-For` from the right (the entry the
/// nearest proxy added), the first address that is no trusted proxy. A peer that is no trusted
/// proxy is the client itself, whatever the header says.
pub fn forwarded_client(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[portaal_infra::config::Cidr],
) -> std::net::IpAddr {
    let is_trusted = |ip| portaal_infra::config::Cidr::any_contains(trusted, ip);
    if !is_trusted(peer) {
        return peer;
    }
    let chain: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    chain
        .iter()
        .rev()
        .copied()
        .find(|ip| !is_trusted(*ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod forwarded_tests {
    use super::*;
    use portaal_infra::config::Cidr;

    #[test]
    fn only_a_trusted_proxy_may_name_the_client() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 10.0.0.7".parse().unwrap());
        let proxies = [Cidr::parse("192.168.1.1").unwrap()];
        let proxy: std::net::IpAddr = "192.168.1.1".parse().unwrap();
        let stranger: std::net::IpAddr = "10.9.9.9".parse().unwrap();
        assert_eq!(forwarded_client(stranger, &headers, &proxies), stranger);
        // The client set 6.6.6.6 itself; the proxy appended the address it saw.
        assert_eq!(
            forwarded_client(proxy, &headers, &proxies),
            "10.0.0.7".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(forwarded_client(proxy, &headers, &[]), proxy);
        assert_eq!(
            forwarded_client(proxy, &axum::http::HeaderMap::new(), &proxies),
            proxy
        );
    }
}
