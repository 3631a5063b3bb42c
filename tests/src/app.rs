//! A test app: its settings, spawning it on port 0 (on the backend the environment names, or on
//! the AWS emulators with a table of its own), and letting its background work run.

use std::path::PathBuf;
use std::time::Duration;

use portaal_infra::{Config, System};
use portal::local::{self, Running};
use reqwest::Client;

use crate::fixtures::{ManualClock, TempDir, files_under};
use crate::openapi;

/// An app spawned for one test: its address and key, a client that follows no redirects, its data
/// directory and running state. Dropping it fails the test on any answer that broke the OpenAPI
/// document.
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

/// An app on the AWS adapters (the emulators), whatever `PORTAAL_BACKEND` says, with extra
/// settings, on a table of its own.
pub async fn spawn_aws_app(extra: &[(&str, &str)]) -> TestApp {
    let table = own_table();
    let mut overrides = vec![("PORTAAL_BACKEND", "aws"), ("PORTAAL_TABLE", &table)];
    overrides.extend_from_slice(extra);
    spawn_on_clock(TempDir::new("aws"), &overrides, None).await
}

/// A client of the emulators' S3 as production builds one: checksums only where required
/// (presigned uploads come from browsers), path-style addressing.
pub async fn emulator_s3_client() -> aws_sdk_s3::Client {
    require_emulators();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let config = aws_sdk_s3::config::Builder::from(&shared)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

impl TestApp {
    /// The keys of the files stored under `prefix` (parts of unfinished uploads are none): the
    /// bucket's listing on AWS, the blob directory locally.
    pub async fn objects_under(&self, prefix: &str) -> Vec<String> {
        let system = &self.running.state.system;
        if system.embedded.is_none() {
            let listed = emulator_s3_client()
                .await
                .list_objects_v2()
                .bucket(&system.config.bucket)
                .prefix(prefix)
                .send()
                .await
                .expect("the bucket lists");
            return listed
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
        }
        let root = self.data_dir.join("blobs");
        if !root.join(prefix).exists() {
            return Vec::new();
        }
        let mut keys: Vec<String> = files_under(&root.join(prefix))
            .iter()
            .filter_map(|path| path.strip_prefix(&root).ok())
            .map(|key| key.to_string_lossy().into_owned())
            // Hidden: parts and temporary files; beside each blob its meta.
            .filter(|key| {
                !key.split('/').any(|seg| seg.starts_with('.')) && !key.ends_with(".meta")
            })
            .collect();
        keys.sort();
        keys
    }
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
    spawn_configured(dir, |_| Vec::new(), overrides, clock, |_| {}).await
}

/// An app (embedded, or on the backend the environment names) whose extra settings depend on its
/// own base URL (`settings_for`, e.g. an identity provider's client registered for its redirect
/// URI), with a last change to its configuration (`adjust`, e.g. `--demo`).
pub async fn spawn_for_base(
    extra: &[(&str, &str)],
    settings_for: impl FnOnce(&str) -> Vec<(String, String)>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    spawn_configured(TempDir::new("app"), settings_for, extra, None, adjust).await
}

async fn spawn_configured(
    dir: TempDir,
    settings_for: impl FnOnce(&str) -> Vec<(String, String)>,
    overrides: &[(&str, &str)],
    clock: Option<std::sync::Arc<ManualClock>>,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let own = settings_for(&base);
    let mut all: Vec<(&str, &str)> = own.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(overrides);
    let mut config = test_config(&dir.0, &base, &all);
    adjust(&mut config);
    let mut system = System::build(config).await.expect("system builds");
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

/// The `main` of a bench: the backend `BENCH_BACKEND` names (`embedded` or `aws`, default
/// `embedded`; it overrides any `PORTAAL_BACKEND`), the emulators required for `aws`, and `run`
/// on a multi-threaded runtime, given the backend's name.
pub fn run_bench<F, Fut>(run: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let backend = std::env::var("BENCH_BACKEND")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "embedded".into());
    // SAFETY: no other thread exists yet (the runtime is built below).
    unsafe { std::env::set_var("PORTAAL_BACKEND", &backend) };
    if backend == "aws" {
        require_emulators();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(backend));
}
