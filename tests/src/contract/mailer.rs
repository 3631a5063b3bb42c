//! The `Mailer` contract: one function per behaviour, each sending a mail with a subject of its
//! own and finding it among the mails the transport holds.

use std::future::Future;

use portaal_core::domain::{CaseId, Email, Id};
use portaal_core::ports::{Mailer, OutgoingMail};
use serde_json::Value;

use super::unique;

/// One `#[tokio::test]` per mailer behaviour. `$make` is an async closure answering the mailer
/// under test (an `Arc`), a function answering the sent mails the transport holds (JSON objects
/// with `to`, `subject` and the bodies), and whatever must live as long as the test:
/// `(Arc<M>, sent, keep)`.
#[macro_export]
macro_rules! mailer_contract_tests {
    ($make:expr) => {
        $crate::__contract_tests!(mailer, $make, (mailer, sent, _keep) => (&*mailer, sent), [
            send_answers_a_message_id,
            the_mail_reaches_the_transport_once,
            every_recipient_is_addressed,
            the_body_arrives,
        ]);
    };
}

/// Answers the sent mails the transport holds: any `Fn() -> impl Future<Output = Vec<Value>>`.
pub trait SentMails {
    fn sent(&self) -> impl Future<Output = Vec<Value>>;
}

impl<F, Fut> SentMails for F
where
    F: Fn() -> Fut,
    Fut: Future<Output = Vec<Value>>,
{
    fn sent(&self) -> impl Future<Output = Vec<Value>> {
        self()
    }
}

/// A mail to two recipients, with a reply address, a link in both bodies and this subject.
fn mail(subject: &str) -> OutgoingMail {
    OutgoingMail {
        id: Id::from_ulid(ulid::Ulid::new()),
        case_id: CaseId::parse("BZ-2026-0042").unwrap(),
        to: vec![
            Email::parse("afdeling@example.nl").unwrap(),
            Email::parse("tweede@example.nl").unwrap(),
        ],
        reply_to: Some(Email::parse("behandelaar@example.nl").unwrap()),
        subject: subject.to_owned(),
        text: "Beste collega,\n\nZie https://portaal.example.nl/p/abc".into(),
        html: "<p>Beste collega,</p><p><a href=\"https://portaal.example.nl/p/abc\">link</a></p>"
            .into(),
    }
}

/// Sends a mail with a subject of its own; answers the message id, every mail the transport
/// holds, and those with that subject.
async fn send(mailer: &dyn Mailer, sent: impl SentMails) -> (String, Vec<Value>, Vec<Value>) {
    let subject = format!("Contract {}", unique("mail"));
    let id = mailer.send(&mail(&subject)).await.expect("send succeeds");
    let all = sent.sent().await;
    let found = all
        .iter()
        .filter(|m| m.to_string().contains(&subject))
        .cloned()
        .collect();
    (id, all, found)
}

pub async fn send_answers_a_message_id(mailer: &dyn Mailer, sent: impl SentMails) {
    let (id, _, _) = send(mailer, sent).await;
    assert!(!id.is_empty(), "the transport answers a message id");
}

pub async fn the_mail_reaches_the_transport_once(mailer: &dyn Mailer, sent: impl SentMails) {
    let (_, all, found) = send(mailer, sent).await;
    assert_eq!(
        found.len(),
        1,
        "the mail reached the transport once: {all:?}"
    );
}

/// The one mail with this test's subject, as text.
async fn the_mail(mailer: &dyn Mailer, sent: impl SentMails) -> String {
    let (_, all, found) = send(mailer, sent).await;
    let [mail] = found.as_slice() else {
        panic!("one mail with the subject: {all:?}")
    };
    mail.to_string()
}

pub async fn every_recipient_is_addressed(mailer: &dyn Mailer, sent: impl SentMails) {
    let text = the_mail(mailer, sent).await;
    assert!(
        text.contains("afdeling@example.nl") && text.contains("tweede@example.nl"),
        "every recipient is addressed"
    );
}

pub async fn the_body_arrives(mailer: &dyn Mailer, sent: impl SentMails) {
    let text = the_mail(mailer, sent).await;
    assert!(
        text.contains("portaal.example.nl/p/abc"),
        "the body arrives"
    );
}
