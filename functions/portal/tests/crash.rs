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
}

fn start(data_dir: &std::path::Path, port: u16) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal"))
        .env("PORTAAL_DATA_DIR", data_dir)
        .env("PORTAAL_ADDR", format!("127.0.0.1:{port}"))
        .env("PORTAAL_BACKEND", "embedded")
        .env_remove("PORTAAL_PUBLIC_URL")
        .env_remove("PORTAAL_API_KEY")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("portal binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut key = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(k) = line.trim().strip_prefix("API key:") {
            key = Some(k.trim().to_owned());
        }
        if line.contains("Stop with Ctrl+C") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        key: key.expect("banner prints the API key"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
    let dir = std::env::temp_dir().join(format!("portaal-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = free_port();
    // No pooled connections: the first server dies mid-test.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut server = start(&dir, port);

    let body = json!({
        "case_type": "bezwaar", "title": "Crash", "submitter": {"name": "X"},
        "decision": {"reference": "R-1", "date": "2026-01-01", "department": "Vergunningen"},
        "handler": {"name": "H", "email": "h@example.nl"}
    });
    let res = client
        .put(format!("{}/api/v1/dossiers/CRASH-1", server.base))
        .bearer_auth(&server.key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let req: Value = client
        .post(format!("{}/api/v1/dossiers/CRASH-1/requests", server.base))
        .bearer_auth(&server.key)
        .json(&json!({"department": "Vergunningen", "to": ["v@example.nl"], "due": "2099-01-01"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = req["portal_url"].as_str().unwrap().to_owned();

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

    // what was confirmed is there, byte-identical
    let dossier: Value = client
        .get(format!("{}/api/v1/dossiers/CRASH-1", server.base))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
