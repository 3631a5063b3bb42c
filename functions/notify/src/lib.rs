//! The `notify` function and the two that run its binary (`webhook`, `verdict`): what each of
//! their event sources hands over, and what is done with it.
//!
//! - a DynamoDB stream batch ([`stream`]): new mail is sent, new events are sequenced;
//! - an SQS batch ([`queue`]): webhook attempts;
//! - SES's bounce and complaint events ([`ses`]) and GuardDuty's scan results ([`guardduty`]),
//!   through EventBridge;
//! - `{"sweep": true}` from a schedule: the outbox and the webhook index swept for what a retry
//!   gave up on.

pub mod guardduty;
pub mod queue;
pub mod ses;
pub mod stream;

use aws_lambda_events::dynamodb;
use aws_lambda_events::sqs::SqsEvent;
use portaal_core::usecases::webhooks::Webhooks;
use portaal_infra::System;
use serde::Deserialize;
use serde_json::Value;

pub use stream::send_new_mails;

/// What `notify` is invoked with; the shapes tell the sources apart.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NotifyTrigger {
    Sweep(SweepRequest),
    Scan(ScanRequest),
    ScanResult(guardduty::ScanResultEvent),
    MailEvent(ses::MailEvent),
    /// Before `Queue`: every field of an SQS record is optional, so an SQS batch's shape would
    /// take a stream batch too; a stream record has fields an SQS record lacks.
    Stream(dynamodb::Event),
    Queue(SqsEvent),
}

/// The schedule's payload (`{"sweep": true}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    pub sweep: bool,
}

/// The scanner's schedule payload (`{"scan": true}`): documents waiting for clamd are scanned.
/// Its own function (`scan` in the template), in the VPC where clamd runs: mail and webhooks
/// stay outside it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    pub scan: bool,
}

/// `notify`: records a scan verdict, fails a bounced mail, sends new mail and sequences new
/// events of a stream batch, makes the webhook attempts of an SQS batch, sweeps, or scans.
pub async fn notify(system: &System, trigger: NotifyTrigger) -> Result<Value, portaal_core::Error> {
    match trigger {
        NotifyTrigger::ScanResult(event) => guardduty::record_verdict(system, event).await,
        NotifyTrigger::MailEvent(event) => ses::fail_mail(system, event).await,
        NotifyTrigger::Stream(event) => {
            let response = stream::on_insert(system, &event).await;
            Ok(serde_json::to_value(response).unwrap_or_default())
        }
        NotifyTrigger::Queue(event) => {
            let response = queue::attempt_webhooks(&system.webhooks, &event.records).await;
            Ok(serde_json::to_value(response).unwrap_or_default())
        }
        NotifyTrigger::Sweep(SweepRequest { sweep: false }) => Ok(serde_json::json!({"sent": 0})),
        NotifyTrigger::Sweep(SweepRequest { sweep: true }) => {
            let sent = system.outbox.sweep(100).await?;
            let mut answer = sweep_webhooks(&system.webhooks).await?;
            answer["sent"] = sent.into();
            Ok(answer)
        }
        NotifyTrigger::Scan(ScanRequest { scan: false }) => Ok(serde_json::json!({"scanned": 0})),
        // With clamd on AWS (PORTAAL_CLAMD_URL), documents waiting for it are scanned here.
        NotifyTrigger::Scan(ScanRequest { scan: true }) => Ok(serde_json::json!({
            "scanned": system.portaal.scan_pending().await?,
        })),
    }
}

/// The sweep's webhook part: sequence what the stream missed, and put attempts that waited past
/// their time (longer than SQS can delay, or never queued) on the queue.
async fn sweep_webhooks(webhooks: &Webhooks) -> Result<Value, portaal_core::Error> {
    let sequenced = webhooks.sequence_pending(100).await?.len();
    let requeued = webhooks
        .requeue_due(chrono::Duration::seconds(60), 100)
        .await?;
    Ok(serde_json::json!({"sequenced": sequenced, "requeued": requeued}))
}
