//! The events Lambda triggers deliver, parsed to what the use cases need. Only the fields we use
//! are read, so the shapes stay valid across event format versions.

use portaal_core::domain::CaseId;
use portaal_core::model::{Dossier, Record};
use portaal_core::ports::Item;
pub use portaal_core::ports::Job;
use portaal_core::usecases::lifecycle::JobOutcome;
use portaal_core::usecases::outbox::{Outbox, SendOutcome};
use portaal_core::{Portaal, model::keys};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A DynamoDB stream batch (`Records`), as Lambda's event source mapping delivers it.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    #[serde(default)]
    pub dynamodb: StreamChange,
    #[serde(rename = "userIdentity", default)]
    pub user_identity: Option<UserIdentity>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "Keys", default)]
    pub keys: Map<String, Value>,
    #[serde(rename = "OldImage", default)]
    pub old_image: Option<Map<String, Value>>,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
}

#[derive(Debug, Deserialize)]
pub struct UserIdentity {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(rename = "principalId", default)]
    pub principal_id: String,
}

/// `ReportBatchItemFailures`: the records to retry, by sequence number.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl StreamRecord {
    fn key(&self, name: &str) -> Option<&str> {
        self.dynamodb.keys.get(name)?.get("S")?.as_str()
    }

    fn is_ttl_removal(&self) -> bool {
        self.event_name == "REMOVE"
            && self
                .user_identity
                .as_ref()
                .is_some_and(|u| u.kind == "Service" && u.principal_id == "dynamodb.amazonaws.com")
    }
}

/// Converts a stream image (DynamoDB JSON) to an item of the store port.
pub fn image_to_item(image: &Map<String, Value>) -> Option<Item> {
    let mut attrs: Map<String, Value> = image
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), from_dynamodb_json(v)?)))
        .collect();
    let pk = attrs.remove("pk")?.as_str()?.to_owned();
    let sk = attrs.remove("sk")?.as_str()?.to_owned();
    Some(Item { pk, sk, attrs })
}

/// One DynamoDB JSON attribute value (`{"S": ".."}`, `{"N": ".."}`, …) as plain JSON.
fn from_dynamodb_json(v: &Value) -> Option<Value> {
    let (kind, inner) = v.as_object()?.iter().next()?;
    Some(match kind.as_str() {
        "S" => inner.clone(),
        "N" => {
            let s = inner.as_str()?;
            s.parse::<i64>()
                .map(Value::from)
                .or_else(|_| s.parse::<f64>().map(Value::from))
                .ok()?
        }
        "BOOL" => inner.clone(),
        "NULL" => Value::Null,
        "L" => Value::Array(
            inner
                .as_array()?
                .iter()
                .filter_map(from_dynamodb_json)
                .collect(),
        ),
        "M" => Value::Object(
            inner
                .as_object()?
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), from_dynamodb_json(v)?)))
                .collect(),
        ),
        _ => return None,
    })
}

/// `notify`: sends each new mail item of the batch once. Failed sends are reported for retry;
/// records of other items are ignored (the event source filter normally keeps them out).
pub async fn send_new_mails(outbox: &Outbox, event: StreamEvent) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in &event.records {
        let (Some(pk), Some(sk)) = (record.key("pk"), record.key("sk")) else {
            continue;
        };
        if record.event_name != "INSERT" || !sk.starts_with(keys::MAIL) {
            continue;
        }
        let retry = match outbox.send(pk, sk).await {
            Ok(SendOutcome::Sent | SendOutcome::Skipped | SendOutcome::Failed(_)) => false,
            // A live claim may belong to a send that crashed: retry the record after it lapses.
            Ok(SendOutcome::Retry(_) | SendOutcome::Busy) => true,
            Err(e) => {
                tracing::error!(error = %e, "sending a queued mail failed");
                true
            }
        };
        if retry {
            response.batch_item_failures.push(BatchItemFailure {
                item_identifier: record.dynamodb.sequence_number.clone(),
            });
        }
    }
    response
}

/// What `notify` is invoked with: a stream batch, or the periodic sweep that re-drives mail a
/// stream retry gave up on (`{"sweep": true}` from a schedule).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NotifyTrigger {
    Sweep(SweepRequest),
    Stream(StreamEvent),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    pub sweep: bool,
}

/// `notify`: sends new mail of a stream batch, or sweeps the outbox.
pub async fn notify(outbox: &Outbox, trigger: NotifyTrigger) -> Result<Value, portaal_core::Error> {
    match trigger {
        NotifyTrigger::Stream(event) => {
            Ok(serde_json::to_value(send_new_mails(outbox, event).await).unwrap_or_default())
        }
        NotifyTrigger::Sweep(SweepRequest { sweep: false }) => Ok(serde_json::json!({"sent": 0})),
        NotifyTrigger::Sweep(SweepRequest { sweep: true }) => {
            Ok(serde_json::json!({"sent": outbox.sweep(100).await?}))
        }
    }
}

/// What `purge` is invoked with: a Scheduler payload, or a stream batch of TTL removals.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PurgeTrigger {
    Scheduled(Job),
    Stream(StreamEvent),
}

/// `purge`: destroys the dossiers the trigger names. A stream batch reports failures per record.
pub async fn purge(portaal: &Portaal, trigger: PurgeTrigger) -> Result<Value, portaal_core::Error> {
    match trigger {
        PurgeTrigger::Scheduled(job @ Job::Purge { .. }) => {
            Ok(serde_json::to_value(portaal.run_job(&job).await?).unwrap_or_default())
        }
        PurgeTrigger::Scheduled(Job::Reminder { .. }) => Err(portaal_core::Error::invalid(
            "purge was sent a reminder job",
        )),
        PurgeTrigger::Stream(event) => {
            let mut response = BatchResponse::default();
            for record in event
                .records
                .iter()
                .filter(|r| r.is_ttl_removal() && r.key("sk") == Some(keys::META))
            {
                let case = record
                    .key("pk")
                    .and_then(|pk| pk.strip_prefix("DOSSIER#"))
                    .and_then(|c| CaseId::parse(c).ok());
                let Some(case) = case else { continue };
                let removed = record
                    .dynamodb
                    .old_image
                    .as_ref()
                    .and_then(image_to_item)
                    .and_then(|i| Dossier::from_item(&i).ok());
                match portaal.purge(&case, removed).await {
                    Ok(JobOutcome::Done | JobOutcome::Skipped(_)) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "purge after TTL removal failed");
                        response.batch_item_failures.push(BatchItemFailure {
                            item_identifier: record.dynamodb.sequence_number.clone(),
                        });
                    }
                }
            }
            Ok(serde_json::to_value(response).unwrap_or_default())
        }
    }
}

/// `reminder`: runs the scheduled reminder job; an error makes Scheduler retry.
pub async fn remind(portaal: &Portaal, job: Job) -> Result<JobOutcome, portaal_core::Error> {
    match job {
        Job::Reminder { .. } => portaal.run_job(&job).await,
        Job::Purge { .. } => Err(portaal_core::Error::invalid(
            "reminder was sent a purge job",
        )),
    }
}
