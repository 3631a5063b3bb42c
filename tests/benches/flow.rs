//! Timings of the main flow over HTTP, printed as a table (nothing is asserted about time).
//!
//! ```sh
//! cargo bench -p portaal-tests --bench flow                      # embedded backend (default)
//! BENCH_BACKEND=aws cargo bench -p portaal-tests --bench flow    # on the emulators: first
//!                                                                # `eval "$(infra/emulators up)"`
//! ```
//!
//! `BENCH_BACKEND` (`embedded` or `aws`, default `embedded`) picks the backend; it overrides any
//! `PORTAAL_BACKEND` in the environment. Every measured run is preceded by a short warm-up.
//! Client and server share this process (and its two-core machine), so the figures include the
//! client's own cost; the peak memory is that of both.

use std::time::{Duration, Instant};

use portaal_tests::{TestApp, case_id, pseudo_random, sha256_hex, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const MIB: usize = 1024 * 1024;
const PAGE_N: usize = 200;
const FILE_N: usize = 20;
const CLIENTS: usize = 8;
const CONCURRENT_FOR: Duration = Duration::from_secs(3);

fn main() {
    portaal_tests::run_bench(|backend| async move { run(&backend).await });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples.
fn pct(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn row(what: &str, samples: &mut [Duration], throughput: &str) {
    samples.sort();
    println!(
        "| {what:<44} | {:>6} | {:>8.2} | {:>8.2} | {:>8.2} | {throughput:<18} |",
        samples.len(),
        ms(pct(samples, 0.50)),
        ms(pct(samples, 0.95)),
        ms(*samples.last().unwrap()),
    );
}

fn header() {
    println!(
        "| {:<44} | {:>6} | {:>8} | {:>8} | {:>8} | {:<18} |",
        "measurement", "N", "p50 ms", "p95 ms", "max ms", "throughput"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|",
        "-".repeat(46),
        "-".repeat(8),
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(20)
    );
}

async fn open_page(app: &TestApp, link: &str, json: bool) {
    let mut req = app.client.get(link);
    if json {
        req = req.header("accept", "application/json");
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "opening the portal page");
    let body = res.bytes().await.unwrap();
    assert!(!body.is_empty());
}

/// Stages a file (SHA-256 computed beforehand) and PUTs its bytes to the signed URL; answers the id.
async fn stage_and_upload(
    app: &TestApp,
    link: &str,
    name: &str,
    bytes: Vec<u8>,
    sha: &str,
) -> String {
    let res = app
        .stage(link, name, "application/pdf", &bytes, Some(sha))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "staging {name}");
    let staged: Value = res.json().await.unwrap();
    let put = app.send_bytes(&staged, bytes).await;
    assert!(
        put.status().is_success(),
        "upload of {name}: {}",
        put.status()
    );
    staged["id"].as_str().unwrap().to_owned()
}

async fn confirm(app: &TestApp, link: &str, ids: &[&str]) -> String {
    let res = app.confirm(link, ids).await;
    assert_eq!(res.status(), StatusCode::CREATED, "confirming a delivery");
    let delivery: Value = res.json().await.unwrap();
    delivery["id"].as_str().unwrap().to_owned()
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn run(backend: &str) {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("machine: nproc={nproc} backend={backend} profile={profile}");
    let started = Instant::now();
    let app = spawn_app().await;
    header();

    // 1. the portal page, HTML and JSON, sequentially
    let case = case_id("BENCH-PAGE");
    let link = app.dossier_with_request(&case).await;
    for (json, label) in [
        (false, "open portal page, HTML"),
        (true, "open portal page, JSON"),
    ] {
        for _ in 0..20 {
            open_page(&app, &link, json).await;
        }
        let mut samples = Vec::with_capacity(PAGE_N);
        let all = Instant::now();
        for _ in 0..PAGE_N {
            let t = Instant::now();
            open_page(&app, &link, json).await;
            samples.push(t.elapsed());
        }
        let rps = PAGE_N as f64 / all.elapsed().as_secs_f64();
        row(label, &mut samples, &format!("{rps:.0} req/s"));
    }

    // 2. stage + upload 5 MiB through the signed URL
    let big = portaal_tests::pdf(pseudo_random(5 * MIB, 7));
    let big_sha = sha256_hex(&big);
    let case = case_id("BENCH-UP");
    let link = app.dossier_with_request(&case).await;
    stage_and_upload(&app, &link, "warm-up.pdf", big.clone(), &big_sha).await;
    let mut samples = Vec::with_capacity(FILE_N);
    for i in 0..FILE_N {
        let bytes = big.clone();
        let t = Instant::now();
        stage_and_upload(&app, &link, &format!("stuk-{i}.pdf"), bytes, &big_sha).await;
        samples.push(t.elapsed());
    }
    let total: Duration = samples.iter().sum();
    let mibps = (5 * FILE_N) as f64 / total.as_secs_f64();
    row(
        "stage + upload 5 MiB (signed URL)",
        &mut samples,
        &format!("{mibps:.1} MiB/s"),
    );

    // 3. confirm a delivery of 2 files (5 MiB + 20 B), uploads done beforehand
    let small = b"%PDF-1.7 notitie 20\n".to_vec();
    let small_sha = sha256_hex(&small);
    let case = case_id("BENCH-CONF");
    let link = app.dossier_with_request(&case).await;
    let mut samples = Vec::with_capacity(FILE_N);
    let mut first: Option<(String, String)> = None;
    for i in 0..=FILE_N {
        let a = stage_and_upload(
            &app,
            &link,
            &format!("besluit-{i}.pdf"),
            big.clone(),
            &big_sha,
        )
        .await;
        let b = stage_and_upload(
            &app,
            &link,
            &format!("notitie-{i}.pdf"),
            small.clone(),
            &small_sha,
        )
        .await;
        let t = Instant::now();
        let delivery = confirm(&app, &link, &[&a, &b]).await;
        let took = t.elapsed();
        if i == 0 {
            first = Some((delivery, a)); // the warm-up round, kept for the downloads
        } else {
            samples.push(took);
        }
    }
    row(
        "confirm delivery of 2 files (5 MiB + 20 B)",
        &mut samples,
        "",
    );

    // 4. download 5 MiB through the API's 302 and the signed URL
    let (delivery, document) = first.expect("a delivery");
    let res = app
        .api(
            Method::POST,
            &format!("/dossiers/{case}/deliveries/{delivery}/approve"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "approving the delivery");
    assert!(
        app.download(&case, &document).await == big,
        "byte-identical"
    );
    let mut samples = Vec::with_capacity(FILE_N);
    for _ in 0..FILE_N {
        let t = Instant::now();
        let bytes = app.download(&case, &document).await;
        samples.push(t.elapsed());
        assert_eq!(bytes.len(), big.len());
    }
    let total: Duration = samples.iter().sum();
    let mibps = (5 * FILE_N) as f64 / total.as_secs_f64();
    row(
        "download 5 MiB (302 + signed URL)",
        &mut samples,
        &format!("{mibps:.1} MiB/s"),
    );

    // 5. 8 concurrent clients opening the page (HTML and JSON alternately) for 3 s
    let case = case_id("BENCH-CONC");
    let link = app.dossier_with_request(&case).await;
    let deadline = Instant::now() + CONCURRENT_FOR;
    let all = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (client, link) = (app.client.clone(), link.clone());
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut json = c % 2 == 1;
                while Instant::now() < deadline {
                    let mut req = client.get(&link);
                    if json {
                        req = req.header("accept", "application/json");
                    }
                    let t = Instant::now();
                    let res = req.send().await.unwrap();
                    assert_eq!(res.status(), StatusCode::OK);
                    res.bytes().await.unwrap();
                    samples.push(t.elapsed());
                    json = !json;
                }
                samples
            })
        })
        .collect();
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    let rps = samples.len() as f64 / all.elapsed().as_secs_f64();
    row(
        &format!(
            "{CLIENTS} clients open pages for {}s",
            CONCURRENT_FOR.as_secs()
        ),
        &mut samples,
        &format!("{rps:.0} req/s total"),
    );

    // 6. memory and binary size
    println!();
    match vm_hwm_kib() {
        Some(kib) => println!(
            "peak resident memory (VmHWM, client + server): {kib} kB ({:.1} MiB)",
            kib as f64 / 1024.0
        ),
        None => println!("peak resident memory: /proc/self/status not readable"),
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .ok()
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    for profile in ["release", "debug"] {
        let path = target.join(profile).join("portal");
        match std::fs::metadata(&path) {
            Ok(m) => println!("target/{profile}/portal: {} bytes", m.len()),
            Err(_) => println!("target/{profile}/portal: not present"),
        }
    }
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
}
