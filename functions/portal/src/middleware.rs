//! What every response gets: `API-Version`, security headers, a log line without secrets.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::state::{PublicBase, StagePrefix};

pub const API_VERSION: &str = "1";

pub async fn common(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let base = public_base(&state, &req);
    let https = base.url.starts_with("https://");
    req.extensions_mut().insert(base);
    let method = req.method().clone();
    let path = redact(req.uri().path());
    let started = std::time::Instant::now();
    let mut res = next.run(req).await;
    let status = res.status();
    tracing::info!(%method, path = %path, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    if method != Method::GET && method != Method::HEAD && status.is_success() {
        state.outbox_kick.notify_one();
        state.hook_kick.notify_one();
        state.scan_kick.notify_one();
    }
    let h = res.headers_mut();
    h.insert("api-version", HeaderValue::from_static(API_VERSION));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if https {
        // Only where users reach the portal over https: a plain-http install must stay reachable.
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'{}; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            state
                .system
                .upload_origin
                .as_deref()
                .map(|o| format!(" {o}"))
                .unwrap_or_default()
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
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
