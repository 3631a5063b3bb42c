//! The JSON views of a dossier with a long history beside those of a fresh one (issue 11: "≤ 3×
//! for 500 vs 10 history events"), printed side by side with their ratio (nothing is asserted
//! about time; the counted test is `tests/tests/suite/history.rs`).
//!
//! ```sh
//! cargo bench -p portaal-tests --bench history                     # embedded backend (default)
//! BENCH_BACKEND=aws cargo bench -p portaal-tests --bench history   # on the emulators: first
//!                                                                  # `eval "$(infra/emulators up)"`
//! ```
//!
//! The fresh dossier: created, one request, title changes up to 10 events. The long one: the
//! same, title changes up to 500 events, and 50 mails of 20 kB kept with it (the bulky items a
//! view must not read). Both views are measured over HTTP, the API's `GET /dossiers/{case}` and
//! the portal page's `GET /p/{token}` with `Accept: application/json`, in alternating rounds so
//! both dossiers see the same load; every figure is the median of its samples.

use std::time::{Duration, Instant};

use portaal_core::domain::{CaseId, Id};
use portaal_core::model::keys;
use portaal_core::ports::{Item, Write};
use portaal_tests::{TestApp, case_id, dossier_body, json_answer, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;

const FEW: usize = 10;
const MANY: usize = 500;
const MAILS: usize = 50;
const ROUNDS: usize = 5;
const PER_ROUND: usize = 40;

fn main() {
    portaal_tests::run_bench(|backend| async move { run(&backend).await });
}

struct Dossier {
    case: String,
    link: String,
    events: usize,
}

/// A dossier with a request, its title changed until it holds `events` events, and `mails`
/// mails of 20 kB written beside it.
async fn dossier(app: &TestApp, label: &str, events: usize, mails: usize) -> Dossier {
    let case = case_id(label);
    let link = app.dossier_with_request(&case).await;
    let mut body = dossier_body();
    let mut n = 0;
    // Each change of the title is one event; count again in case something else added one.
    let mut have = count_events(app, &case).await;
    while have < events {
        for _ in have..events {
            body["title"] = json!(format!("Bezwaar, versie {n}"));
            let res = app.put_dossier_with(&case, &body).await;
            assert!(res.status().is_success(), "changing the title");
            n += 1;
        }
        have = count_events(app, &case).await;
    }
    if mails > 0 {
        let id = CaseId::parse(&case).unwrap();
        let writes: Vec<Write> = (0..mails)
            .map(|_| {
                let mut attrs = serde_json::Map::new();
                attrs.insert("text".into(), json!("x".repeat(20_000)));
                Write::put(Item::new(
                    keys::dossier(&id),
                    keys::mail(&Id::new_at(chrono::Utc::now())),
                    attrs,
                ))
            })
            .collect();
        let store = &app.running.state.system.store;
        for chunk in writes.chunks(10) {
            store.transact(chunk.to_vec()).await.unwrap();
        }
    }
    let events = count_events(app, &case).await;
    Dossier { case, link, events }
}

/// Every event of the dossier: its view's page and the pages before it.
async fn count_events(app: &TestApp, case: &str) -> usize {
    let view = app.get_dossier(case).await;
    let mut count = view["timeline"].as_array().map_or(0, Vec::len);
    let mut next = view["timeline_next"].as_str().map(str::to_owned);
    while let Some(cursor) = next {
        let path = format!("/dossiers/{case}/timeline?before={cursor}");
        let res = app.api(Method::GET, &path).send().await.unwrap();
        let page = json_answer(res, StatusCode::OK).await;
        count += page["events"].as_array().map_or(0, Vec::len);
        next = page["next"].as_str().map(str::to_owned);
    }
    count
}

async fn api_view(app: &TestApp, d: &Dossier) -> usize {
    let res = app
        .api(Method::GET, &format!("/dossiers/{}", d.case))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the API view");
    res.bytes().await.unwrap().len()
}

async fn portal_view(app: &TestApp, d: &Dossier) -> usize {
    let res = app
        .client
        .get(&d.link)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the portal view");
    res.bytes().await.unwrap().len()
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let mid = samples.len() / 2;
    let m = if samples.len() % 2 == 0 {
        (samples[mid - 1] + samples[mid]) / 2
    } else {
        samples[mid]
    };
    m.as_secs_f64() * 1000.0
}

async fn run(backend: &str) {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "machine: nproc={} backend={backend} profile={profile}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let app = spawn_app().await;
    let few = dossier(&app, "BENCH-FEW", FEW, 0).await;
    let many = dossier(&app, "BENCH-MANY", MANY, MAILS).await;
    println!(
        "dossiers: {} events (fresh); {} events and {MAILS} mails of 20 kB (long)",
        few.events, many.events
    );
    println!();
    println!(
        "| {:<36} | {:>6} | {:>12} | {:>12} | {:>6} | {:>15} |",
        "JSON view (median ms)", "N", "10 events", "500 events", "ratio", "bytes 10 / 500"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|",
        "-".repeat(38),
        "-".repeat(8),
        "-".repeat(14),
        "-".repeat(14),
        "-".repeat(8),
        "-".repeat(17)
    );
    for (label, portal) in [
        ("API GET /dossiers/{case}", false),
        ("portal GET /p/{token}, Accept JSON", true),
    ] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (mut size_a, mut size_b) = (0, 0);
        for round in 0..=ROUNDS {
            for (d, samples, size) in [(&few, &mut a, &mut size_a), (&many, &mut b, &mut size_b)] {
                for _ in 0..PER_ROUND {
                    let t = Instant::now();
                    *size = if portal {
                        portal_view(&app, d).await
                    } else {
                        api_view(&app, d).await
                    };
                    // Round 0 warms up.
                    if round > 0 {
                        samples.push(t.elapsed());
                    }
                }
            }
        }
        let n = a.len();
        let (ma, mb) = (median(a), median(b));
        println!(
            "| {label:<36} | {n:>6} | {ma:>12.2} | {mb:>12.2} | {:>5.2}x | {:>15} |",
            mb / ma,
            format!("{size_a} / {size_b}")
        );
    }
}
