//! Mail through a real SMTP server (aiosmtpd, started by the tests): what arrives, with which
//! headers, once per recipient, and after an outage of the relay. SMTP is the embedded backend's
//! transport (AWS sends through SES), so these apps are embedded whatever the environment says.

use portaal_tests::smtp::SmtpSink;
use portaal_tests::{TestApp, case_id, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn request_to(app: &TestApp, case: &str, to: &[&str]) -> Value {
    assert_eq!(app.put_dossier(case).await.status(), StatusCode::CREATED);
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/requests"))
        .json(&json!({"department": "Vergunningen", "to": to, "due": "2099-12-31"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n")
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim())
}

/// The display name of an address header, decoded from its RFC 2047 encoded words.
fn display_name(value: &str) -> String {
    use base64::Engine;
    let name = value.split('<').next().unwrap_or_default().trim();
    name.split_whitespace()
        .map(|word| {
            match word
                .strip_prefix("=?utf-8?b?")
                .and_then(|w| w.strip_suffix("?="))
            {
                Some(encoded) => String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .unwrap(),
                )
                .unwrap(),
                None => word.to_owned(),
            }
        })
        .collect()
}

#[tokio::test]
async fn mail_arrives_over_smtp_once_per_recipient_with_the_headers_users_expect() {
    let sink = SmtpSink::start();
    let app = spawn_with_settings(&[
        ("PORTAAL_BACKEND", "embedded"),
        ("PORTAAL_SMTP_URL", &sink.url()),
        ("PORTAAL_MAIL_FROM", "portaal@gemeente-voorbeeld.nl"),
        (
            "PORTAAL_MAIL_FROM_NAME",
            "Gemeente Voorbeeld – Juridische zaken",
        ),
    ])
    .await;
    let case = case_id("SMTP");
    let request = request_to(
        &app,
        &case,
        &[
            "vergunningen@example.nl",
            "refused@example.nl",
            "archief@example.nl",
        ],
    )
    .await;
    let link = request["portal_url"].as_str().unwrap();
    // Two request mails and the handler's notice about the refused address.
    sink.wait_for(&case, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (arrived, to_handler): (Vec<String>, Vec<String>) = sink
        .messages()
        .into_iter()
        .filter(|m| m.contains(&case))
        .partition(|m| header(m, "X-Envelope-To") != Some("m.jansen@example.nl"));
    assert_eq!(
        arrived.len(),
        2,
        "one message per accepted recipient, each once"
    );
    assert_eq!(
        to_handler.len(),
        1,
        "the handler hears of the refused address once"
    );
    assert!(
        header(&to_handler[0], "Subject")
            .unwrap()
            .contains("niet bezorgd")
    );
    assert!(to_handler[0].contains("refused@example.nl"));
    assert_eq!(
        header(&to_handler[0], "Reply-To"),
        None,
        "the handler's own mail"
    );
    for message in &arrived {
        assert!(
            header(message, "Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        let from = header(message, "From").unwrap();
        assert!(
            from.starts_with("=?utf-8?") && from.ends_with("<portaal@gemeente-voorbeeld.nl>"),
            "{from}"
        );
        assert_eq!(header(message, "Reply-To"), Some("m.jansen@example.nl"));
        assert_eq!(header(message, "Auto-Submitted"), Some("auto-generated"));
        let message_id = header(message, "Message-ID").unwrap();
        assert!(
            message_id.ends_with("@gemeente-voorbeeld.nl>"),
            "{message_id}"
        );
        let to = header(message, "X-Envelope-To").unwrap();
        assert_eq!(
            header(message, "To"),
            Some(to),
            "each message has its one recipient"
        );
    }
    let token = link.rsplit('/').next().unwrap();
    assert!(
        arrived
            .iter()
            .all(|m| m.replace("=\r\n", "").contains(token)),
        "the link is filled in as the mail is sent"
    );

    // The refused address fails for good, and says so; the others were not held up.
    let dossier = app.get_dossier(&case).await;
    let failed: Vec<&Value> = dossier["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "mail_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", dossier["timeline"]);
    assert!(
        failed[0]["summary"]
            .as_str()
            .unwrap()
            .contains("refused@example.nl")
    );
    let shown = &dossier["requests"][0]["mail_failures"];
    assert_eq!(
        shown.as_array().unwrap().len(),
        1,
        "the request shows it: {shown}"
    );
    assert!(
        shown[0]["detail"]
            .as_str()
            .unwrap()
            .contains("refused@example.nl")
    );
}

#[tokio::test]
async fn a_relay_outage_longer_than_the_first_retry_loses_no_mail_and_sends_it_once() {
    let mut sink = SmtpSink::start();
    let app = spawn_with_settings(&[
        ("PORTAAL_BACKEND", "embedded"),
        ("PORTAAL_SMTP_URL", &sink.url()),
        ("PORTAAL_MAIL_RETRY_SCHEDULE", "1,1,1,1,1,1"),
    ])
    .await;
    sink.stop();
    let case = case_id("OUTAGE");
    request_to(&app, &case, &["vergunningen@example.nl"]).await;
    // Longer than the first retry interval: at least two attempts fail.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(sink.messages().is_empty());
    sink.resume();
    sink.wait_for(&case, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        sink.messages()
            .into_iter()
            .filter(|m| m.contains(&case))
            .count(),
        1,
        "exactly once"
    );
    let dossier = app.get_dossier(&case).await;
    assert!(
        dossier["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "mail_failed"),
        "a temporary failure is no failure"
    );
}

async fn json_of(res: reqwest::Response, status: StatusCode) -> Value {
    let code = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(code, status, "{body}");
    body
}

/// The texts a functional administrator sees and sets: defaults visible and marked, mistakes
/// refused at their line, a merge patch that changes one text, `null` back to the default.
#[tokio::test]
async fn case_type_texts_show_their_defaults_and_refuse_what_would_mail_braces() {
    let app = spawn_with_settings(&[("PORTAAL_BACKEND", "embedded")]).await;
    let woo = json_of(
        app.api(Method::GET, "/case-types/woo-verzoek")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let request = &woo["templates"]["request"];
    assert_eq!(request["default"], true);
    assert!(request["text"].as_str().unwrap().contains("ontvangen"));
    assert!(
        !request["text"]
            .as_str()
            .unwrap()
            .contains("tegen het besluit")
    );
    assert_eq!(woo["templates_en"]["withdrawn"]["default"], true);
    assert_eq!(woo["decision_required"], false);
    let allowed: Vec<&str> = woo["variables"]["request"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(allowed.contains(&"portal_url") && allowed.contains(&"due"));
    assert_eq!(
        woo["templates"].as_object().unwrap().len(),
        11,
        "every mail kind"
    );

    // A whole case type with an unknown variable: refused, naming it at its place.
    let mut body = json_of(
        app.api(Method::GET, "/case-types/bezwaar")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    body["templates"]["request"]["text"] =
        json!("Beste collega's,\n\nZaak {{zaaknummer}}: {{ portal_url }}");
    let res = app
        .api(Method::PUT, "/case-types/bezwaar")
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = portaal_tests::problem(res, StatusCode::BAD_REQUEST).await;
    let e = &problem["errors"][0];
    assert_eq!(e["field"], "templates.request.text");
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(3), Some(8))
    );
    assert!(
        e["detail"].as_str().unwrap().contains("zaaknummer"),
        "{problem}"
    );

    // The view sent back unchanged is accepted and stores no text: all stay default.
    body["templates"]["request"] = woo["templates"]["request"].clone();
    body["templates"]["request"]["text"] =
        json!(body["templates"]["request"]["text"].as_str().unwrap());
    let bezwaar_default = json_of(
        app.api(Method::GET, "/case-types/bezwaar")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let res = app
        .api(Method::PUT, "/case-types/bezwaar")
        .json(&bezwaar_default)
        .send()
        .await
        .unwrap();
    let saved = json_of(res, StatusCode::OK).await;
    assert_eq!(saved["templates"]["request"]["default"], true);
    assert_eq!(saved["updated_by"], "api-key");

    let patch = |body: Value| {
        app.api(Method::PATCH, "/case-types/bezwaar")
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
    };
    // A request text without the link, a syntax error, in English: each refused at its place.
    let problem = portaal_tests::problem(
        patch(json!({"templates": {"reminder_before": {"text": "Graag de stukken."}}}))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"],
        "templates.reminder_before.text"
    );
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("portal_url")
    );
    let problem = portaal_tests::problem(
        patch(json!({"templates_en": {"receipt": {"text": "Hello\n{% if comment %}\n{{ comment }}"}}}))
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "templates_en.receipt.text");
    assert!(problem["errors"][0]["line"].as_u64().is_some(), "{problem}");

    // One subject changed; the rest stays default.
    let changed = json_of(
        patch(json!({"request_days": 21, "templates": {"request": {"subject": "Stukken nodig: {{ case_id }}"}}}))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["request_days"], 21);
    assert_eq!(changed["templates"]["request"]["default"], false);
    assert_eq!(
        changed["templates"]["request"]["subject"],
        "Stukken nodig: {{ case_id }}"
    );
    assert_eq!(changed["templates"]["receipt"]["default"], true);
    // The request mail uses it.
    let case = case_id("TPL");
    request_to(&app, &case, &["vergunningen@example.nl"]).await;
    let mails = app
        .running
        .state
        .system
        .store
        .query(&format!("DOSSIER#{case}"), "MAIL#")
        .await
        .unwrap();
    assert_eq!(
        mails[0].str_attr("subject"),
        Some(format!("Stukken nodig: {case}").as_str())
    );

    // null restores the default.
    let restored = json_of(
        patch(json!({"templates": {"request": null}}))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(restored["templates"]["request"]["default"], true);
    assert_eq!(restored["request_days"], 21);
}

#[tokio::test]
async fn preview_renders_sample_case_data_without_saving() {
    let app = spawn_with_settings(&[
        ("PORTAAL_BACKEND", "embedded"),
        ("PORTAAL_ORG_NAME", "Gemeente Voorbeeld"),
    ])
    .await;
    let preview = |key: &str, body: Value| {
        app.api(Method::POST, &format!("/case-types/{key}/preview"))
            .json(&body)
            .send()
    };
    let klacht = json_of(
        preview("klacht", json!({"kind": "request"})).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let text = klacht["text"].as_str().unwrap();
    assert!(
        text.contains("klacht") && text.contains("ingediend"),
        "{text}"
    );
    assert!(text.contains("https://portaal.voorbeeld.nl/p/voorbeeld-link"));
    assert!(text.contains("Gemeente Voorbeeld"));
    assert!(!text.contains("{{"));
    assert!(
        klacht["html"]
            .as_str()
            .unwrap()
            .contains("<a href=\"https://portaal.voorbeeld.nl/p/voorbeeld-link\">")
    );

    let english = json_of(
        preview(
            "beroep",
            json!({"kind": "reminder_overdue", "language": "en"}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(
        english["text"]
            .as_str()
            .unwrap()
            .contains("Dear colleagues"),
        "{english}"
    );

    let own = json_of(
        preview(
            "bezwaar",
            json!({"kind": "publication", "template": {
                "subject": "Nieuw: {{ filename }}",
                "text": "{{ title }}",
                "html": "<p>{{ title }} &amp; {{ filename }}</p>"
            }}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(own["subject"], "Nieuw: beslissing-op-bezwaar.pdf");
    assert!(
        own["html"]
            .as_str()
            .unwrap()
            .starts_with("<p>Omgevingsvergunning")
    );

    let problem = portaal_tests::problem(
        preview(
            "bezwaar",
            json!({"kind": "request", "template": {"subject": "x", "text": "{{ onbekend }}"}}),
        )
        .await
        .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        problem["errors"].as_array().unwrap().len() >= 2,
        "unknown variable and no link: {problem}"
    );
    // Nothing was saved.
    let bezwaar = json_of(
        app.api(Method::GET, "/case-types/bezwaar")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(bezwaar["templates"]["publication"]["default"], true);
}

#[tokio::test]
async fn with_an_admin_key_only_its_holder_changes_case_types() {
    let admin_key = "a".repeat(40);
    let app = spawn_with_settings(&[
        ("PORTAAL_BACKEND", "embedded"),
        ("PORTAAL_ADMIN_KEY", &admin_key),
    ])
    .await;
    let patch = json!({"request_days": 20});
    let res = app
        .api(Method::PATCH, "/case-types/klacht")
        .json(&patch)
        .send()
        .await
        .unwrap();
    let problem = portaal_tests::problem(res, StatusCode::FORBIDDEN).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("PORTAAL_ADMIN_KEY")
    );
    let res = app
        .api(Method::PUT, "/case-types/klacht")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    portaal_tests::problem(res, StatusCode::FORBIDDEN).await;
    assert_eq!(
        app.api(Method::GET, "/case-types/klacht")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let as_admin = |method: Method, path: &str| {
        app.client
            .request(method, format!("{}/api/v1{path}", app.base))
            .bearer_auth(&admin_key)
    };
    let changed = json_of(
        as_admin(Method::PATCH, "/case-types/klacht")
            .json(&patch)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["request_days"], 20);
    assert_eq!(changed["updated_by"], "admin-key");
    let audit = app
        .running
        .state
        .system
        .store
        .query("AUDIT#CONFIG", "")
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].str_attr("actor"), Some("admin-key"));
    // The admin key is for case types only.
    let res = as_admin(Method::GET, "/requests").send().await.unwrap();
    portaal_tests::problem(res, StatusCode::FORBIDDEN).await;
    // A dossier whose case number reads "case-types" is no case type.
    let res = as_admin(Method::PUT, "/dossiers/case-types")
        .json(&portaal_tests::dossier_body())
        .send()
        .await
        .unwrap();
    portaal_tests::problem(res, StatusCode::FORBIDDEN).await;
    // The API key still works everywhere else.
    assert_eq!(
        app.put_dossier(&case_id("ADMINKEY")).await.status(),
        StatusCode::CREATED
    );
}

/// A request in English, its due date moved, then withdrawn: the department hears each, in its
/// language, signed with the organisation's name; nothing twice.
#[tokio::test]
async fn the_department_hears_of_a_new_due_date_and_a_withdrawal_in_its_language() {
    let sink = SmtpSink::start();
    let app = spawn_with_settings(&[
        ("PORTAAL_BACKEND", "embedded"),
        ("PORTAAL_SMTP_URL", &sink.url()),
        ("PORTAAL_ORG_NAME", "Gemeente Voorbeeld"),
    ])
    .await;
    let case = case_id("LANG");
    assert_eq!(app.put_dossier(&case).await.status(), StatusCode::CREATED);
    let request = json_of(
        app.api(Method::POST, &format!("/dossiers/{case}/requests"))
            .json(&json!({"department": "Permits", "to": ["permits@example.nl"], "due": "2099-12-01", "language": "en"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(request["language"], "en");
    let id = request["id"].as_str().unwrap();
    let first = sink.wait_for(&case, 1).await;
    assert!(
        header(&first[0], "Subject")
            .unwrap()
            .starts_with("Request for documents: objection")
    );
    assert!(first[0].contains("1 December 2099") && first[0].contains("Gemeente Voorbeeld"));
    assert!(
        first[0].contains("lang=3D\"en\""),
        "the HTML part says its language"
    );
    assert!(
        display_name(header(&first[0], "From").unwrap()).contains("Gemeente Voorbeeld"),
        "without PORTAAL_MAIL_FROM_NAME the organisation's name is the sender's"
    );

    let res = app
        .patch_request(&case, id, json!({"due": "2099-12-15"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let two = sink.wait_for(&case, 2).await;
    let moved = two
        .iter()
        .find(|m| header(m, "Subject").unwrap().starts_with("New deadline"))
        .expect("due_changed mail");
    assert!(
        moved.contains("15 December 2099") && moved.contains("1 December 2099"),
        "{moved}"
    );
    assert!(
        moved.contains(request["portal_url"].as_str().unwrap()),
        "the link again"
    );

    let res = app
        .patch_request(&case, id, json!({"state": "withdrawn"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let three = sink.wait_for(&case, 3).await;
    let withdrawn = three
        .iter()
        .find(|m| {
            !std::ptr::eq(*m, moved)
                && header(m, "Subject")
                    .unwrap()
                    .to_lowercase()
                    .contains("withdrawn")
        })
        .expect("withdrawn mail");
    assert!(
        !withdrawn.contains(request["portal_url"].as_str().unwrap()),
        "no dead link"
    );
    portaal_tests::settle(&app, std::time::Duration::from_millis(500)).await;
    assert_eq!(
        sink.messages().iter().filter(|m| m.contains(&case)).count(),
        3,
        "each once"
    );
}

/// A Woo-verzoek about a subject, without a decision: accepted, and its request mail says so.
#[tokio::test]
async fn a_woo_request_needs_no_decision_and_a_bezwaar_does() {
    let app = spawn_with_settings(&[("PORTAAL_BACKEND", "embedded")]).await;
    let mut body = portaal_tests::dossier_body();
    body.as_object_mut().unwrap().remove("decision");
    let res = app
        .api(Method::PUT, &format!("/dossiers/{}", case_id("NODEC")))
        .json(&body)
        .send()
        .await
        .unwrap();
    let problem = portaal_tests::problem(res, StatusCode::BAD_REQUEST).await;
    assert!(problem["detail"].as_str().unwrap().contains("decision"));

    body["case_type"] = json!("woo-verzoek");
    body["title"] = json!("Documenten over de herinrichting van het Marktplein");
    let case = case_id("WOO");
    let res = app
        .api(Method::PUT, &format!("/dossiers/{case}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let dossier = json_of(res, StatusCode::CREATED).await;
    assert!(dossier["decision"].is_null());
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/requests"))
        .json(&json!({"department": "Ruimte", "to": ["ruimte@example.nl"], "due": "2099-12-31"}))
        .send()
        .await
        .unwrap();
    let request = json_of(res, StatusCode::CREATED).await;
    let mails = app
        .running
        .state
        .system
        .store
        .query(&format!("DOSSIER#{case}"), "MAIL#")
        .await
        .unwrap();
    let text = mails[0].str_attr("text").unwrap();
    assert!(
        text.contains("Wet open overheid") && text.contains("Marktplein"),
        "{text}"
    );
    assert!(
        !text.contains("besluit ") || !text.contains("van  "),
        "{text}"
    );
    // The page shows no decision panel for it.
    let page = app
        .client
        .get(request["portal_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Primair besluit") && page.contains("Woo-verzoek ontvangen"));
}
