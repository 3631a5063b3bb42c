//! Every sample event in `events/` goes through the real handler (case number, ids and the link
//! token swapped for ones this test created), on the backend the environment chooses (embedded by
//! default; `PORTAAL_BACKEND=aws` on the emulators).

use aws_lambda_events::dynamodb::Event as StreamEvent;
use portaal_core::domain::CaseId;
use portaal_core::model::keys;
use portaal_core::ports::{Condition, Job, Write};
use portaal_core::usecases::dossier::DossierInput;
use portaal_core::usecases::lifecycle::{CloseInput, JobOutcome};
use portaal_infra::System;
use portaal_tests::{ManualClock, TempDir, case_id, embedded_config, test_config};
use portal::AppState;
use purge::PurgeTrigger;
use std::sync::Arc;
use tower::ServiceExt;

mod notifications;
mod scheduled;

/// The case number the fixtures carry; each test swaps in its own.
const FIXTURE_CASE: &str = "BZ-2026-0042";
const FIXTURE_TOKEN: &str = "TOKENTOKENTOKENTOKENTOKENTOKENTOKENTOKEN123";
const FIXTURE_MAIL_ID: &str = "01JDXQ6Y3V8M5R2K9T4W7Z1B0C";
const FIXTURE_REQUEST_ID: &str = "01JDXQ6Y3V8M5R2K9T4W7Z1B0D";

/// A system as a Lambda sees it (no bearer key: API Gateway checked IAM; the stage in the public
/// URL), and the case number this test uses.
async fn lambda_system(dir: &TempDir) -> (System, String) {
    let (system, case, _) = lambda_system_with_clock(dir).await;
    (system, case)
}

/// As [`lambda_system`], with every use case on a clock the test moves.
async fn lambda_system_with_clock(dir: &TempDir) -> (System, String, Arc<ManualClock>) {
    let url = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod";
    let config = if std::env::var("PORTAAL_BACKEND").as_deref() == Ok("aws") {
        // A table of its own: the outbox a sweep reads and the feed are global partitions.
        let table = portaal_tests::own_table();
        test_config(&dir.0, url, &[("PORTAAL_TABLE", &table)])
    } else {
        embedded_config(&dir.0, url)
    };
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut system = System::build(config)
        .await
        .unwrap()
        .with_clock(clock.clone());
    system.api_auth = portaal_infra::ApiAuth::GatewayIam;
    (system, case_id("BZ"), clock)
}

/// A sample event with this test's case number.
fn fixture(text: &str, case: impl AsRef<str>) -> String {
    text.replace(FIXTURE_CASE, case.as_ref())
}

/// The mails the transport sent about this case.
async fn sent_mails(system: &System, case: &str) -> Vec<serde_json::Value> {
    let all: Vec<serde_json::Value> = match &system.embedded {
        Some(e) => e
            .mailer
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect(),
        None => portaal_tests::contract::aws_sent_mails().await,
    };
    all.into_iter()
        .filter(|m| m.to_string().contains(case))
        .collect()
}

/// How many `dossier.destroyed` events of this case exist, pending or in the feed.
async fn destroyed_events(system: &System, case: &str) -> usize {
    use portaal_core::events::keys as feed_keys;
    let pending = system
        .store
        .query_index(portaal_core::ports::IndexQuery {
            index: portaal_core::ports::Index::Outbox,
            pk: feed_keys::PENDING_INDEX,
            upto: None,
            limit: 100_000,
        })
        .await
        .unwrap();
    let sequenced = system.store.query(feed_keys::FEED, "").await.unwrap();
    pending
        .iter()
        .chain(sequenced.iter())
        .filter(|i| i.attrs["type"] == "dossier.destroyed" && i.attrs["data"]["case_id"] == case)
        .count()
}

/// This case's destruction record.
async fn destruction_of(system: &System, case: &str) -> Option<portaal_core::model::Destruction> {
    let query = portaal_core::usecases::records::DestructionQuery {
        case_id: Some(case.to_owned()),
        ..Default::default()
    };
    let page = system.portaal.destructions_page(&query).await.unwrap();
    assert!(page.items.len() <= 1, "one record per case");
    page.items.into_iter().next()
}

/// The dossier of the fixtures, with one request; answers its link token and request id.
async fn dossier_with_request(system: &System, case: &str) -> (String, String) {
    let case = CaseId::parse(case).unwrap();
    let input: DossierInput = serde_json::from_value(portaal_tests::dossier_body()).unwrap();
    system.portaal.put_dossier(&case, &input).await.unwrap();
    let request = system
        .portaal
        .create_request(&case, &portaal_tests::request_to_vergunningen("2099-12-31"))
        .await
        .unwrap();
    let token = request
        .portal_url
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    (token, request.id.to_string())
}

async fn body_text<B>(res: lambda_http::http::Response<B>) -> String
where
    B: http_body_util::BodyExt,
    B::Error: std::fmt::Debug,
{
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// lambda_http routes API Gateway's path without the stage only when told to: the template tells
/// the portal function, and these tests run the same way (`.cargo/config.toml`).
#[test]
fn the_portal_function_and_these_tests_route_without_the_stage() {
    let name = portal::lambda::IGNORE_STAGE_IN_PATH;
    assert!(
        std::env::var_os(name).is_some(),
        "{name} is set for the tests"
    );
    let template = include_str!("../../../../template.yaml");
    let portal: Vec<&str> = template
        .lines()
        .skip_while(|l| *l != "  Portal:")
        .skip(1)
        .take_while(|l| !(l.starts_with("  ") && !l.starts_with("   ") && l.ends_with(':')))
        .collect();
    assert!(!portal.is_empty(), "the template has the Portal function");
    assert!(
        portal
            .iter()
            .any(|l| l.trim() == format!("{name}: \"true\"")),
        "the template sets {name} on the Portal function"
    );
}

#[tokio::test]
async fn the_portal_page_event_is_served_through_the_stage_prefix() {
    let dir = TempDir::new("ev-portal");
    let (system, case) = lambda_system(&dir).await;
    let (token, _) = dossier_with_request(&system, &case).await;
    let event = &fixture(include_str!("../../../../events/portal-page.json"), &case)
        .replace(FIXTURE_TOKEN, &token);
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway REST event");
    let res = portal::lambda::service(AppState::new(system))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["api-version"], "1");
    let html = body_text(res).await;
    assert!(
        html.contains("Bevestigen en versturen"),
        "the portal page is served"
    );
    assert!(
        html.contains("/prod/assets/portal.css"),
        "assets are linked under the stage"
    );
}

#[tokio::test]
async fn the_api_event_of_an_iam_caller_reads_the_dossier() {
    let dir = TempDir::new("ev-api");
    let (system, case) = lambda_system(&dir).await;
    dossier_with_request(&system, &case).await;
    let request = lambda_http::request::from_str(&fixture(
        include_str!("../../../../events/api-get-dossier.json"),
        &case,
    ))
    .unwrap();
    let res = portal::lambda::service(AppState::new(system))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
    assert_eq!(body["case_id"], case.as_str());
    assert_eq!(body["requests"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn without_a_public_url_links_are_made_for_the_host_and_stage_the_request_came_through() {
    let dir = TempDir::new("ev-host");
    let (system, case) = lambda_system(&dir).await;
    let case = CaseId::parse(&case).unwrap();
    let input: DossierInput = serde_json::from_value(portaal_tests::dossier_body()).unwrap();
    system.portaal.put_dossier(&case, &input).await.unwrap();
    let mut state = AppState::new(system);
    state.public_url_from_request = true;
    // The API event, turned into the POST that asks for documents.
    let mut event: serde_json::Value = serde_json::from_str(&fixture(
        include_str!("../../../../events/api-get-dossier.json"),
        &case,
    ))
    .unwrap();
    event["httpMethod"] = "POST".into();
    event["path"] = format!("/api/v1/dossiers/{case}/requests").into();
    event["headers"]["Content-Type"] = "application/json".into();
    event["multiValueHeaders"]["Content-Type"] = serde_json::json!(["application/json"]);
    event["body"] = serde_json::json!({"department": "Vergunningen", "to": ["v@example.nl"], "due": "2099-01-01"}).to_string().into();
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let res = portal::lambda::service(state)
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
    let url = body["portal_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod/p/"),
        "{url}"
    );
}
