//! The events Lambda triggers deliver, parsed to what the use cases need. Only the fields we use
//! are read, so the shapes stay valid across event format versions.

use portaal_core::domain::CaseId;
use portaal_core::model::{Dossier, Record};
use portaal_core::ports::HookKey;
use portaal_core::ports::Item;
pub use portaal_core::ports::Job;
use portaal_core::usecases::lifecycle::JobOutcome;
use portaal_core::usecases::outbox::{Outbox, SendOutcome};
use portaal_core::usecases::webhooks::Webhooks;

use crate::System;
use portaal_core::{Portaal, model::keys};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A DynamoDB stream batch (`Records`), as Lambda's event source mapping delivers it.
#[derive(Debug, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

/// A record of a stream batch or of an SQS batch (`eventSource` tells which).
#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventSource", default)]
    pub event_source: String,
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    /// SQS: the message id (reported back on failure) and body.
    #[serde(rename = "messageId", default)]
    pub message_id: String,
    #[serde(default)]
    pub body: String,
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
        send_mail_record(outbox, record, pk, sk, &mut response).await;
    }
    response
}

async fn send_mail_record(
    outbox: &Outbox,
    record: &StreamRecord,
    pk: &str,
    sk: &str,
    response: &mut BatchResponse,
) {
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

/// The stream side of webhooks: each new pending event gets its feed number and its messages,
/// which go on the queue. A failure is reported for retry.
async fn sequence_record(
    webhooks: &Webhooks,
    record: &StreamRecord,
    pk: &str,
    sk: &str,
    response: &mut BatchResponse,
) {
    if let Err(e) = webhooks.sequence(pk, sk).await {
        tracing::error!(error = %e, "sequencing an event failed");
        response.batch_item_failures.push(BatchItemFailure {
            item_identifier: record.dynamodb.sequence_number.clone(),
        });
    }
}

/// The queue side of webhooks: one attempt per SQS message, all of a batch at once, so one
/// slow receiver does not hold up the others. A message whose attempt could not even be
/// recorded is reported for retry.
pub async fn attempt_webhooks(webhooks: &Webhooks, records: &[&StreamRecord]) -> BatchResponse {
    let attempts = records.iter().map(|record| async move {
        let ok = match serde_json::from_str::<HookKey>(&record.body) {
            Ok(key) => match webhooks.attempt(&key).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::error!(error = %e, "webhook attempt failed");
                    false
                }
            },
            Err(e) => {
                // Not ours: retrying cannot help.
                tracing::error!(error = %e, "queue message is not a webhook attempt");
                true
            }
        };
        (!ok).then(|| BatchItemFailure {
            item_identifier: record.message_id.clone(),
        })
    });
    BatchResponse {
        batch_item_failures: futures_util::future::join_all(attempts)
            .await
            .into_iter()
            .flatten()
            .collect(),
    }
}

/// The scheduled sweep's webhook part: sequence what the stream missed, and put attempts that
/// waited past their time (longer than SQS can delay, or never queued) on the queue.
pub async fn sweep_webhooks(webhooks: &Webhooks) -> Result<Value, portaal_core::Error> {
    let sequenced = webhooks.sequence_pending(100).await?.len();
    let requeued = webhooks
        .requeue_due(chrono::Duration::seconds(60), 100)
        .await?;
    Ok(serde_json::json!({"sequenced": sequenced, "requeued": requeued}))
}

/// What `notify` is invoked with: a stream batch, or the periodic sweep that re-drives mail a
/// stream retry gave up on (`{"sweep": true}` from a schedule).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NotifyTrigger {
    Sweep(SweepRequest),
    /// Before `Stream`: a stream event's `Records` is optional, so it matches any object.
    ScanResult(ScanResultEvent),
    MailEvent(MailEvent),
    Stream(StreamEvent),
}

/// An SES event (EventBridge: "Email Bounced", "Email Complaint Received") about a mail the
/// portal sent, found by the tags the SES mailer gave it.
#[derive(Debug, Deserialize)]
pub struct MailEvent {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: MailEventDetail,
}

#[derive(Debug, Deserialize)]
pub struct MailEventDetail {
    #[serde(rename = "eventType")]
    pub event_type: String,
    #[serde(default)]
    pub bounce: Option<Bounce>,
    pub mail: SesMail,
}

#[derive(Debug, Deserialize)]
pub struct Bounce {
    #[serde(rename = "bounceType")]
    pub bounce_type: String,
    #[serde(rename = "bouncedRecipients", default)]
    pub recipients: Vec<BouncedRecipient>,
}

#[derive(Debug, Deserialize)]
pub struct BouncedRecipient {
    #[serde(rename = "emailAddress", default)]
    pub address: String,
    #[serde(rename = "diagnosticCode", default)]
    pub diagnostic: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SesMail {
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, Vec<String>>,
}

impl MailEvent {
    /// The mail item it is about (from the tags), and why it failed for good; None for a
    /// transient bounce (SES retried it itself) or a mail that is not the portal's.
    pub fn failure(
        &self,
    ) -> Option<(
        portaal_core::domain::CaseId,
        portaal_core::domain::Id,
        String,
    )> {
        let why = match (self.detail.event_type.as_str(), &self.detail.bounce) {
            ("Bounce", Some(b)) if b.bounce_type == "Permanent" => {
                let detail = b
                    .recipients
                    .iter()
                    .map(|r| match &r.diagnostic {
                        Some(d) => format!("{} ({d})", r.address),
                        None => r.address.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("bounced for good: {detail}")
            }
            ("Complaint", _) => "the recipient marked it as spam (complaint)".to_owned(),
            _ => return None,
        };
        let tag = |name: &str| self.detail.mail.tags.get(name)?.first().cloned();
        let case = hex::decode(tag(crate::aws::ses::CASE_TAG)?).ok()?;
        let case = portaal_core::domain::CaseId::parse(std::str::from_utf8(&case).ok()?).ok()?;
        let id = portaal_core::domain::Id::parse(&tag(crate::aws::ses::MAIL_ID_TAG)?).ok()?;
        Some((case, id, why))
    }
}

/// GuardDuty Malware Protection for S3's "Object Scan Result" (EventBridge), routed to the
/// verdict function by the template's rule.
#[derive(Debug, Deserialize)]
pub struct ScanResultEvent {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: ScanResultDetail,
}

#[derive(Debug, Deserialize)]
pub struct ScanResultDetail {
    #[serde(rename = "s3ObjectDetails")]
    pub object: ScannedObject,
    #[serde(rename = "scanResultDetails")]
    pub result: ScanResultDetails,
}

#[derive(Debug, Deserialize)]
pub struct ScannedObject {
    #[serde(rename = "objectKey")]
    pub key: String,
}

#[derive(Debug, Deserialize)]
pub struct ScanResultDetails {
    #[serde(rename = "scanResultStatus")]
    pub status: String,
    #[serde(default)]
    pub threats: Option<Vec<Threat>>,
}

#[derive(Debug, Deserialize)]
pub struct Threat {
    #[serde(default)]
    pub name: String,
}

impl ScanResultDetails {
    /// GuardDuty's status as a verdict: only NO_THREATS_FOUND is clean; UNSUPPORTED,
    /// ACCESS_DENIED, FAILED (and anything new) could not vouch for the file.
    pub fn verdict(&self) -> portaal_core::ports::Verdict {
        use portaal_core::ports::Verdict;
        match self.status.as_str() {
            "NO_THREATS_FOUND" => Verdict::Clean,
            "THREATS_FOUND" => {
                let names: Vec<&str> = self
                    .threats
                    .iter()
                    .flatten()
                    .map(|t| t.name.as_str())
                    .filter(|n| !n.is_empty())
                    .collect();
                Verdict::Infected(if names.is_empty() {
                    "unnamed threat".into()
                } else {
                    names.join(", ")
                })
            }
            other => Verdict::Failed(format!("GuardDuty: {other}")),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    pub sweep: bool,
}

/// `notify`: sends new mail and sequences new events of a stream batch, makes the webhook
/// attempts of an SQS batch, or sweeps the outbox and the webhook index.
pub async fn notify(system: &System, trigger: NotifyTrigger) -> Result<Value, portaal_core::Error> {
    match trigger {
        NotifyTrigger::ScanResult(event) => {
            if event.detail_type != "GuardDuty Malware Protection Object Scan Result" {
                return Ok(serde_json::json!({"ignored": event.detail_type}));
            }
            let verdict = event.detail.result.verdict();
            system
                .portaal
                .record_verdict_for_key(&event.detail.object.key, verdict)
                .await?;
            Ok(serde_json::json!({"recorded": event.detail.result.status}))
        }
        NotifyTrigger::MailEvent(event) => match event.failure() {
            Some((case, id, why)) => {
                let recorded = system.outbox.fail_delivered(&case, &id, &why).await?;
                Ok(serde_json::json!({"failed": recorded}))
            }
            None => Ok(serde_json::json!({"ignored": event.detail_type})),
        },
        NotifyTrigger::Stream(event) => {
            let mut response = BatchResponse::default();
            let from_queue: Vec<&StreamRecord> = event
                .records
                .iter()
                .filter(|r| r.event_source == "aws:sqs")
                .collect();
            if !from_queue.is_empty() {
                response = attempt_webhooks(&system.webhooks, &from_queue).await;
            }
            for record in event.records.iter().filter(|r| r.event_source != "aws:sqs") {
                let (Some(pk), Some(sk)) = (record.key("pk"), record.key("sk")) else {
                    continue;
                };
                if record.event_name != "INSERT" {
                    continue;
                }
                if sk.starts_with(keys::MAIL) {
                    send_mail_record(&system.outbox, record, pk, sk, &mut response).await;
                } else if pk.starts_with("FEEDQ#") {
                    sequence_record(&system.webhooks, record, pk, sk, &mut response).await;
                }
            }
            Ok(serde_json::to_value(response).unwrap_or_default())
        }
        NotifyTrigger::Sweep(SweepRequest { sweep: false }) => Ok(serde_json::json!({"sent": 0})),
        NotifyTrigger::Sweep(SweepRequest { sweep: true }) => {
            let sent = system.outbox.sweep(100).await?;
            let mut answer = sweep_webhooks(&system.webhooks).await?;
            answer["sent"] = sent.into();
            // With clamd on AWS (PORTAAL_CLAMD_URL), documents are scanned by this sweep.
            answer["scanned"] = system.portaal.scan_pending().await?.into();
            Ok(answer)
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
        PurgeTrigger::Scheduled(Job::Reminder { .. } | Job::Overdue { .. }) => Err(
            portaal_core::Error::invalid("purge was sent a reminder job"),
        ),
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
        Job::Reminder { .. } | Job::Overdue { .. } => portaal.run_job(&job).await,
        Job::Purge { .. } => Err(portaal_core::Error::invalid(
            "reminder was sent a purge job",
        )),
    }
}
