//! Case types and their mail texts through the API, on the backend `PORTAAL_BACKEND` names:
//! defaults visible, mistakes refused at their place, merge patch, preview, the administrator's
//! key, and a case type that needs no decision.

use portaal_tests::{case_id, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The texts a functional administrator sees and sets: defaults visible and marked, mistakes
/// refused at their line, a merge patch that changes one text, `null` back to the default.
#[tokio::test]
async fn case_type_texts_show_their_defaults_and_refuse_what_would_mail_braces() {
    let app = spawn_with_settings(&[]).await;
    let woo = portaal_tests::json_answer(
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
    let mut body = portaal_tests::json_answer(
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
    let bezwaar_default = portaal_tests::json_answer(
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
    let saved = portaal_tests::json_answer(res, StatusCode::OK).await;
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
    let changed = portaal_tests::json_answer(
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
    app.dossier_with_request_to(&case, &["vergunningen@example.nl"])
        .await;
    let mails = app
        .running
        .state
        .system
        .store
        .query(&format!("DOSSIER#{case}"), portaal_core::model::keys::MAIL)
        .await
        .unwrap();
    assert_eq!(
        mails[0].str_attr("subject"),
        Some(format!("Stukken nodig: {case}").as_str())
    );

    // null restores the default.
    let restored = portaal_tests::json_answer(
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
    let app = spawn_with_settings(&[("PORTAAL_ORG_NAME", "Gemeente Voorbeeld")]).await;
    let preview = |key: &str, body: Value| {
        app.api(Method::POST, &format!("/case-types/{key}/preview"))
            .json(&body)
            .send()
    };
    let klacht = portaal_tests::json_answer(
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

    let english = portaal_tests::json_answer(
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

    let own = portaal_tests::json_answer(
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
    let bezwaar = portaal_tests::json_answer(
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
    let app = spawn_with_settings(&[("PORTAAL_ADMIN_KEY", &admin_key)]).await;
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
    let changed = portaal_tests::json_answer(
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

/// A Woo-verzoek about a subject, without a decision: accepted, and its request mail says so.
#[tokio::test]
async fn a_woo_request_needs_no_decision_and_a_bezwaar_does() {
    let app = spawn_with_settings(&[]).await;
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
    let dossier = portaal_tests::json_answer(res, StatusCode::CREATED).await;
    assert!(dossier["decision"].is_null());
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/requests"))
        .json(&json!({"department": "Ruimte", "to": ["ruimte@example.nl"], "due": "2099-12-31"}))
        .send()
        .await
        .unwrap();
    let request = portaal_tests::json_answer(res, StatusCode::CREATED).await;
    // As sent (a sent mail's bodies are wiped from the store).
    let text = app.exact_mails(&case, 1).await[0].to_string();
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

/// The department hears of a new due date (with its link) and of a withdrawal (without it),
/// each exactly once.
#[tokio::test]
async fn a_new_due_date_and_a_withdrawal_are_mailed_once_each() {
    let app = spawn_with_settings(&[]).await;
    let case = case_id("DUEMAIL");
    let request = app
        .dossier_with_request_to(&case, &["vergunningen@example.nl"])
        .await;
    let (id, link) = (
        request["id"].as_str().unwrap(),
        request["portal_url"].as_str().unwrap(),
    );
    app.exact_mails(&case, 1).await;
    let subject_of = |m: &Value| m["subject"].as_str().unwrap_or_default().to_owned();

    let res = app
        .patch_request(&case, id, json!({"due": "2099-12-15"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mails = app.exact_mails(&case, 2).await;
    let moved = mails
        .iter()
        .find(|m| subject_of(m).starts_with("Nieuwe termijn"))
        .expect("due_changed mail");
    assert!(subject_of(moved).contains("15 december 2099"));
    assert!(moved.to_string().contains(link), "with the link");

    let res = app
        .patch_request(&case, id, json!({"state": "withdrawn"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let mails = app.exact_mails(&case, 3).await;
    let withdrawn = mails
        .iter()
        .find(|m| subject_of(m).contains("ingetrokken"))
        .expect("withdrawn mail");
    assert!(!withdrawn.to_string().contains(link), "no dead link");
}

/// Two administrators patching different settings at once both keep their change; a body that
/// is no patch, or would rename the case type, is refused and changes nothing.
#[tokio::test]
async fn concurrent_patches_both_land_and_bad_patches_change_nothing() {
    let app = spawn_with_settings(&[]).await;
    let patch = |body: Value| {
        app.api(Method::PATCH, "/case-types/beroep")
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
    };
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            patch(json!({"request_days": 21})),
            patch(json!({"reminder_days": [-3, 2]}))
        );
        assert_eq!(a.unwrap().status(), StatusCode::OK);
        assert_eq!(b.unwrap().status(), StatusCode::OK);
        let beroep = portaal_tests::json_answer(
            app.api(Method::GET, "/case-types/beroep")
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(beroep["request_days"], 21, "a lost update");
        assert_eq!(beroep["reminder_days"], json!([-3, 2]), "a lost update");
        // Back, for the next round.
        let res = patch(json!({"request_days": 14, "reminder_days": [-2, 1]})).await;
        assert_eq!(res.unwrap().status(), StatusCode::OK);
    }
    for bad in [
        json!([1, 2]),
        json!({"key": "bezwaar"}),
        json!({"templates": {"no_such_mail": {"subject": "x"}}}),
        json!({"request_days": 0}),
        json!({"templates": {"request": {"text": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}{{ portal_url }}"}}}),
    ] {
        let res = patch(bad.clone()).await.unwrap();
        portaal_tests::problem(res, StatusCode::BAD_REQUEST).await;
    }
    let beroep = portaal_tests::json_answer(
        app.api(Method::GET, "/case-types/beroep")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(beroep["key"], "beroep");
    assert_eq!(beroep["request_days"], 14);
    assert_eq!(beroep["templates"]["request"]["default"], true);
}
