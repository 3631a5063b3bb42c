//! Reminders without surprises, with a clock the test moves: after downtime the steps that were
//! missed collapse into the latest one due (a herinnering never after the due date), and an
//! older step never goes out after a later one.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use portaal_core::Portaal;
use portaal_core::domain::CaseId;
use portaal_core::ports::Store;
use portaal_core::usecases::dossier::DossierInput;
use portaal_core::usecases::lifecycle::JobOutcome;
use portaal_infra::embedded::SqliteStore;
use portaal_tests::{ManualClock, TempDir};

struct Fixture {
    portaal: Portaal,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    _dir: TempDir,
}

fn fixture() -> Fixture {
    let dir = TempDir::new("reminders");
    let db = dir.0.join("db.sqlite3");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
    ));
    let portaal = portaal_tests::embedded_portaal(&dir.0, store.clone(), clock.clone());
    Fixture {
        portaal,
        store,
        clock,
        _dir: dir,
    }
}

impl Fixture {
    /// A bezwaar with one request due on 2026-11-20 (default steps: 2 days before, 1 after).
    async fn request(&self, case: &CaseId) -> portaal_core::domain::Id {
        let input: DossierInput = serde_json::from_value(portaal_tests::dossier_body()).unwrap();
        self.portaal.put_dossier(case, &input).await.unwrap();
        let request = self
            .portaal
            .create_request(case, &portaal_tests::request_to_vergunningen("2026-11-20"))
            .await
            .unwrap();
        request.id
    }

    async fn reminders(&self, case: &CaseId) -> Vec<String> {
        self.store
            .query(&format!("DOSSIER#{case}"), portaal_core::model::keys::MAIL)
            .await
            .unwrap()
            .iter()
            .filter_map(|m| m.str_attr("kind").map(str::to_owned))
            .filter(|k| k.starts_with("reminder"))
            .collect()
    }
}

fn dutch(day: u32, hour: u32) -> DateTime<Utc> {
    // November: CET, UTC+1.
    Utc.with_ymd_and_hms(2026, 11, day, hour - 1, 0, 0).unwrap()
}

#[tokio::test]
async fn after_downtime_only_the_latest_step_due_is_sent() {
    let f = fixture();
    let case = CaseId::parse("BZ-REM-1").unwrap();
    let id = f.request(&case).await;
    // Down from before the herinnering (18 Nov 08:00) until after the rappel (21 Nov 08:00):
    // both jobs fire on restart, in order.
    f.clock.set(dutch(21, 10));
    let herinnering = f.portaal.send_reminder(&case, &id, -2).await.unwrap();
    assert!(
        matches!(herinnering, JobOutcome::Skipped(_)),
        "{herinnering:?}"
    );
    assert_eq!(
        f.portaal.send_reminder(&case, &id, 1).await.unwrap(),
        JobOutcome::Done
    );
    assert_eq!(f.reminders(&case).await, ["reminder_overdue"]);
}

#[tokio::test]
async fn a_missed_herinnering_still_goes_out_before_the_due_date_and_never_after_the_rappel() {
    let f = fixture();
    let case = CaseId::parse("BZ-REM-2").unwrap();
    let id = f.request(&case).await;
    // Down over the herinnering's time, back on the due date: it is still worth sending.
    f.clock.set(dutch(20, 9));
    assert_eq!(
        f.portaal.send_reminder(&case, &id, -2).await.unwrap(),
        JobOutcome::Done
    );
    // The rappel, then a late duplicate of the herinnering: the herinnering is not sent again,
    // and never after the rappel.
    f.clock.set(dutch(21, 8) + Duration::minutes(1));
    assert_eq!(
        f.portaal.send_reminder(&case, &id, 1).await.unwrap(),
        JobOutcome::Done
    );
    assert!(matches!(
        f.portaal.send_reminder(&case, &id, -2).await.unwrap(),
        JobOutcome::Skipped(_)
    ));
    assert_eq!(
        f.reminders(&case).await,
        ["reminder_before", "reminder_overdue"]
    );
}

/// Every change to a request or dossier leaves exactly the schedules it should, at the times it
/// should: through the HTTP API of a whole `System` whose clock the test sets.
#[tokio::test]
async fn schedules_follow_every_change_of_request_and_dossier() {
    use portaal_core::ports::Job;
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    let now = Utc.with_ymd_and_hms(2026, 11, 10, 10, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let app = portaal_tests::spawn_with_clock(clock.clone(), &[]).await;
    let system = &app.running.state.system;
    let case_str = portaal_tests::case_id("SCHED");
    let case = CaseId::parse(&case_str).unwrap();
    assert_eq!(
        app.put_dossier(&case_str).await.status(),
        StatusCode::CREATED
    );
    let res = app
        .api(Method::POST, &format!("/dossiers/{case_str}/requests"))
        .json(&json!({"department": "Vergunningen", "to": ["vergunningen@example.nl"], "due": "2026-11-20"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let request: serde_json::Value = res.json().await.unwrap();
    let request_id = portaal_core::domain::Id::parse(request["id"].as_str().unwrap()).unwrap();

    let at = |y, m, d, h| Some(Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap());
    let schedules = || async {
        let mut times = Vec::new();
        for job in [
            Job::Reminder {
                case_id: case.clone(),
                request_id: request_id.clone(),
                step: -2,
            },
            Job::Reminder {
                case_id: case.clone(),
                request_id: request_id.clone(),
                step: 1,
            },
            Job::Overdue {
                case_id: case.clone(),
                request_id: request_id.clone(),
            },
            Job::Purge {
                case_id: case.clone(),
            },
        ] {
            times.push(system.scheduler.scheduled_at(&job).await.unwrap());
        }
        times
    };
    // 08:00 Dutch time (07:00 UTC in winter) two days before and one day after the due date;
    // the overdue report at midnight after it.
    assert_eq!(
        schedules().await,
        [
            at(2026, 11, 18, 7),
            at(2026, 11, 21, 7),
            at(2026, 11, 20, 23),
            None
        ],
        "after the request is made"
    );

    let res = app
        .patch_request(&case_str, request_id.as_str(), json!({"due": "2026-11-27"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        schedules().await,
        [
            at(2026, 11, 25, 7),
            at(2026, 11, 28, 7),
            at(2026, 11, 27, 23),
            None
        ],
        "after the due date moved"
    );

    let res = app
        .patch_request(
            &case_str,
            request_id.as_str(),
            json!({"state": "withdrawn"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        schedules().await,
        [None, None, None, None],
        "after the withdrawal"
    );

    clock.set(Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap());
    let closed = app.close(&case_str, None).await;
    let destroy_at: DateTime<Utc> = closed["destroys_at"].as_str().unwrap().parse().unwrap();
    let closes_at: DateTime<Utc> = closed["closes_at"].as_str().unwrap().parse().unwrap();
    let bezwaar = portaal_core::casetype::default_for("bezwaar").unwrap();
    assert_eq!(
        destroy_at,
        clock.now_utc() + Duration::days(bezwaar.destroy_days().into())
    );
    assert_eq!(
        closes_at,
        clock.now_utc() + Duration::days(bezwaar.close_after_days.into())
    );
    assert_eq!(closed["expires_at"], closed["destroys_at"]);
    assert_eq!(schedules().await[3], Some(destroy_at), "after the close");

    let res = app
        .api(Method::POST, &format!("/dossiers/{case_str}/reopen"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(schedules().await[3], None, "after the reopen");

    app.close(&case_str, None).await;
    let res = app
        .api(Method::PUT, &format!("/dossiers/{case_str}/hold"))
        .json(&json!({"reason": "WOB-procedure loopt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Long after the destruction date the hold is lifted: destruction follows at once.
    let later = destroy_at + Duration::days(10);
    clock.set(later);
    let res = app
        .api(Method::DELETE, &format!("/dossiers/{case_str}/hold"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        schedules().await[3],
        Some(later),
        "after the hold is lifted"
    );
}
