//! The real `portal` binary as Lambda starts it: against a Runtime API (served here), handed API
//! Gateway events one after another. This is the path `main` takes on Lambda (its own runtime,
//! the SDK settings from the environment, the route tables built at their first request), on
//! the backend `PORTAAL_BACKEND` names (the emulators with `aws`).

use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portaal_infra::{Config, System};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const PAGE_EVENT: &str = include_str!("../../../events/portal-page.json");
const PUBLIC_URL: &str = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod";

/// What the function posted back for one invocation (or for its init).
#[derive(Debug)]
struct Answer {
    request_id: String,
    kind: &'static str,
    body: Value,
}

#[derive(Clone)]
struct RuntimeApi {
    events: Arc<Mutex<VecDeque<(String, String)>>>,
    answers: mpsc::UnboundedSender<Answer>,
}

async fn next(State(api): State<RuntimeApi>) -> Response {
    let Some((id, event)) = api.events.lock().unwrap().pop_front() else {
        // No more events: the function waits, as it would for the next request on Lambda.
        return std::future::pending().await;
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert("lambda-runtime-deadline-ms", deadline.into());
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:portal"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".parse().unwrap(),
    );
    (headers, event).into_response()
}

fn answered(api: &RuntimeApi, request_id: String, kind: &'static str, body: &str) -> StatusCode {
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()));
    let _ = api.answers.send(Answer {
        request_id,
        kind,
        body,
    });
    StatusCode::ACCEPTED
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    answered(&api, id, "response", &body)
}

async fn error(State(api): State<RuntimeApi>, Path(id): Path<String>, body: String) -> StatusCode {
    answered(&api, id, "error", &body)
}

async fn init_error(State(api): State<RuntimeApi>, body: String) -> StatusCode {
    answered(&api, "init".into(), "error", &body)
}

/// Serves the Runtime API on a free port; answers its address and where answers arrive.
async fn runtime_api(events: Vec<String>) -> (String, mpsc::UnboundedReceiver<Answer>) {
    let (answers, received) = mpsc::unbounded_channel();
    let api = RuntimeApi {
        events: Arc::new(Mutex::new(
            events
                .into_iter()
                .enumerate()
                .map(|(i, e)| (format!("invocation-{i}"), e))
                .collect(),
        )),
        answers,
    };
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (address, received)
}

/// The page event for `path`, as API Gateway's `/{proxy+}` resource hands it on.
fn event_for(path: &str) -> String {
    let mut event: Value = serde_json::from_str(PAGE_EVENT).unwrap();
    event["path"] = json!(path);
    event["resource"] = json!("/{proxy+}");
    event["pathParameters"] = json!({ "proxy": path.trim_start_matches('/') });
    event["requestContext"]["path"] = json!(format!("/prod{path}"));
    event["requestContext"]["resourcePath"] = json!("/{proxy+}");
    event.to_string()
}

/// The settings the function gets, and those this test builds its own system with to make the
/// dossier: one data directory (embedded) or one table of its own (emulators).
fn settings(data_dir: &std::path::Path) -> Vec<(String, String)> {
    let mut settings = vec![("PORTAAL_DATA_DIR".into(), data_dir.display().to_string())];
    if std::env::var("PORTAAL_BACKEND").as_deref() == Ok("aws") {
        let table = format!("portaal-{}", ulid::Ulid::new().to_string().to_lowercase());
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let made = Command::new("python3")
            .arg(format!("{root}/infra/emulators.py"))
            .args(["table", "--template", &format!("{root}/template.yaml")])
            .args(["--table", &table])
            .output()
            .expect("python3 runs");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        settings.push(("PORTAAL_TABLE".into(), table));
    } else {
        settings.push(("PORTAAL_BACKEND".into(), "embedded".into()));
    }
    settings
}

/// A dossier with one request to a department; answers the request's link token.
async fn dossier_with_request(settings: &[(String, String)]) -> String {
    let lookup = settings.to_vec();
    let config = Config::from_lookup(move |name| {
        if name == "PORTAAL_PUBLIC_URL" {
            return Some(PUBLIC_URL.into());
        }
        lookup
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok().filter(|v| !v.is_empty()))
    })
    .expect("valid settings");
    let system = System::build(config).await.expect("the system builds");
    // The demo dossier `cargo run -- --demo` makes, with its request to a department.
    let url = portal::local::create_demo(&system)
        .await
        .expect("a dossier");
    url.rsplit('/').next().unwrap().to_owned()
}

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_as_a_lambda_serves_a_page_the_console_and_the_api_one_event_after_another() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let token = dossier_with_request(&settings).await;
    let paths = [
        format!("/p/{token}"),
        "/api/v1/openapi.json".to_owned(),
        "/staff".to_owned(),
        "/nowhere".to_owned(),
        format!("/p/{token}"),
    ];
    let (address, mut answers) = runtime_api(paths.iter().map(|p| event_for(p)).collect()).await;
    let _function = Function(
        Command::new(env!("CARGO_BIN_EXE_portal"))
            .envs(settings.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "portal")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "portal")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "portal")
            // Behind API Gateway without a public URL: links are made for the host and stage.
            .env_remove("PORTAAL_PUBLIC_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the portal binary starts"),
    );

    for (i, path) in paths.iter().enumerate() {
        let answer = tokio::time::timeout(Duration::from_secs(60), answers.recv())
            .await
            .unwrap_or_else(|_| panic!("no answer to {path}"))
            .expect("the Runtime API runs");
        assert_eq!(answer.kind, "response", "{path}: {:?}", answer.body);
        assert_eq!(answer.request_id, format!("invocation-{i}"));
        let body = answer.body["body"].as_str().unwrap_or_default();
        let status = answer.body["statusCode"].as_u64().unwrap();
        match path.as_str() {
            p if p.starts_with("/p/") => {
                assert_eq!(status, 200, "{path}: {body}");
                assert!(body.contains("Bevestigen en versturen"), "the portal page");
                assert!(body.contains("/prod/assets/portal.css"), "under the stage");
            }
            "/api/v1/openapi.json" => {
                assert_eq!(status, 200, "{path}");
                let document: Value = serde_json::from_str(body).expect("JSON");
                assert!(document["paths"]["/api/v1/dossiers/{case_id}"].is_object());
            }
            // The console's table answers: without a configured sign-in, it says so.
            "/staff" => assert_ne!(status, 404, "{path} is the console's: {body}"),
            _ => assert_eq!(status, 404, "{path}"),
        }
    }
}
