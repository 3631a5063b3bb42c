//! An attacker's view, rerun on every change: every route of the served OpenAPI document with
//! every kind of caller that should not get in, and a catalogue of hostile inputs. Nothing may be
//! accepted that should not be. The figures are printed (`--nocapture`) for the security note.

use portaal_tests::{TestApp, case_id, sha256_hex, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SOME_ULID: &str = "01JDXQ6Y3V8M5R2K9T4W7Z1B0C";

/// The served contract's operations under `prefix`, with their path parameters filled in.
async fn operations(app: &TestApp, prefix: &str) -> Vec<(Method, String)> {
    let doc: Value = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with(prefix) || path.ends_with("openapi.json") {
            continue;
        }
        let filled = path
            .replace("{case_id}", "BZ-2026-0001")
            .replace("{key}", "bezwaar")
            .replace("{token}", "x")
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    SOME_ULID.to_owned()
                } else {
                    seg.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_uppercase().parse().unwrap(), filled.clone()));
            }
        }
    }
    ops
}

/// How a caller dresses its request.
type Caller = Box<dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder>;

fn refused(status: StatusCode) -> bool {
    status.is_client_error()
}

#[tokio::test]
async fn no_route_lets_in_a_caller_that_should_not_get_in() {
    // The failure limit would answer 429 sooner; both are refusals, but count every try.
    let app = spawn_with_settings(&[("PORTAAL_AUTH_FAILURE_LIMIT", "1000000")]).await;
    let case = case_id("ATTACK");
    let link = app.dossier_with_request(&case).await;
    let token = link.rsplit('/').next().unwrap().to_owned();

    // The case-system API: no key, a wrong key, the key in the wrong place, a link as key.
    let api = operations(&app, "/api/v1").await;
    assert!(api.len() >= 28, "the contract lists the API: {}", api.len());
    let callers: Vec<(&str, Caller)> = vec![
        ("no key", Box::new(|r| r)),
        (
            "wrong key",
            Box::new(|r| r.bearer_auth("not-the-key-not-the-key-not-the-key-0")),
        ),
        (
            "key as Basic",
            Box::new(|r| r.basic_auth(portaal_tests::TEST_API_KEY, Some(""))),
        ),
        (
            "key in the query",
            Box::new(|r| r.query(&[("api_key", portaal_tests::TEST_API_KEY)])),
        ),
        ("link token as key", {
            let t = token.clone();
            Box::new(move |r| r.bearer_auth(&t))
        }),
    ];
    let mut tried = 0;
    let mut accepted = Vec::new();
    for (method, path) in &api {
        for (who, with) in &callers {
            let req = app
                .client
                .request(method.clone(), format!("{}{path}", app.base))
                .header("X-Portaal-Client", "1")
                .json(&json!({}));
            let status = with(req).send().await.unwrap().status();
            tried += 1;
            if !refused(status) || status == StatusCode::NOT_FOUND {
                accepted.push(format!("{method} {path} by {who}: {status}"));
            }
        }
    }

    // The portal: unknown and malformed links, and a real link reaching into another request.
    let other_link = app.dossier_with_request(&case_id("ATTACK2")).await;
    let theirs = app
        .upload(
            &other_link,
            "a.pdf",
            "application/pdf",
            b"%PDF-1.7 a".to_vec(),
        )
        .await;
    assert_eq!(
        app.confirm(&other_link, &[&theirs.id]).await.status(),
        StatusCode::CREATED
    );
    let portal = operations(&app, "/p/").await;
    let strangers = [
        "x".to_owned(),
        "A".repeat(43),
        "../../api/v1/dossiers".to_owned(),
        format!("{token}x"),
    ];
    for (method, path) in &portal {
        for stranger in &strangers {
            let url = format!(
                "{}{}",
                app.base,
                path.replacen("/p/x", &format!("/p/{stranger}"), 1)
            );
            let status = app
                .portal(method.clone(), &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status();
            tried += 1;
            if !refused(status) {
                accepted.push(format!("{method} {url}: {status}"));
            }
        }
    }
    let across = app
        .client
        .get(format!("{link}/documents/{}", theirs.id))
        .send()
        .await
        .unwrap()
        .status();
    tried += 1;
    if across != StatusCode::NOT_FOUND {
        accepted.push(format!(
            "another request's document through this link: {across}"
        ));
    }
    let removed_across = app
        .portal(Method::DELETE, &format!("{link}/uploads/{}", theirs.id))
        .send()
        .await
        .unwrap()
        .status();
    tried += 1;
    if !refused(removed_across) {
        accepted.push(format!("removing another request's file: {removed_across}"));
    }
    println!(
        "attacker view: {} API operations and {} portal operations; {tried} route × caller tries; {} accepted",
        api.len(),
        portal.len(),
        accepted.len()
    );
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
}

#[tokio::test]
async fn hostile_inputs_are_refused_with_a_problem_and_change_nothing() {
    let app = spawn_with_settings(&[]).await;
    let case = case_id("HOSTILE");
    let link = app.dossier_with_request(&case).await;
    let sha = sha256_hex(b"%PDF-1.7 a");
    let stage_bodies = [
        json!({"filename": "a.pdf", "content_type": "application/pdf", "size": 0}),
        json!({"filename": "a.pdf", "content_type": "application/pdf", "size": -1}),
        json!({"filename": "a.pdf", "content_type": "application/pdf", "size": 1u64 << 40}),
        json!({"filename": "a.html", "content_type": "text/html", "size": 10}),
        json!({"filename": "a.svg", "content_type": "image/svg+xml", "size": 10}),
        json!({"filename": "a.pdf", "content_type": "application/pdf", "size": 10, "sha256": "zz"}),
        json!({"filename": "", "content_type": "application/pdf", "size": 10}),
        json!({"filename": "a.pdf", "content_type": "nonsense", "size": 10}),
        json!({"filename": "a.pdf", "size": 10}),
        json!({"filename": "a".repeat(5000), "content_type": "application/pdf", "size": 10}),
        json!("not an object"),
    ];
    let mut tried = 0;
    let mut accepted = Vec::new();
    for body in &stage_bodies {
        let res = app
            .portal(Method::POST, &format!("{link}/uploads"))
            .json(body)
            .send()
            .await
            .unwrap();
        tried += 1;
        if !refused(res.status()) || res.headers()["content-type"] != "application/problem+json" {
            accepted.push(format!("stage {body}: {}", res.status()));
        }
    }
    let good = app
        .upload(&link, "a.pdf", "application/pdf", b"%PDF-1.7 a".to_vec())
        .await;
    let confirm_bodies = [
        json!({"uploads": [], "submitted_by": {"name": "P", "email": "p@example.nl"}}),
        json!({"uploads": [SOME_ULID], "submitted_by": {"name": "P", "email": "p@example.nl"}}),
        json!({"uploads": ["not-an-id"], "submitted_by": {"name": "P", "email": "p@example.nl"}}),
        json!({"uploads": vec![SOME_ULID; 91], "submitted_by": {"name": "P", "email": "p@example.nl"}}),
        json!({"uploads": [good.id], "submitted_by": {"name": "P", "email": "not an address"}}),
        json!({"uploads": [good.id], "submitted_by": {"name": "", "email": "p@example.nl"}}),
        json!({"uploads": [good.id], "comment": "x".repeat(5000), "submitted_by": {"name": "P", "email": "p@example.nl"}}),
        json!({"uploads": [good.id]}),
    ];
    for body in &confirm_bodies {
        let res = app
            .portal(Method::POST, &format!("{link}/deliveries"))
            .json(body)
            .send()
            .await
            .unwrap();
        tried += 1;
        if !refused(res.status()) {
            accepted.push(format!("confirm {body}: {}", res.status()));
        }
    }
    // Bodies that are no JSON, or too big.
    for (ct, body) in [
        ("application/json", "{\"uploads\": ["),
        ("text/plain", "{}"),
        ("application/json", &"[".repeat(100_000)),
    ] {
        let res = app
            .client
            .post(format!("{link}/deliveries"))
            .header("X-Portaal-Client", "1")
            .header("content-type", ct)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        tried += 1;
        if !refused(res.status()) {
            accepted.push(format!("confirm body {ct}: {}", res.status()));
        }
    }
    // Signed blob URLs with their fixed parameters edited (embedded: the local route).
    if app.running.state.system.embedded.is_some() {
        let staged: Value = app
            .stage(&link, "b.pdf", "application/pdf", b"%PDF-1.7 a", Some(&sha))
            .await
            .json()
            .await
            .unwrap();
        let url = staged["upload"]["url"].as_str().unwrap();
        for edited in [
            url.replace("size=10", "size=11"),
            url.replace("ct=application%2Fpdf", "ct=text%2Fhtml"),
            url.replacen("staged/", "dossiers/", 1),
            url.replacen("exp=", "exp=1", 1),
        ] {
            let res = app
                .client
                .put(&edited)
                .header("content-type", "application/pdf")
                .body(b"%PDF-1.7 a".to_vec())
                .send()
                .await
                .unwrap();
            tried += 1;
            if !refused(res.status()) {
                accepted.push(format!("PUT {edited}: {}", res.status()));
            }
        }
    }
    let dossier = app.get_dossier(&case).await;
    assert_eq!(dossier["deliveries"], json!([]), "nothing was delivered");
    println!("hostile inputs: {tried} tried, {} accepted", accepted.len());
    assert!(accepted.is_empty(), "accepted: {accepted:#?}");
}
