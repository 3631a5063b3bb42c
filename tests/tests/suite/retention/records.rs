//! Destruction records: found by case, paged by date, given as CSV, and moved from the bare
//! hash to the keyed reference.

use std::sync::Arc;

use chrono::Utc;
use portaal_core::usecases::lifecycle::JobOutcome;
use portaal_tests::{ManualClock, case_id, json_answer, spawn_with_clock, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::follow_pages;

/// A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF rows).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (c, _) => field.push(c),
        }
    }
    rows
}

#[tokio::test]
async fn destruction_records_are_found_by_case_paged_by_date_and_given_as_csv() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = spawn_with_clock(clock.clone(), &[]).await;
    let cases: Vec<String> = (0..3).map(|i| case_id(&format!("ARCH{i}"))).collect();
    for case in &cases {
        app.dossier_with_request(case).await;
        app.close(case, Some(json!({"closed_at": "2020-01-01T00:00:00Z"})))
            .await;
    }
    clock.advance(chrono::Duration::hours(25));
    for case in &cases {
        assert_eq!(app.purge(case).await, JobOutcome::Done);
        clock.advance(chrono::Duration::seconds(1));
    }
    let today = portaal_core::localtime::dutch_today(clock.now_utc()).to_string();

    // Page through today's records, one at a time, by the Link header.
    let url = format!(
        "{}/api/v1/destructions?from={today}&to={today}&limit=1",
        app.base
    );
    let seen: Vec<Value> = follow_pages(&app, url)
        .await
        .iter()
        .flat_map(|p| p.as_array().expect("still an array").clone())
        .collect();
    let mine: Vec<&Value> = seen
        .iter()
        .filter(|r| r["case_type"] == "bezwaar")
        .collect();
    assert!(mine.len() >= 3, "{seen:#?}");

    // One case's record, found by its case number.
    let res = app
        .api(Method::GET, &format!("/destructions?case_id={}", cases[1]))
        .send()
        .await
        .unwrap();
    let one = json_answer(res, StatusCode::OK).await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert!(seen.iter().any(|r| r["case_ref"] == one[0]["case_ref"]));
    let res = app
        .api(Method::GET, "/destructions?case_id=BZ-0000-NOOIT")
        .send()
        .await
        .unwrap();
    assert_eq!(json_answer(res, StatusCode::OK).await, json!([]));

    // Yesterday holds none of them; nonsense is refused.
    let yesterday =
        portaal_core::localtime::dutch_today(clock.now_utc() - chrono::Duration::days(1));
    let res = app
        .api(
            Method::GET,
            &format!("/destructions?from={yesterday}&to={yesterday}"),
        )
        .send()
        .await
        .unwrap();
    let none = json_answer(res, StatusCode::OK).await;
    assert!(
        none.as_array()
            .unwrap()
            .iter()
            .all(|r| one[0]["case_ref"] != r["case_ref"])
    );
    for bad in [
        "from=gisteren",
        "from=2026-12-02&to=2026-12-01",
        "after=BZ-1",
        "limit=0",
    ] {
        let res = app
            .api(Method::GET, &format!("/destructions?{bad}"))
            .send()
            .await
            .unwrap();
        let problem = json_answer(res, StatusCode::BAD_REQUEST).await;
        assert!(problem["detail"].is_string(), "{bad}: {problem}");
    }

    // The same list as CSV, for the archivist to sign off.
    let res = app
        .api(
            Method::GET,
            &format!("/destructions?from={today}&to={today}"),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let rows = parse_csv(&res.text().await.unwrap());
    assert_eq!(rows[0][0], "case_ref");
    assert!(rows[0].contains(&"destroyed_at".to_owned()));
    assert!(rows.len() > 3, "a header and the records: {rows:?}");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{rows:?}");
    let case_ref_column = 0;
    assert!(
        rows.iter()
            .any(|r| r[case_ref_column] == one[0]["case_ref"].as_str().unwrap())
    );
}

#[tokio::test]
async fn records_that_held_the_bare_hash_move_to_the_keyed_reference() {
    let app = spawn_with_settings(&[]).await;
    let system = &app.running.state.system;
    let case = case_id("OUD");
    let hash = portaal_tests::sha256_hex(case.as_bytes());
    let old = json!({
        "case_hash": hash, "case_type": "klacht", "closed_at": "2025-01-01T00:00:00Z",
        "destroyed_at": "2026-01-01T00:00:00Z", "items": 7, "files": 2
    });
    let item = portaal_core::ports::Item::new(
        "DESTRUCTION",
        format!("DESTRUCTION#{hash}"),
        old.as_object().unwrap().clone(),
    );
    system
        .store
        .transact(vec![portaal_core::ports::Write::put(item)])
        .await
        .unwrap();

    let res = app
        .api(Method::GET, &format!("/destructions?case_id={case}"))
        .send()
        .await
        .unwrap();
    let found = json_answer(res, StatusCode::OK).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["case_type"], "klacht");
    assert_eq!(found[0]["items"], 7);
    assert!(found[0].get("case_hash").is_none());
    assert_ne!(found[0]["case_ref"], hash);
    let stored = system.store.query("DESTRUCTION", "").await.unwrap();
    assert!(
        stored
            .iter()
            .all(|i| !i.sk.contains(&hash)
                && !serde_json::to_string(&i.attrs).unwrap().contains(&hash)),
        "the bare hash is gone from the store"
    );
    let res = app
        .api(Method::GET, "/destructions?from=2026-01-01&to=2026-01-01")
        .send()
        .await
        .unwrap();
    let listed = json_answer(res, StatusCode::OK).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["case_ref"] == found[0]["case_ref"]),
        "and listed by its date: {listed}"
    );
}
