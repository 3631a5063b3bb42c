//! The mailer and scheduler contracts against `SesMailer` and `EventBridgeScheduler` on moto.
//!
//! Needs the emulators: `eval "$(infra/emulators up)"` first, `infra/emulators down` after.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindowMode};
use chrono::{TimeZone, Utc};
use portaal_core::domain::{CaseId, Email, Id};
use portaal_core::ports::{Job, MailError, Mailer, OutgoingMail, Scheduler};
use portaal_infra::aws::scheduler::{EventBridgeScheduler, Targets};
use portaal_infra::aws::ses::SesMailer;
use portaal_tests::{case_id, contract};

const START: &str = "start the emulators first: eval \"$(infra/emulators up)\" (stop them with infra/emulators down)";

fn env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{name} is not set; {START}"))
}

async fn sdk_config() -> SdkConfig {
    env("AWS_ENDPOINT_URL");
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

async fn mailer(from: &str) -> SesMailer {
    SesMailer::new(aws_sdk_sesv2::Client::new(&sdk_config().await), from, None)
}

fn scheduler_client(config: &SdkConfig) -> aws_sdk_scheduler::Client {
    aws_sdk_scheduler::Client::new(config)
}

async fn scheduler() -> (EventBridgeScheduler, aws_sdk_scheduler::Client) {
    let client = scheduler_client(&sdk_config().await);
    let targets = Targets {
        role_arn: env("PORTAAL_SCHEDULER_ROLE_ARN"),
        reminder_arn: env("PORTAAL_REMINDER_ARN"),
        purge_arn: env("PORTAAL_PURGE_ARN"),
        dead_letter_arn: std::env::var("PORTAAL_SCHEDULE_DLQ_ARN")
            .ok()
            .filter(|v| !v.is_empty()),
    };
    let scheduler =
        EventBridgeScheduler::new(client.clone(), env("PORTAAL_SCHEDULE_GROUP"), targets);
    (scheduler, client)
}

fn mail(subject: &str) -> OutgoingMail {
    OutgoingMail {
        id: Id::from_ulid(ulid::Ulid::new()),
        case_id: portaal_core::domain::CaseId::parse("BZ-2026-0042").unwrap(),
        to: vec![Email::parse("afdeling@example.nl").unwrap()],
        reply_to: None,
        subject: subject.into(),
        text: "Tekst".into(),
        html: "<p>Tekst</p>".into(),
    }
}

/// The mailer contract, one test per behaviour: `aws_ses_scheduler::ses_mailer::the_body_arrives`.
mod ses_mailer {
    use super::*;

    portaal_tests::mailer_contract_tests!(|| async {
        env("PORTAAL_MOTO_URL");
        let mailer = mailer(&env("PORTAAL_MAIL_FROM")).await;
        (Arc::new(mailer), contract::aws_sent_mails, ())
    });
}

#[tokio::test]
async fn ses_answers_moto_message_ids_and_keeps_utf8() {
    env("PORTAAL_MOTO_URL");
    let mailer = mailer(&env("PORTAAL_MAIL_FROM")).await;
    let subject = format!("Herinnering — café {}", case_id("utf8"));
    let id = mailer.send(&mail(&subject)).await.unwrap();
    let sent = contract::aws_sent_mails().await;
    let found: Vec<_> = sent.iter().filter(|m| m["id"] == id.as_str()).collect();
    assert_eq!(found.len(), 1, "message id {id} names the sent mail");
    assert_eq!(found[0]["subject"], subject.as_str());
    assert_eq!(found[0]["source"], env("PORTAAL_MAIL_FROM").as_str());
}

#[tokio::test]
async fn ses_refusing_an_unverified_sender_is_a_rejection() {
    let mailer = mailer("nobody@unverified.example").await;
    let result = mailer.send(&mail("refused")).await;
    assert!(
        matches!(result, Err(MailError::Rejected(_))),
        "MessageRejected maps to Rejected: {result:?}"
    );
}

/// The scheduler contract, one test per behaviour:
/// `aws_ses_scheduler::eventbridge_scheduler::a_later_upsert_wins`.
mod eventbridge_scheduler {
    use super::*;

    portaal_tests::scheduler_contract_tests!(|| async {
        let (scheduler, _) = scheduler().await;
        (Arc::new(scheduler), ())
    });
}

#[tokio::test]
async fn schedules_target_the_job_function_with_the_job_as_input() {
    let (scheduler, client) = scheduler().await;
    let group = env("PORTAAL_SCHEDULE_GROUP");
    let at = Utc.with_ymd_and_hms(2099, 3, 4, 5, 6, 7).unwrap();
    let reminder = Job::Reminder {
        case_id: CaseId::parse(&case_id("target")).unwrap(),
        request_id: Id::from_ulid(ulid::Ulid::new()),
        step: 1,
    };
    let purge = Job::Purge {
        case_id: CaseId::parse(&case_id("target")).unwrap(),
    };
    for (job, arn) in [
        (&reminder, env("PORTAAL_REMINDER_ARN")),
        (&purge, env("PORTAAL_PURGE_ARN")),
    ] {
        scheduler.upsert(job, at).await.unwrap();
        // an identical upsert is harmless
        scheduler.upsert(job, at).await.unwrap();
        let got = client
            .get_schedule()
            .name(job.schedule_name())
            .group_name(&group)
            .send()
            .await
            .unwrap();
        assert_eq!(got.schedule_expression(), Some("at(2099-03-04T05:06:07)"));
        assert_eq!(got.schedule_expression_timezone(), Some("UTC"));
        assert_eq!(
            got.flexible_time_window().map(|w| w.mode()),
            Some(&FlexibleTimeWindowMode::Off)
        );
        assert_eq!(
            got.action_after_completion(),
            Some(&ActionAfterCompletion::Delete)
        );
        let target = got.target().expect("target");
        assert_eq!(target.arn(), arn);
        assert_eq!(target.role_arn(), env("PORTAAL_SCHEDULER_ROLE_ARN"));
        let input: serde_json::Value =
            serde_json::from_str(target.input().expect("input")).unwrap();
        assert_eq!(input, serde_json::to_value(job).unwrap());
        let back: Job = serde_json::from_value(input).unwrap();
        assert_eq!(&back, job, "the function can read its job back");
        if let Ok(dlq) = std::env::var("PORTAAL_SCHEDULE_DLQ_ARN")
            && !dlq.is_empty()
        {
            assert_eq!(
                target.dead_letter_config().and_then(|d| d.arn()),
                Some(dlq.as_str())
            );
        }
        let retry = target.retry_policy().expect("retry policy");
        assert!(retry.maximum_event_age_in_seconds().unwrap_or(0) >= 3600);
        scheduler.remove(job).await.unwrap();
        assert_eq!(scheduler.scheduled_at(job).await.unwrap(), None);
    }
    // sub-second precision is dropped: Scheduler's at() has whole seconds
    let precise = at + chrono::Duration::milliseconds(750);
    scheduler.upsert(&purge, precise).await.unwrap();
    assert_eq!(scheduler.scheduled_at(&purge).await.unwrap(), Some(at));
    scheduler.remove(&purge).await.unwrap();
}
