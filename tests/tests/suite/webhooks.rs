//! The case system learns of every change without polling: signed webhooks (Standard Webhooks)
//! to real HTTP receivers, the event feed, and the dossier and delivery lists. Runs on the
//! embedded backend and, with `PORTAAL_BACKEND=aws`, on the emulators.

mod feed;
mod transport;

use std::time::Duration;

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
    app.approve(closed_case, approved).await;
    app.close(closed_case, None).await;

    // Page through open dossiers two at a time (the app's store is this test's own: exactly ours).
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
    let ours: Vec<&str> = open.iter().filter_map(|d| d["case_id"].as_str()).collect();
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
    assert_eq!(page["dossiers"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["dossiers"][0]["case_id"], closed_case.as_str());
    let res = app
        .api(Method::GET, "/dossiers?case_type=klacht&limit=200")
        .send()
        .await
        .unwrap();
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["dossiers"], json!([]), "no klacht dossiers");

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
    assert_eq!(page["deliveries"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["deliveries"][0]["id"], approved.as_str());

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
    app.close(&case, None).await;

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
    app.close(&case, None).await;
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
