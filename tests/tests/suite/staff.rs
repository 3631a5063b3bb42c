//! The staff console against a real OpenID provider (`tests/oidc/provider.mjs`, oidc-provider):
//! sign-in through its login form, the work queue, `state` checks, role refusal, logout, and a
//! session that outlives the app that started it (it lives in the store).

use portaal_tests::oidc::{Browser, spawn_with_provider};
use portaal_tests::{case_id, pdf, spawn_app, spawn_for_base};
use reqwest::StatusCode;
use serde_json::json;

/// A dossier with a delivery awaiting review, and another whose request is due tomorrow.
async fn work_for_a_handler(app: &portaal_tests::TestApp) -> (String, String) {
    let delivered = case_id("STAFF-D");
    let link = app.dossier_with_request(&delivered).await;
    app.deliver(&link, "besluit.pdf", &pdf(b"besluit".to_vec()))
        .await;
    let due = case_id("STAFF-T");
    assert!(app.put_dossier(&due).await.status().is_success());
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let res = app
        .api(
            reqwest::Method::POST,
            &format!("/dossiers/{due}/requests"),
        )
        .json(&json!({"department": "Belastingen", "to": ["belastingen@example.nl"], "due": tomorrow}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    (delivered, due)
}

fn session_cookie(browser: &Browser) -> String {
    browser
        .cookies
        .get("portaal_staff")
        .cloned()
        .expect("a session cookie")
}

#[tokio::test]
async fn a_handler_signs_in_at_the_provider_and_sees_the_work_queue() {
    let (app, _) = spawn_with_provider(&[]).await;
    let (delivered, due) = work_for_a_handler(&app).await;
    // The client to the provider reads the system's roots: a department's pages never make it.
    let provider = app
        .running
        .state
        .oidc
        .clone()
        .expect("sign-in is configured");
    assert!(
        !provider.is_connected(),
        "a delivery made a client to the provider"
    );
    let mut browser = Browser::new();
    let back = browser
        .sign_in(&format!("{}/staff?lang=en", app.base), "handler")
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert!(provider.is_connected());
    assert_eq!(back.location.as_deref(), Some("/staff?lang=en"));
    let cookie = back
        .set_cookies
        .iter()
        .find(|c| c.starts_with("portaal_staff="))
        .expect("the session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http: no Secure flag ({cookie})"
    );
    let queue = browser.get(&format!("{}/staff?lang=en", app.base)).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("Work queue"), "{}", queue.body);
    assert!(
        queue.body.contains(&delivered),
        "the delivery awaits review"
    );
    assert!(queue.body.contains(&due), "the request is due tomorrow");
    assert!(queue.body.contains("Test handler"), "the user is named");
    let dutch = browser.get(&format!("{}/staff", app.base)).await;
    assert!(dutch.body.contains("Werkvoorraad") && dutch.body.contains("Termijnbewaking"));
    assert!(
        dutch.body.contains("/staff/dossiers/new") && dutch.body.contains("/staff/dossiers\""),
        "the work queue leads to the dossiers and the registration form"
    );
}

#[tokio::test]
async fn a_tampered_replayed_or_foreign_state_is_refused_with_400() {
    let (app, _) = spawn_with_provider(&[]).await;
    let mut browser = Browser::new();
    let callback = browser
        .to_callback(&format!("{}/staff", app.base), "handler")
        .await;
    let state = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // Tampered: another state, even when the browser's cookie says the same.
    let tampered = callback.replace(&state, &format!("{state}x"));
    let mut forger = Browser::new();
    forger
        .cookies
        .insert("portaal_staff_state".into(), format!("{state}x"));
    let answer = forger.get(&tampered).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(!forger.cookies.contains_key("portaal_staff"));
    // Foreign: the right state, but not started by this browser (no state cookie).
    let answer = Browser::new().get(&callback).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    // The real browser signs in once; the same answer again is refused.
    let saved_state_cookie = browser.cookies.get("portaal_staff_state").cloned();
    assert_eq!(browser.get(&callback).await.status, StatusCode::SEE_OTHER);
    if let Some(value) = saved_state_cookie {
        browser.cookies.insert("portaal_staff_state".into(), value);
    }
    browser.cookies.remove("portaal_staff");
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.body.contains("Aanmelding niet herkend"));
}

#[tokio::test]
async fn a_user_without_the_role_gets_403_naming_it_and_a_mapped_group_grants_it() {
    let (app, _) =
        spawn_with_provider(&[("PORTAAL_OIDC_ROLE_MAP", "handler=JZ-Behandelaar")]).await;
    let mut nobody = Browser::new();
    nobody
        .sign_in(&format!("{}/staff", app.base), "nobody")
        .await;
    let refused = nobody.get(&format!("{}/staff", app.base)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("behandelaar (handler)"),
        "{}",
        refused.body
    );
    // With the map, the plain value `handler` no longer counts; the group does.
    let mut plain = Browser::new();
    plain
        .sign_in(&format!("{}/staff", app.base), "handler")
        .await;
    assert_eq!(
        plain.get(&format!("{}/staff", app.base)).await.status,
        StatusCode::FORBIDDEN
    );
    let mut mapped = Browser::new();
    mapped
        .sign_in(&format!("{}/staff", app.base), "mapped")
        .await;
    assert_eq!(
        mapped.get(&format!("{}/staff", app.base)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn logout_needs_the_csrf_token_ends_the_session_and_the_providers() {
    let (app, _) = spawn_with_provider(&[]).await;
    let mut browser = Browser::new();
    browser
        .sign_in(&format!("{}/staff", app.base), "handler")
        .await;
    let page = browser.get(&format!("{}/staff", app.base)).await;
    let csrf = Browser::csrf(&page.body);
    let forged = browser
        .post_form(&format!("{}/staff/logout", app.base), &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cookie = session_cookie(&browser);
    assert_eq!(
        browser.get(&format!("{}/staff", app.base)).await.status,
        StatusCode::OK,
        "a refused logout leaves the session"
    );
    let out = browser
        .post_form(&format!("{}/staff/logout", app.base), &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let to = out.location.unwrap();
    assert!(
        to.starts_with(&format!("{}/session/end?", portaal_tests::oidc::issuer())),
        "RP-initiated logout at the provider: {to}"
    );
    assert!(to.contains("id_token_hint=") && to.contains("post_logout_redirect_uri="));
    assert!(
        !browser.cookies.contains_key("portaal_staff"),
        "the cookie is cleared"
    );
    // The old cookie names no session any more: a sign-in starts.
    let mut old = Browser::new();
    old.cookies.insert("portaal_staff".into(), cookie);
    let again = old.get(&format!("{}/staff", app.base)).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        again
            .location
            .unwrap()
            .starts_with(portaal_tests::oidc::issuer())
    );
    let signed_out = old.get(&format!("{}/staff/logout", app.base)).await;
    assert!(signed_out.body.contains("U bent afgemeld"));
}

#[tokio::test]
async fn a_session_lives_in_the_store_and_outlives_the_app_that_started_it() {
    let (first, settings) = spawn_with_provider(&[]).await;
    let mut browser = Browser::new();
    browser
        .sign_in(&format!("{}/staff", first.base), "handler")
        .await;
    let cookie = session_cookie(&browser);
    // Another app (another process's memory) on the same store, as another Lambda instance.
    let data_dir = first.data_dir.display().to_string();
    let second = spawn_for_base(
        &[("PORTAAL_DATA_DIR", &data_dir)],
        |_| settings.clone(),
        |_| {},
    )
    .await;
    let mut elsewhere = Browser::new();
    elsewhere.cookies.insert("portaal_staff".into(), cookie);
    let page = elsewhere.get(&format!("{}/staff", second.base)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
}

#[tokio::test]
async fn without_a_provider_the_console_says_how_to_configure_one() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/staff", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = res.text().await.unwrap();
    assert!(body.contains("PORTAAL_OIDC_ISSUER"));
    assert!(body.contains(&format!("{}/staff/auth/callback", app.base)));
    // No developer sign-in without --demo.
    let dev = app
        .client
        .get(format!("{}/staff/dev-login", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(dev.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_demo_on_loopback_a_developer_picks_a_role() {
    let app = spawn_for_base(&[], |_| Vec::new(), |config| config.demo = true).await;
    let mut browser = Browser::new();
    let start = browser.get(&format!("{}/staff", app.base)).await;
    if app.running.state.system.embedded.is_none() {
        // The developer sign-in is for the embedded demo only: on AWS it does not exist.
        assert_ne!(start.status, StatusCode::SEE_OTHER);
        return;
    }
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let form_url = format!("{}{}", app.base, start.location.unwrap());
    let form = browser.get(&form_url).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = Browser::csrf(&form.body);
    let url = format!("{}/staff/dev-login", app.base);
    let forged = Browser::new()
        .post_form(&url, &[("csrf", &token), ("role", "handler")])
        .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "the token is bound to the browser"
    );
    let records = browser
        .post_form(&url, &[("csrf", &token), ("role", "records")])
        .await;
    assert_eq!(records.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.get(&format!("{}/staff", app.base)).await.status,
        StatusCode::FORBIDDEN,
        "a records manager has no work queue"
    );
}

/// The embedded store has no TTL: the local server's timer deletes ended sessions (idle 30
/// minutes, or 10 hours after sign-in) from their expiry index; a session in use stays.
#[tokio::test]
async fn the_local_server_deletes_ended_sessions_and_keeps_live_ones() {
    use chrono::TimeZone;
    let clock = std::sync::Arc::new(portaal_tests::ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap(),
    ));
    let app = portaal_tests::spawn_with_clock(clock.clone(), &[]).await;
    let system = &app.running.state.system;
    let user = |sub: &str| portaal_core::staff::StaffUser {
        subject: sub.to_owned(),
        email: Some(format!("{sub}@example.nl")),
        name: None,
        roles: vec![portaal_core::staff::Role::Handler],
    };
    let portaal = &system.portaal;
    let (idle, _) = portaal
        .open_staff_session(user("idle"), None)
        .await
        .unwrap();
    let (busy, _) = portaal
        .open_staff_session(user("busy"), None)
        .await
        .unwrap();
    let stored = |cookie: &str| {
        let key = format!(
            "STAFFSESSION#{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(cookie.as_bytes()))
        );
        let store = system.store.clone();
        async move { store.get(&key, "META").await.unwrap().is_some() }
    };
    // 20 minutes on the busy session is used; 20 more and the idle one has ended.
    clock.advance(chrono::Duration::minutes(20));
    assert!(portaal.staff_session(&busy).await.unwrap().is_some());
    clock.advance(chrono::Duration::minutes(20));
    assert_eq!(portaal.sweep_staff_sessions().await.unwrap(), 1);
    assert!(!stored(&idle).await, "the idle session is deleted");
    assert!(stored(&busy).await, "the session in use stays");
    assert!(portaal.staff_session(&busy).await.unwrap().is_some());
    // After 10 hours every session has ended: the local server's timer deletes it (on AWS,
    // DynamoDB's TTL does; the sweep works on that store too).
    clock.advance(chrono::Duration::hours(10));
    if system.embedded.is_some() {
        portal::local::run_due_work(system).await;
    } else {
        assert_eq!(portaal.sweep_staff_sessions().await.unwrap(), 1);
    }
    assert!(!stored(&busy).await, "ended at 10 hours, and deleted");
    assert_eq!(portaal.sweep_staff_sessions().await.unwrap(), 0);
}
