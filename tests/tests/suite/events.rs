//! Every sample event in `events/` goes through the real handler (case number, ids and the link
//! token swapped for ones this test created), on the backend the environment chooses (embedded by
//! default; `PORTAAL_BACKEND=aws` on the emulators).

use aws_lambda_events::dynamodb::Event as StreamEvent;
use portaal_core::domain::CaseId;
use portaal_core::model::keys;
use portaal_core::ports::{Condition, Job, Write};
use portaal_core::usecases::dossier::DossierInput;
use portaal_core::usecases::lifecycle::{CloseInput, JobOutcome};
use portaal_core::usecases::request::RequestInput;
use portaal_infra::System;
use portaal_tests::{ManualClock, TempDir, case_id, embedded_config, test_config};
use portal::AppState;
use purge::PurgeTrigger;
use std::sync::Arc;
use tower::ServiceExt;

/// The case number the fixtures carry; each test swaps in its own.
const FIXTURE_CASE: &str = "BZ-2026-0042";
const FIXTURE_TOKEN: &str = "TOKENTOKENTOKENTOKENTOKENTOKENTOKENTOKEN123";
const FIXTURE_MAIL_ID: &str = "01JDXQ6Y3V8M5R2K9T4W7Z1B0C";
const FIXTURE_REQUEST_ID: &str = "01JDXQ6Y3V8M5R2K9T4W7Z1B0D";

/// A system as a Lambda sees it (no bearer key: API Gateway checked IAM; the stage in the public
/// URL), and the case number this test uses.
async fn lambda_system(dir: &TempDir) -> (System, String) {
    let (system, case, _) = lambda_system_with_clock(dir).await;
    (system, case)
}

/// As [`lambda_system`], with every use case on a clock the test moves.
async fn lambda_system_with_clock(dir: &TempDir) -> (System, String, Arc<ManualClock>) {
    let url = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod";
    let config = if std::env::var("PORTAAL_BACKEND").as_deref() == Ok("aws") {
        // A table of its own: the outbox a sweep reads and the feed are global partitions.
        let table = portaal_tests::own_table();
        test_config(&dir.0, url, &[("PORTAAL_TABLE", &table)])
    } else {
        embedded_config(&dir.0, url)
    };
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut system = System::build(config)
        .await
        .unwrap()
        .with_clock(clock.clone());
    system.api_auth = portaal_infra::ApiAuth::GatewayIam;
    (system, case_id("BZ"), clock)
}

/// A sample event with this test's case number.
fn fixture(text: &str, case: impl AsRef<str>) -> String {
    text.replace(FIXTURE_CASE, case.as_ref())
}

/// The mails the transport sent about this case.
async fn sent_mails(system: &System, case: &str) -> Vec<serde_json::Value> {
    let all: Vec<serde_json::Value> = match &system.embedded {
        Some(e) => e
            .mailer
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect(),
        None => portaal_tests::contract::aws_sent_mails().await,
    };
    all.into_iter()
        .filter(|m| m.to_string().contains(case))
        .collect()
}

/// How many `dossier.destroyed` events of this case exist, pending or in the feed.
async fn destroyed_events(system: &System, case: &str) -> usize {
    use portaal_core::events::keys as feed_keys;
    let pending = system
        .store
        .query_index(portaal_core::ports::IndexQuery {
            index: portaal_core::ports::Index::Outbox,
            pk: feed_keys::PENDING_INDEX,
            upto: None,
            limit: 100_000,
        })
        .await
        .unwrap();
    let sequenced = system.store.query(feed_keys::FEED, "").await.unwrap();
    pending
        .iter()
        .chain(sequenced.iter())
        .filter(|i| i.attrs["type"] == "dossier.destroyed" && i.attrs["data"]["case_id"] == case)
        .count()
}

/// This case's destruction record.
async fn destruction_of(system: &System, case: &str) -> Option<portaal_core::model::Destruction> {
    let query = portaal_core::usecases::records::DestructionQuery {
        case_id: Some(case.to_owned()),
        ..Default::default()
    };
    let page = system.portaal.destructions_page(&query).await.unwrap();
    assert!(page.items.len() <= 1, "one record per case");
    page.items.into_iter().next()
}

/// The dossier of the fixtures, with one request; answers its link token and request id.
async fn dossier_with_request(system: &System, case: &str) -> (String, String) {
    let case = CaseId::parse(case).unwrap();
    let input: DossierInput = serde_json::from_value(portaal_tests::dossier_body()).unwrap();
    system.portaal.put_dossier(&case, &input).await.unwrap();
    let request = system
        .portaal
        .create_request(
            &case,
            &RequestInput {
                department: "Vergunningen".into(),
                to: vec!["vergunningen@example.nl".into()],
                due: Some("2099-12-31".into()),
                message: String::new(),
                language: None,
            },
        )
        .await
        .unwrap();
    let token = request
        .portal_url
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    (token, request.id.to_string())
}

async fn body_text<B>(res: lambda_http::http::Response<B>) -> String
where
    B: http_body_util::BodyExt,
    B::Error: std::fmt::Debug,
{
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// lambda_http routes API Gateway's path without the stage only when told to: the template tells
/// the portal function, and these tests run the same way (`.cargo/config.toml`).
#[test]
fn the_portal_function_and_these_tests_route_without_the_stage() {
    let name = portal::lambda::IGNORE_STAGE_IN_PATH;
    assert!(
        std::env::var_os(name).is_some(),
        "{name} is set for the tests"
    );
    let template = include_str!("../../../template.yaml");
    let portal: Vec<&str> = template
        .lines()
        .skip_while(|l| *l != "  Portal:")
        .skip(1)
        .take_while(|l| !(l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(':')))
        .collect();
    assert!(!portal.is_empty(), "the template has the Portal function");
    assert!(
        portal
            .iter()
            .any(|l| l.trim() == format!("{name}: \"true\"")),
        "the template sets {name} on the Portal function"
    );
}

#[tokio::test]
async fn the_portal_page_event_is_served_through_the_stage_prefix() {
    let dir = TempDir::new("ev-portal");
    let (system, case) = lambda_system(&dir).await;
    let (token, _) = dossier_with_request(&system, &case).await;
    let event = &fixture(include_str!("../../../events/portal-page.json"), &case)
        .replace(FIXTURE_TOKEN, &token);
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway REST event");
    let res = portal::lambda::service(AppState::new(system))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["api-version"], "1");
    let html = body_text(res).await;
    assert!(
        html.contains("Bevestigen en versturen"),
        "the portal page is served"
    );
    assert!(
        html.contains("/prod/assets/portal.css"),
        "assets are linked under the stage"
    );
}

#[tokio::test]
async fn the_api_event_of_an_iam_caller_reads_the_dossier() {
    let dir = TempDir::new("ev-api");
    let (system, case) = lambda_system(&dir).await;
    dossier_with_request(&system, &case).await;
    let request = lambda_http::request::from_str(&fixture(
        include_str!("../../../events/api-get-dossier.json"),
        &case,
    ))
    .unwrap();
    let res = portal::lambda::service(AppState::new(system))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
    assert_eq!(body["case_id"], case.as_str());
    assert_eq!(body["requests"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_stream_insert_of_a_mail_item_sends_it_once() {
    let dir = TempDir::new("ev-notify");
    let (system, case) = lambda_system(&dir).await;
    dossier_with_request(&system, &case).await;
    let mails = system
        .store
        .query(&format!("DOSSIER#{case}"), keys::MAIL)
        .await
        .unwrap();
    assert_eq!(mails.len(), 1, "the request queued one mail");
    let mail_id = mails[0].sk.trim_start_matches(keys::MAIL).to_owned();
    let event = &fixture(
        include_str!("../../../events/notify-mail-insert.json"),
        &case,
    )
    .replace(FIXTURE_MAIL_ID, &mail_id);
    for _ in 0..2 {
        let batch: StreamEvent = serde_json::from_str(event).unwrap();
        let response = notify::send_new_mails(&system.outbox, batch).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let sent = sent_mails(&system, &case).await;
    assert_eq!(
        sent.len(),
        1,
        "a redelivered stream record does not mail twice"
    );
    assert!(sent[0].to_string().contains("Verzoek om stukken"));
}

#[tokio::test]
async fn the_scheduled_reminder_event_queues_one_reminder() {
    let dir = TempDir::new("ev-reminder");
    let (system, case) = lambda_system(&dir).await;
    let (token, request_id) = dossier_with_request(&system, &case).await;
    let event = &fixture(include_str!("../../../events/reminder.json"), &case)
        .replace(FIXTURE_REQUEST_ID, &request_id);
    let job: Job = serde_json::from_str(event).unwrap();
    assert_eq!(
        reminder::remind(&system.portaal, job.clone())
            .await
            .unwrap(),
        JobOutcome::Done
    );
    assert!(
        matches!(
            reminder::remind(&system.portaal, job).await.unwrap(),
            JobOutcome::Skipped(_)
        ),
        "a step fires once"
    );
    let mails = system
        .store
        .query(&format!("DOSSIER#{case}"), keys::MAIL)
        .await
        .unwrap();
    assert_eq!(mails.len(), 2, "request mail and one reminder");
    let reminder = mails
        .iter()
        .find(|m| m.str_attr("kind") == Some("reminder_before"))
        .expect("a reminder");
    let text = reminder.str_attr("text").unwrap();
    assert!(
        !text.contains(&token) && text.contains(portaal_core::model::LINK_PLACEHOLDER),
        "the queued reminder holds its link sealed, never the raw token"
    );
    // This mail, as its stream record would have it sent.
    system
        .outbox
        .send(&reminder.pk, &reminder.sk)
        .await
        .unwrap();
    let sent = sent_mails(&system, &case).await;
    assert!(
        sent.iter()
            .any(|m| m.to_string().contains(&format!("/prod/p/{token}"))
                && m.to_string().contains("Herinnering")),
        "the reminder as sent carries the link: {sent:?}"
    );
}

/// Closes the dossier with a handling date long past, then lets the day of grace pass after the
/// close call: its destruction is due.
async fn close_long_ago(system: &System, clock: &ManualClock, case: &str) {
    let input = CloseInput {
        result: Some("ongegrond".into()),
        closed_at: Some(chrono::Utc::now() - chrono::Duration::days(400)),
    };
    system
        .portaal
        .close_dossier(&CaseId::parse(case).unwrap(), &input)
        .await
        .unwrap();
    clock.advance(chrono::Duration::hours(25));
}

#[tokio::test]
async fn the_scheduled_purge_event_destroys_a_closed_dossier() {
    let dir = TempDir::new("ev-purge");
    let (system, case, clock) = lambda_system_with_clock(&dir).await;
    let (token, _) = dossier_with_request(&system, &case).await;
    close_long_ago(&system, &clock, &case).await;
    for _ in 0..2 {
        let trigger: PurgeTrigger =
            serde_json::from_str(&fixture(include_str!("../../../events/purge.json"), &case))
                .unwrap();
        purge::purge(&system.portaal, trigger).await.unwrap();
    }
    assert_eq!(destroyed_events(&system, &case).await, 1, "told once");
    assert!(
        system
            .store
            .query(&format!("DOSSIER#{case}"), "")
            .await
            .unwrap()
            .is_empty(),
        "every item is gone"
    );
    let token_key = portaal_core::domain::LinkToken::parse(&token)
        .unwrap()
        .hash();
    let (pk, sk) = keys::token(&token_key);
    assert_eq!(
        system.store.get(&pk, &sk).await.unwrap(),
        None,
        "the link is gone"
    );
    let record = destruction_of(&system, &case)
        .await
        .expect("a destruction record");
    assert!(
        !serde_json::to_string(&record).unwrap().contains(&case),
        "the record holds no case number"
    );
}

#[tokio::test]
async fn an_open_dossier_is_not_purged() {
    let dir = TempDir::new("ev-open");
    let (system, case) = lambda_system(&dir).await;
    dossier_with_request(&system, &case).await;
    let trigger: PurgeTrigger =
        serde_json::from_str(&fixture(include_str!("../../../events/purge.json"), &case)).unwrap();
    let outcome = purge::purge(&system.portaal, trigger).await.unwrap();
    assert_eq!(outcome["outcome"], "skipped");
    assert!(
        !system
            .store
            .query(&format!("DOSSIER#{case}"), "")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_ttl_removal_of_the_dossier_item_destroys_the_rest() {
    let dir = TempDir::new("ev-ttl");
    let (system, case, clock) = lambda_system_with_clock(&dir).await;
    dossier_with_request(&system, &case).await;
    close_long_ago(&system, &clock, &case).await;
    // DynamoDB TTL deleted the main item; the stream tells purge.
    let meta = Write::Delete {
        pk: format!("DOSSIER#{case}"),
        sk: keys::META.into(),
        condition: Condition::Exists,
    };
    system.store.transact(vec![meta]).await.unwrap();
    let trigger: PurgeTrigger = serde_json::from_str(&fixture(
        include_str!("../../../events/purge-ttl-remove.json"),
        &case,
    ))
    .unwrap();
    let response = purge::purge(&system.portaal, trigger).await.unwrap();
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    assert_eq!(destroyed_events(&system, &case).await, 1, "told once");
    assert!(
        system
            .store
            .query(&format!("DOSSIER#{case}"), "")
            .await
            .unwrap()
            .is_empty()
    );
    let record = destruction_of(&system, &case)
        .await
        .expect("a destruction record");
    assert_eq!(
        record.case_type.as_ref().map(|k| k.as_str()),
        Some("bezwaar"),
        "the removed item's case type is kept"
    );
}

#[tokio::test]
async fn without_a_public_url_links_are_made_for_the_host_and_stage_the_request_came_through() {
    let dir = TempDir::new("ev-host");
    let (system, case) = lambda_system(&dir).await;
    let case = CaseId::parse(&case).unwrap();
    let input: DossierInput = serde_json::from_value(portaal_tests::dossier_body()).unwrap();
    system.portaal.put_dossier(&case, &input).await.unwrap();
    let mut state = AppState::new(system);
    state.public_url_from_request = true;
    // The API event, turned into the POST that asks for documents.
    let mut event: serde_json::Value = serde_json::from_str(&fixture(
        include_str!("../../../events/api-get-dossier.json"),
        &case,
    ))
    .unwrap();
    event["httpMethod"] = "POST".into();
    event["path"] = format!("/api/v1/dossiers/{case}/requests").into();
    event["headers"]["Content-Type"] = "application/json".into();
    event["multiValueHeaders"]["Content-Type"] = serde_json::json!(["application/json"]);
    event["body"] = serde_json::json!({"department": "Vergunningen", "to": ["v@example.nl"], "due": "2099-01-01"}).to_string().into();
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let res = portal::lambda::service(state)
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
    let url = body["portal_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/p/"),
        "{url}"
    );
}

#[tokio::test]
async fn a_legal_hold_stops_destruction_and_a_begun_destruction_refuses_reopening() {
    let dir = TempDir::new("ev-hold");
    let (system, case, clock) = lambda_system_with_clock(&dir).await;
    dossier_with_request(&system, &case).await;
    close_long_ago(&system, &clock, &case).await;
    let case = CaseId::parse(&case).unwrap();
    system
        .portaal
        .set_hold(&case, Some("Beroep ingesteld"))
        .await
        .unwrap();
    let trigger: PurgeTrigger =
        serde_json::from_str(&fixture(include_str!("../../../events/purge.json"), &case)).unwrap();
    let outcome = purge::purge(&system.portaal, trigger).await.unwrap();
    assert_eq!(outcome["outcome"], "skipped", "a hold blocks destruction");

    // Destruction that has begun (claimed, then interrupted) cannot be undone by a reopen.
    system.portaal.set_hold(&case, None).await.unwrap();
    let item = system
        .store
        .get(&format!("DOSSIER#{case}"), keys::META)
        .await
        .unwrap()
        .unwrap();
    let mut claimed = item.clone();
    claimed.attrs.insert("destroying".into(), true.into());
    system
        .store
        .transact(vec![Write::put(claimed)])
        .await
        .unwrap();
    let err = system.portaal.reopen_dossier(&case).await.unwrap_err();
    assert!(matches!(err, portaal_core::Error::Conflict(_)), "{err:?}");
    let trigger: PurgeTrigger =
        serde_json::from_str(&fixture(include_str!("../../../events/purge.json"), &case)).unwrap();
    assert_eq!(
        purge::purge(&system.portaal, trigger).await.unwrap()["outcome"],
        "done",
        "the purge finishes"
    );
}

#[tokio::test]
async fn a_mail_claimed_by_a_live_sender_is_retried_and_the_sweep_sends_what_is_left() {
    let dir = TempDir::new("ev-sweep");
    let (system, case) = lambda_system(&dir).await;
    dossier_with_request(&system, &case).await;
    let mail = system
        .store
        .query(&format!("DOSSIER#{case}"), keys::MAIL)
        .await
        .unwrap()
        .remove(0);
    let mail_id = mail.sk.trim_start_matches(keys::MAIL).to_owned();

    // Another sender claimed it (and may have crashed): the stream record is reported for retry.
    let mut claimed = mail.clone();
    claimed.attrs.insert("state".into(), "sending".into());
    claimed.attrs.insert(
        "claimed_until".into(),
        (chrono::Utc::now() + chrono::Duration::minutes(2))
            .to_rfc3339()
            .into(),
    );
    system
        .store
        .transact(vec![Write::put(claimed)])
        .await
        .unwrap();
    let event = &fixture(
        include_str!("../../../events/notify-mail-insert.json"),
        &case,
    )
    .replace(FIXTURE_MAIL_ID, &mail_id);
    let response =
        notify::send_new_mails(&system.outbox, serde_json::from_str(event).unwrap()).await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "a live claim is retried, not dropped"
    );
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some("111100000000012345678901")
    );

    // The claim lapsed without a send: the scheduled sweep sends it.
    let mut lapsed = mail.clone();
    lapsed.attrs.insert("state".into(), "sending".into());
    lapsed.attrs.insert(
        "claimed_until".into(),
        (chrono::Utc::now() - chrono::Duration::minutes(1))
            .to_rfc3339()
            .into(),
    );
    system
        .store
        .transact(vec![Write::put(lapsed)])
        .await
        .unwrap();
    let sweep: notify::NotifyTrigger = serde_json::from_str(&fixture(
        include_str!("../../../events/notify-sweep.json"),
        &case,
    ))
    .unwrap();
    let answer = notify::notify(&system, sweep).await.unwrap();
    // The table is this test's own: the sweep sends this case's mail and nothing else.
    assert_eq!(answer["sent"], 1, "{answer}");
    assert_eq!(sent_mails(&system, &case).await.len(), 1);
}

/// The event id and subscription id the webhook fixtures carry.
const FIXTURE_EVENT_ID: &str = "01JDXQ6Y3V8M5R2K9T4W7Z1B0E";
const FIXTURE_SUBSCRIPTION_ID: &str = "01JDXQ6Y3V8M5R2K9T4W7Z1B0F";

/// The stream INSERT of a pending event makes `notify` sequence it and queue its attempt; the
/// SQS record of that attempt makes the webhook function POST it, signed. On AWS the queue is a
/// real (moto) SQS queue: the message is read back from it, a refused attempt is queued again
/// with a delay. Store calls are counted on AWS.
#[tokio::test]
async fn a_pending_event_goes_from_the_stream_through_the_queue_to_the_receiver() {
    use portaal_core::events::keys as feed_keys;
    use portaal_core::ports::{HookKey, Index, IndexQuery};
    use portaal_tests::receiver::{Answer, Receiver};

    let dir = TempDir::new("ev-hook");
    let url = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod";
    let aws = std::env::var("PORTAAL_BACKEND").as_deref() == Ok("aws");
    let (config, sqs) = if aws {
        // A table of its own: the feed and subscriptions are global partitions.
        let table = portaal_tests::own_table();
        let sdk = aws_config::load_from_env().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let queue = sqs
            .create_queue()
            .queue_name(format!("webhooks-{}", ulid::Ulid::new()))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let config = test_config(
            &dir.0,
            url,
            &[
                ("PORTAAL_TABLE", &table),
                ("PORTAAL_WEBHOOK_QUEUE_URL", &queue),
            ],
        );
        (config, Some((sqs, queue)))
    } else {
        (embedded_config(&dir.0, url), None)
    };
    let system = System::build(config).await.unwrap();
    let case = case_id("BZ");
    dossier_with_request(&system, &case).await;

    let receiver = Receiver::start().await;
    receiver.script(&[Answer::Status(503)], Answer::Status(204));
    let created = system
        .portaal
        .create_subscription(
            &serde_json::from_value(
                serde_json::json!({"url": receiver.url, "events": ["dossier.closed"]}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    receiver.trust(created.secret.expose());
    let subscription = created.subscription.id.to_string();
    system
        .portaal
        .close_dossier(&CaseId::parse(&case).unwrap(), &CloseInput::default())
        .await
        .unwrap();
    let pending = system
        .store
        .query_index(IndexQuery {
            index: Index::Outbox,
            pk: feed_keys::PENDING_INDEX,
            upto: None,
            limit: 10,
        })
        .await
        .unwrap();
    let closed = pending
        .iter()
        .find(|i| i.attrs["type"] == "dossier.closed")
        .expect("the close wrote its event");
    let event_id = closed.attrs["id"].as_str().unwrap().to_owned();

    // The stream record of the pending item (twice: a redelivered record changes nothing).
    let insert = fixture(
        include_str!("../../../events/notify-event-insert.json"),
        &case,
    )
    .replace(FIXTURE_EVENT_ID, &event_id);
    if let Some(calls) = &system.calls {
        calls.reset();
    }
    for _ in 0..2 {
        let trigger: notify::NotifyTrigger = serde_json::from_str(&insert).unwrap();
        let answer = notify::notify(&system, trigger).await.unwrap();
        assert_eq!(answer["batchItemFailures"], serde_json::json!([]));
    }
    if let Some(calls) = &system.calls {
        // First record: read pending item, counter and subscriptions, one transaction; the
        // redelivered record: one read that finds the pending item gone. One SQS message.
        assert_eq!(calls.total("DynamoDB"), 5, "{:?}", calls.snapshot());
        assert_eq!(calls.get("SQS.SendMessage"), 1, "{:?}", calls.snapshot());
    }
    let feed = system.portaal.events_page(None, Some(500)).await.unwrap();
    assert_eq!(
        feed.events
            .iter()
            .filter(|e| e.id.as_str() == event_id)
            .count(),
        1,
        "sequenced once"
    );

    // The attempt, as the queue hands it over.
    let key = HookKey {
        subscription_id: portaal_core::domain::Id::parse(&subscription).unwrap(),
        seq: 1,
    };
    let body = match &sqs {
        Some((client, queue)) => {
            let got = client
                .receive_message()
                .queue_url(queue)
                .wait_time_seconds(2)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            assert_eq!(messages.len(), 1, "one message per subscription and event");
            messages[0].body.clone().unwrap()
        }
        None => serde_json::to_string(&key).unwrap(),
    };
    assert_eq!(serde_json::from_str::<HookKey>(&body).unwrap(), key);
    let sqs_event = include_str!("../../../events/webhook-sqs.json")
        .replace(FIXTURE_SUBSCRIPTION_ID, &subscription);
    let sqs_event = {
        let mut v: serde_json::Value = serde_json::from_str(&sqs_event).unwrap();
        v["Records"][0]["body"] = body.into();
        v.to_string()
    };
    // First attempt refused (503): queued again with the first delay of the schedule.
    if let Some(calls) = &system.calls {
        calls.reset();
    }
    let trigger: notify::NotifyTrigger = serde_json::from_str(&sqs_event).unwrap();
    let answer = notify::notify(&system, trigger).await.unwrap();
    assert_eq!(answer["batchItemFailures"], serde_json::json!([]));
    if let Some(calls) = &system.calls {
        // Read message and subscription, claim, record the answer, note the failure on the
        // subscription (get + put): 6; the retry goes back on the queue, delayed.
        assert_eq!(calls.total("DynamoDB"), 6, "{:?}", calls.snapshot());
        assert_eq!(calls.get("SQS.SendMessage"), 1);
    }
    if let Some((client, queue)) = &sqs {
        let attrs = client
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed,
            )
            .send()
            .await
            .unwrap();
        let delayed = attrs
            .attributes
            .unwrap_or_default()
            .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .cloned()
            .unwrap_or_default();
        assert_eq!(delayed, "1", "the retry waits in the queue");
    }
    // The retry, once due (moved forward in the store instead of waiting 10 s).
    use portaal_core::events::HookMessage;
    use portaal_core::model::Record;
    let (mpk, msk) = feed_keys::message(&key.subscription_id, 1);
    let mut message =
        HookMessage::from_item(&system.store.get(&mpk, &msk).await.unwrap().unwrap()).unwrap();
    assert_eq!(message.attempts, 1);
    message.next_at = chrono::Utc::now();
    system
        .store
        .transact(vec![Write::put(message.to_item(mpk.clone(), msk.clone()))])
        .await
        .unwrap();
    let trigger: notify::NotifyTrigger = serde_json::from_str(&sqs_event).unwrap();
    notify::notify(&system, trigger).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.verified && r.id == event_id));
    assert_eq!(received[1].answer, Answer::Status(204));
    // A stale duplicate of the message changes nothing.
    let trigger: notify::NotifyTrigger = serde_json::from_str(&sqs_event).unwrap();
    notify::notify(&system, trigger).await.unwrap();
    assert_eq!(receiver.received().len(), 2, "acknowledged: not sent again");
}

/// SES's permanent bounce (EventBridge, `events/ses-bounce.json`) of a mail the transport had
/// accepted marks it failed once: the timeline says so, the handler is mailed, the case system
/// is told (`mail.failed`); the same event again changes nothing.
#[tokio::test]
async fn a_permanent_bounce_fails_the_mail_once_and_tells_the_handler() {
    let dir = TempDir::new("ev-bounce");
    let (system, case) = lambda_system(&dir).await;
    let (_token, request_id) = dossier_with_request(&system, &case).await;
    let mails = system
        .store
        .query(&format!("DOSSIER#{case}"), keys::MAIL)
        .await
        .unwrap();
    let request_mail = mails
        .iter()
        .find(|m| m.str_attr("kind") == Some("request"))
        .expect("the request mail");
    assert_eq!(
        system
            .outbox
            .send(&request_mail.pk, &request_mail.sk)
            .await
            .unwrap(),
        portaal_core::usecases::outbox::SendOutcome::Sent
    );
    let mail_id = request_mail.sk.trim_start_matches(keys::MAIL).to_owned();
    let event = include_str!("../../../events/ses-bounce.json")
        .replace(FIXTURE_MAIL_ID, &mail_id)
        .replace("425a2d323032362d30303432", &hex::encode(&case));
    let trigger = || serde_json::from_str::<notify::NotifyTrigger>(&event).unwrap();
    assert_eq!(
        notify::notify(&system, trigger()).await.unwrap(),
        serde_json::json!({"failed": true})
    );
    assert_eq!(
        notify::notify(&system, trigger()).await.unwrap(),
        serde_json::json!({"failed": false}),
        "a repeated event changes nothing"
    );
    let items = system
        .store
        .query(&format!("DOSSIER#{case}"), "")
        .await
        .unwrap();
    let failed = items.iter().find(|i| i.sk == request_mail.sk).unwrap();
    assert_eq!(failed.str_attr("state"), Some("failed"));
    assert!(
        failed
            .str_attr("last_error")
            .unwrap()
            .contains("refused@example.nl")
    );
    let timeline: Vec<_> = items
        .iter()
        .filter(|i| i.sk.starts_with("EVENT#") && i.str_attr("kind") == Some("mail_failed"))
        .collect();
    assert_eq!(timeline.len(), 1);
    assert_eq!(
        timeline[0].str_attr("request_id"),
        Some(request_id.as_str())
    );
    let notices: Vec<_> = items
        .iter()
        .filter(|i| i.sk.starts_with(keys::MAIL) && i.str_attr("kind") == Some("mail_failed"))
        .collect();
    assert_eq!(notices.len(), 1, "the handler is mailed once");
    assert!(
        notices[0].attrs["to"]
            .to_string()
            .contains("m.jansen@example.nl")
    );
}
