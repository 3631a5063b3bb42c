//! A process killed between upload and confirm loses nothing that was confirmed before, nor the
//! staged files: the real binary is started, used, killed with SIGKILL and started again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

struct Server {
    child: Child,
    base: String,
    key: String,
    banner_showed_key: bool,
}

impl Server {
    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }
}

fn start(data_dir: &std::path::Path, port: u16) -> Server {
    start_with(data_dir, port, &[])
}

fn start_with(data_dir: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portal"));
    command
        .env("PORTAAL_DATA_DIR", data_dir)
        .env("PORTAAL_ADDR", format!("127.0.0.1:{port}"))
        .env("PORTAAL_BACKEND", "embedded")
        .env_remove("PORTAAL_PUBLIC_URL")
        .env_remove("PORTAAL_API_KEY")
        .env_remove("PORTAAL_WORKER");
    let mut child = command
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("portal binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut key = None;
    let mut base = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((_, at)) = line.split_once(") on ") {
            // The address it bound: port 0 asks for a free one.
            base = Some(at.trim().to_owned());
        }
        if let Some(k) = line.trim().strip_prefix("API key:") {
            // Shown only when this start generated it; otherwise the line says where it is.
            let k = k.trim();
            if !k.contains(' ') {
                key = Some(k.to_owned());
            }
        }
        if line.contains("Stop with Ctrl+C") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    // The banner shows a generated key once; after a restart it is in the data directory.
    let banner_showed_key = key.is_some();
    let key = key.unwrap_or_else(|| {
        std::fs::read_to_string(data_dir.join("api.key"))
            .expect("the key is kept in the data directory")
            .trim()
            .to_owned()
    });
    Server {
        child,
        base: base.expect("the banner names the address"),
        key,
        banner_showed_key,
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn upload(client: &reqwest::Client, link: &str, name: &str, bytes: &[u8]) -> String {
    let staged: Value = client
        .post(format!("{link}/uploads"))
        .header("X-Portaal-Client", "1")
        .json(&json!({"filename": name, "content_type": "application/pdf", "size": bytes.len(), "sha256": sha(bytes)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = client
        .put(staged["upload"]["url"].as_str().unwrap())
        .header("content-type", "application/pdf")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    staged["id"].as_str().unwrap().to_owned()
}

/// Registers a dossier with one request; answers the request's portal link.
async fn dossier_with_request(client: &reqwest::Client, server: &Server, case: &str) -> String {
    let body = json!({
        "case_type": "bezwaar", "title": "Crash", "submitter": {"name": "X"},
        "decision": {"reference": "R-1", "date": "2026-01-01", "department": "Vergunningen"},
        "handler": {"name": "H", "email": "h@example.nl"}
    });
    let res = client
        .put(format!("{}/api/v1/dossiers/{case}", server.base))
        .bearer_auth(&server.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let req: Value = client
        .post(format!("{}/api/v1/dossiers/{case}/requests", server.base))
        .bearer_auth(&server.key)
        .json(&json!({"department": "Vergunningen", "to": ["v@example.nl"], "due": "2099-01-01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    req["portal_url"].as_str().unwrap().to_owned()
}

/// A GET of the API with the server's key, its JSON answer.
async fn api_json(client: &reqwest::Client, server: &Server, url: String) -> Value {
    let res = client
        .get(url)
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    res.json().await.unwrap()
}

async fn confirm(client: &reqwest::Client, link: &str, ids: &[&str]) -> reqwest::Response {
    client
        .post(format!("{link}/deliveries"))
        .header("X-Portaal-Client", "1")
        .json(&json!({"uploads": ids, "comment": "", "submitted_by": {"name": "P. Bakker", "email": "p.bakker@example.nl"}}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_killed_process_loses_nothing_confirmed_before() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    // No pooled connections: the first server dies mid-test.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut server = start(&dir, 0);
    let port = server.port();

    let link = dossier_with_request(&client, &server, "CRASH-1").await;

    let confirmed_bytes = b"%PDF-1.4 confirmed before the crash".to_vec();
    let a = upload(&client, &link, "bevestigd.pdf", &confirmed_bytes).await;
    assert_eq!(
        confirm(&client, &link, &[&a]).await.status(),
        StatusCode::CREATED
    );
    let staged_bytes = b"%PDF-1.4 uploaded, not yet confirmed".to_vec();
    let b = upload(&client, &link, "nog-niet.pdf", &staged_bytes).await;

    server.child.kill().unwrap(); // SIGKILL: no shutdown code runs
    server.child.wait().unwrap();
    let server = start(&dir, port);
    assert!(
        !server.banner_showed_key,
        "a key made on the first start is not shown again"
    );

    // what was confirmed is there, byte-identical
    let dossier: Value = api_json(
        &client,
        &server,
        format!("{}/api/v1/dossiers/CRASH-1", server.base),
    )
    .await;
    assert_eq!(dossier["deliveries"].as_array().unwrap().len(), 1);
    let res = client
        .get(format!(
            "{}/api/v1/dossiers/CRASH-1/documents/{a}/content",
            server.base
        ))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let bytes = client
        .get(res.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.to_vec(), confirmed_bytes);
    // the staged upload survived as well and can still be confirmed
    assert_eq!(
        confirm(&client, &link, &[&b]).await.status(),
        StatusCode::CREATED
    );

    // Everything the server wrote is for its own user only.
    let mut modes = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(path) = stack.pop() {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&path).unwrap();
        modes.push((
            path.clone(),
            meta.permissions().mode() & 0o777,
            meta.is_dir(),
        ));
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    assert!(modes.len() > 5, "{modes:?}");
    for (path, mode, is_dir) in &modes {
        let expected = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, expected, "{} is {mode:o}", path.display());
    }

    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// A webhook receiver that records (webhook-id, body) and acknowledges.
async fn receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>,
) {
    use axum::routing::post;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hooks",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let record = record.clone();
            async move {
                let id = headers["webhook-id"].to_str().unwrap().to_owned();
                record
                    .lock()
                    .unwrap()
                    .push((id, serde_json::from_str::<Value>(&body).unwrap()));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn a_webhook_not_yet_sent_when_the_process_is_killed_is_sent_after_restart() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let (url, seen) = receiver().await;
    // No background work: the confirm commits, its webhook is not sent before the kill.
    let mut server = start_with(&dir, 0, &[("PORTAAL_WORKER", "off")]);
    // Restarted on the same port: the links it mailed name it.
    let port = server.port();
    let res = client
        .post(format!("{}/api/v1/subscriptions", server.base))
        .bearer_auth(&server.key)
        .json(&json!({"url": url, "events": ["delivery.submitted"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let link = dossier_with_request(&client, &server, "CRASH-HOOK").await;
    let a = upload(&client, &link, "a.pdf", b"%PDF-1.4 a").await;
    let delivery: Value = confirm(&client, &link, &[&a]).await.json().await.unwrap();

    server.child.kill().unwrap(); // SIGKILL between the confirm and its webhook
    server.child.wait().unwrap();
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing was sent before the kill"
    );

    let mut server = start(&dir, port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let got = seen.lock().unwrap().clone();
        if let Some((id, body)) = got.first() {
            assert_eq!(got.len(), 1);
            assert_eq!(body["type"], "delivery.submitted");
            assert_eq!(body["data"]["delivery_id"], delivery["id"]);
            // The feed holds the same event under the same id.
            let feed: Value =
                api_json(&client, &server, format!("{}/api/v1/events", server.base)).await;
            assert!(
                feed["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["id"] == id.as_str())
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook was not sent after the restart"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}
