//! From *Bevestigen en versturen* to the case system's receiver: the time from the confirm
//! request to the signed webhook arriving at a real HTTP receiver on loopback, printed as a
//! table (nothing is asserted about time).
//!
//! ```sh
//! cargo bench -p portaal-tests --bench webhooks                     # embedded backend
//! BENCH_BACKEND=aws cargo bench -p portaal-tests --bench webhooks   # emulators running
//! ```
//!
//! The local server's webhook sender is woken by the confirm, so this measures sequencing (the
//! feed number under the conditional counter), fan-out, claim, signing and the POST. On AWS it
//! also prints the DynamoDB calls the webhook path made per event delivered.

use std::time::{Duration, Instant};

use portaal_tests::receiver::Receiver;
use portaal_tests::{case_id, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const N: usize = 50;

fn main() {
    portaal_tests::run_bench(|backend| async move { run(&backend).await });
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

async fn run(backend: &str) {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("backend={backend} profile={profile} deliveries={N}");
    let app = spawn_with_settings(&[]).await;
    let receiver = Receiver::start().await;
    let res = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({"url": receiver.url, "events": ["delivery.submitted"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let case = case_id("BENCH-HOOK");
    let link = app.dossier_with_request(&case).await;
    let calls = app.running.state.system.calls.clone();

    let mut latencies = Vec::with_capacity(N);
    let mut confirms = Vec::with_capacity(N);
    let mut store_calls = Vec::with_capacity(N);
    for i in 0..=N {
        let upload = app
            .upload(
                &link,
                &format!("stuk-{i}.pdf"),
                "application/pdf",
                format!("%PDF-1.4 {i}").into_bytes(),
            )
            .await;
        let sent = Instant::now();
        let res = app.confirm(&link, &[&upload.id]).await;
        let confirmed = sent.elapsed();
        assert_eq!(res.status(), StatusCode::CREATED);
        if let Some(c) = &calls {
            c.reset();
        }
        let delivery: Value = res.json().await.unwrap();
        let id = delivery["id"].as_str().unwrap().to_owned();
        let got = receiver
            .wait_for("the webhook", Duration::from_secs(60), |r| {
                r.iter()
                    .any(|x| x.json()["data"]["delivery_id"] == id.as_str())
            })
            .await;
        let arrived = got
            .iter()
            .find(|x| x.json()["data"]["delivery_id"] == id.as_str())
            .unwrap()
            .at;
        if i == 0 {
            continue; // warm-up
        }
        latencies.push(arrived.duration_since(sent));
        confirms.push(confirmed);
        if let Some(c) = &calls {
            store_calls.push(c.total("DynamoDB"));
        }
    }
    latencies.sort();
    confirms.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| measurement | N | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (what, samples) in [
        ("confirm request (client view)", &confirms),
        ("confirm sent → webhook received", &latencies),
    ] {
        println!(
            "| {what} | {} | {:.1} | {:.1} | {:.1} |",
            samples.len(),
            ms(pct(samples, 0.5)),
            ms(pct(samples, 0.95)),
            ms(*samples.last().unwrap())
        );
    }
    if !store_calls.is_empty() {
        store_calls.sort();
        println!(
            "DynamoDB calls after the confirm until the webhook arrived (sequencing, fan-out, attempt; includes the sender's idle polls): median {}",
            store_calls[store_calls.len() / 2]
        );
    }
}
