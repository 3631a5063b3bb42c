//! A request's life after it is sent: withdrawn, moved in the overview, its link rotated, a
//! publication back to the department, and the handled case whose links read until they close.

use portaal_tests::{TestApp, case_id, problem, sha256_hex, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn request_id_of(app: &TestApp, case: &str) -> String {
    app.get_dossier(case).await["requests"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_withdrawn_request_takes_no_more_files_and_leaves_the_overview() {
    let app = spawn_app().await;
    let case = case_id("INTREK");
    let link = app.dossier_with_request(&case).await;
    let request = request_id_of(&app, &case).await;
    let open: Value = Value::Array(app.overview("status=open").await);
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == request.as_str()),
        "an open request is in the overview"
    );

    let res = app
        .patch_request(&case, &request, json!({"state": "withdrawn"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["state"], "withdrawn");
    problem(
        app.stage(
            &link,
            "a.pdf",
            "application/pdf",
            b"%PDF",
            Some(&sha256_hex(b"%PDF")),
        )
        .await,
        StatusCode::GONE,
    )
    .await;
    // The link no longer shows the dossier: 410, in JSON and as a page that says why.
    let detail = problem(
        app.client
            .get(&link)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap(),
        StatusCode::GONE,
    )
    .await;
    assert!(
        detail["detail"].as_str().unwrap().contains("withdrawn"),
        "{detail}"
    );
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    let html = page.text().await.unwrap();
    assert!(html.contains("Verzoek ingetrokken"), "{html}");
    assert!(
        !html.contains("Bezwaar tegen"),
        "no dossier details on the page"
    );
    let open: Value = Value::Array(app.overview("status=open").await);
    assert!(
        !open
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == request.as_str()),
        "a withdrawn request leaves the overview"
    );
    let res = app
        .patch_request(&case, &request, json!({"state": "open"}))
        .await;
    problem(res, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn a_new_due_date_moves_the_request_in_the_overview() {
    let app = spawn_app().await;
    let case = case_id("TERMIJN");
    app.dossier_with_request(&case).await;
    let request = request_id_of(&app, &case).await;
    let res = app
        .patch_request(&case, &request, json!({"due": "2098-06-15"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let before: Value = Value::Array(app.overview("status=open&due_before=2098-06-16").await);
    assert!(
        before
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == request.as_str() && r["due"] == "2098-06-15")
    );
    let earlier: Value = Value::Array(app.overview("status=open&due_before=2098-06-15").await);
    assert!(
        !earlier
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == request.as_str()),
        "due_before is exclusive"
    );
    let overdue: Value = Value::Array(app.overview("status=overdue").await);
    assert!(
        !overdue
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == request.as_str())
    );
    problem(
        app.api(Method::GET, "/requests?status=later")
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let res = app
        .patch_request(&case, &request, json!({"due": "2001-01-01"}))
        .await;
    problem(res, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn a_rotated_link_replaces_the_old_one_and_can_be_mailed() {
    let app = spawn_app().await;
    let case = case_id("LINK");
    let old = app.dossier_with_request(&case).await;
    let request = request_id_of(&app, &case).await;
    let res = app
        .api(
            Method::POST,
            &format!("/dossiers/{case}/requests/{request}/link"),
        )
        .json(&json!({"resend": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let new = body["portal_url"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        app.client.get(&old).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "the old link stops"
    );
    assert_eq!(
        app.client.get(&new).send().await.unwrap().status(),
        StatusCode::OK
    );
    let mails = app.exact_mails(&case, 2).await;
    assert!(
        mails.iter().any(|m| m.to_string().contains(&new)),
        "the new link was mailed"
    );
}

#[tokio::test]
async fn a_published_document_reaches_the_department() {
    let app = spawn_app().await;
    let case = case_id("PUB");
    let link = app.dossier_with_request(&case).await;
    let bytes = b"%PDF-1.4 hoorzitting verslag".to_vec();
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/publications"))
        .json(&json!({"filename": "verslag-hoorzitting.pdf", "content_type": "application/pdf", "size": bytes.len(), "sha256": sha256_hex(&bytes), "message": "Ter informatie."}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let draft: Value = res.json().await.unwrap();
    let publication = draft["id"].as_str().unwrap().to_owned();
    let publish = format!("/dossiers/{case}/publications/{publication}/publish");
    problem(
        app.api(Method::POST, &publish).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        app.send_bytes(&draft, bytes.clone())
            .await
            .status()
            .is_success()
    );
    let res = app.api(Method::POST, &publish).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.api(Method::POST, &publish)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "publishing again changes nothing"
    );

    let mails = app.exact_mails(&case, 2).await;
    let mail = mails
        .iter()
        .find(|m| m.to_string().contains("verslag-hoorzitting.pdf"))
        .expect("the department is mailed");
    assert!(
        mail.to_string().contains(&link),
        "the publication mail carries the department's link"
    );
    let view: Value = app.portal_view(&link).await;
    assert_eq!(view["publications"].as_array().unwrap().len(), 1);
    assert!(
        view["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "publication_published")
    );
    let html = app
        .client
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("verslag-hoorzitting.pdf") && html.contains("Ter informatie."),
        "the page shows the publication and its note"
    );
    let document = view["publications"][0]["document"]["id"].as_str().unwrap();
    let res = app
        .client
        .get(format!("{link}/documents/{document}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let got = app
        .client
        .get(res.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.to_vec(), bytes);
}

#[tokio::test]
async fn a_handled_case_reads_until_its_links_close_and_a_reopen_restores_them() {
    let clock = std::sync::Arc::new(portaal_tests::ManualClock::new(chrono::Utc::now()));
    let app = portaal_tests::spawn_with_clock(clock.clone(), &[]).await;
    let case = case_id("SLUIT");
    let link = app.dossier_with_request(&case).await;
    // The history is ordered by time: each step a second later.
    clock.advance(chrono::Duration::seconds(1));
    let close = format!("/dossiers/{case}/close");
    problem(
        app.api(Method::POST, &close)
            .header("content-type", "application/json")
            .body("{\"result\": ")
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    let res = app.api(Method::POST, &close).send().await.unwrap();
    let closed = portaal_tests::json_answer(res, StatusCode::OK).await;
    assert_eq!(closed["status"], "closed", "closing needs no body");
    let at = |field: &str| -> chrono::DateTime<chrono::Utc> {
        closed[field].as_str().unwrap().parse().unwrap()
    };
    let handled = at("closed_at");
    assert_eq!(at("closes_at"), handled + chrono::Duration::days(30));
    assert_eq!(at("destroys_at"), handled + chrono::Duration::days(90));
    assert_eq!(closed["expires_at"], closed["destroys_at"]);

    // Handled: the link still reads, in JSON and as a page, but takes nothing new.
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Deze zaak is afgehandeld")
    );
    let view = app.portal_view(&link).await;
    assert_eq!(view["accepting"], false);
    problem(
        app.stage(
            &link,
            "a.pdf",
            "application/pdf",
            b"%PDF",
            Some(&sha256_hex(b"%PDF")),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;

    // At closes_at the link stops.
    clock.advance(chrono::Duration::days(30) + chrono::Duration::seconds(1));
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page.text().await.unwrap().contains("Dossier gesloten"));
    problem(
        app.stage(
            &link,
            "a.pdf",
            "application/pdf",
            b"%PDF",
            Some(&sha256_hex(b"%PDF")),
        )
        .await,
        StatusCode::GONE,
    )
    .await;

    let res = app
        .api(Method::PUT, &format!("/dossiers/{case}/hold"))
        .json(&json!({"reason": "Beroep ingesteld"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["hold"]["reason"],
        "Beroep ingesteld"
    );
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(
        app.api(Method::DELETE, &format!("/dossiers/{case}/hold"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    clock.advance(chrono::Duration::seconds(1));

    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/reopen"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.client.get(&link).send().await.unwrap().status(),
        StatusCode::OK,
        "reopening restores the link"
    );
    let timeline = app.get_dossier(&case).await["timeline"].clone();
    let kinds: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.ends_with(&[
            "dossier_closed",
            "hold_set",
            "hold_lifted",
            "dossier_reopened"
        ]),
        "{kinds:?}"
    );
}
