//! Helpers for the end-to-end tests: spawn the app on port 0 and drive it over HTTP exactly as
//! API.md describes. `PORTAAL_BACKEND=aws` in the environment runs the same tests on AWS adapters.

pub mod contract;
pub mod openapi;
pub mod receiver;
pub mod smtp;

use std::path::PathBuf;
use std::time::Duration;

use portaal_infra::{Config, System};
use portal::local::{self, Running};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub struct TestApp {
    pub base: String,
    pub api_key: String,
    pub client: Client,
    pub data_dir: PathBuf,
    pub running: Running,
    /// Answers that the OpenAPI document does not describe; any left fail the test at drop.
    pub breaches: std::sync::Arc<openapi::Breaches>,
    _dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let breaches = self.breaches.take();
        if !breaches.is_empty() && !std::thread::panicking() {
            panic!(
                "{} answers broke the OpenAPI document:\n{}",
                breaches.len(),
                breaches.join("\n")
            );
        }
    }
}

/// The bearer key of test apps (keys under 32 characters are refused).
pub const TEST_API_KEY: &str = "test-key-0123456789abcdefghijklmnop";

/// A directory removed when dropped.
/// The path, and the directory itself (held only so that dropping it removes it).
pub struct TempDir(pub PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl TempDir {
    /// A fresh directory under the system's temporary directory, removed when dropped.
    pub fn new(label: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("portaal-test-{label}-"))
            .tempdir()
            .expect("temp dir");
        Self(dir.path().to_path_buf(), dir)
    }
}

/// Settings for a test app: `overrides`, then this test's address, public URL and data dir, then
/// the process environment (so `PORTAAL_BACKEND=aws` and the emulator variables apply).
pub fn test_config(
    data_dir: &std::path::Path,
    public_url: &str,
    overrides: &[(&str, &str)],
) -> Config {
    let data_dir = data_dir.display().to_string();
    let public_url = public_url.to_owned();
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(move |name| {
        if let Some((_, v)) = overrides.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        match name {
            "PORTAAL_ADDR" => Some("127.0.0.1:0".into()),
            "PORTAAL_PUBLIC_URL" => Some(public_url.clone()),
            "PORTAAL_DATA_DIR" => Some(data_dir.clone()),
            "PORTAAL_API_KEY" => Some(TEST_API_KEY.into()),
            "PORTAAL_TICK_MS" => Some("100".into()),
            other => std::env::var(other).ok().filter(|v| !v.is_empty()),
        }
    })
    .expect("valid test config")
}

/// Embedded settings whatever the environment says (for tests that need a private store).
pub fn embedded_config(data_dir: &std::path::Path, public_url: &str) -> Config {
    let (data_dir, public_url) = (data_dir.display().to_string(), public_url.to_owned());
    Config::from_lookup(move |name| match name {
        "PORTAAL_BACKEND" => Some("embedded".into()),
        "PORTAAL_PUBLIC_URL" => Some(public_url.clone()),
        "PORTAAL_DATA_DIR" => Some(data_dir.clone()),
        _ => None,
    })
    .expect("valid embedded config")
}

/// An app on the backend `PORTAAL_BACKEND` names. On AWS it gets a table of its own: the feed,
/// its counters, the subscriptions, the destruction records, the due lists and the outbox are
/// global partitions, which tests sharing one table would see each other in (and one app's
/// worker would send another test's mail).
pub async fn spawn_app() -> TestApp {
    spawn_own_table(&[], None).await
}

/// As [`spawn_app`], with extra settings.
pub async fn spawn_with_settings(extra: &[(&str, &str)]) -> TestApp {
    spawn_own_table(extra, None).await
}

/// As [`spawn_with_settings`], with every use case reading the time from `clock`, which the
/// test sets.
pub async fn spawn_with_clock(
    clock: std::sync::Arc<ManualClock>,
    extra: &[(&str, &str)],
) -> TestApp {
    spawn_own_table(extra, Some(clock)).await
}

async fn spawn_own_table(
    extra: &[(&str, &str)],
    clock: Option<std::sync::Arc<ManualClock>>,
) -> TestApp {
    let mut settings: Vec<(&str, &str)> = extra.to_vec();
    let table;
    let backend_named = extra.iter().any(|(k, _)| *k == "PORTAAL_BACKEND");
    if std::env::var("PORTAAL_BACKEND").as_deref() == Ok("aws") && !backend_named {
        table = own_table();
        settings.push(("PORTAAL_TABLE", &table));
    }
    spawn_on_clock(TempDir::new("app"), &settings, clock).await
}

/// A new table on the emulators, like the stack's, for one test; answers its name.
pub fn own_table() -> String {
    let table = format!("portaal-{}", ulid::Ulid::new().to_string().to_lowercase());
    create_emulator_table(&table);
    table
}

/// A table like the stack's on the emulators (`infra/emulators.py table`).
pub fn create_emulator_table(name: &str) {
    require_emulators();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = std::process::Command::new("python3")
        .arg(format!("{root}/infra/emulators.py"))
        .args([
            "table",
            "--template",
            &format!("{root}/template.yaml"),
            "--table",
            name,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "creating table {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Lets the background work run for a while (to show that something does *not* happen).
pub async fn settle(app: &TestApp, how_long: Duration) {
    let until = tokio::time::Instant::now() + how_long;
    while tokio::time::Instant::now() < until {
        local::run_due_work(&app.running.state.system).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Moves a request's due date in the store, as if time had passed (for overdue reports).
pub async fn move_due_date(
    system: &System,
    case: &portaal_core::domain::CaseId,
    request: &portaal_core::domain::Id,
    due: &str,
) {
    use portaal_core::model::{Record, Request, keys};
    let (pk, sk) = (keys::dossier(case), keys::request(request));
    let item = system.store.get(&pk, &sk).await.unwrap().expect("request");
    let mut moved = Request::from_item(&item).unwrap();
    moved.due = portaal_core::domain::Date::parse(due).unwrap();
    moved.rev += 1;
    system
        .store
        .transact(vec![portaal_core::ports::Write::put(moved.to_item(pk, sk))])
        .await
        .unwrap();
}

/// An app on the AWS adapters (the emulators), whatever `PORTAAL_BACKEND` says, with extra
/// settings, on a table of its own.
pub async fn spawn_aws_app(extra: &[(&str, &str)]) -> TestApp {
    let table = own_table();
    let mut overrides = vec![("PORTAAL_BACKEND", "aws"), ("PORTAAL_TABLE", &table)];
    overrides.extend_from_slice(extra);
    spawn_on_clock(TempDir::new("aws"), &overrides, None).await
}

/// AWS tests run against the local emulators; without them they fail, saying how to start them.
pub fn require_emulators() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|v| !v.is_empty()),
        "these tests need the AWS emulators: run `eval \"$(infra/emulators up)\"` first (tests/run does)"
    );
}

async fn spawn_on_clock(
    dir: TempDir,
    overrides: &[(&str, &str)],
    clock: Option<std::sync::Arc<ManualClock>>,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut system = System::build(test_config(&dir.0, &base, overrides))
        .await
        .expect("system builds");
    if let Some(clock) = clock {
        system = system.with_clock(clock);
    }
    // The background work starts with the app's own server, on an address no one is told and
    // which closes at once; the test's address serves the same router, checked against the
    // OpenAPI document.
    let hidden = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let mut running = local::spawn(system, hidden).await.expect("spawn");
    running.handle.abort();
    let breaches = std::sync::Arc::new(openapi::Breaches::default());
    let router = portal::app(running.state.clone()).layer(axum::middleware::from_fn_with_state(
        breaches.clone(),
        openapi::layer,
    ));
    running.addr = listener.local_addr().expect("address");
    let limits = running.state.system.config.limits.clone();
    running.handle = tokio::spawn(portal::listener::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    TestApp {
        base,
        api_key: TEST_API_KEY.into(),
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        data_dir: dir.0.clone(),
        running,
        breaches,
        _dir: dir,
    }
}

/// Every file below `dir`, at any depth (directories themselves left out), in no set order.
pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Reproducible bytes that do not compress (xorshift).
pub fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A clock the test sets (the use cases read time only through the `Clock` port).
pub struct ManualClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl ManualClock {
    pub fn new(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(std::sync::Mutex::new(at))
    }
    pub fn set(&self, at: chrono::DateTime<chrono::Utc>) {
        *self.0.lock().unwrap() = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
    pub fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

impl portaal_core::ports::Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

/// The JSON body of an answer that has this status (the body shown when it has another).
pub async fn json_answer(res: Response, status: StatusCode) -> Value {
    let code = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(code, status, "{body}");
    body
}

/// Asserts an `application/problem+json` answer with this status and a useful `detail`.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "a useful detail: {body}"
    );
    body
}

/// `bytes` made a PDF as far as the content check can tell: its first bytes become a PDF header.
pub fn pdf(mut bytes: Vec<u8>) -> Vec<u8> {
    const HEADER: &[u8] = b"%PDF-1.7\n";
    if bytes.len() < HEADER.len() {
        return HEADER.to_vec();
    }
    bytes[..HEADER.len()].copy_from_slice(HEADER);
    bytes
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Unique across processes and calls: process id, time and a counter.
fn ulid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Unique per test run, so tests sharing an emulator never collide.
pub fn case_id(label: &str) -> String {
    format!("{label}-{}", ulid_like())
}

pub fn dossier_body() -> Value {
    json!({
        "case_type": "bezwaar",
        "title": "Bezwaar tegen weigering omgevingsvergunning",
        "remarks": "Graag ook de adviezen meesturen.",
        "submitter": {"name": "J. de Vries", "email": "j.devries@example.nl"},
        "decision": {"reference": "OV-2026-0815", "date": "2026-10-01", "subject": "Weigering omgevingsvergunning", "department": "Vergunningen"},
        "handler": {"name": "M. Jansen", "email": "m.jansen@example.nl"}
    })
}

pub struct Upload {
    pub id: String,
    pub bytes: Vec<u8>,
    pub filename: String,
}

impl TestApp {
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.api_key)
    }

    pub async fn put_dossier(&self, case: &str) -> Response {
        self.api(reqwest::Method::PUT, &format!("/dossiers/{case}"))
            .json(&dossier_body())
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_request(&self, case: &str, request: &str, body: Value) -> Response {
        self.api(
            reqwest::Method::PATCH,
            &format!("/dossiers/{case}/requests/{request}"),
        )
        .json(&body)
        .send()
        .await
        .unwrap()
    }

    /// Closes the dossier (with this body, or none) and answers the close's `200` answer.
    pub async fn close(&self, case: &str, body: Option<Value>) -> Value {
        let mut req = self.api(reqwest::Method::POST, &format!("/dossiers/{case}/close"));
        if let Some(body) = body {
            req = req.json(&body);
        }
        json_answer(req.send().await.unwrap(), StatusCode::OK).await
    }

    /// Approves a delivery; answers its view.
    pub async fn approve(&self, case: &str, delivery: &str) -> Value {
        let path = format!("/dossiers/{case}/deliveries/{delivery}/approve");
        let res = self.api(reqwest::Method::POST, &path).send().await.unwrap();
        json_answer(res, StatusCode::OK).await
    }

    /// Rejects a delivery for this reason; answers its view.
    pub async fn reject(&self, case: &str, delivery: &str, reason: &str) -> Value {
        let path = format!("/dossiers/{case}/deliveries/{delivery}/reject");
        let res = self
            .api(reqwest::Method::POST, &path)
            .json(&json!({ "reason": reason }))
            .send()
            .await
            .unwrap();
        json_answer(res, StatusCode::OK).await
    }

    /// Runs the dossier's destruction job now, as its schedule would.
    pub async fn purge(&self, case: &str) -> portaal_core::usecases::lifecycle::JobOutcome {
        let case_id = portaal_core::domain::CaseId::parse(case).unwrap();
        self.running
            .state
            .system
            .portaal
            .run_job(&portaal_core::ports::Job::Purge { case_id })
            .await
            .unwrap()
    }

    /// Makes `bezwaar` a case type closed and destroyed at its handling (zero days), so a
    /// destruction is due as soon as a dossier closes; answers the saved case type.
    pub async fn destroy_bezwaar_at_handling(&self) -> Value {
        let res = self
            .api(reqwest::Method::PATCH, "/case-types/bezwaar")
            .json(&json!({"close_after_days": 0, "destroy_after_days": 0}))
            .send()
            .await
            .unwrap();
        json_answer(res, StatusCode::OK).await
    }

    /// The deadline overview for this query string.
    pub async fn overview(&self, query: &str) -> Vec<Value> {
        let res = self
            .api(reqwest::Method::GET, &format!("/requests?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn get_dossier(&self, case: &str) -> Value {
        let res = self
            .api(reqwest::Method::GET, &format!("/dossiers/{case}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Creates a dossier and a request; answers the portal link from the API answer.
    /// A dossier with one request (the body of its `POST`); the request's view.
    async fn dossier_and_request(&self, case: &str, request: Value) -> Value {
        assert_eq!(self.put_dossier(case).await.status(), StatusCode::CREATED);
        let res = self
            .api(reqwest::Method::POST, &format!("/dossiers/{case}/requests"))
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// A dossier with one request to these addresses (due 2099-12-31); the request's view.
    pub async fn dossier_with_request_to(&self, case: &str, to: &[&str]) -> Value {
        self.dossier_and_request(
            case,
            json!({"department": "Vergunningen", "to": to, "due": "2099-12-31"}),
        )
        .await
    }

    /// A dossier with a request to `vergunningen@example.nl`; its link.
    pub async fn dossier_with_request(&self, case: &str) -> String {
        let body = self
            .dossier_and_request(
                case,
                json!({"department": "Vergunningen", "to": ["vergunningen@example.nl"], "due": "2099-12-31", "message": "Graag alles."}),
            )
            .await;
        body["portal_url"].as_str().expect("portal_url").to_owned()
    }

    pub fn portal(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .header("X-Portaal-Client", "1")
    }

    /// Announces a file and answers the staging answer.
    pub async fn stage(
        &self,
        link: &str,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
        sha256: Option<&str>,
    ) -> Response {
        let mut body =
            json!({"filename": filename, "content_type": content_type, "size": bytes.len()});
        if let Some(s) = sha256 {
            body["sha256"] = json!(s);
        }
        self.portal(reqwest::Method::POST, &format!("{link}/uploads"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Sends bytes exactly as the staging answer says.
    pub async fn send_bytes(&self, staged: &Value, bytes: Vec<u8>) -> Response {
        let upload = &staged["upload"];
        let mut req = self.client.request(
            upload["method"].as_str().unwrap().parse().unwrap(),
            upload["url"].as_str().unwrap(),
        );
        for (k, v) in upload["headers"].as_object().unwrap() {
            if k != "content-length" {
                req = req.header(k, v.as_str().unwrap());
            }
        }
        req.body(bytes).send().await.unwrap()
    }

    /// Stages and uploads a file whose SHA-256 is announced.
    pub async fn upload(
        &self,
        link: &str,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Upload {
        let res = self
            .stage(
                link,
                filename,
                content_type,
                &bytes,
                Some(&sha256_hex(&bytes)),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "staging {filename}");
        let staged: Value = res.json().await.unwrap();
        let put = self.send_bytes(&staged, bytes.clone()).await;
        assert!(
            put.status().is_success(),
            "upload of {filename}: {}",
            put.status()
        );
        Upload {
            id: staged["id"].as_str().unwrap().to_owned(),
            bytes,
            filename: filename.to_owned(),
        }
    }

    /// The portal page as scripts read it (JSON).
    pub async fn portal_view(&self, link: &str) -> Value {
        self.client
            .get(link)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// One PDF uploaded and sent as a delivery through `link`.
    pub async fn deliver(&self, link: &str, filename: &str, bytes: &[u8]) -> Upload {
        let upload = self
            .upload(link, filename, "application/pdf", bytes.to_vec())
            .await;
        assert_eq!(
            self.confirm(link, &[&upload.id]).await.status(),
            StatusCode::CREATED
        );
        upload
    }

    pub async fn confirm(&self, link: &str, uploads: &[&str]) -> Response {
        self.portal(reqwest::Method::POST, &format!("{link}/deliveries"))
            .json(&json!({"uploads": uploads, "comment": "Alle stukken.", "submitted_by": {"name": "Piet Bakker", "email": "p.bakker@example.nl"}}))
            .send()
            .await
            .unwrap()
    }

    /// The short-lived URL the API's 302 points at.
    pub async fn download_url(&self, case: &str, document: &str) -> String {
        let res = self
            .api(
                reqwest::Method::GET,
                &format!("/dossiers/{case}/documents/{document}/content"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Follows the API's 302 to the short-lived URL and answers the bytes.
    pub async fn download(&self, case: &str, document: &str) -> Vec<u8> {
        let url = self.download_url(case, document).await;
        let res = self.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.bytes().await.unwrap().to_vec()
    }

    /// The sent mails about this case (every subject names its case), waiting until at least
    /// `count` exist: the outbox sends in the background.
    pub async fn mails(&self, case: &str, count: usize) -> Vec<Value> {
        let mut mails = Vec::new();
        for _ in 0..100 {
            portal::local::run_due_work(&self.running.state.system).await;
            mails = self
                .sent_mails()
                .await
                .into_iter()
                .filter(|m| m.to_string().contains(case))
                .collect();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected at least {count} mails about {case}, found {mails:?}");
    }

    /// Exactly `count` sent mails about this case: waits for them, lets the background work run
    /// once more, and fails on any extra (a duplicate send would show here).
    pub async fn exact_mails(&self, case: &str, count: usize) -> Vec<Value> {
        self.mails(case, count).await;
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            portal::local::run_due_work(&self.running.state.system).await;
        }
        let mails: Vec<Value> = self
            .sent_mails()
            .await
            .into_iter()
            .filter(|m| m.to_string().contains(case))
            .collect();
        assert_eq!(
            mails.len(),
            count,
            "exactly {count} mails about {case}: {mails:#?}"
        );
        mails
    }

    async fn sent_mails(&self) -> Vec<Value> {
        match &self.running.state.system.embedded {
            Some(_) => {
                let res = self
                    .client
                    .get(format!("{}/dev/mail", self.base))
                    .header("accept", "application/json")
                    .send()
                    .await
                    .unwrap();
                res.json().await.unwrap()
            }
            None => contract::aws_sent_mails().await,
        }
    }
}
