//! The HTTP side of webhooks: one POST per attempt, 10-second timeout, redirects not followed,
//! the system's roots plus an internal CA's, and no connections to link-local or metadata
//! addresses even when a receiver's name resolves to one.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use portaal_core::events::refused_address;
use portaal_core::ports::{HookAnswer, HookSender};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub const TIMEOUT: Duration = Duration::from_secs(10);

pub struct HttpHookSender {
    /// An internal CA's roots, read and checked at start (a wrong file is a configuration error).
    extra_roots: Vec<reqwest::Certificate>,
    /// Made on the first POST: loading the system's roots takes milliseconds that a function which
    /// never sends a webhook (the portal, reminders, destruction) should not pay at its cold start.
    client: OnceLock<Result<reqwest::Client, String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum HookClientError {
    #[error("PORTAAL_WEBHOOK_CA_FILE {path}: {problem}")]
    CaFile { path: String, problem: String },
    #[error("webhook HTTP client: {0}")]
    Client(String),
}

impl HttpHookSender {
    pub fn new(ca_file: Option<&Path>) -> Result<Self, HookClientError> {
        let mut extra_roots = Vec::new();
        if let Some(path) = ca_file {
            let ca_error = |problem: String| HookClientError::CaFile {
                path: path.display().to_string(),
                problem,
            };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            extra_roots =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(e.to_string()))?;
            if extra_roots.is_empty() {
                return Err(ca_error("holds no PEM certificate".into()));
            }
        }
        Ok(Self {
            extra_roots,
            client: OnceLock::new(),
        })
    }

    fn client(&self) -> Result<&reqwest::Client, HookClientError> {
        self.client
            .get_or_init(|| {
                let mut builder = reqwest::Client::builder()
                    .timeout(TIMEOUT)
                    .connect_timeout(Duration::from_secs(5))
                    .redirect(reqwest::redirect::Policy::none())
                    // Straight to the receiver: through a proxy the address guard would check
                    // the proxy.
                    .no_proxy()
                    .user_agent(concat!("Portaal-Webhooks/", env!("CARGO_PKG_VERSION")))
                    .dns_resolver(Arc::new(GuardedResolver));
                for root in &self.extra_roots {
                    builder = builder.add_root_certificate(root.clone());
                }
                builder.build().map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| HookClientError::Client(e.clone()))
    }
}

#[async_trait]
impl HookSender for HttpHookSender {
    async fn post(&self, url: &str, headers: &[(&str, String)], body: &str) -> HookAnswer {
        let client = match self.client() {
            Ok(client) => client,
            Err(e) => return HookAnswer::NoAnswer(e.to_string()),
        };
        let mut request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => HookAnswer::Status(response.status().as_u16()),
            Err(e) => HookAnswer::NoAnswer(describe(&e)),
        }
    }
}

/// What went wrong, without the URL (it may hold credentials).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let kind = if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// Resolves with the system resolver, then drops addresses no webhook may reach.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| refused_address(a.ip()).is_none())
                .collect();
            if allowed.is_empty() && !found.is_empty() {
                return Err(format!(
                    "{host} resolves only to addresses webhooks may not reach (link-local or metadata)"
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}
