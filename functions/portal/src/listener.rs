//! The local server's accept loop: the Router over HTTP/1.1 with the edge's limits that a plain
//! `axum::serve` cannot set. Request headers must arrive within `PORTAAL_HEADER_TIMEOUT_SECONDS`
//! (a client sending them slowly holds nothing for long), and one address holds at most
//! `PORTAAL_MAX_CONNECTIONS_PER_IP` connections (trusted proxies, which carry everyone, excepted).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use portaal_infra::config::{Cidr, Limits};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// Open connections per address.
#[derive(Default)]
struct Connections(Mutex<HashMap<IpAddr, u32>>);

/// One counted connection; uncounted when dropped.
struct Slot {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    fn try_open(self: &Arc<Self>, ip: IpAddr, limit: u32) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_default();
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(Slot {
            connections: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.connections.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

const TOO_MANY_CONNECTIONS: &str = "{\"type\":\"about:blank\",\"title\":\"Too Many Requests\",\"status\":429,\"detail\":\"too many open connections from your address; close some and try again\"}";

/// How long connections get to finish what they are doing (an upload) once shutdown begins.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` completes, then lets open connections finish
/// their requests (at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let connections = Arc::new(Connections::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => {
                if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
                    tracing::warn!("connections still open after the drain time; closed");
                }
                return;
            }
        };
        let trusted = Cidr::any_contains(&limits.trusted_proxies, peer.ip());
        let slot = if trusted {
            None
        } else {
            match connections.try_open(
                crate::state::client_key(peer.ip()),
                limits.connections_per_ip,
            ) {
                Some(slot) => Some(slot),
                None => {
                    tokio::spawn(refuse(stream));
                    continue;
                }
            }
        };
        // Small answers go out at once, not after Nagle's delay.
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let header_timeout = limits.header_timeout;
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let service =
                tower::ServiceExt::map_request(router, move |mut req: hyper::Request<Incoming>| {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    req
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let served = watcher.watch(connection).await;
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(slot);
        });
    }
}

/// Answers 429 on a connection over the address's limit and closes it.
async fn refuse(mut stream: TcpStream) {
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/problem+json\r\nretry-after: 10\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{TOO_MANY_CONNECTIONS}",
        TOO_MANY_CONNECTIONS.len()
    );
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.write_all(response.as_bytes()),
    )
    .await;
    let _ = stream.shutdown().await;
}
