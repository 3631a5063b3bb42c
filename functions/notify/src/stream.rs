//! The table's stream: each new mail item is sent once, each new pending event sequenced (its
//! feed number and its webhook messages), each file sent in parts has its SHA-256 checked. A failure reports the record for retry; records of
//! other items are ignored (the event source filter normally keeps them out).

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::DynamoDbEventResponse;
use portaal_core::model::keys;
use portaal_core::usecases::outbox::{Outbox, SendOutcome};
use portaal_core::usecases::webhooks::Webhooks;
use portaal_infra::System;
use portaal_infra::aws::stream::{key, retry};

/// The inserts of a batch that are new mail or new events, by key.
fn inserts(event: &Event) -> impl Iterator<Item = (&EventRecord, &str, &str)> {
    event.records.iter().filter_map(|record| {
        let (pk, sk) = (key(record, "pk")?, key(record, "sk")?);
        (record.event_name == "INSERT").then_some((record, pk, sk))
    })
}

/// Sends the batch's new mail, and sequences its new events.
pub async fn on_insert(system: &System, event: &Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for (record, pk, sk) in inserts(event) {
        let ok = if keys::is_mail(sk) {
            send_mail(&system.outbox, pk, sk).await
        } else if pk.starts_with("FEEDQ#") {
            sequence(&system.webhooks, pk, sk).await
        } else if sk.starts_with(keys::VERIFY) {
            verify(system, pk, sk).await
        } else {
            true
        };
        if !ok {
            retry(&mut response, record);
        }
    }
    response
}

/// Checks the SHA-256 of a file sent in parts; false when the record must be retried.
async fn verify(system: &System, pk: &str, sk: &str) -> bool {
    match system.portaal.verify_sent_sha256(pk, sk).await {
        Ok(outcome) => {
            tracing::info!(?outcome, "SHA-256 of a file sent in parts checked");
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "checking the SHA-256 of a file sent in parts failed");
            false
        }
    }
}

/// Sends the batch's new mail only.
pub async fn send_new_mails(outbox: &Outbox, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for (record, pk, sk) in inserts(&event) {
        if keys::is_mail(sk) && !send_mail(outbox, pk, sk).await {
            retry(&mut response, record);
        }
    }
    response
}

/// Sends one mail; false when the record must be retried.
async fn send_mail(outbox: &Outbox, pk: &str, sk: &str) -> bool {
    match outbox.send(pk, sk).await {
        Ok(SendOutcome::Sent | SendOutcome::Skipped | SendOutcome::Failed(_)) => true,
        // A live claim may belong to a send that crashed: retry the record after it lapses.
        Ok(SendOutcome::Retry(_) | SendOutcome::Busy) => false,
        Err(e) => {
            tracing::error!(error = %e, "sending a queued mail failed");
            false
        }
    }
}

/// Gives a pending event its feed number and its messages, which go on the queue; false when
/// the record must be retried.
async fn sequence(webhooks: &Webhooks, pk: &str, sk: &str) -> bool {
    match webhooks.sequence(pk, sk).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %e, "sequencing an event failed");
            false
        }
    }
}
