//! The published contract stays true: every operation in `/api/v1/openapi.json` is served and
//! every route is in it, the integration routes and webhook event types are in it, and the check
//! that holds every test app's answers to it refuses what it does not describe.

use std::collections::BTreeSet;

use portaal_core::events::EventType;
use portaal_tests::openapi::{Answer, Breaches};
use portaal_tests::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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

/// The router's routes as the source declares them: `(method, path)`, each path parameter as
/// `{}`. Files whose routes are nested under a prefix say so here; a new file with routes fails
/// until it is added.
fn served_routes() -> BTreeSet<(String, String)> {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions/portal/src");
    let prefixes = [
        ("lib.rs", ""),
        ("portal.rs", ""),
        ("dev.rs", ""),
        ("staff.rs", ""),
        // The console's pages in modules of their own (`staff/*.rs`).
        ("staff/", ""),
        ("api.rs", "/api/v1"),
        ("integration.rs", "/api/v1"),
        ("records.rs", "/api/v1"),
    ];
    let mut routes = BTreeSet::new();
    let src = std::path::Path::new(src);
    let files = ["", "staff"].into_iter().flat_map(|dir| {
        std::fs::read_dir(src.join(dir))
            .into_iter()
            .flatten()
            .map(move |entry| (dir, entry.unwrap().path()))
    });
    for (dir, path) in files {
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests build routers of their own.
        let text = text.split("#[cfg(test)]").next().unwrap();
        let file = path.file_name().unwrap().to_str().unwrap();
        let name = &if dir.is_empty() {
            file.to_owned()
        } else {
            format!("{dir}/{file}")
        };
        let calls: Vec<&str> = text.split(".route(").skip(1).collect();
        if calls.is_empty() {
            continue;
        }
        let prefix = prefixes
            .iter()
            .find(|(file, _)| file == name || (file.ends_with('/') && name.starts_with(file)))
            .unwrap_or_else(|| panic!("{name} declares routes: say under which prefix"))
            .1;
        for call in calls {
            let call = call.trim_start();
            let literal = call.strip_prefix('"').expect("a route path literal");
            let (route, rest) = literal.split_once('"').unwrap();
            // The method router: up to the call's closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let methods = &rest[..end];
            let mut found = 0;
            for method in ["get", "put", "post", "patch", "delete"] {
                let called = methods.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0 || !methods[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if called {
                    routes.insert((method.to_owned(), generic(&format!("{prefix}{route}"))));
                    found += 1;
                }
            }
            assert!(found > 0, "{name}: no method on route {route}");
        }
    }
    routes
}

/// `/p/{token}/uploads/{upload_id}` → `/p/{}/uploads/{}` (axum's `{*key}` too).
fn generic(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match (seg.find('{'), seg.find('}')) {
            (Some(open), Some(close)) => format!("{}{{}}{}", &seg[..open], &seg[close + 1..]),
            _ => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The document's operations, in the same form.
fn documented_routes() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(portaal_tests::openapi::DOCUMENT_PATH).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "patch", "delete"] {
            if item.get(method).is_some() {
                routes.insert((method.to_owned(), generic(path)));
            }
        }
    }
    routes
}

#[test]
fn the_router_serves_exactly_the_documented_routes() {
    let served = served_routes();
    let documented = documented_routes();
    assert!(served.len() >= 40, "the routes were found: {served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in the OpenAPI document: {undocumented:?}"
    );
    // `/dev/mail/{id}.eml` is the `/dev/mail/{id}` route (its handler reads the suffix).
    let unserved: Vec<_> = documented
        .difference(&served)
        .filter(|(m, p)| {
            let bare = p.strip_suffix("{}.eml").map(|p| format!("{p}{{}}"));
            bare.is_none_or(|bare| !served.contains(&(m.clone(), bare)))
        })
        .collect();
    assert!(
        unserved.is_empty(),
        "in the OpenAPI document but not served: {unserved:?}"
    );
}

/// A real answer, as the contract checks it.
fn check(
    method: Method,
    path: &str,
    status: u16,
    content_type: &str,
    body: &Value,
) -> Result<(), String> {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert("content-type", content_type.parse().unwrap());
    let bytes = serde_json::to_vec(body).unwrap();
    portaal_tests::openapi::contract().check(&Answer {
        method: &method,
        path,
        status: axum::http::StatusCode::from_u16(status).unwrap(),
        headers: &headers,
        json: Some(&bytes),
    })
}

#[tokio::test]
async fn the_contract_refuses_answers_the_document_does_not_describe() {
    let app = spawn_app().await;
    let case = portaal_tests::case_id("OPENAPI");
    app.dossier_with_request(&case).await;
    let dossier = app.get_dossier(&case).await;
    let path = format!("/api/v1/dossiers/{case}");
    check(Method::GET, &path, 200, "application/json", &dossier).expect("a true answer passes");

    // A field of the wrong type.
    let mut wrong = dossier.clone();
    wrong["title"] = json!(42);
    let breach = check(Method::GET, &path, 200, "application/json", &wrong).unwrap_err();
    for part in [path.as_str(), "200", "/title", "42"] {
        assert!(breach.contains(part), "the breach names {part}: {breach}");
    }
    // A required field left out.
    let mut missing = dossier.clone();
    missing.as_object_mut().unwrap().remove("case_id");
    let breach = check(Method::GET, &path, 200, "application/json", &missing).unwrap_err();
    assert!(breach.contains("case_id"), "{breach}");
    // A status the operation does not document.
    let breach = check(Method::GET, &path, 418, "application/json", &dossier).unwrap_err();
    assert!(breach.contains("418 is not documented"), "{breach}");
    // A content type it does not document.
    let breach = check(Method::GET, &path, 200, "text/plain", &dossier).unwrap_err();
    assert!(
        breach.contains("`text/plain` is not documented"),
        "{breach}"
    );
    // A method and a path the document does not have.
    let breach = check(Method::DELETE, &path, 200, "application/json", &dossier).unwrap_err();
    assert!(breach.contains("no DELETE"), "{breach}");
    let breach = check(
        Method::GET,
        "/api/v1/nowhere",
        200,
        "application/json",
        &json!({}),
    )
    .unwrap_err();
    assert!(
        breach.contains("no path of the OpenAPI document"),
        "{breach}"
    );
}

/// The check sits in front of every test app: an answer the document does not describe is
/// recorded, naming the path, the status and what the schema says (here from a stand-in handler
/// behind the same layer).
#[tokio::test]
async fn the_test_apps_record_an_answer_that_breaks_the_contract() {
    use axum::routing::get;
    use tower::ServiceExt;

    let breaches = std::sync::Arc::new(Breaches::default());
    let router = axum::Router::new()
        .route(
            "/api/v1/dossiers/{case_id}",
            get(|| async { axum::Json(json!({"case_id": 7})) }),
        )
        .layer(axum::middleware::from_fn_with_state(
            breaches.clone(),
            portaal_tests::openapi::layer,
        ));
    let res = router
        .oneshot(
            axum::http::Request::get("/api/v1/dossiers/BZ-1")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the answer itself passes unchanged");
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(&body[..], br#"{"case_id":7}"#);
    let found = breaches.take();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("GET /api/v1/dossiers/BZ-1") && found[0].contains("200"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("\"title\" is a required property"),
        "the schema's complaint: {}",
        found[0]
    );
}

#[test]
fn the_document_is_openapi_3_1_without_3_0_keywords() {
    // 3.1 schemas are JSON Schema 2020-12, which the validator speaks; 3.0's `nullable` would be
    // silently ignored by it.
    let text = std::fs::read_to_string(portaal_tests::openapi::DOCUMENT_PATH).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    fn walk(v: &Value, at: &str, found: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "nullable" && v.is_boolean() {
                        found.push(at.to_owned());
                    }
                    walk(v, &format!("{at}/{k}"), found);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&doc, "", &mut found);
    assert!(found.is_empty(), "3.0 `nullable` at {found:?}");
}

#[test]
fn the_contract_refuses_a_webhook_the_document_does_not_describe() {
    let contract = portaal_tests::openapi::contract();
    let mut closed = json!({
        "type": "dossier.closed",
        "timestamp": "2026-11-01T10:00:00Z",
        "data": {"case_id": "BZ-2026-0042", "state": "closed"}
    });
    contract
        .check_webhook(&closed.to_string())
        .expect("a true webhook passes");
    closed["data"]["state"] = json!("open");
    let breach = contract.check_webhook(&closed.to_string()).unwrap_err();
    assert!(
        breach.contains("dossier.closed") && breach.contains("/data/state"),
        "{breach}"
    );
    closed["data"]["state"] = json!("closed");
    closed["data"]["title"] = json!("Bezwaar");
    let breach = contract.check_webhook(&closed.to_string()).unwrap_err();
    assert!(
        breach.contains("undeclared field `/data/title`"),
        "{breach}"
    );
    closed["type"] = json!("dossier.lost");
    let breach = contract.check_webhook(&closed.to_string()).unwrap_err();
    assert!(breach.contains("not in the OpenAPI document"), "{breach}");
}
