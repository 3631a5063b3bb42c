//! The port contract suites against the embedded adapters, one test per behaviour:
//! `contract_embedded::sqlite_store::query_by_prefix` and so on.

use std::sync::Arc;

use portaal_infra::embedded::{OutboxMailer, SqliteScheduler, SqliteStore};
use portaal_tests::TempDir;
use serde_json::Value;

mod sqlite_store {
    use super::*;

    portaal_tests::store_contract_tests!(|| async {
        let dir = TempDir::new("store");
        let store = SqliteStore::open(&dir.0.join("db.sqlite3")).unwrap();
        (Arc::new(store), dir)
    });
}

mod file_blobs {
    use portaal_tests::spawn_app;

    // Blob URLs are served by the local server, so the contract runs against a spawned app.
    portaal_tests::blobs_contract_tests!(|| async {
        let app = spawn_app().await;
        let system = &app.running.state.system;
        let (blobs, store) = (system.blobs.clone(), system.store.clone());
        (blobs, Some(store), app)
    });
}

/// An outbox mailer in `dir/outbox`.
fn outbox(dir: &TempDir) -> Arc<OutboxMailer> {
    let sender = portaal_infra::mail::Sender::new("portaal@example.nl", None).unwrap();
    Arc::new(OutboxMailer::new(dir.0.join("outbox"), sender).unwrap())
}

/// The mails the outbox holds.
async fn held(outbox: Arc<OutboxMailer>) -> Vec<Value> {
    let mails = outbox.list().await.unwrap().into_iter();
    mails.map(|m| serde_json::to_value(m).unwrap()).collect()
}

mod outbox_mailer {
    use super::*;

    portaal_tests::mailer_contract_tests!(|| async {
        let dir = TempDir::new("mail");
        let mailer = outbox(&dir);
        let sink = mailer.clone();
        (mailer, move || held(sink.clone()), dir)
    });

    #[tokio::test]
    async fn writes_one_eml_file_per_mail() {
        let dir = TempDir::new("mail");
        let mailer = outbox(&dir);
        let sent = || held(mailer.clone());
        portaal_tests::contract::mailer::the_mail_reaches_the_transport_once(&*mailer, sent).await;
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
}

mod sqlite_scheduler {
    use super::*;

    portaal_tests::scheduler_contract_tests!(|| async {
        let dir = TempDir::new("sched");
        let scheduler = SqliteScheduler::open(&dir.0.join("db.sqlite3")).unwrap();
        (Arc::new(scheduler), dir)
    });
}
