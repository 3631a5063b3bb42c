//! The scheduled events: a reminder, a destruction (and its TTL backstop), and what stops one.

use super::*;

#[tokio::test]
async fn the_scheduled_reminder_event_queues_one_reminder() {
    let dir = TempDir::new("ev-reminder");
    let (system, case) = lambda_system(&dir).await;
    let (token, request_id) = dossier_with_request(&system, &case).await;
    let event = &fixture(include_str!("../../../../events/reminder.json"), &case)
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
        let trigger: PurgeTrigger = serde_json::from_str(&fixture(
            include_str!("../../../../events/purge.json"),
            &case,
        ))
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
    let trigger: PurgeTrigger = serde_json::from_str(&fixture(
        include_str!("../../../../events/purge.json"),
        &case,
    ))
    .unwrap();
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
        include_str!("../../../../events/purge-ttl-remove.json"),
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
    let trigger: PurgeTrigger = serde_json::from_str(&fixture(
        include_str!("../../../../events/purge.json"),
        &case,
    ))
    .unwrap();
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
    let trigger: PurgeTrigger = serde_json::from_str(&fixture(
        include_str!("../../../../events/purge.json"),
        &case,
    ))
    .unwrap();
    assert_eq!(
        purge::purge(&system.portaal, trigger).await.unwrap()["outcome"],
        "done",
        "the purge finishes"
    );
}
