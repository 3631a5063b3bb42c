//! A real webhook receiver for the tests: an HTTP server on a loopback port that records every
//! request, verifies its signature with the Standard Webhooks algorithm (written here from the
//! specification, apart from the portal's own code), checks the body of every signed request
//! against the OpenAPI document's `webhooks`, and answers as the test scripts it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// Never answers (the portal's timeout ends it).
    Hang,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: String,
    /// Whether any signature in the header verified with one of the secrets given.
    pub verified: bool,
    pub answer: Answer,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("webhook bodies are JSON")
    }
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Default)]
struct Inner {
    secrets: Vec<String>,
    script: VecDeque<Answer>,
    otherwise: Option<Answer>,
    received: Vec<Received>,
    /// Requests being held open right now.
    hanging: usize,
    /// Webhook bodies the OpenAPI document does not describe.
    breaches: Vec<String>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

/// `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`, the key being the base64 after `whsec_`.
pub fn standard_webhooks_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fn verifies(secrets: &[String], id: &str, timestamp: &str, header: &str, body: &str) -> bool {
    secrets.iter().any(|secret| {
        let expected = standard_webhooks_signature(secret, id, timestamp, body);
        header.split(' ').any(|sig| sig == expected)
    })
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let answer = {
        let mut inner = inner.lock().unwrap();
        let answer = inner
            .script
            .pop_front()
            .or(inner.otherwise)
            .unwrap_or(Answer::Status(204));
        let (id, timestamp, signature) = (
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        );
        let verified = verifies(&inner.secrets, &id, &timestamp, &signature, &body);
        // What the portal sends (tests also post bare bodies, without an id, to test the sender).
        if !id.is_empty() {
            if let Err(breach) = crate::openapi::contract().check_webhook(&body) {
                eprintln!("OpenAPI contract broken: {breach}");
                inner.breaches.push(breach);
            }
        }
        inner.received.push(Received {
            id,
            timestamp,
            signature,
            content_type: header("content-type"),
            body,
            verified,
            answer,
            at: std::time::Instant::now(),
        });
        if answer == Answer::Hang {
            inner.hanging += 1;
        }
        answer
    };
    match answer {
        Answer::Status(s) => StatusCode::from_u16(s).unwrap(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// Starts a receiver on a free loopback port; it answers `204` unless scripted otherwise.
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hooks", post(receive))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, inner }
    }

    /// The secrets signatures are checked against (set after the subscription answers).
    pub fn trust(&self, secret: &str) {
        self.inner.lock().unwrap().secrets.push(secret.to_owned());
    }

    /// The next requests are answered like this, in order; after them, `otherwise`.
    pub fn script(&self, answers: &[Answer], otherwise: Answer) {
        let mut inner = self.inner.lock().unwrap();
        inner.script = answers.iter().copied().collect();
        inner.otherwise = Some(otherwise);
    }

    /// What arrived so far; fails the test if a webhook broke the OpenAPI document.
    pub fn received(&self) -> Vec<Received> {
        let inner = self.inner.lock().unwrap();
        assert!(
            inner.breaches.is_empty(),
            "webhooks broke the OpenAPI document:\n{}",
            inner.breaches.join("\n")
        );
        inner.received.clone()
    }

    pub fn hanging(&self) -> usize {
        self.inner.lock().unwrap().hanging
    }

    /// Waits until `done` holds for what was received (at most `limit`), answering it.
    pub async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "receiver: {what} did not happen; received {:?}",
                    received
                        .iter()
                        .map(|r| (r.event_type(), r.answer))
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Checks received webhooks with the Standard Webhooks reference library (Python
/// `standardwebhooks`, installed by tests/run), not only with this file's own verifier.
pub fn verify_with_reference_library(secret: &str, received: &[Received]) {
    let cases: Vec<Value> = received
        .iter()
        .map(|r| {
            serde_json::json!({
                "body": r.body,
                "headers": {"webhook-id": r.id, "webhook-timestamp": r.timestamp, "webhook-signature": r.signature},
            })
        })
        .collect();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, cases = sys.argv[1], json.load(sys.stdin)
hook = Webhook(secret)
for case in cases:
    hook.verify(case["body"], case["headers"])
print(len(cases))
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Standard Webhooks reference library refused a webhook (pip install standardwebhooks): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        received.len().to_string()
    );
}
