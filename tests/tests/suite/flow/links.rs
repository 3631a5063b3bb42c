//! The link at the edge: HSTS only over HTTPS, guessing throttled while a real link still
//! opens, and receipts that go only to the organisation.

use portaal_tests::{case_id, problem, sha256_hex, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn hsts_is_sent_only_when_the_portal_is_reached_over_https() {
    let https = portaal_tests::spawn_with_settings(&[(
        "PORTAAL_PUBLIC_URL",
        "https://portaal.gemeente.example",
    )])
    .await;
    let res = https
        .client
        .get(format!("{}/", https.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000")
    );
    let http = spawn_app().await;
    let res = http
        .client
        .get(format!("{}/", http.base))
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("strict-transport-security").is_none());
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 26, "every answer names its request: {id}");
    let res = http
        .client
        .get(format!("{}/", http.base))
        .header("x-request-id", "trace-from-the-proxy")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["x-request-id"],
        "trace-from-the-proxy",
        "a request id from in front is kept"
    );
}

#[tokio::test]
async fn guessing_is_throttled_but_a_real_link_always_opens() {
    let app = spawn_app().await;
    let case = case_id("GUESS");
    let link = app.dossier_with_request(&case).await;
    let base = link.rsplit_once("/p/").unwrap().0.to_owned();
    // 30 unknown links from this address are answered 404; from then on 429, with Retry-After.
    for i in 0..30 {
        let res = app
            .client
            .get(format!("{base}/p/{}{i:03}", "G".repeat(40)))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "guess {i}");
    }
    let res = app
        .client
        .get(format!("{base}/p/{}", "H".repeat(43)))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "600");
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    // The department's own link, from the same (shared proxy) address, still opens.
    let res = app
        .client
        .get(&link)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "a link that resolves is never refused"
    );
    let staged = app
        .stage(
            &link,
            "a.pdf",
            "application/pdf",
            b"%PDF",
            Some(&sha256_hex(b"%PDF")),
        )
        .await;
    assert_eq!(staged.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_receipt_goes_only_to_the_organisation_not_to_any_address_typed_in() {
    let app = spawn_app().await;
    let case = case_id("RELAY");
    let link = app.dossier_with_request(&case).await;
    app.exact_mails(&case, 1).await;
    let upload = app
        .upload(&link, "a.pdf", "application/pdf", b"%PDF-1.4 a".to_vec())
        .await;
    let res = app
        .portal(Method::POST, &format!("{link}/deliveries"))
        .json(&json!({"uploads": [upload.id], "comment": "", "submitted_by": {"name": "Buiten", "email": "slachtoffer@elders.example"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // The handler's notice goes out; nothing goes to the typed-in stranger.
    let mails = app.exact_mails(&case, 2).await;
    portaal_tests::settle(&app, std::time::Duration::from_millis(500)).await;
    let mails: Vec<Value> = app
        .exact_mails(&case, mails.len())
        .await
        .into_iter()
        .filter(|m| m.to_string().contains(&case))
        .collect();
    assert!(
        !mails
            .iter()
            .any(|m| m.to_string().contains("elders.example")),
        "the portal is no relay: {mails:?}"
    );
    // An address of the organisation (the request's domain) gets its receipt.
    app.deliver(&link, "b.pdf", b"%PDF-1.4 b").await;
    let mails = app.exact_mails(&case, mails.len() + 2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.to_string().contains("p.bakker@example.nl"))
    );
}
