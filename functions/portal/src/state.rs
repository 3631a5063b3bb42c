use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portaal_infra::System;
use tokio::sync::Notify;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Shared, not copied: axum clones the state into every route and middleware when the router
    /// is built, and again per request (a copy of the whole system, its settings included, cost
    /// about a millisecond of the Lambda's cold start and of each request).
    pub system: Arc<System>,
    /// Wakes the local outbox sender after a change that may have queued mail.
    pub outbox_kick: Arc<Notify>,
    /// Wakes the local webhook sender after a change that may have written an event.
    pub hook_kick: Arc<Notify>,
    /// Wakes the local scanner after a change that may have sent documents.
    pub scan_kick: Arc<Notify>,
    pub guesses: Arc<GuessLimiter>,
    /// Addresses that failed to authenticate lately (their counters live in the store).
    pub auth_suspects: Arc<Suspects>,
    /// Behind API Gateway without `PORTAAL_PUBLIC_URL`: the public URL is the request's own
    /// (host and stage), because the template cannot name the API's URL without a cycle.
    pub public_url_from_request: bool,
    /// The staff console's identity provider (`PORTAAL_OIDC_*`), when configured.
    pub oidc: Option<Arc<portaal_infra::oidc::Oidc>>,
}

/// The public base URL of this request, and its path (the stage, or a proxy prefix).
#[derive(Clone, Debug)]
pub struct PublicBase {
    pub url: String,
    pub path: String,
}

impl PublicBase {
    pub fn new(url: &str) -> Self {
        let url = url.trim_end_matches('/').to_owned();
        let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let path = after_scheme
            .find('/')
            .map_or("", |i| &after_scheme[i..])
            .to_owned();
        Self { url, path }
    }
}

/// The API Gateway stage the request came through (`/prod`); not part of the routed path.
#[derive(Clone, Debug)]
pub struct StagePrefix(pub String);

/// Handlers that need only the use cases take `State<Portaal>`.
impl axum::extract::FromRef<AppState> for portaal_core::Portaal {
    fn from_ref(state: &AppState) -> Self {
        state.system.portaal.clone()
    }
}

impl AppState {
    pub fn new(system: System) -> Self {
        let config = &system.config;
        let oidc = config.oidc.clone().and_then(|oidc| {
            portaal_infra::oidc::Oidc::new(oidc, &config.public_url)
                .map(Arc::new)
                .inspect_err(
                    |e| tracing::error!(error = %e, "the staff console's OpenID Connect client"),
                )
                .ok()
        });
        Self {
            system: Arc::new(system),
            outbox_kick: Arc::new(Notify::new()),
            hook_kick: Arc::new(Notify::new()),
            scan_kick: Arc::new(Notify::new()),
            guesses: Arc::new(GuessLimiter::default()),
            auth_suspects: Arc::new(Suspects::default()),
            public_url_from_request: false,
            oidc,
        }
    }
}

/// Addresses seen failing within the last 10 minutes, so only their requests pay for a look at
/// the store's counter.
#[derive(Default)]
pub struct Suspects(Mutex<HashMap<String, Instant>>);

impl Suspects {
    pub fn saw(&self, address: &str) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, at| at.elapsed() < WINDOW);
        }
        seen.insert(address.to_owned(), Instant::now());
    }

    pub fn seen(&self, address: &str) -> bool {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(address).is_some_and(|at| at.elapsed() < WINDOW)
    }
}

/// Limits link guessing: a client with too many unknown-link answers in a window is refused.
/// Per process (on Lambda per instance); API Gateway throttling is the outer limit.
#[derive(Default)]
pub struct GuessLimiter {
    misses: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

const WINDOW: Duration = Duration::from_secs(600);
const MAX_MISSES: u32 = 30;

/// IPv6 clients are counted per /64 (one host's privacy addresses), IPv4 per address.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl GuessLimiter {
    pub fn blocked(&self, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip.map(client_key) else {
            return false;
        };
        let map = self.misses.lock().expect("limiter lock");
        map.get(&ip)
            .is_some_and(|(n, since)| *n >= MAX_MISSES && since.elapsed() < WINDOW)
    }

    pub fn miss(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip.map(client_key) else { return };
        let mut map = self.misses.lock().expect("limiter lock");
        if map.len() > 10_000 {
            map.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        let entry = map.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_64_and_ipv4_per_address() {
        let limiter = GuessLimiter::default();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:aaaa::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        for _ in 0..MAX_MISSES / 2 {
            limiter.miss(Some(a));
            limiter.miss(Some(b));
        }
        assert!(limiter.blocked(Some(a)), "one /64 is one client");
        assert!(!limiter.blocked(Some(other)));
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        for _ in 0..MAX_MISSES {
            limiter.miss(Some(mapped));
        }
        assert!(
            limiter.blocked(Some(v4)),
            "a mapped IPv4 address is that address"
        );
        assert!(!limiter.blocked(Some("10.0.0.2".parse().unwrap())));
    }
}
