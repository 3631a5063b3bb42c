//! Closing, destruction and the audit trail, as a records manager checks them, on the backend
//! `PORTAAL_BACKEND` names (embedded by default; the emulators with `aws`).

mod audit;
mod records;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use portaal_core::domain::CaseId;
use portaal_core::ports::Job;
use portaal_core::usecases::lifecycle::JobOutcome;
use portaal_tests::{
    ManualClock, TestApp, case_id, files_under, json_answer, spawn_with_clock, spawn_with_settings,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn dossier_status(app: &TestApp, case: &str) -> StatusCode {
    app.api(Method::GET, &format!("/dossiers/{case}"))
        .send()
        .await
        .unwrap()
        .status()
}

/// Every page of a list from `url` on, each followed by its `Link: rel=next`.
async fn follow_pages(app: &TestApp, mut url: String) -> Vec<Value> {
    let mut pages = Vec::new();
    loop {
        let res = app
            .client
            .get(&url)
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap();
        let link = res
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        pages.push(json_answer(res, StatusCode::OK).await);
        let Some(link) = link else {
            return pages;
        };
        assert!(link.ends_with("; rel=\"next\""), "{link}");
        url = link[1..link.find('>').unwrap()].to_owned();
        assert!(pages.len() <= 20, "the pages end");
    }
}

#[tokio::test]
async fn a_backdated_close_is_undone_by_a_reopen_within_a_day_and_nothing_is_lost() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = spawn_with_clock(clock.clone(), &[]).await;
    let case = case_id("TERUG");
    let link = app.dossier_with_request(&case).await;
    let sent = app.deliver(&link, "besluit.pdf", b"%PDF-1.7 besluit").await;
    let before = app.get_dossier(&case).await;

    let closed = app
        .close(&case, Some(json!({"closed_at": "2020-01-01T00:00:00Z"})))
        .await;
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
    assert!(matches!(app.purge(&case).await, JobOutcome::Skipped(_)));
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
    app.close(&case, Some(json!({"closed_at": "2020-01-01T00:00:00Z"})))
        .await;
    clock.advance(chrono::Duration::hours(25));
    assert_eq!(app.purge(&case).await, JobOutcome::Done);
    assert_eq!(dossier_status(&app, &case).await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_case_type_kept_zero_days_is_destroyed_by_the_next_timer_tick_after_close() {
    // The local timer (the embedded scheduler) is what runs the destruction here; the emulators'
    // scheduler never fires, so this runs on the embedded backend whatever the environment says.
    let app =
        spawn_with_settings(&[("PORTAAL_BACKEND", "embedded"), ("PORTAAL_TICK_MS", "200")]).await;
    let saved = app.destroy_bezwaar_at_handling().await;
    assert_eq!(saved["destroy_after_days"], 0);
    let case = case_id("NUL");
    let link = app.dossier_with_request(&case).await;
    app.deliver(&link, "besluit.pdf", b"%PDF-1.7 nul dagen")
        .await;
    let closed = app.close(&case, Some(json!({}))).await;
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn destruction_leaves_nothing_of_the_dossier_but_its_record() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = spawn_with_clock(clock.clone(), &[]).await;
    let system = &app.running.state.system;
    let case = case_id("WEG");
    let unique = ulid::Ulid::new().to_string();
    let title = format!("Titel-{unique}");
    let remark = format!("Opmerking-{unique}");
    let submitter = format!("Indiener-{unique}");
    let mut body = portaal_tests::dossier_body();
    body["title"] = title.clone().into();
    body["remarks"] = remark.clone().into();
    body["submitter"]["name"] = submitter.clone().into();
    let res = app
        .api(Method::PUT, &format!("/dossiers/{case}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/requests"))
        .json(&json!({"department": "Vergunningen", "to": ["vergunningen@example.nl"], "due": "2099-12-31"}))
        .send()
        .await
        .unwrap();
    let link = json_answer(res, StatusCode::CREATED).await["portal_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = link.rsplit('/').next().unwrap().to_owned();

    let contents = |what: &str| format!("%PDF-1.7 {what}-{unique}").into_bytes();
    let confirmed = app
        .deliver(&link, "goedgekeurd.pdf", &contents("bevestigd"))
        .await;
    let rejected = app
        .upload(
            &link,
            "afgewezen.pdf",
            "application/pdf",
            contents("afgewezen"),
        )
        .await;
    let res = app.confirm(&link, &[&rejected.id]).await;
    let delivery = json_answer(res, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.reject(&case, &delivery, "Onleesbaar").await;
    let staged = app
        .upload(
            &link,
            "blijft-staan.pdf",
            "application/pdf",
            contents("klaargezet"),
        )
        .await;
    app.portal_view(&link).await;
    app.download(&case, &confirmed.id).await;
    app.mails(&case, 3).await;

    let typed = CaseId::parse(&case).unwrap();
    let id = |raw: &str| portaal_core::domain::Id::parse(raw).unwrap();
    use portaal_core::model::keys;
    let documents = system
        .store
        .query(&keys::dossier(&typed), keys::DOC)
        .await
        .unwrap();
    let blob_key = |doc: &str| -> String {
        let item = documents
            .iter()
            .find(|i| i.sk == keys::doc(&id(doc)))
            .expect("the document's item");
        item.attrs["blob_key"].as_str().unwrap().to_owned()
    };
    let blob_keys = [
        blob_key(&confirmed.id),
        blob_key(&rejected.id),
        blob_key(&staged.id),
    ];
    let present: Vec<bool> =
        futures_util::future::join_all(blob_keys.iter().map(|k| system.blobs.stat(k)))
            .await
            .into_iter()
            .map(|s| s.unwrap().is_some())
            .collect();
    assert_eq!(
        present,
        [true, false, true],
        "the confirmed and the staged file are stored; the rejected one's bytes went at rejection"
    );

    let request_id = id(app.get_dossier(&case).await["requests"][0]["id"]
        .as_str()
        .unwrap());
    let jobs = [
        Job::Reminder {
            case_id: typed.clone(),
            request_id: request_id.clone(),
            step: -2,
        },
        Job::Reminder {
            case_id: typed.clone(),
            request_id: request_id.clone(),
            step: 1,
        },
        Job::Overdue {
            case_id: typed.clone(),
            request_id,
        },
    ];
    let scheduled = || async {
        let mut found = Vec::new();
        for job in &jobs {
            found.push(system.scheduler.scheduled_at(job).await.unwrap().is_some());
        }
        found
    };
    assert_eq!(scheduled().await, [true, true, true], "reminders planned");

    app.close(&case, Some(json!({"closed_at": "2020-01-01T00:00:00Z"})))
        .await;
    clock.advance(chrono::Duration::hours(25));
    let due = clock.now_utc();
    assert_eq!(app.purge(&case).await, JobOutcome::Done);

    for key in &blob_keys {
        assert_eq!(system.blobs.stat(key).await.unwrap(), None, "{key}");
    }
    assert_eq!(scheduled().await, [false, false, false], "no schedule left");
    for prefix in keys::file_prefixes(&typed) {
        assert_eq!(
            system.blobs.delete_prefix(&prefix).await.unwrap(),
            0,
            "nothing left under {prefix}"
        );
    }
    for pk in [keys::dossier(&typed), keys::audit(&typed)] {
        assert!(
            system.store.query(&pk, "").await.unwrap().is_empty(),
            "no item left in {pk}"
        );
    }
    let token_hash = portaal_core::domain::LinkToken::parse(&token)
        .unwrap()
        .hash();
    let (pk, sk) = keys::token(&token_hash);
    assert_eq!(system.store.get(&pk, &sk).await.unwrap(), None);

    // The record: which rule, what went, and no way back to the case.
    let res = app
        .api(Method::GET, &format!("/destructions?case_id={case}"))
        .send()
        .await
        .unwrap();
    let records = json_answer(res, StatusCode::OK).await;
    let record = &records.as_array().expect("an array")[0];
    assert_eq!(record["case_type"], "bezwaar");
    assert_eq!(record["documents"], 3);
    assert_eq!(
        record["bytes"],
        confirmed.bytes.len() + rejected.bytes.len() + staged.bytes.len()
    );
    assert_eq!(
        (&record["close_after_days"], &record["destroy_after_days"]),
        (&json!(30), &json!(90))
    );
    let destroyed_at: chrono::DateTime<Utc> =
        record["destroyed_at"].as_str().unwrap().parse().unwrap();
    eprintln!(
        "destroyed {} ms after its destruction time (on the test clock)",
        (destroyed_at - due).num_milliseconds()
    );
    let text = record.to_string();
    for secret in [&case, &title, &submitter, &token] {
        assert!(!text.contains(secret.as_str()), "{secret} in {text}");
    }
    assert!(
        !text.contains(&portaal_tests::sha256_hex(case.as_bytes())),
        "not the bare hash of the case number"
    );

    if system.embedded.is_some() {
        let needles: Vec<(&str, Vec<u8>)> = vec![
            ("title", title.clone().into_bytes()),
            ("remark", remark.clone().into_bytes()),
            ("submitter", submitter.clone().into_bytes()),
            ("link token", token.clone().into_bytes()),
            ("confirmed file", confirmed.bytes.clone()),
            ("rejected file", rejected.bytes.clone()),
            ("staged file", staged.bytes.clone()),
        ];
        let mut remaining = 0;
        for path in files_under(&app.data_dir) {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            assert!(
                !path.to_string_lossy().contains(&case),
                "a path still names the case: {}",
                path.display()
            );
            for (what, needle) in &needles {
                if contains(&bytes, needle) {
                    remaining += needle.len();
                    eprintln!("{what} remains in {}", path.display());
                }
            }
        }
        eprintln!("bytes of the dossier remaining under the data directory: {remaining}");
        assert_eq!(remaining, 0);
    }
}

#[tokio::test]
async fn a_records_manager_lists_what_is_destroyed_soon_with_legal_holds() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = spawn_with_clock(clock.clone(), &[]).await;
    let now = clock.now_utc();
    let day = |d: i64| (now - chrono::Duration::days(d)).to_rfc3339();
    // Handled 80, 60 and 10 days ago: destroyed in 10, 30 and 80 days (90 days after handling).
    let soon = case_id("GAUW");
    let later = case_id("LATER");
    let held = case_id("HOLD");
    let open = case_id("OPEN");
    for (case, handled) in [(&later, 60), (&soon, 80), (&held, 10)] {
        app.dossier_with_request(case).await;
        app.close(case, Some(json!({"closed_at": day(handled)})))
            .await;
    }
    app.dossier_with_request(&open).await;
    let res = app
        .api(Method::PUT, &format!("/dossiers/{held}/hold"))
        .json(&json!({"reason": "Beroep ingesteld"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let list = |before: chrono::DateTime<Utc>| {
        let app = &app;
        async move {
            let date = portaal_core::localtime::dutch_today(before);
            let res = app
                .api(Method::GET, &format!("/dossiers?destroys_before={date}"))
                .send()
                .await
                .unwrap();
            let page = json_answer(res, StatusCode::OK).await;
            assert!(page["next"].is_null(), "one page holds them all: {page}");
            page["dossiers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| (d["case_id"].as_str().unwrap().to_owned(), d.clone()))
                .collect::<Vec<_>>()
        }
    };
    let within_40_days = list(now + chrono::Duration::days(40)).await;
    let ids: Vec<&str> = within_40_days.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(ids, [soon.as_str(), later.as_str()], "soonest first");
    assert!(within_40_days[0].1["destroys_at"].is_string());
    let all = list(now + chrono::Duration::days(100)).await;
    let ids: Vec<&str> = all.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(ids, [soon.as_str(), later.as_str(), held.as_str()]);
    assert_eq!(all[2].1["on_hold"], true);
    assert_eq!(all[2].1["hold"]["reason"], "Beroep ingesteld");

    let res = app
        .api(Method::GET, "/dossiers?destroys_before=-262143-01-01")
        .send()
        .await
        .unwrap();
    json_answer(res, StatusCode::BAD_REQUEST).await;
    let res = app
        .api(Method::GET, "/dossiers?destroys_before=morgen")
        .send()
        .await
        .unwrap();
    json_answer(res, StatusCode::BAD_REQUEST).await;
    let res = app
        .api(
            Method::GET,
            "/dossiers?destroys_before=2099-01-01&status=open",
        )
        .send()
        .await
        .unwrap();
    json_answer(res, StatusCode::BAD_REQUEST).await;
}

/// The holds the records manager lists, from the holds index: a hold set through the API is
/// listed with its reason and the dossier's current title, and gone when lifted; a hold set
/// before the index existed is indexed at the first listing.
#[tokio::test]
async fn legal_holds_are_listed_from_their_index_earlier_ones_included() {
    let app = portaal_tests::spawn_app().await;
    let portaal = &app.running.state.system.portaal;
    let store = app.running.state.system.store.clone();
    let held = case_id("HOLD-IDX");
    let earlier = case_id("HOLD-OLD");
    for case in [&held, &earlier] {
        app.dossier_with_request(case).await;
        let res = app
            .api(Method::PUT, &format!("/dossiers/{case}/hold"))
            .json(&json!({"reason": format!("Beroep ingesteld ({case})")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    // As a hold set before the index: its entry, and the marker that all were indexed, gone.
    store
        .transact(vec![
            portaal_core::ports::Write::delete(format!("DOSSIER#{earlier}"), "HOLD"),
            portaal_core::ports::Write::delete("CONFIG", "MIGRATION#holds-index"),
        ])
        .await
        .unwrap();
    let listed = |page: &portaal_core::usecases::lists::ListPage<
        portaal_core::model::HeldDossier,
    >|
     -> Vec<(String, String, String)> {
        page.items
            .iter()
            .map(|h| {
                (
                    h.case_id.to_string(),
                    h.title.clone(),
                    h.hold.reason.clone(),
                )
            })
            .collect()
    };
    let page = portaal.legal_holds(None, 1000).await.unwrap();
    let mine: Vec<_> = listed(&page)
        .into_iter()
        .filter(|(c, _, _)| c == held.as_str() || c == earlier.as_str())
        .collect();
    assert_eq!(mine.len(), 2, "both, the earlier one indexed now: {mine:?}");
    assert!(
        mine.iter()
            .all(|(c, _, reason)| reason.contains(c.as_str()))
    );

    // A new title shows in the list.
    let mut body = portaal_tests::dossier_body();
    body["title"] = json!("Bezwaar, nu met een andere titel");
    let res = app.put_dossier_with(&held, &body).await;
    assert!(res.status().is_success(), "{}", res.status());
    let page = portaal.legal_holds(None, 1000).await.unwrap();
    assert!(
        listed(&page)
            .iter()
            .any(|(c, title, _)| c == held.as_str() && title == "Bezwaar, nu met een andere titel"),
        "{:?}",
        listed(&page)
    );

    // Lifted: gone from the list.
    let res = app
        .api(Method::DELETE, &format!("/dossiers/{held}/hold"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let page = portaal.legal_holds(None, 1000).await.unwrap();
    assert!(!listed(&page).iter().any(|(c, _, _)| c == held.as_str()));
    assert!(listed(&page).iter().any(|(c, _, _)| c == earlier.as_str()));
}
