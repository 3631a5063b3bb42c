//! The published contract stays true: every operation in `/api/v1/openapi.json` is served, and
//! the integration routes and webhook event types are in it.

use portaal_core::events::EventType;
use portaal_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A served path for a path template; other `{...}` segments (e.g. `{subscription_id}`) become a
/// 26-character ULID that names nothing.
fn concrete(path: &str) -> String {
    path.replace("{case_id}", "OPENAPI-1")
        .replace("{token}", &"A".repeat(43))
        .replace("{key}", "bezwaar")
        .replace("{id}", "00000000000000000000000000")
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "00000000000000000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn openapi_document(app: &portaal_tests::TestApp) -> Value {
    app.client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_operation_in_the_openapi_document_is_served() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let url = format!("{}{}", app.base, concrete(path));
            let mut req = app
                .client
                .request(method.to_uppercase().parse::<Method>().unwrap(), &url)
                .bearer_auth(&app.api_key)
                .header("X-Portaal-Client", "1");
            if matches!(method, "put" | "post" | "patch") {
                req = req.header("content-type", "application/json").body("{}");
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let content_type = res
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            // An unrouted path is axum's bare 404 (no body type); a routed one answers in kind.
            assert!(
                !(status == StatusCode::NOT_FOUND && content_type.is_empty())
                    && status != StatusCode::METHOD_NOT_ALLOWED,
                "{} {path} is in the OpenAPI document but not served ({status})",
                method.to_uppercase()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 42,
        "the document lists every operation ({checked})"
    );
}

#[tokio::test]
async fn every_integration_route_is_documented() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for (method, path) in [
        ("post", "/api/v1/subscriptions"),
        ("get", "/api/v1/subscriptions"),
        ("delete", "/api/v1/subscriptions/{subscription_id}"),
        (
            "post",
            "/api/v1/subscriptions/{subscription_id}/rotate-secret",
        ),
        ("post", "/api/v1/subscriptions/{subscription_id}/redeliver"),
        ("get", "/api/v1/events"),
        ("get", "/api/v1/dossiers"),
        ("get", "/api/v1/deliveries"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(
            operation.is_object(),
            "{} {path} is not in the OpenAPI document",
            method.to_uppercase()
        );
        assert!(
            operation["responses"]["401"].is_object(),
            "{} {path} does not document 401",
            method.to_uppercase()
        );
    }
    let webhooks = doc["webhooks"]
        .as_object()
        .expect("the document has top-level webhooks");
    for kind in EventType::ALL {
        let name = kind.as_str();
        assert!(
            webhooks
                .get(name)
                .is_some_and(|w| w["post"]["requestBody"].is_object()),
            "webhook {name} is not in the OpenAPI document"
        );
    }
    assert_eq!(
        webhooks.len(),
        EventType::ALL.len(),
        "the document lists a webhook that is no event type"
    );
}
