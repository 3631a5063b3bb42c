//! The staff console's pages for the functional administrator (case types, mail texts with the
//! preview, webhooks) and the records manager (destructions, CSV), signed in at the real OpenID
//! provider; role refusals and CSRF.

use portaal_tests::oidc::{Browser, spawn_with_provider};
use portaal_tests::{TestApp, case_id};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn signed_in(app: &TestApp, start: &str, login: &str) -> Browser {
    let mut browser = Browser::new();
    browser
        .sign_in(&format!("{}{start}", app.base), login)
        .await;
    browser
}

/// The editor form saving `text` as the English request text.
fn english_request_text<'a>(csrf: &'a str, text: &'a str) -> [(&'static str, &'a str); 8] {
    [
        ("csrf", csrf),
        ("form", "text"),
        ("mail", "request"),
        ("in", "en"),
        ("subject", "Documents"),
        ("text", text),
        ("html", ""),
        ("action", "save"),
    ]
}

/// The settings form with a term of 0 days (1 to 3650 are allowed).
fn out_of_range(csrf: &str) -> [(&'static str, &str); 12] {
    [
        ("csrf", csrf),
        ("form", "settings"),
        ("name", "Bezwaar"),
        ("request_days", "0"),
        ("reminder_days", "-2, 1"),
        ("close_after_days", "30"),
        ("destroy_after_days", "90"),
        ("decision_required", "true"),
        ("show_submitter", "true"),
        ("max_files", "50"),
        ("max_file_mib", "5120"),
        ("allowed_types", "application/pdf"),
    ]
}

const NEW_TEXT: &str = "Beste collega,\n\nWilt u de stukken voor zaak {{ case_id }} aanleveren?\n\n{{ portal_url }}\n\nMet dank van de beheerder.";

#[tokio::test]
async fn an_administrator_previews_and_saves_a_request_text_that_the_next_request_mail_uses() {
    let (app, _) = spawn_with_provider(&[]).await;
    // The default text to start from (on the emulators the table outlives a run of the tests).
    let reset = app
        .api(Method::PATCH, "/case-types/bezwaar")
        .header("content-type", "application/merge-patch+json")
        .json(&json!({"templates": {"request": null}}))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success(), "{}", reset.status());
    let page_url = format!("{}/staff/case-types/bezwaar", app.base);
    let mut admin = signed_in(&app, "/staff/case-types", "admin").await;
    let list = admin.get(&format!("{}/staff/case-types", app.base)).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Zaaktypen") && list.body.contains("/staff/case-types/bezwaar"));
    let page = admin.get(&page_url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("id=\"preview-subject\""),
        "the text in force is previewed"
    );
    assert!(!page.body.contains("Nieuwe stukken gevraagd"));
    let csrf = Browser::csrf(&page.body);
    let text = |action: &'static str, subject: &'static str, body: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("form", "text".to_owned()),
            ("mail", "request".to_owned()),
            ("in", "nl".to_owned()),
            ("subject", subject.to_owned()),
            ("text", body.to_owned()),
            ("html", String::new()),
            ("action", action.to_owned()),
        ]
    };
    let subject = "Nieuwe stukken gevraagd: {{ case_id }}";
    let form = text("preview", subject, NEW_TEXT);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let preview = admin.post_form(&page_url, &pairs).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("Nieuwe stukken gevraagd: "),
        "the preview shows the new subject: {}",
        preview.body
    );
    assert!(preview.body.contains("Met dank van de beheerder."));
    // Nothing saved by a preview.
    let unchanged = app
        .api(Method::GET, "/case-types/bezwaar")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(unchanged["templates"]["request"]["default"], true);

    let form = text("save", subject, NEW_TEXT);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = admin.post_form(&page_url, &pairs).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let back = saved.location.unwrap();
    assert!(back.contains("done=text"), "{back}");
    let after = admin.get(&format!("{}{back}", app.base)).await;
    assert!(
        after.body.contains("De tekst is opgeslagen."),
        "{}",
        after.body
    );
    assert!(after.body.contains("staff:"), "saved as the staff user");
    let stored = app
        .api(Method::GET, "/case-types/bezwaar")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(stored["templates"]["request"]["default"], false);
    let by = stored["updated_by"].as_str().unwrap();
    assert!(by.starts_with("staff:"), "{by}");

    let case = case_id("ADMIN-TXT");
    app.dossier_with_request(&case).await;
    let mails = app.mails(&case, 1).await;
    let mail = mails[0].to_string();
    assert!(
        mail.contains(&format!("Nieuwe stukken gevraagd: {case}")),
        "{mail}"
    );
    assert!(mail.contains("Met dank van de beheerder."), "{mail}");
}

#[tokio::test]
async fn a_mistake_in_a_text_is_shown_at_its_line_and_nothing_is_saved() {
    let (app, _) = spawn_with_provider(&[]).await;
    let page_url = format!("{}/staff/case-types/bezwaar?lang=en", app.base);
    let mut admin = signed_in(&app, "/staff/case-types/bezwaar", "admin").await;
    let page = admin.get(&page_url).await;
    let csrf = Browser::csrf(&page.body);
    let wrong = "Beste,\n{{ onbekende_variabele }}\n{{ portal_url }}";
    let answer = admin
        .post_form(&page_url, &english_request_text(&csrf, wrong))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(answer.body.contains("line 2, column"), "{}", answer.body);
    assert!(answer.body.contains("onbekende_variabele"));
    assert!(answer.body.contains("aria-invalid=\"true\""));
    assert!(
        answer
            .body
            .contains("Text: request for documents (English)")
    );
    // The typed text is kept in the form.
    assert!(answer.body.contains("{{ onbekende_variabele }}"));
    // A setting out of range is shown at its field.
    let settings = admin.post_form(&page_url, &out_of_range(&csrf)).await;
    assert_eq!(settings.status, StatusCode::BAD_REQUEST);
    assert!(settings.body.contains("request_days must be 1 to 3650"));
    // The Dutch page words the same refusals in Dutch.
    let dutch_url = page_url.replace("?lang=en", "");
    let settings = admin.post_form(&dutch_url, &out_of_range(&csrf)).await;
    assert_eq!(settings.status, StatusCode::BAD_REQUEST);
    assert!(
        settings
            .body
            .contains("De termijn moet 1 tot en met 3650 dagen zijn"),
        "{}",
        settings.body
    );
    assert!(!settings.body.contains("must be 1 to 3650"));
    let text = admin
        .post_form(&dutch_url, &english_request_text(&csrf, wrong))
        .await;
    assert_eq!(text.status, StatusCode::BAD_REQUEST);
    assert!(
        text.body.contains("regel 2, kolom")
            && text
                .body
                .contains("Onbekende variabele &#39;onbekende_variabele&#39;"),
        "{}",
        text.body
    );
    let stored = app
        .api(Method::GET, "/case-types/bezwaar")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(stored["templates_en"]["request"]["default"], true);
    assert_eq!(stored["request_days"], 14);
}

#[tokio::test]
async fn settings_are_saved_with_a_status_message() {
    let (app, _) = spawn_with_provider(&[]).await;
    let page_url = format!("{}/staff/case-types/klacht", app.base);
    let mut admin = signed_in(&app, "/staff/case-types/klacht", "admin").await;
    let csrf = Browser::csrf(&admin.get(&page_url).await.body);
    let saved = admin
        .post_form(
            &page_url,
            &[
                ("csrf", &csrf),
                ("form", "settings"),
                ("name", "Klacht"),
                ("request_days", "21"),
                ("reminder_days", "-3, 2"),
                ("close_after_days", "30"),
                ("destroy_after_days", "120"),
                ("decision_required", "false"),
                ("show_submitter", "true"),
                ("max_files", "40"),
                ("max_file_mib", "5120"),
                ("allowed_types", "application/pdf\ntext/plain"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = admin
        .get(&format!("{}{}", app.base, saved.location.unwrap()))
        .await;
    assert!(page.body.contains("De instellingen zijn opgeslagen."));
    let stored = app
        .api(Method::GET, "/case-types/klacht")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(stored["request_days"], 21);
    assert_eq!(stored["reminder_days"], json!([-3, 2]));
    assert_eq!(stored["destroy_after_days"], 120);
    assert_eq!(stored["upload"]["max_files"], 40);
    assert_eq!(stored["upload"]["max_file_bytes"], 5u64 << 30);
    assert_eq!(
        stored["upload"]["allowed_types"],
        json!(["application/pdf", "text/plain"])
    );
}

#[tokio::test]
async fn an_administrator_adds_rotates_and_removes_a_webhook_secret_shown_once() {
    let (app, _) = spawn_with_provider(&[]).await;
    let url = format!("{}/staff/webhooks", app.base);
    let mut admin = signed_in(&app, "/staff/webhooks", "admin").await;
    let page = admin.get(&url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Browser::csrf(&page.body);
    let added = admin
        .post_form(
            &url,
            &[
                ("csrf", &csrf),
                ("url", "https://zaaksysteem.example.nl/hooks"),
                ("events", "delivery.submitted"),
                ("description", "Zaaksysteem"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert!(added.body.contains("whsec_"), "the secret, once");
    let listed = admin.get(&url).await;
    assert!(!listed.body.contains("whsec_"), "never again");
    assert!(listed.body.contains("zaaksysteem.example.nl"));
    let id = listed
        .body
        .split("/staff/webhooks/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let rotated = admin
        .post_form(&format!("{url}/{id}/rotate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert!(rotated.body.contains("whsec_") && rotated.body.contains("blijft geldig tot"));
    let bad = admin
        .post_form(
            &url,
            &[("csrf", &csrf), ("url", "ftp://x"), ("events", "*")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("id=\"f-url-error\">"));
    let removed = admin
        .post_form(&format!("{url}/{id}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let after = admin
        .get(&format!("{}{}", app.base, removed.location.unwrap()))
        .await;
    assert!(after.body.contains("Het abonnement is verwijderd."));
    assert!(!after.body.contains("zaaksysteem.example.nl"));
}

#[tokio::test]
async fn a_records_manager_sees_destructions_holds_and_downloads_the_csv() {
    let (app, _) = spawn_with_provider(&[]).await;
    app.destroy_bezwaar_at_handling().await;
    let destroyed = case_id("REC-GONE");
    assert!(app.put_dossier(&destroyed).await.status().is_success());
    app.close(&destroyed, None).await;
    app.purge(&destroyed).await;
    let held = case_id("REC-HELD");
    assert!(app.put_dossier(&held).await.status().is_success());
    let res = app
        .api(Method::PUT, &format!("/dossiers/{held}/hold"))
        .json(&json!({"reason": "Lopende WOO-procedure, zie brief 12"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());

    let mut records = signed_in(&app, "/staff/destructions", "records").await;
    let page = records
        .get(&format!("{}/staff/destructions", app.base))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"destroyed\""), "{}", page.body);
    assert!(page.body.contains("Lopende WOO-procedure, zie brief 12"));
    assert!(page.body.contains(&held));
    let bad = records
        .get(&format!("{}/staff/destructions?from=gisteren", app.base))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body
            .contains("id=\"f-from-error\">Van moet een datum zijn zoals 2026-12-31"),
        "{}",
        bad.body
    );

    let cookie = records.cookies.get("portaal_staff").unwrap().clone();
    let csv = app
        .client
        .get(format!("{}/staff/destructions.csv", app.base))
        .header("cookie", format!("portaal_staff={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(
        csv.headers()[reqwest::header::CONTENT_DISPOSITION],
        "attachment; filename=\"vernietigingen.csv\""
    );
    let body = csv.text().await.unwrap();
    let mut lines = body.split("\r\n");
    assert!(lines.next().unwrap().starts_with("case_ref,case_type,"));
    let row = lines.next().unwrap();
    assert!(row.contains(",bezwaar,"), "{body}");
    assert!(!body.contains(&destroyed), "no case number in the records");
}

#[tokio::test]
async fn pages_refuse_other_roles_and_forms_without_the_csrf_token() {
    let (app, _) = spawn_with_provider(&[]).await;
    let mut handler = signed_in(&app, "/staff", "handler").await;
    for path in [
        "/staff/case-types",
        "/staff/case-types/bezwaar",
        "/staff/webhooks",
    ] {
        let refused = handler.get(&format!("{}{path}", app.base)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert!(refused.body.contains("functioneel beheerder (admin)"));
    }
    let mut admin = signed_in(&app, "/staff/case-types", "admin").await;
    for path in ["/staff/destructions", "/staff/destructions.csv"] {
        let refused = admin.get(&format!("{}{path}", app.base)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert!(refused.body.contains("archivaris (records)"));
    }
    let url = format!("{}/staff/case-types/bezwaar", app.base);
    let missing = admin
        .post_form(&url, &[("form", "settings"), ("request_days", "1")])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let forged = admin
        .post_form(&url, &[("csrf", "forged"), ("form", "settings")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let hook = admin
        .post_form(
            &format!("{}/staff/webhooks", app.base),
            &[("url", "https://x.example.nl/"), ("events", "*")],
        )
        .await;
    assert_eq!(hook.status, StatusCode::FORBIDDEN);
    // A handler's own token does not open an administrator's form either.
    let page = handler.get(&format!("{}/staff", app.base)).await;
    let csrf = Browser::csrf(&page.body);
    let refused = handler
        .post_form(&url, &[("csrf", &csrf), ("form", "settings")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Nothing changed.
    let stored = app
        .api(Method::GET, "/case-types/bezwaar")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(stored["request_days"], 14);
}

#[tokio::test]
async fn the_editor_previews_as_you_type_and_shows_the_html_part_in_a_sandboxed_frame() {
    let (app, _) = spawn_with_provider(&[]).await;
    let page_url = format!("{}/staff/case-types/bezwaar", app.base);
    let mut admin = signed_in(&app, "/staff/case-types/bezwaar", "admin").await;
    let page = admin.get(&page_url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("data-preview-url=\"/staff/case-types/bezwaar/preview\"")
    );
    assert!(
        page.body.contains("<iframe name=\"mail-html\"") && page.body.contains(" sandbox "),
        "{}",
        page.body
    );
    let csrf = Browser::csrf(&page.body);
    let live_url = format!("{page_url}/preview");
    let typed = |csrf: &str, text: &str, html: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("form", "text".to_owned()),
            ("mail", "request".to_owned()),
            // English: no other test saves it (the store is shared on the emulators).
            ("in", "en".to_owned()),
            ("subject", "Stukken voor {{ case_id }}".to_owned()),
            ("text", text.to_owned()),
            ("html", html.to_owned()),
        ]
    };
    let post = async |browser: &mut Browser, url: &str, form: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        browser.post_form(url, &pairs).await
    };

    let live = post(&mut admin, &live_url, typed(&csrf, NEW_TEXT, "")).await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.body);
    let live: serde_json::Value = serde_json::from_str(&live.body).unwrap();
    assert_eq!(live["valid"], true, "{live}");
    assert!(
        live["subject"]
            .as_str()
            .unwrap()
            .starts_with("Stukken voor ")
    );
    assert!(!live["subject"].as_str().unwrap().contains("{{"));
    assert!(
        live["text"]
            .as_str()
            .unwrap()
            .contains("Met dank van de beheerder.")
    );

    // A mistake comes back at its part and line, in the page's language.
    let wrong = "Beste,\n{{ onbekende_variabele }}\n{{ portal_url }}";
    let mistaken = post(&mut admin, &live_url, typed(&csrf, wrong, "")).await;
    assert_eq!(mistaken.status, StatusCode::OK, "{}", mistaken.body);
    let mistaken: serde_json::Value = serde_json::from_str(&mistaken.body).unwrap();
    assert_eq!(mistaken["valid"], false);
    let at = mistaken["parts"]["text"][0].as_str().unwrap();
    assert!(
        at.contains("regel 2") && at.contains("onbekende_variabele"),
        "{at}"
    );
    assert_eq!(mistaken["parts"]["subject"], json!([]));

    // Refused as a script is: 401 without a session, 403 with a foreign token.
    let signed_out = post(&mut Browser::new(), &live_url, typed(&csrf, NEW_TEXT, "")).await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    let foreign = post(&mut admin, &live_url, typed("nope", NEW_TEXT, "")).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);

    // The HTML part: the saved one by GET, the typed one by POST; framed only by the console,
    // sandboxed, no script.
    let saved = admin
        .client
        .get(format!("{page_url}/preview.html?mail=request&in=nl"))
        .header(reqwest::header::COOKIE, admin.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    let policy = saved.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("sandbox") && policy.contains("frame-ancestors 'self'"),
        "{policy}"
    );
    assert!(!policy.contains("script-src"), "{policy}");
    assert_eq!(saved.headers()["x-frame-options"], "SAMEORIGIN");
    assert!(saved.text().await.unwrap().contains("<html"));
    let html = "<p style=\"color:#0b5394\">Zaak {{ case_id }} wacht op u: <a href=\"{{ portal_url }}\">open het portaal</a>.</p>";
    let typed_html = post(
        &mut admin,
        &format!("{page_url}/preview.html"),
        typed(&csrf, NEW_TEXT, html),
    )
    .await;
    assert_eq!(typed_html.status, StatusCode::OK, "{}", typed_html.body);
    assert!(
        typed_html.body.contains("color:#0b5394"),
        "{}",
        typed_html.body
    );
    assert!(
        !typed_html.body.contains("{{ case_id }}"),
        "{}",
        typed_html.body
    );
    // Every other page may not be framed at all.
    let console = admin
        .client
        .get(&page_url)
        .header(reqwest::header::COOKIE, admin.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(console.headers()["x-frame-options"], "DENY");

    // A preview saves nothing.
    let stored = app
        .api(Method::GET, "/case-types/bezwaar")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(stored["templates_en"]["request"]["default"], true);
}
