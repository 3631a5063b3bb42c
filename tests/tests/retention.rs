//! Closing, destruction and the audit trail, as a records manager checks them, on the backend
//! `PORTAAL_BACKEND` names (embedded by default; the emulators with `aws`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use portaal_core::domain::CaseId;
use portaal_core::ports::Job;
use portaal_core::usecases::lifecycle::JobOutcome;
use portaal_tests::{
    ManualClock, TestApp, case_id, json_answer, spawn_with_clock, spawn_with_settings,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn purge(app: &TestApp, case: &str) -> JobOutcome {
    app.running
        .state
        .system
        .portaal
        .run_job(&Job::Purge {
            case_id: CaseId::parse(case).unwrap(),
        })
        .await
        .unwrap()
}

async fn close(app: &TestApp, case: &str, body: Value) -> Value {
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/close"))
        .json(&body)
        .send()
        .await
        .unwrap();
    json_answer(res, StatusCode::OK).await
}

async fn dossier_status(app: &TestApp, case: &str) -> StatusCode {
    app.api(Method::GET, &format!("/dossiers/{case}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_backdated_close_is_undone_by_a_reopen_within_a_day_and_nothing_is_lost() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = spawn_with_clock(clock.clone(), &[]).await;
    let case = case_id("TERUG");
    let link = app.dossier_with_request(&case).await;
    let sent = app.deliver(&link, "besluit.pdf", b"%PDF-1.7 besluit").await;
    let before = app.get_dossier(&case).await;

    let closed = close(&app, &case, json!({"closed_at": "2020-01-01T00:00:00Z"})).await;
    let destroys_at: chrono::DateTime<Utc> =
        closed["destroys_at"].as_str().unwrap().parse().unwrap();
    assert!(
        destroys_at >= clock.now_utc() + chrono::Duration::hours(24),
        "a day to undo a mistaken close: {destroys_at}"
    );
    assert_eq!(
        closed["closes_at"], "2020-01-31T00:00:00Z",
        "the link reads for 30 days after the handling date: here already past"
    );
    assert_eq!(
        app.client.get(&link).send().await.unwrap().status(),
        StatusCode::GONE
    );

    clock.advance(chrono::Duration::minutes(1));
    assert!(matches!(purge(&app, &case).await, JobOutcome::Skipped(_)));
    assert_eq!(dossier_status(&app, &case).await, StatusCode::OK);

    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/reopen"))
        .send()
        .await
        .unwrap();
    let reopened = json_answer(res, StatusCode::OK).await;
    assert_eq!(reopened["status"], "open");
    assert!(reopened["destroys_at"].is_null() && reopened["closes_at"].is_null());
    let after = app.get_dossier(&case).await;
    for part in ["requests", "deliveries", "documents", "title", "remarks"] {
        assert_eq!(after[part], before[part], "{part} restored");
    }
    assert_eq!(app.download(&case, &sent.id).await, sent.bytes);
    assert_eq!(app.portal_view(&link).await["accepting"], true);

    // Left closed, it goes once the day has passed.
    close(&app, &case, json!({"closed_at": "2020-01-01T00:00:00Z"})).await;
    clock.advance(chrono::Duration::hours(25));
    assert_eq!(purge(&app, &case).await, JobOutcome::Done);
    assert_eq!(dossier_status(&app, &case).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_case_type_kept_zero_days_is_destroyed_by_the_next_timer_tick_after_close() {
    // The local timer (the embedded scheduler) is what runs the destruction here; the emulators'
    // scheduler never fires, so this runs on the embedded backend whatever the environment says.
    let app =
        spawn_with_settings(&[("PORTAAL_BACKEND", "embedded"), ("PORTAAL_TICK_MS", "200")]).await;
    let res = app
        .api(Method::PATCH, "/case-types/bezwaar")
        .json(&json!({"close_after_days": 0, "destroy_after_days": 0}))
        .send()
        .await
        .unwrap();
    let saved = json_answer(res, StatusCode::OK).await;
    assert_eq!(saved["destroy_after_days"], 0);
    let case = case_id("NUL");
    let link = app.dossier_with_request(&case).await;
    app.deliver(&link, "besluit.pdf", b"%PDF-1.7 nul dagen")
        .await;
    let closed = close(&app, &case, json!({})).await;
    assert_eq!(closed["destroys_at"], closed["closed_at"]);
    let started = std::time::Instant::now();
    while dossier_status(&app, &case).await == StatusCode::OK {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the timer did not destroy the dossier"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(dossier_status(&app, &case).await, StatusCode::NOT_FOUND);
    eprintln!(
        "destroyed {} ms after the close answered",
        started.elapsed().as_millis()
    );
}

#[tokio::test]
async fn retention_terms_are_checked_when_a_case_type_is_saved() {
    let app = spawn_with_settings(&[]).await;
    let res = app
        .api(Method::PATCH, "/case-types/klacht")
        .json(&json!({"close_after_days": 60, "destroy_after_days": 30}))
        .send()
        .await
        .unwrap();
    let problem = json_answer(res, StatusCode::BAD_REQUEST).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("destroy_after_days"),
        "{problem}"
    );
    let klacht = app
        .api(Method::GET, "/case-types/klacht")
        .send()
        .await
        .unwrap();
    let klacht = json_answer(klacht, StatusCode::OK).await;
    assert_eq!(
        (&klacht["close_after_days"], &klacht["destroy_after_days"]),
        (&json!(30), &json!(90)),
        "the defaults, unchanged by the refused patch"
    );
}
