//! The case system learns of every change without polling: signed webhooks (Standard Webhooks)
//! to real HTTP receivers, the event feed, and the dossier and delivery lists. Runs on the
//! embedded backend and, with `PORTAAL_BACKEND=aws`, on the emulators.

use std::time::Duration;

use portaal_core::domain::{CaseId, Id};
use portaal_core::events::EventType;
use portaal_core::ports::{Job, PageQuery, Write};
use portaal_core::usecases::feed::pending_event;
use portaal_tests::receiver::{Answer, Receiver, verify_with_reference_library};
use portaal_tests::{TestApp, case_id, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

async fn subscribe(app: &TestApp, receiver: &Receiver, events: Value) -> Value {
    let res = app
        .api(Method::POST, "/subscriptions")
        .json(&json!({"url": receiver.url, "events": events, "description": "zaaksysteem"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    receiver.trust(created["secret"].as_str().unwrap());
    created
}

async fn problem(res: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(res.status(), status);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: Value = res.json().await.unwrap();
    body["detail"].as_str().unwrap().to_owned()
}

/// Delivers a file through the portal; answers the delivery id.
async fn deliver(app: &TestApp, link: &str) -> String {
    let upload = app
        .upload(
            link,
            "besluit.pdf",
            "application/pdf",
            b"%PDF-1.4 besluit".to_vec(),
        )
        .await;
    let res = app.confirm(link, &[&upload.id]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn subscriptions(app: &TestApp) -> Vec<Value> {
    let res = app.api(Method::GET, "/subscriptions").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["subscriptions"].as_array().unwrap().clone()
}

async fn feed(app: &TestApp, query: &str) -> Value {
    let res = app
        .api(Method::GET, &format!("/events{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "GET /events{query}");
    res.json().await.unwrap()
}

fn of_case<'a>(
    received: &'a [portaal_tests::receiver::Received],
    case: &str,
) -> Vec<&'a portaal_tests::receiver::Received> {
    received
        .iter()
        .filter(|r| r.json()["data"]["case_id"] == case)
        .collect()
}

#[tokio::test]
async fn webhooks_are_signed_retried_under_one_id_and_acknowledged_once() {
    let app = spawn_with_settings(&[("PORTAAL_WEBHOOK_RETRY_SCHEDULE", "1,1,1")]).await;
    let receiver = Receiver::start().await;
    // The first two attempts of everything fail; then the receiver acknowledges.
    receiver.script(
        &[Answer::Status(503), Answer::Status(500)],
        Answer::Status(204),
    );
    let created = subscribe(&app, &receiver, json!(["delivery.submitted"])).await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created["events"], json!(["delivery.submitted"]));

    let case = case_id("HOOK");
    let link = app.dossier_with_request(&case).await;
    let delivery = deliver(&app, &link).await;

    let received = receiver
        .wait_for("an acknowledged delivery.submitted", WAIT, |r| {
            r.iter().any(|x| x.answer == Answer::Status(204))
        })
        .await;
    let ours = of_case(&received, &case);
    assert_eq!(ours.len(), 3, "two refusals, then the acknowledged attempt");
    let id = &ours[0].id;
    for attempt in &ours {
        assert_eq!(&attempt.id, id, "every attempt carries the same webhook-id");
        assert!(attempt.verified, "signature verifies: {attempt:?}");
        assert_eq!(attempt.content_type, "application/json");
        let body = attempt.json();
        assert_eq!(body["type"], "delivery.submitted");
        assert_eq!(body["data"]["case_id"], case.as_str());
        assert_eq!(body["data"]["delivery_id"], delivery.as_str());
        assert_eq!(body["data"]["state"], "submitted");
        // Ids, states and times only: no names, addresses, titles or links.
        for personal in [
            "Piet",
            "p.bakker@",
            "m.jansen@",
            "Bezwaar",
            "/p/",
            "vergunningen@",
        ] {
            assert!(
                !attempt.body.contains(personal),
                "{personal} in {}",
                attempt.body
            );
        }
    }
    assert!(
        ours.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
        "each attempt is signed afresh"
    );
    verify_with_reference_library(&secret, &received);

    // Acknowledged: never sent again, and the subscription is healthy.
    portaal_tests::settle(&app, Duration::from_secs(3)).await;
    assert_eq!(of_case(&receiver.received(), &case).len(), 3);
    let health = &subscriptions(&app).await[0];
    assert_eq!(health["failing_since"], Value::Null);
    assert_eq!(health["failed_events"], 0);
    assert!(health.get("secret").is_none(), "no secret in the list");

    // The feed tells the same event under the same id.
    let page = feed(&app, "?limit=500").await;
    let entry = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id.as_str())
        .expect("the event is in the feed");
    assert_eq!(entry["type"], "delivery.submitted");
    let pushed = ours[0].json();
    assert_eq!(
        entry["timestamp"], pushed["timestamp"],
        "feed and push agree"
    );
    assert_eq!(entry["data"], pushed["data"]);
    assert!(
        ours[0]
            .body
            .starts_with(r#"{"type":"delivery.submitted","timestamp":"#),
        "{}",
        ours[0].body
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_delays_nothing_else() {
    let app = spawn_with_settings(&[]).await;
    let dead = Receiver::start().await;
    dead.script(&[], Answer::Hang);
    let alive = Receiver::start().await;
    subscribe(&app, &dead, json!(["*"])).await;
    subscribe(&app, &alive, json!(["*"])).await;

    let case = case_id("DEAD");
    let link = app.dossier_with_request(&case).await;
    let before = std::time::Instant::now();
    deliver(&app, &link).await;
    let confirm_ms = before.elapsed().as_millis();

    // While the dead receiver holds its request open, the live one gets the event, and the
    // mail of another dossier goes out.
    let is_submitted = |x: &&portaal_tests::receiver::Received| {
        x.json()["data"]["case_id"] == case.as_str() && x.event_type() == "delivery.submitted"
    };
    let got = alive
        .wait_for("delivery.submitted at the live receiver", WAIT, |r| {
            r.iter().any(|x| is_submitted(&x))
        })
        .await;
    let other = case_id("OTHER");
    app.dossier_with_request(&other).await;
    app.mails(&other, 1).await;
    let held = dead
        .wait_for("delivery.submitted held open", WAIT, |r| {
            r.iter().any(|x| is_submitted(&x))
        })
        .await;
    // Not after the dead receiver's 10-second timeout: beside it.
    let alive_at = got.iter().find(is_submitted).unwrap().at;
    let dead_at = held.iter().find(is_submitted).unwrap().at;
    assert!(
        alive_at < dead_at + portaal_infra::webhook::TIMEOUT,
        "the live receiver waited for the dead one's timeout"
    );
    assert!(
        dead.hanging() >= 1,
        "the dead receiver still holds a request"
    );
    assert!(
        dead.received().iter().all(|r| r.answer == Answer::Hang),
        "nothing was answered by the dead receiver"
    );
    eprintln!("confirm took {confirm_ms} ms while a receiver hung");
}

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
    let res = app
        .api(
            Method::POST,
            &format!("/dossiers/{case}/deliveries/{first}/reject"),
        )
        .json(&json!({"reason": "Onleesbaar"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let second = deliver(&app, &link).await;
    let res = app
        .api(
            Method::POST,
            &format!("/dossiers/{case}/deliveries/{second}/approve"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

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

    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/reopen"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A case type destroyed at its handling, set on purpose: destruction is due at once.
    let res = app
        .api(Method::PATCH, "/case-types/bezwaar")
        .json(&json!({"close_after_days": 0, "destroy_after_days": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/close"))
        .json(&json!({"closed_at": "2020-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    system
        .portaal
        .run_job(&Job::Purge {
            case_id: case_id_typed.clone(),
        })
        .await
        .unwrap();

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

/// Writes `n` pending events of one case, as changes do, in transactions of 100.
async fn pending_events(system: &portaal_infra::System, case: &CaseId, n: usize) -> Vec<String> {
    let mut written = Vec::new();
    for chunk in 0..n.div_ceil(100) {
        let mut writes: Vec<Write> = Vec::new();
        for i in 0..100.min(n - chunk * 100) {
            let id = Id::from_ulid(ulid::Ulid::new());
            written.push(id.to_string());
            writes.push(pending_event(
                id,
                EventType::DeliverySubmitted,
                chrono::Utc::now(),
                case,
                &[("n", (chunk * 100 + i).into())],
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
                index: None,
                pk: "FEED",
                after: after.as_deref(),
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
async fn subscriptions_refuse_bad_input_and_redact_urls() {
    let app = spawn_with_settings(&[]).await;
    let post = |body: Value| app.api(Method::POST, "/subscriptions").json(&body).send();
    for (body, says) in [
        (
            json!({"url": "http://zaak.example.nl/hooks", "events": ["*"]}),
            "https",
        ),
        (
            json!({"url": "ftp://zaak.example.nl/hooks", "events": ["*"]}),
            "https",
        ),
        (
            json!({"url": "https://169.254.169.254/latest/meta-data", "events": ["*"]}),
            "link-local",
        ),
        (
            json!({"url": "https://[fe80::1]/hooks", "events": ["*"]}),
            "link-local",
        ),
        (
            json!({"url": "https://metadata.google.internal/x", "events": ["*"]}),
            "metadata",
        ),
        (
            json!({"url": "https://zaak.example.nl/hooks", "events": ["delivery.exploded"]}),
            "delivery.exploded",
        ),
        (
            json!({"url": "https://zaak.example.nl/hooks", "events": []}),
            "events",
        ),
        (json!({"url": "not a url", "events": ["*"]}), "url"),
    ] {
        let detail = problem(post(body.clone()).await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(detail.contains(says), "{body}: {detail}");
    }
    let detail = problem(
        post(json!({"url": "http://u:geheim@zaak.example.nl/h?token=abc", "events": ["*"]}))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        !detail.contains("geheim") && !detail.contains("abc"),
        "{detail}"
    );

    let res = post(json!({"url": "https://u:geheim@zaak.example.nl/h?token=abc", "events": ["*"]}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["url"], "https://***@zaak.example.nl/h?***");
    let listed = subscriptions(&app).await;
    assert!(!listed[0].to_string().contains("geheim"));
    assert!(!listed[0].to_string().contains("whsec_"));

    let id = created["id"].as_str().unwrap();
    let res = app
        .api(Method::DELETE, &format!("/subscriptions/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(
        app.api(Method::DELETE, &format!("/subscriptions/{id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = app
        .client
        .get(format!("{}/api/v1/subscriptions", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "same auth as the rest of the API"
    );
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

#[tokio::test]
async fn dossiers_and_deliveries_are_listed_newest_first_from_the_indexes() {
    let app = spawn_with_settings(&[]).await;
    let mut cases = Vec::new();
    for n in 0..3 {
        let case = case_id(&format!("LIST{n}"));
        let link = app.dossier_with_request(&case).await;
        let delivery = deliver(&app, &link).await;
        cases.push((case, delivery));
    }
    let (closed_case, approved) = &cases[0];
    let res = app
        .api(
            Method::POST,
            &format!("/dossiers/{closed_case}/deliveries/{approved}/approve"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .api(Method::POST, &format!("/dossiers/{closed_case}/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Page through open dossiers two at a time (other tests may add theirs on shared emulators).
    let mut open = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/dossiers?status=open&limit=2&cursor={c}"),
            None => "/dossiers?status=open&limit=2".to_owned(),
        };
        let res = app.api(Method::GET, &q).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let page: Value = res.json().await.unwrap();
        let items = page["dossiers"].as_array().unwrap();
        assert!(items.len() <= 2);
        open.extend(items.iter().cloned());
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let ours: Vec<&str> = open
        .iter()
        .filter_map(|d| d["case_id"].as_str())
        .filter(|c| cases.iter().any(|(case, _)| case == c))
        .collect();
    assert_eq!(
        ours,
        vec![cases[2].0.as_str(), cases[1].0.as_str()],
        "newest first, closed left out"
    );
    assert!(open.iter().all(|d| d["status"] == "open"));

    let res = app
        .api(
            Method::GET,
            "/dossiers?status=closed&case_type=bezwaar&limit=200",
        )
        .send()
        .await
        .unwrap();
    let page: Value = res.json().await.unwrap();
    assert!(
        page["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["case_id"] == closed_case.as_str())
    );
    let res = app
        .api(Method::GET, "/dossiers?case_type=klacht&limit=200")
        .send()
        .await
        .unwrap();
    let page: Value = res.json().await.unwrap();
    assert!(
        !page["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| cases.iter().any(|(c, _)| d["case_id"] == c.as_str()))
    );

    let res = app
        .api(Method::GET, "/deliveries?state=submitted&limit=200")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    let submitted: Vec<(&str, &str)> = page["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["case_id"].as_str().unwrap(), d["id"].as_str().unwrap()))
        .filter(|(c, _)| cases.iter().any(|(case, _)| case == c))
        .collect();
    assert_eq!(
        submitted,
        vec![
            (cases[2].0.as_str(), cases[2].1.as_str()),
            (cases[1].0.as_str(), cases[1].1.as_str())
        ],
        "waiting for review, newest first, each with its case"
    );
    let res = app
        .api(Method::GET, "/deliveries?state=approved&limit=200")
        .send()
        .await
        .unwrap();
    let page: Value = res.json().await.unwrap();
    assert!(
        page["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == approved.as_str())
    );

    for q in [
        "/dossiers?status=lost",
        "/deliveries?state=lost",
        "/dossiers?limit=0",
        "/dossiers?cursor=forged.x",
    ] {
        problem(
            app.api(Method::GET, q).send().await.unwrap(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test]
async fn rotation_failure_410_and_redelivery() {
    let app = spawn_with_settings(&[("PORTAAL_WEBHOOK_RETRY_SCHEDULE", "1")]).await;
    let receiver = Receiver::start().await;
    receiver.script(&[], Answer::Status(503));
    let created = subscribe(
        &app,
        &receiver,
        json!(["dossier.closed", "dossier.reopened"]),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let case = case_id("ROT");
    app.dossier_with_request(&case).await;
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // One attempt and one retry refused: the event failed for this subscription.
    let mut failed = Value::Null;
    for _ in 0..400 {
        failed = subscriptions(&app)
            .await
            .into_iter()
            .find(|s| s["id"] == id.as_str())
            .unwrap();
        if failed["failed_events"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed["failed_events"], 1, "{failed}");
    assert!(failed["failing_since"].is_string());
    assert_eq!(failed["last_error"], "HTTP 503");
    assert_eq!(of_case(&receiver.received(), &case).len(), 2);

    // Rotation: both secrets sign for a day.
    let res = app
        .api(Method::POST, &format!("/subscriptions/{id}/rotate-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let rotated: Value = res.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, created["secret"].as_str().unwrap());
    receiver.script(&[], Answer::Status(200));
    let res = app
        .api(Method::POST, &format!("/subscriptions/{id}/redeliver"))
        .json(&json!({"since": "2020-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["queued"], 1);
    let received = receiver
        .wait_for("the redelivered event", WAIT, |r| {
            r.iter().any(|x| x.answer == Answer::Status(200))
        })
        .await;
    let last = received.last().unwrap();
    assert_eq!(last.id, received[0].id, "redelivered under its own id");
    let signatures: Vec<&str> = last.signature.split(' ').collect();
    assert_eq!(signatures.len(), 2, "old and new secret both sign");
    for secret in [created["secret"].as_str().unwrap(), new_secret.as_str()] {
        assert!(
            signatures.contains(
                &portaal_tests::receiver::standard_webhooks_signature(
                    secret,
                    &last.id,
                    &last.timestamp,
                    &last.body
                )
                .as_str()
            )
        );
    }
    verify_with_reference_library(&new_secret, std::slice::from_ref(last));
    portaal_tests::settle(&app, Duration::from_secs(2)).await;
    let healthy = subscriptions(&app)
        .await
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap();
    assert_eq!(healthy["failed_events"], 0);
    assert_eq!(healthy["failing_since"], Value::Null);

    // 410 Gone disables the subscription: nothing more is sent.
    receiver.script(&[], Answer::Status(410));
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/reopen"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    receiver
        .wait_for("the 410", WAIT, |r| {
            r.iter().any(|x| x.answer == Answer::Status(410))
        })
        .await;
    let mut gone = Value::Null;
    for _ in 0..200 {
        gone = subscriptions(&app)
            .await
            .into_iter()
            .find(|s| s["id"] == id.as_str())
            .unwrap();
        if gone["active"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gone["active"], false, "{gone}");
    let before = receiver.received().len();
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    portaal_tests::settle(&app, Duration::from_secs(2)).await;
    assert_eq!(
        receiver.received().len(),
        before,
        "a disabled subscription gets nothing"
    );

    for path in ["rotate-secret", "redeliver"] {
        problem(
            app.api(
                Method::POST,
                &format!("/subscriptions/01ARZ3NDEKTSV4RRFFQ69G5FAV/{path}"),
            )
            .send()
            .await
            .unwrap(),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
}

/// A receiver whose certificate an internal CA issued is reached only when
/// `PORTAAL_WEBHOOK_CA_FILE` names that CA (a real TLS server, certificates made by openssl).
#[tokio::test]
async fn an_internal_ca_is_trusted_only_when_configured() {
    use portaal_core::ports::{HookAnswer, HookSender};
    use portaal_infra::webhook::HttpHookSender;

    let dir = portaal_tests::TempDir::new("ca");
    let d = |name: &str| dir.0.join(name).display().to_string();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Gemeente Test CA",
        "-keyout",
        &d("ca.key"),
        "-out",
        &d("ca.pem"),
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &d("leaf.key"),
        "-out",
        &d("leaf.csr"),
    ]);
    std::fs::write(d("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &d("leaf.csr"),
        "-CA",
        &d("ca.pem"),
        "-CAkey",
        &d("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &d("ext.cnf"),
        "-out",
        &d("leaf.pem"),
    ]);
    // The server binds port 0 and names the port it got.
    let server = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
httpd = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[1], sys.argv[2])
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print("ready", httpd.server_address[1], flush=True)
httpd.serve_forever()
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", server, &d("leaf.pem"), &d("leaf.key")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut ready = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let port: u16 = ready
        .trim()
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the TLS server names its port: {ready:?}"));

    let url = format!("https://localhost:{port}/hooks");
    let without = HttpHookSender::new(None).unwrap();
    match without.post(&url, &[], "{}").await {
        HookAnswer::NoAnswer(why) => assert!(
            why.contains("certificate") || why.contains("connection"),
            "{why}"
        ),
        other => panic!("an unknown CA must not be trusted: {other:?}"),
    }
    let with = HttpHookSender::new(Some(std::path::Path::new(&d("ca.pem")))).unwrap();
    assert_eq!(with.post(&url, &[], "{}").await, HookAnswer::Status(204));
    assert!(
        HttpHookSender::new(Some(std::path::Path::new(&d("leaf.csr")))).is_err(),
        "a file without certificates is refused"
    );
    assert!(HttpHookSender::new(Some(std::path::Path::new(&d("missing.pem")))).is_err());
    let _ = child.kill();
    let _ = child.wait();
}

/// A transport that refuses every mail for good (as a relay answering 550 would).
struct Refusing;

#[async_trait::async_trait]
impl portaal_core::ports::Mailer for Refusing {
    async fn send(
        &self,
        _mail: &portaal_core::ports::OutgoingMail,
    ) -> Result<String, portaal_core::ports::MailError> {
        Err(portaal_core::ports::MailError::Rejected(
            "550 mailbox unavailable".into(),
        ))
    }
}

#[tokio::test]
async fn a_mail_that_fails_for_good_is_reported_as_mail_failed() {
    let app = spawn_with_settings(&[("PORTAAL_WORKER", "off")]).await;
    let system = &app.running.state.system;
    let case = case_id("MAILFAIL");
    app.dossier_with_request(&case).await;
    let request = app.get_dossier(&case).await["requests"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outbox = portaal_core::usecases::outbox::Outbox::new(
        system.store.clone(),
        std::sync::Arc::new(Refusing),
        std::sync::Arc::new(portaal_core::ports::SystemClock),
    );
    outbox.sweep(100).await.unwrap();
    system.webhooks.sequence_pending(1000).await.unwrap();
    let events = feed(&app, "?limit=500").await["events"]
        .as_array()
        .unwrap()
        .clone();
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["data"]["case_id"] == case.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["type"], "mail.failed");
    assert_eq!(failed[0]["data"]["kind"], "request");
    assert_eq!(failed[0]["data"]["request_id"], request.as_str());
    assert!(failed[0]["data"]["mail_id"].is_string());
    assert!(!failed[0].to_string().contains("@"), "no addresses");
}

/// The sender does not follow redirects (a 3xx is an answer to retry on, never a new target) and
/// reports a refused connection as no answer; both count as not acknowledged.
#[tokio::test]
async fn redirects_are_not_followed_and_refused_connections_are_no_answer() {
    use portaal_core::ports::{HookAnswer, HookSender};
    use portaal_infra::webhook::HttpHookSender;

    let sender = HttpHookSender::new(None).unwrap();
    let receiver = Receiver::start().await;
    receiver.script(&[Answer::Status(307)], Answer::Status(204));
    assert_eq!(
        sender.post(&receiver.url, &[], "{}").await,
        HookAnswer::Status(307)
    );
    assert_eq!(receiver.received().len(), 1, "one request, not followed");

    // A port held by a socket that does not listen: connections to it are refused, and no
    // other process can take it meanwhile.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/hooks", closed.local_addr().unwrap());
    match sender.post(&url, &[], "{}").await {
        HookAnswer::NoAnswer(why) => assert!(why.contains("connection"), "{why}"),
        other => panic!("a refused connection is no answer: {other:?}"),
    }

    // Through the whole path: a 3xx is retried like any refusal.
    let app = spawn_with_settings(&[("PORTAAL_WEBHOOK_RETRY_SCHEDULE", "1")]).await;
    let hooks = Receiver::start().await;
    hooks.script(&[Answer::Status(302)], Answer::Status(204));
    subscribe(&app, &hooks, json!(["dossier.closed"])).await;
    let case = case_id("REDIR");
    app.dossier_with_request(&case).await;
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/close"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let got = hooks
        .wait_for("the retry after a redirect", WAIT, |r| {
            r.iter().any(|x| x.answer == Answer::Status(204))
        })
        .await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id);
}
