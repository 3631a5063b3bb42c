//! The event feed: every change in it with ids only, numbered without gaps by concurrent
//! sequencers, paged in order through signed cursors, and expired in feed order.

use std::time::Duration;

use portaal_core::domain::{CaseId, Id};
use portaal_core::events::EventType;
use portaal_core::ports::{Job, PageQuery, Write};
use portaal_core::usecases::feed::pending_event;
use portaal_tests::{case_id, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{deliver, feed, problem};

#[tokio::test]
async fn every_change_is_reported_in_the_feed_with_ids_only() {
    let app = spawn_with_settings(&[]).await;
    let system = &app.running.state.system;
    let case = case_id("ALL");
    let link = app.dossier_with_request(&case).await;
    app.mails(&case, 1).await;
    let dossier = app.get_dossier(&case).await;
    let request = dossier["requests"][0]["id"].as_str().unwrap().to_owned();

    let first = deliver(&app, &link).await;
    app.reject(&case, &first, "Onleesbaar").await;
    let second = deliver(&app, &link).await;
    app.approve(&case, &second).await;

    // A publication to the department.
    let bytes = b"%PDF-1.4 verslag".to_vec();
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/publications"))
        .json(&json!({"filename": "verslag.pdf", "content_type": "application/pdf", "size": bytes.len(), "sha256": portaal_tests::sha256_hex(&bytes)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let draft: Value = res.json().await.unwrap();
    assert!(app.send_bytes(&draft, bytes).await.status().is_success());
    let publication = draft["id"].as_str().unwrap();
    let res = app
        .api(
            Method::POST,
            &format!("/dossiers/{case}/publications/{publication}/publish"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A reminder, and the request overdue (its due date moved into the past in the store).
    let case_id_typed = CaseId::parse(&case).unwrap();
    let request_id = Id::parse(&request).unwrap();
    let second_request = app
        .api(Method::POST, &format!("/dossiers/{case}/requests"))
        .json(&json!({"department": "Financiën", "to": ["fin@example.nl"], "due": "2099-12-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(second_request.status(), StatusCode::CREATED);
    let second_request: Value = second_request.json().await.unwrap();
    let second_id = Id::parse(second_request["id"].as_str().unwrap()).unwrap();
    system
        .portaal
        .run_job(&Job::Reminder {
            case_id: case_id_typed.clone(),
            request_id: second_id.clone(),
            step: -2,
        })
        .await
        .unwrap();
    portaal_tests::move_due_date(system, &case_id_typed, &second_id, "2020-01-01").await;
    for _ in 0..2 {
        system
            .portaal
            .run_job(&Job::Overdue {
                case_id: case_id_typed.clone(),
                request_id: second_id.clone(),
            })
            .await
            .unwrap();
    }
    let res = app
        .patch_request(&case, second_id.as_str(), json!({"state": "withdrawn"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.mails(&case, 6).await;

    app.close(&case, None).await;
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/reopen"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A case type destroyed at its handling, set on purpose: destruction is due at once.
    app.destroy_bezwaar_at_handling().await;
    app.close(&case, Some(json!({"closed_at": "2020-01-01T00:00:00Z"})))
        .await;
    app.purge(&case).await;

    let expected = [
        "request.sent",
        "delivery.submitted",
        "delivery.rejected",
        "delivery.submitted",
        "delivery.approved",
        "publication.created",
        "request.sent",
        "reminder.sent",
        "request.overdue",
        "request.withdrawn",
        "dossier.closed",
        "dossier.reopened",
        "dossier.closed",
        "dossier.destroyed",
    ];
    let mut types = Vec::new();
    for _ in 0..200 {
        system.webhooks.sequence_pending(1000).await.unwrap();
        let mut ours: Vec<Value> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let q = match &after {
                Some(c) => format!("?limit=500&after={c}"),
                None => "?limit=500".to_owned(),
            };
            let page = feed(&app, &q).await;
            let events = page["events"].as_array().unwrap().clone();
            after = page["next"].as_str().map(str::to_owned);
            ours.extend(
                events
                    .iter()
                    .filter(|e| e["data"]["case_id"] == case.as_str())
                    .cloned(),
            );
            if events.len() < 500 {
                break;
            }
        }
        types = ours
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        let mut sorted_types = types.clone();
        sorted_types.sort();
        let mut sorted_expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        sorted_expected.sort();
        if sorted_types == sorted_expected {
            for e in &ours {
                let text = e.to_string();
                for personal in [
                    "Jansen",
                    "Vries",
                    "example.nl",
                    "Bezwaar",
                    "Onleesbaar",
                    "verslag",
                ] {
                    assert!(!text.contains(personal), "{personal} in {text}");
                }
                assert!(EventType::parse(e["type"].as_str().unwrap()).is_some());
            }
            let overdue = ours
                .iter()
                .find(|e| e["type"] == "request.overdue")
                .unwrap();
            assert_eq!(overdue["data"]["request_id"], second_id.as_str());
            let sent = ours.iter().find(|e| e["type"] == "request.sent").unwrap();
            assert_eq!(sent["data"]["request_id"], request_id.as_str());
            assert!(sent["data"]["mail_id"].is_string());
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("feed of {case} holds {types:?}, expected {expected:?} (in any order)");
}

/// Writes `n` pending `delivery.submitted` events of one case, as changes do, in transactions
/// of 100.
async fn pending_events(system: &portaal_infra::System, case: &CaseId, n: usize) -> Vec<String> {
    let mut written = Vec::new();
    for chunk in 0..n.div_ceil(100) {
        let mut writes: Vec<Write> = Vec::new();
        for _ in 0..100.min(n - chunk * 100) {
            let id = Id::from_ulid(ulid::Ulid::new());
            written.push(id.to_string());
            writes.push(pending_event(
                id,
                EventType::DeliverySubmitted,
                chrono::Utc::now(),
                case,
                &[
                    ("request_id", ulid::Ulid::new().to_string().into()),
                    ("delivery_id", ulid::Ulid::new().to_string().into()),
                    ("state", "submitted".into()),
                ],
            ));
        }
        system.store.transact(writes).await.unwrap();
    }
    written
}

/// The feed in its stored order: (sequence number, event id).
async fn stored_feed(system: &portaal_infra::System) -> Vec<(u64, String)> {
    let mut stored = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let items = system
            .store
            .page(PageQuery {
                prefix: None,
                index: None,
                pk: "FEED",
                after: after.as_deref(),
                until: None,
                descending: false,
                limit: 1000,
            })
            .await
            .unwrap();
        let Some(last) = items.last() else { break };
        after = Some(last.sk.clone());
        stored.extend(items.into_iter().map(|i| {
            (
                i.sk.parse::<u64>().unwrap(),
                i.attrs["id"].as_str().unwrap().to_owned(),
            )
        }));
    }
    stored
}

#[tokio::test]
async fn concurrent_sequencers_give_each_event_one_number_without_gaps() {
    let app = spawn_with_settings(&[("PORTAAL_WORKER", "off")]).await;
    let system = &app.running.state.system;
    let case = CaseId::parse(&case_id("SEQ")).unwrap();
    let written = pending_events(system, &case, 100).await;
    // Two at once, as two stream consumers (or a consumer and the sweep) could be.
    let (a, b) = tokio::join!(
        system.webhooks.sequence_pending(1000),
        system.webhooks.sequence_pending(1000)
    );
    a.unwrap();
    b.unwrap();
    let stored = stored_feed(system).await;
    let seqs: Vec<u64> = stored.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=100).collect::<Vec<u64>>(),
        "numbers 1..100, no gap"
    );
    let mut ids: Vec<String> = stored.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    let mut expected = written.clone();
    expected.sort();
    assert_eq!(ids, expected, "every event exactly once");
    assert!(
        system
            .webhooks
            .sequence_pending(1000)
            .await
            .unwrap()
            .is_empty()
            && stored_feed(system).await.len() == 100,
        "nothing left pending"
    );
}

#[tokio::test]
async fn the_feed_pages_through_1000_events_in_order_without_gap_or_duplicate() {
    // No worker: the test sequences, so the calls counted are the page reads alone.
    let app = spawn_with_settings(&[("PORTAAL_WORKER", "off")]).await;
    let system = &app.running.state.system;
    let case = CaseId::parse(&case_id("FEED")).unwrap();
    let written = pending_events(system, &case, 1000).await;
    system.webhooks.sequence_pending(1000).await.unwrap();

    let stored = stored_feed(system).await;
    assert_eq!(stored.len(), 1000);
    let seqs: Vec<u64> = stored.iter().map(|(s, _)| *s).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "sequence numbers have no gap"
    );

    let calls = system.calls.clone();
    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        if let Some(c) = &calls {
            c.reset();
        }
        let q = match &cursor {
            Some(c) => format!("?limit=100&after={c}"),
            None => "?limit=100".to_owned(),
        };
        let page = feed(&app, &q).await;
        let events = page["events"].as_array().unwrap();
        if let Some(c) = &calls {
            // A page is one Query; the empty page at the end also reads the counter (to tell
            // the end from events lost to the retention).
            let expected = if events.is_empty() { 2 } else { 1 };
            assert_eq!(
                c.total("DynamoDB"),
                expected,
                "store reads for a page of {}: {:?}",
                events.len(),
                c.snapshot()
            );
        }
        pages += 1;
        assert!(events.len() <= 100);
        seen.extend(events.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        let next = page["next"]
            .as_str()
            .expect("next is always present")
            .to_owned();
        if events.is_empty() {
            assert_eq!(
                feed(&app, &format!("?after={next}")).await["events"],
                json!([])
            );
            break;
        }
        cursor = Some(next);
        assert!(pages < 10_000);
    }
    let order: Vec<String> = stored.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(seen, order, "the pages follow the feed's order exactly");
    let mut ours: Vec<&String> = seen.iter().filter(|id| written.contains(id)).collect();
    assert_eq!(ours.len(), 1000, "every event once");
    ours.sort();
    ours.dedup();
    assert_eq!(ours.len(), 1000, "no duplicate");
}

#[tokio::test]
async fn cursors_are_signed_bounded_and_answer_410_once_events_after_them_are_gone() {
    let app = spawn_with_settings(&[("PORTAAL_WORKER", "off")]).await;
    let system = &app.running.state.system;
    for q in [
        "?limit=0",
        "?limit=501",
        "?limit=lots",
        "?after=bm9wZQ.AAAA",
    ] {
        problem(
            app.api(Method::GET, &format!("/events{q}"))
                .send()
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let page = feed(&app, "").await;
    assert_eq!(page["events"], json!([]));
    let start = page["next"]
        .as_str()
        .expect("next on an empty feed")
        .to_owned();
    let (payload, tag) = start.split_once('.').unwrap();
    let detail = problem(
        app.api(Method::GET, &format!("/events?after={payload}x.{tag}"))
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail.contains("cursor"), "{detail}");

    // Three events; a reader stops after the first.
    let case = CaseId::parse(&case_id("GONE")).unwrap();
    pending_events(system, &case, 3).await;
    system.webhooks.sequence_pending(1000).await.unwrap();
    let first = feed(&app, &format!("?limit=1&after={start}")).await;
    let after_first = first["next"].as_str().unwrap().to_owned();
    let all = feed(&app, &format!("?after={start}")).await;
    let end = all["next"].as_str().unwrap().to_owned();
    assert_eq!(all["events"].as_array().unwrap().len(), 3);

    // The retention removes the oldest (as TTL does, in feed order): a reader from the start
    // lost it; the reader after it lost nothing.
    let remove = |seq: u64| Write::Delete {
        pk: "FEED".into(),
        sk: portaal_core::events::keys::seq(seq),
        condition: portaal_core::ports::Condition::Exists,
    };
    system.store.transact(vec![remove(1)]).await.unwrap();
    let detail = problem(
        app.api(Method::GET, &format!("/events?after={start}"))
            .send()
            .await
            .unwrap(),
        StatusCode::GONE,
    )
    .await;
    assert!(detail.contains("no longer kept"), "{detail}");
    assert_eq!(
        feed(&app, &format!("?after={after_first}")).await["events"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Starting over gets what is kept, and pages on without a 410.
    let again = feed(&app, "?limit=1").await;
    let next = again["next"].as_str().unwrap();
    assert_eq!(again["events"].as_array().unwrap().len(), 1);
    assert_eq!(
        feed(&app, &format!("?after={next}")).await["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // All removed: an empty page, but the counter tells the reader after the first it lost two.
    system
        .store
        .transact(vec![remove(2), remove(3)])
        .await
        .unwrap();
    problem(
        app.api(Method::GET, &format!("/events?after={after_first}"))
            .send()
            .await
            .unwrap(),
        StatusCode::GONE,
    )
    .await;
    assert_eq!(
        feed(&app, &format!("?after={end}")).await["events"],
        json!([]),
        "the end lost nothing"
    );
    // Starting over on an emptied feed: the cursor is the end, and it holds.
    let fresh = feed(&app, "").await["next"].as_str().unwrap().to_owned();
    assert_eq!(
        feed(&app, &format!("?after={fresh}")).await["events"],
        json!([])
    );
}

#[tokio::test]
async fn the_embedded_store_expires_feed_events_in_feed_order() {
    let app = spawn_with_settings(&[
        ("PORTAAL_WORKER", "off"),
        ("PORTAAL_EVENT_RETENTION_DAYS", "1"),
        ("PORTAAL_WEBHOOK_RETRY_SCHEDULE", "1,1"),
    ])
    .await;
    let system = &app.running.state.system;
    let case = CaseId::parse(&case_id("EXP")).unwrap();
    pending_events(system, &case, 2).await;
    system.webhooks.sequence_pending(1000).await.unwrap();
    assert_eq!(
        system.webhooks.expire(100).await.unwrap(),
        0,
        "kept for a day"
    );
    // The first entered the feed two days ago (its TTL moved back, as time would).
    let (pk, sk) = ("FEED".to_owned(), portaal_core::events::keys::seq(1));
    let mut item = system.store.get(&pk, &sk).await.unwrap().unwrap();
    let two_days_ago = (chrono::Utc::now() - chrono::Duration::days(2)).timestamp();
    item.attrs.insert("expires_at".into(), two_days_ago.into());
    system.store.transact(vec![Write::put(item)]).await.unwrap();
    assert_eq!(system.webhooks.expire(100).await.unwrap(), 1);
    assert!(system.store.get(&pk, &sk).await.unwrap().is_none());
    assert_eq!(feed(&app, "").await["events"].as_array().unwrap().len(), 1);
}
