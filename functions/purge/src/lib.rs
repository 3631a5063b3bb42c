//! The `purge` function: destroys the dossiers its trigger names. EventBridge Scheduler invokes
//! it at a dossier's expiry with the job; the table's stream with the TTL removals of dossiers'
//! main items (the backstop).

use aws_lambda_events::dynamodb;
use aws_lambda_events::streams::DynamoDbEventResponse;
use portaal_core::Portaal;
use portaal_core::domain::CaseId;
use portaal_core::model::{Dossier, Record, keys};
use portaal_core::ports::Job;
use portaal_core::usecases::lifecycle::JobOutcome;
use portaal_infra::aws::stream::{is_ttl_removal, key, old_item, retry};
use serde::Deserialize;
use serde_json::Value;

/// What `purge` is invoked with: a Scheduler payload, or a stream batch of TTL removals.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PurgeTrigger {
    Scheduled(Job),
    Stream(dynamodb::Event),
}

/// Runs the purge job, or destroys each dossier whose main item the TTL removed (a stream batch
/// reports failures per record).
pub async fn purge(portaal: &Portaal, trigger: PurgeTrigger) -> Result<Value, portaal_core::Error> {
    match trigger {
        PurgeTrigger::Scheduled(job @ Job::Purge { .. }) => {
            Ok(serde_json::to_value(portaal.run_job(&job).await?).unwrap_or_default())
        }
        PurgeTrigger::Scheduled(Job::Reminder { .. } | Job::Overdue { .. }) => Err(
            portaal_core::Error::invalid("purge was sent a reminder job"),
        ),
        PurgeTrigger::Stream(event) => {
            let response = on_ttl_removals(portaal, &event).await;
            Ok(serde_json::to_value(response).unwrap_or_default())
        }
    }
}

async fn on_ttl_removals(portaal: &Portaal, event: &dynamodb::Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in event
        .records
        .iter()
        .filter(|r| is_ttl_removal(r) && key(r, "sk") == Some(keys::META))
    {
        let case = key(record, "pk")
            .and_then(|pk| pk.strip_prefix("DOSSIER#"))
            .and_then(|c| CaseId::parse(c).ok());
        let Some(case) = case else { continue };
        let removed = old_item(record).and_then(|i| Dossier::from_item(&i).ok());
        match portaal.purge(&case, removed).await {
            Ok(JobOutcome::Done | JobOutcome::Skipped(_)) => {}
            Err(e) => {
                tracing::error!(error = %e, "purge after TTL removal failed");
                retry(&mut response, record);
            }
        }
    }
    response
}
