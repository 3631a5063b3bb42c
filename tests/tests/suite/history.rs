//! The dossier's history is paged (issue 11): its views read the dossier's items and the newest
//! page of events, never the rest of the history nor any mail, so a view costs one store call
//! and at most `VIEW_READ` items with 500 events as with 10. Older pages follow `timeline_next`. Counted on the real SQLite store through the counting decorator.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use portaal_core::Portaal;
use portaal_core::domain::{CaseId, Id};
use portaal_core::model::{Actor, Event, EventKind, Record, keys};
use portaal_core::ports::Clock;
use portaal_core::ports::{Item, Store, Write};
use portaal_core::usecases::dossier::DossierInput;
use portaal_core::usecases::timeline::{TIMELINE_PAGE, VIEW_READ, parse_cursor};
use portaal_core::views::DossierView;
use portaal_infra::embedded::SqliteStore;
use portaal_tests::{ManualClock, TempDir};
use serde_json::json;

use crate::scale::CountingStore;

struct Dossier {
    _dir: TempDir,
    store: Arc<CountingStore>,
    portaal: Portaal,
    case: CaseId,
}

/// A dossier with a request whose mail failed, then `updates` changes of its title (an event
/// each), and 50 mails of 20 kB each kept with it.
async fn dossier_with_history(updates: usize) -> Dossier {
    let dir = TempDir::new("history");
    let store = Arc::new(CountingStore::new(Arc::new(
        SqliteStore::open(&dir.0.join("db.sqlite3")).unwrap(),
    )));
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 17, 8, 0, 0).unwrap(),
    ));
    let portaal = portaal_tests::embedded_portaal(&dir.0, store.clone(), clock.clone());
    let case = CaseId::parse("BZ-HISTORY-1").unwrap();
    let mut body = portaal_tests::dossier_body();
    portaal
        .put_dossier(&case, &serde_json::from_value(body.clone()).unwrap())
        .await
        .unwrap();
    let request = portaal
        .create_request(&case, &portaal_tests::request_to_vergunningen("2026-11-20"))
        .await
        .unwrap();
    // The request mail bounced for good: its failure must show however old it gets (written
    // where the outbox writes it).
    let failed = Event {
        id: Id::new_at(clock.now()),
        at: clock.now(),
        kind: EventKind::MailFailed,
        actor: Actor::System,
        actor_name: None,
        request_id: Some(request.id.clone()),
        delivery_id: None,
        publication_id: None,
        document_id: None,
        summary: "Mail niet bezorgd (request): 550".into(),
    };
    store
        .transact(vec![Write::create(
            failed.to_item(keys::dossier(&case), keys::event(&failed)),
        )])
        .await
        .unwrap();
    for n in 0..updates {
        clock.advance(chrono::Duration::seconds(1));
        body["title"] = json!(format!("Bezwaar, versie {n}"));
        let input: DossierInput = serde_json::from_value(body.clone()).unwrap();
        portaal.put_dossier(&case, &input).await.unwrap();
    }
    let bulky: Vec<Write> = (0..50)
        .map(|n| {
            let mut attrs = serde_json::Map::new();
            attrs.insert("text".into(), json!("x".repeat(20_000)));
            let sk = keys::mail(&Id::new_at(Utc.timestamp_opt(n, 0).unwrap()));
            Write::put(Item::new(keys::dossier(&case), sk, attrs))
        })
        .collect();
    store.transact(bulky).await.unwrap();
    store.take();
    Dossier {
        _dir: dir,
        store,
        portaal,
        case,
    }
}

impl Dossier {
    async fn view(&self) -> (DossierView, BTreeMap<&'static str, u64>) {
        self.store.take();
        let view = self.portaal.get_dossier(&self.case).await.unwrap();
        (view, self.store.take())
    }

    /// How many events the dossier holds, wherever they are kept.
    async fn events(&self) -> usize {
        let pk = keys::dossier(&self.case);
        let mut count = 0;
        for prefix in [keys::EVENT, keys::PAGE_EVENT] {
            count += self.store.query(&pk, prefix).await.unwrap().len();
        }
        count
    }
}

#[tokio::test]
async fn a_view_reads_the_newest_page_of_history_and_no_mail_however_long_the_history() {
    let few = dossier_with_history(10).await;
    let many = dossier_with_history(500).await;
    let (small, few_calls) = few.view().await;
    let (large, many_calls) = many.view().await;
    let calls = |c: &BTreeMap<&'static str, u64>| {
        c.iter()
            .filter(|(k, _)| **k != "items read")
            .map(|(k, v)| (*k, *v))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        calls(&few_calls),
        calls(&many_calls),
        "the same store calls with 10 and 500 events"
    );
    assert_eq!(
        calls(&many_calls),
        [("page", 1)],
        "one read: the dossier's items, then its newest events"
    );
    assert!(
        many_calls["items read"] <= VIEW_READ as u64,
        "never more than one view read of items, however long the history (no mail): {many_calls:?}"
    );
    assert_eq!(small.timeline.len(), few.events().await, "every event");
    assert_eq!(small.timeline_next, None);
    assert_eq!(large.timeline.len(), TIMELINE_PAGE);
    assert!(
        large.timeline.windows(2).all(|w| w[0].id < w[1].id),
        "oldest first"
    );
    assert_eq!(
        large.timeline.last().unwrap().summary,
        "Bezwaar, versie 499",
        "the newest events"
    );
    assert_eq!(
        large.requests[0].mail_failures.len(),
        1,
        "a mail failure older than the page still shows with its request"
    );
}

#[tokio::test]
async fn older_history_pages_back_to_the_start_without_gaps_or_repeats() {
    let d = dossier_with_history(250).await;
    let (view, _) = d.view().await;
    let mut all = view.timeline.clone();
    let mut next = view.timeline_next.clone();
    let mut pages = 0;
    while let Some(cursor) = next {
        let page = d
            .portaal
            .events_before(&d.case, &parse_cursor(&cursor).unwrap())
            .await
            .unwrap();
        assert!(page.events.len() <= TIMELINE_PAGE);
        all.splice(0..0, page.events);
        next = page.next;
        pages += 1;
    }
    let events = d.events().await;
    assert!(events > 250);
    assert_eq!(
        pages,
        events.div_ceil(TIMELINE_PAGE) - 1,
        "the view, then pages"
    );
    assert_eq!(all.len(), events, "every event once");
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "in order, no repeats"
    );
    assert!(
        parse_cursor("not-a-cursor").is_err(),
        "a malformed cursor is refused"
    );
}

#[tokio::test]
async fn the_timeline_routes_page_back_and_refuse_a_bad_cursor() {
    let app = portaal_tests::spawn_app().await;
    let case = portaal_tests::case_id("HISTORY");
    let link = app.dossier_with_request(&case).await;
    let dossier = app.get_dossier(&case).await;
    assert_eq!(
        dossier["timeline_next"],
        serde_json::Value::Null,
        "one page"
    );
    let newest = dossier["timeline"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = |path: String| app.api(reqwest::Method::GET, &path).send();

    // The portal page shows an older page of history at ?before=, with a way back.
    let page = |query: String, accept: &'static str| {
        app.client
            .get(format!("{link}{query}"))
            .header("accept", accept)
            .send()
    };
    let older = page(format!("?before={newest}"), "text/html")
        .await
        .unwrap();
    assert_eq!(older.status(), reqwest::StatusCode::OK);
    assert!(
        older
            .text()
            .await
            .unwrap()
            .contains("Nieuwste gebeurtenissen")
    );
    let bad = page("?before=gisteren".into(), "application/json")
        .await
        .unwrap();
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);

    // Before the newest event: the older ones, and no page before them.
    let res = get(format!("/dossiers/{case}/timeline?before={newest}"))
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let page: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        page["events"].as_array().unwrap().len(),
        dossier["timeline"].as_array().unwrap().len() - 1
    );
    assert_eq!(page["next"], serde_json::Value::Null);

    for (query, says) in [
        ("", "before is required"),
        ("?before=gisteren", "not a timeline cursor"),
    ] {
        let res = get(format!("/dossiers/{case}/timeline{query}"))
            .await
            .unwrap();
        let problem = portaal_tests::problem(res, reqwest::StatusCode::BAD_REQUEST).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{query}: {problem}"
        );
    }
    let res = get(format!(
        "/dossiers/{}/timeline?before={newest}",
        portaal_tests::case_id("NONE")
    ))
    .await
    .unwrap();
    portaal_tests::problem(res, reqwest::StatusCode::NOT_FOUND).await;

    // Through the link: the request's own part of the same history.
    let res = app
        .client
        .get(format!("{link}/timeline?before={newest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let page: serde_json::Value = res.json().await.unwrap();
    assert!(
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "mail_failed"),
        "{page}"
    );
    let res = app
        .client
        .get(format!("{link}/timeline?before=x"))
        .send()
        .await
        .unwrap();
    portaal_tests::problem(res, reqwest::StatusCode::BAD_REQUEST).await;
}
