//! The outbox proven exactly-once and failure-safe, with a counting mailer and a clock the test
//! sets, over the real SQLite store: two senders racing send each mail once; a refused address
//! fails at once, a transport outage is retried on its schedule and fails after its last retry;
//! a sent mail keeps no body.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use portaal_core::domain::{CaseId, Email, Id};
use portaal_core::model::{Mail, MailKind, MailState, Record, keys};
use portaal_core::ports::{Clock, MailError, Mailer, OutgoingMail, Store, Write};
use portaal_core::usecases::outbox::{Outbox, SendOutcome};
use portaal_infra::embedded::SqliteStore;
use portaal_tests::{ManualClock, TempDir};

/// Counts what it sends; answers what the test scripts per recipient.
#[derive(Default)]
struct CountingMailer {
    sent: Mutex<BTreeMap<String, u32>>,
    /// Recipients refused for good.
    refused: Vec<String>,
    /// Whether the transport is down (every send a temporary failure).
    down: Mutex<bool>,
}

#[async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        // Give a racing sender every chance to overlap.
        tokio::task::yield_now().await;
        if *self.down.lock().unwrap() {
            return Err(MailError::Backend("connection refused".into()));
        }
        let to = mail.to[0].to_string();
        if self.refused.contains(&to) {
            return Err(MailError::Rejected(format!("550 {to}: no such mailbox")));
        }
        *self
            .sent
            .lock()
            .unwrap()
            .entry(mail.id.to_string())
            .or_default() += 1;
        Ok(format!("<{}@test>", mail.id))
    }
}

struct Fixture {
    store: Arc<dyn Store>,
    mailer: Arc<CountingMailer>,
    clock: Arc<ManualClock>,
    case: CaseId,
    _dir: TempDir,
}

fn fixture(mailer: CountingMailer) -> Fixture {
    let dir = TempDir::new("outbox");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.0.join("db.sqlite3")).unwrap());
    Fixture {
        store,
        mailer: Arc::new(mailer),
        clock: Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap(),
        )),
        case: CaseId::parse("BZ-2026-0001").unwrap(),
        _dir: dir,
    }
}

impl Fixture {
    fn outbox(&self, retry: &[u64]) -> Outbox {
        Outbox::new(self.store.clone(), self.mailer.clone(), self.clock.clone())
            .with_retry_schedule(retry.to_vec())
    }

    async fn queue(&self, to: &str) -> Id {
        let mail = Mail::queued(
            Id::new_at(self.clock.now()),
            self.case.clone(),
            MailKind::Receipt,
            Email::parse(to).unwrap(),
            portaal_core::mailtext::Rendered {
                subject: "Ontvangstbevestiging".into(),
                text: "Tekst met een link".into(),
                html: "<p>Tekst met een link</p>".into(),
            },
            self.clock.now(),
        );
        self.store
            .transact(vec![Write::create(
                mail.to_item(keys::dossier(&self.case), keys::mail(&mail.id)),
            )])
            .await
            .unwrap();
        mail.id
    }

    async fn mail(&self, id: &Id) -> Mail {
        let item = self
            .store
            .get(&keys::dossier(&self.case), &keys::mail(id))
            .await
            .unwrap()
            .unwrap();
        Mail::from_item(&item).unwrap()
    }

    fn sends(&self, id: &Id) -> u32 {
        self.mailer
            .sent
            .lock()
            .unwrap()
            .get(id.as_str())
            .copied()
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn two_senders_racing_send_every_mail_exactly_once() {
    let f = fixture(CountingMailer::default());
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(f.queue(&format!("afdeling{i}@example.nl")).await);
    }
    let (a, b) = (f.outbox(&[30]), f.outbox(&[30]));
    let (sent_a, sent_b) = tokio::join!(a.sweep(100), b.sweep(100));
    assert_eq!(sent_a.unwrap() + sent_b.unwrap(), 40, "each counted once");
    for id in &ids {
        assert_eq!(f.sends(id), 1, "mail {id} sent exactly once");
        let mail = f.mail(id).await;
        assert_eq!(mail.state, MailState::Sent);
        assert!(
            mail.text.is_empty() && mail.html.is_empty(),
            "a sent mail keeps no body"
        );
        assert_eq!(
            mail.message_id.as_deref(),
            Some(format!("<{id}@test>").as_str())
        );
    }
    // A later sweep (or a redelivered trigger) sends nothing again.
    assert_eq!(f.outbox(&[30]).sweep(100).await.unwrap(), 0);
    assert_eq!(
        f.outbox(&[30])
            .send(&keys::dossier(&f.case), &keys::mail(&ids[0]))
            .await
            .unwrap(),
        SendOutcome::Skipped
    );
}

#[tokio::test]
async fn a_refused_address_fails_at_once_and_an_outage_is_retried_on_schedule() {
    let f = fixture(CountingMailer {
        refused: vec!["weg@example.nl".into()],
        ..CountingMailer::default()
    });
    let outbox = f.outbox(&[30, 120]);
    let refused = f.queue("weg@example.nl").await;
    let ok = f.queue("afdeling@example.nl").await;
    *f.mailer.down.lock().unwrap() = false;
    outbox.sweep(100).await.unwrap();
    let failed = f.mail(&refused).await;
    assert_eq!(failed.state, MailState::Failed, "a 5xx is not retried");
    assert_eq!(failed.attempts, 1);
    assert!(failed.last_error.unwrap().contains("550"));
    assert_eq!(f.sends(&ok), 1, "the other recipient was not held up");

    // An outage: attempt 1 fails, the retry waits 30 s, then 120 s, then the mail fails.
    *f.mailer.down.lock().unwrap() = true;
    let later = f.queue("later@example.nl").await;
    assert_eq!(outbox.sweep(100).await.unwrap(), 0);
    let waiting = f.mail(&later).await;
    assert_eq!(waiting.state, MailState::Queued);
    assert_eq!(
        waiting.next_attempt_at,
        Some(f.clock.now() + Duration::seconds(30))
    );
    f.clock.advance(Duration::seconds(29));
    outbox.sweep(100).await.unwrap();
    assert_eq!(f.mail(&later).await.attempts, 1, "not before its time");
    f.clock.advance(Duration::seconds(1));
    outbox.sweep(100).await.unwrap();
    let second = f.mail(&later).await;
    assert_eq!((second.attempts, second.state), (2, MailState::Queued));
    assert_eq!(
        second.next_attempt_at,
        Some(f.clock.now() + Duration::seconds(120))
    );
    f.clock.advance(Duration::seconds(120));
    outbox.sweep(100).await.unwrap();
    let last = f.mail(&later).await;
    assert_eq!(
        (last.attempts, last.state),
        (3, MailState::Failed),
        "after the last retry the mail fails"
    );
    assert_eq!(f.sends(&later), 0);

    // A relay back within the schedule delivers: once.
    let recovered = f.queue("terug@example.nl").await;
    outbox.sweep(100).await.unwrap();
    *f.mailer.down.lock().unwrap() = false;
    f.clock.advance(Duration::seconds(30));
    outbox.sweep(100).await.unwrap();
    outbox.sweep(100).await.unwrap();
    assert_eq!(f.sends(&recovered), 1);
    assert_eq!(f.mail(&recovered).await.state, MailState::Sent);
}
