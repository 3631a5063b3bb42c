//! Link tokens never reach a log line: the whole flow runs with every log level captured.

use std::io::Write;
use std::sync::{Arc, Mutex};

use portaal_tests::{case_id, spawn_app};
use reqwest::{Method, StatusCode};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn the_logs_of_the_whole_flow_hold_no_link_token() {
    let captured = Captured::default();
    // The production subscriber, opened up to every level.
    portaal_infra::telemetry::init_with_writer(captured.clone(), "trace");

    let app = spawn_app().await;
    let case = case_id("LOG");
    let link = app.dossier_with_request(&case).await;
    let token = link.rsplit('/').next().unwrap().to_owned();
    let _ = app.client.get(&link).send().await.unwrap();
    let a = app
        .upload(&link, "a.pdf", "application/pdf", b"%PDF-1.4 log".to_vec())
        .await;
    let delivery: serde_json::Value = app.confirm(&link, &[&a.id]).await.json().await.unwrap();
    let id = delivery["id"].as_str().unwrap();
    let res = app
        .api(
            Method::POST,
            &format!("/dossiers/{case}/deliveries/{id}/approve"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    app.exact_mails(&case, 3).await;
    let _ = app
        .client
        .get(format!("{link}/documents/{}", a.id))
        .send()
        .await
        .unwrap();
    // a wrong link and a failing call log too
    let _ = app
        .client
        .get(format!("{}/p/{}", app.base, "B".repeat(43)))
        .send()
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/p/{token}"),
        "requests through the link are logged, redacted"
    );
    assert!(logs.contains("mail sent"), "the flow was logged");
    let audit_lines: Vec<&str> = logs.lines().filter(|l| l.contains("audit")).collect();
    for action in [
        "portal.view",
        "document.upload",
        "delivery.confirm",
        "delivery.approve",
        "document.download",
    ] {
        assert!(
            audit_lines.iter().any(|l| l.contains(action)),
            "an audit line for {action}: {audit_lines:#?}"
        );
    }
    assert!(
        audit_lines
            .iter()
            .any(|l| l.contains("link:request:") && l.contains("127.0.0.1")),
        "a link holder is named by its request, with the client's address"
    );
    assert!(!logs.contains(&token), "a link token appeared in the logs");
    assert!(
        !logs.contains(portaal_tests::TEST_API_KEY),
        "the API key appeared in the logs"
    );
    assert!(
        !logs.contains(&"B".repeat(43)),
        "a guessed token appeared in the logs"
    );
}
