//! The port contract suites against the embedded adapters.

use std::sync::Arc;

use portaal_infra::embedded::{OutboxMailer, SqliteScheduler, SqliteStore};
use portaal_tests::{TempDir, contract, spawn_app};
use serde_json::Value;

mod sqlite_store {
    use super::*;

    portaal_tests::store_contract_tests!(|| async {
        let dir = TempDir::new("store");
        let store = SqliteStore::open(&dir.0.join("db.sqlite3")).unwrap();
        (Arc::new(store), dir)
    });
}

#[tokio::test]
async fn file_blobs_keep_the_blob_contract() {
    // Blob URLs are served by the local server, so the contract runs against a spawned app.
    let app = spawn_app().await;
    let system = &app.running.state.system;
    contract::blobs_contract(system.blobs.clone(), Some(system.store.clone())).await;
}

#[tokio::test]
async fn outbox_mailer_keeps_the_mailer_contract() {
    let dir = TempDir::new("mail");
    let mailer = Arc::new(
        OutboxMailer::new(
            dir.0.join("outbox"),
            portaal_infra::mail::Sender::new("portaal@example.nl", None).unwrap(),
        )
        .unwrap(),
    );
    let sink = mailer.clone();
    contract::mailer_contract(mailer, || async {
        sink.list()
            .await
            .unwrap()
            .into_iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect::<Vec<Value>>()
    })
    .await;
    let emls = std::fs::read_dir(dir.0.join("outbox"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(emls, 1, "one .eml file per mail");
}

mod sqlite_scheduler {
    use super::*;

    portaal_tests::scheduler_contract_tests!(|| async {
        let dir = TempDir::new("sched");
        let scheduler = SqliteScheduler::open(&dir.0.join("db.sqlite3")).unwrap();
        (Arc::new(scheduler), dir)
    });
}
