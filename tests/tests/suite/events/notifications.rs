//! The notify function's events: new mail items, the sweep, webhook attempts through the queue,
//! and SES bounces.

use super::*;

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
        include_str!("../../../../events/notify-mail-insert.json"),
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
        include_str!("../../../../events/notify-mail-insert.json"),
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
        include_str!("../../../../events/notify-sweep.json"),
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
        include_str!("../../../../events/notify-event-insert.json"),
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
    let sqs_event = include_str!("../../../../events/webhook-sqs.json")
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
    let event = include_str!("../../../../events/ses-bounce.json")
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
