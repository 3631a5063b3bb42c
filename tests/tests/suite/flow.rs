//! The request → delivery → approval flow over HTTP, and what bad input gets. Runs on the backend
//! the environment chooses (embedded by default; `PORTAAL_BACKEND=aws` on the emulators).

mod lifecycle;
mod links;

use portaal_tests::{TestApp, case_id, problem, pseudo_random, sha256_hex, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn a_request_is_delivered_approved_and_downloaded_byte_identical() {
    let app = spawn_app().await;
    let case = case_id("BZ");
    let link = app.dossier_with_request(&case).await;

    // the request mail carries the link and the case data
    let mails = app.exact_mails(&case, 1).await;
    let request_mail = mails[0].to_string();
    assert!(
        request_mail.contains(&link),
        "the request mail holds the portal link"
    );
    assert!(
        request_mail.contains("OV-2026-0815"),
        "the mail names the decision"
    );
    assert!(
        request_mail.contains("31 december 2099"),
        "the mail names the due date in Dutch"
    );
    assert!(
        request_mail.contains("Graag ook de adviezen meesturen."),
        "the mail carries the case's remarks"
    );

    // the link opens the page, in HTML and as JSON
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("Bevestigen en versturen") && html.contains("Opmerkingen"));
    let view: Value = app.portal_view(&link).await;
    assert_eq!(view["dossier"]["decision"]["reference"], "OV-2026-0815");
    assert_eq!(view["request"]["state"], "open");

    // two files, one of 5 MiB
    let big = app
        .upload(
            &link,
            "besluit-en-adviezen.pdf",
            "application/pdf",
            portaal_tests::pdf(pseudo_random(5 * 1024 * 1024, 7)),
        )
        .await;
    let small = app
        .upload(
            &link,
            "notitie.txt",
            "text/plain",
            b"Aanvullende notitie\n".to_vec(),
        )
        .await;
    let res = app.confirm(&link, &[&big.id, &small.id]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let delivery: Value = res.json().await.unwrap();
    assert_eq!(delivery["state"], "submitted");
    assert_eq!(delivery["documents"].as_array().unwrap().len(), 2);
    let delivery_id = delivery["id"].as_str().unwrap().to_owned();

    // the handler is notified and the submitter gets a receipt with every file's size and SHA-256
    let mails = app.exact_mails(&case, 3).await;
    let handler = mails
        .iter()
        .find(|m| m["to"].to_string().contains("m.jansen@example.nl"))
        .expect("handler mail");
    assert!(handler.to_string().contains("besluit-en-adviezen.pdf"));
    let receipt = mails
        .iter()
        .find(|m| m.to_string().contains("p.bakker@example.nl"))
        .expect("receipt")
        .to_string();
    for file in [&big, &small] {
        assert!(
            receipt.contains(&file.filename),
            "receipt lists {}",
            file.filename
        );
        assert!(
            receipt.contains(&sha256_hex(&file.bytes)),
            "receipt gives the SHA-256 of {}",
            file.filename
        );
        assert!(
            receipt.contains(&format!("{} bytes", file.bytes.len())),
            "receipt gives the size of {}",
            file.filename
        );
    }

    // the case system reads, approves and downloads byte-identical files
    let res = app
        .api(
            Method::GET,
            &format!("/dossiers/{case}/deliveries/{delivery_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["api-version"], "1");
    let approved = app.approve(&case, &delivery_id).await;
    assert_eq!(approved["state"], "approved");
    for file in [&big, &small] {
        assert!(
            app.download(&case, &file.id).await == file.bytes,
            "{} downloads byte-identical",
            file.filename
        );
    }

    // the dossier tells the whole story, oldest first
    let dossier = app.get_dossier(&case).await;
    let kinds: Vec<&str> = dossier["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "dossier_registered",
            "request_sent",
            "delivery_submitted",
            "delivery_approved"
        ]
    );
    assert_eq!(dossier["requests"][0]["state"], "delivered");
    assert!(
        dossier["requests"][0].get("portal_url").is_none(),
        "the link is returned only once"
    );
}

#[tokio::test]
async fn a_follow_up_delivery_through_the_same_link_is_a_second_delivery() {
    let app = spawn_app().await;
    let case = case_id("NZ");
    let link = app.dossier_with_request(&case).await;
    app.deliver(&link, "a.pdf", b"%PDF-1.4 a").await;
    let b = app
        .upload(
            &link,
            "vergeten.pdf",
            "application/pdf",
            b"%PDF-1.4 b".to_vec(),
        )
        .await;
    assert_eq!(
        app.confirm(&link, &[&b.id]).await.status(),
        StatusCode::CREATED
    );
    let view: Value = app.portal_view(&link).await;
    assert_eq!(view["deliveries"].as_array().unwrap().len(), 2);
    let summaries: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries.iter().any(|s| s.starts_with("Nazending")),
        "the second delivery is a follow-up: {summaries:?}"
    );
}

#[tokio::test]
async fn an_unknown_link_is_404_for_people_and_scripts() {
    let app = spawn_app().await;
    let unknown = format!("{}/p/{}", app.base, "A".repeat(43));
    let res = app.client.get(&unknown).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Link niet gevonden"));
    let res = app
        .client
        .get(&unknown)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .client
        .get(format!("{}/p/short", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .stage(&unknown, "a.pdf", "application/pdf", b"x", None)
        .await;
    problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_api_refuses_a_missing_or_wrong_key() {
    let app = spawn_app().await;
    let url = format!("{}/api/v1/dossiers/BZ-1", app.base);
    problem(
        app.client.get(&url).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.client
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res = app
        .client
        .put(&url)
        .bearer_auth("wrong")
        .json(&portaal_tests::dossier_body())
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::UNAUTHORIZED).await;
    // the contract itself is public
    assert_eq!(
        app.client
            .get(format!("{}/api/v1/openapi.json", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_or_invalid_input_is_a_400_problem_that_changes_nothing() {
    let app = spawn_app().await;
    let case = case_id("BAD");
    let url = format!("/dossiers/{case}");
    let res = app
        .api(Method::PUT, &url)
        .header("content-type", "application/json")
        .body("{\"case_type\": ")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::BAD_REQUEST).await;
    let mut body = portaal_tests::dossier_body();
    body["decision"]["date"] = json!("1 oktober");
    let detail = problem(
        app.api(Method::PUT, &url).json(&body).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        detail["detail"].as_str().unwrap().contains("decision.date"),
        "the detail names the field"
    );
    body = portaal_tests::dossier_body();
    body["handler"]["email"] = json!("niet-een-adres");
    problem(
        app.api(Method::PUT, &url).json(&body).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.api(Method::PUT, "/dossiers/..%2Fetc")
            .json(&portaal_tests::dossier_body())
            .send()
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.api(Method::GET, &url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;

    // a request with a past due date or no recipients
    assert_eq!(app.put_dossier(&case).await.status(), StatusCode::CREATED);
    let res = app
        .api(Method::POST, &format!("{url}/requests"))
        .json(&json!({"department": "X", "to": [], "due": "2099-01-01"}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::BAD_REQUEST).await;
    let res = app
        .api(Method::POST, &format!("{url}/requests"))
        .json(&json!({"department": "X", "to": ["a@b.nl"], "due": "2000-01-01"}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::BAD_REQUEST).await;
    assert!(
        app.get_dossier(&case).await["requests"]
            .as_array()
            .unwrap()
            .is_empty(),
        "refused requests leave nothing"
    );
}

#[tokio::test]
async fn an_upload_whose_bytes_differ_from_the_announcement_is_refused_and_leaves_no_document() {
    let app = spawn_app().await;
    let case = case_id("SZ");
    let link = app.dossier_with_request(&case).await;
    let announced = b"precies twintig bytes".to_vec();

    // more bytes, fewer bytes, other bytes of the same size
    for (label, sent) in [
        ("longer", [announced.clone(), b"!".to_vec()].concat()),
        ("shorter", announced[..10].to_vec()),
        ("other", b"PRECIES TWINTIG BYTES".to_vec()),
    ] {
        let res = app
            .stage(
                &link,
                "stuk.txt",
                "text/plain",
                &announced,
                Some(&sha256_hex(&announced)),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let staged: Value = res.json().await.unwrap();
        let put = app.send_bytes(&staged, sent).await;
        assert!(
            put.status().is_client_error(),
            "{label}: the upload is refused ({})",
            put.status()
        );
        let id = staged["id"].as_str().unwrap();
        let res = app.confirm(&link, &[id]).await;
        problem(res, StatusCode::BAD_REQUEST).await;
    }
    let dossier = app.get_dossier(&case).await;
    assert!(
        dossier["deliveries"].as_array().unwrap().is_empty(),
        "no delivery was made"
    );
    let view: Value = app.portal_view(&link).await;
    assert!(view["deliveries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn confirming_with_no_files_is_refused() {
    let app = spawn_app().await;
    let case = case_id("LEEG");
    let link = app.dossier_with_request(&case).await;
    let body = problem(app.confirm(&link, &[]).await, StatusCode::BAD_REQUEST).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("at least one file")
    );
}

#[tokio::test]
async fn confirming_the_same_uploads_twice_makes_one_delivery() {
    let app = spawn_app().await;
    let case = case_id("DUBBEL");
    let link = app.dossier_with_request(&case).await;
    let a = app
        .upload(&link, "a.pdf", "application/pdf", b"%PDF-1.4 a".to_vec())
        .await;
    let b = app
        .upload(&link, "b.pdf", "application/pdf", b"%PDF-1.4 b".to_vec())
        .await;
    let first = app.confirm(&link, &[&a.id, &b.id]).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = app.confirm(&link, &[&b.id, &a.id]).await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "a repeat answers the existing delivery"
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);

    // at the same moment, too
    let c = app
        .upload(&link, "c.pdf", "application/pdf", b"%PDF-1.4 c".to_vec())
        .await;
    let ids = [c.id.as_str()];
    let (x, y) = tokio::join!(app.confirm(&link, &ids), app.confirm(&link, &ids));
    let mut statuses = [x.status(), y.status()];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CREATED],
        "concurrent confirms make one delivery"
    );
    let dossier = app.get_dossier(&case).await;
    assert_eq!(dossier["deliveries"].as_array().unwrap().len(), 2);
    // a mixed set is a conflict, not a new delivery
    let d = app
        .upload(&link, "d.pdf", "application/pdf", b"%PDF-1.4 d".to_vec())
        .await;
    problem(
        app.confirm(&link, &[&a.id, &d.id]).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        app.get_dossier(&case).await["deliveries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn state_changes_without_the_client_header_are_forbidden() {
    let app = spawn_app().await;
    let case = case_id("CSRF");
    let link = app.dossier_with_request(&case).await;
    let res = app
        .client
        .post(format!("{link}/uploads"))
        .json(&json!({"filename": "a.pdf", "content_type": "application/pdf", "size": 3}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
    let res = app
        .client
        .post(format!("{link}/deliveries"))
        .header("X-Portaal-Client", "1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("uploads=1")
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn a_staged_upload_can_be_removed_and_is_then_gone() {
    let app = spawn_app().await;
    let case = case_id("WEG");
    let link = app.dossier_with_request(&case).await;
    let a = app
        .upload(&link, "a.pdf", "application/pdf", b"%PDF-1.4 a".to_vec())
        .await;
    let res = app
        .portal(Method::DELETE, &format!("{link}/uploads/{}", a.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    problem(app.confirm(&link, &[&a.id]).await, StatusCode::BAD_REQUEST).await;
    let res = app
        .portal(Method::DELETE, &format!("{link}/uploads/{}", a.id))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn files_of_a_type_or_size_the_case_type_does_not_allow_are_refused() {
    let app = spawn_app().await;
    let case = case_id("TYPE");
    let link = app.dossier_with_request(&case).await;
    problem(
        app.stage(&link, "virus.exe", "application/x-msdownload", b"MZ", None)
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    let res = app
        .portal(Method::POST, &format!("{link}/uploads"))
        .json(&json!({"filename": "groot.pdf", "content_type": "application/pdf", "size": 6u64 << 30}))
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn a_rejected_delivery_tells_the_department_and_destroys_the_files() {
    let app = spawn_app().await;
    let case = case_id("AFW");
    let link = app.dossier_with_request(&case).await;
    let a = app
        .upload(
            &link,
            "verkeerd.pdf",
            "application/pdf",
            b"%PDF-1.4 wrong".to_vec(),
        )
        .await;
    let delivery: Value = app.confirm(&link, &[&a.id]).await.json().await.unwrap();
    let id = delivery["id"].as_str().unwrap();
    let rejected = app.reject(&case, id, "Dit is het verkeerde besluit.").await;
    assert_eq!(rejected["state"], "rejected");
    // request, handler's notice, receipt, and the rejection to the department and the submitter
    let mails = app.exact_mails(&case, 5).await;
    assert!(
        mails
            .iter()
            .any(|m| m.to_string().contains("Dit is het verkeerde besluit.")),
        "the department is told why"
    );
    let res = app
        .api(
            Method::GET,
            &format!("/dossiers/{case}/documents/{}/content", a.id),
        )
        .send()
        .await
        .unwrap();
    problem(res, StatusCode::GONE).await;
    problem(
        app.api(
            Method::POST,
            &format!("/dossiers/{case}/deliveries/{id}/approve"),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        app.get_dossier(&case).await["requests"][0]["state"],
        "open",
        "the request is open again"
    );
}

#[tokio::test]
async fn updating_a_dossier_answers_200_and_keeps_one_dossier() {
    let app: TestApp = spawn_app().await;
    let case = case_id("UPD");
    assert_eq!(app.put_dossier(&case).await.status(), StatusCode::CREATED);
    let mut body = portaal_tests::dossier_body();
    body["title"] = json!("Nieuwe titel");
    let res = app
        .api(Method::PUT, &format!("/dossiers/{case}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.get_dossier(&case).await["title"], "Nieuwe titel");
    assert_eq!(app.put_dossier(&case).await.status(), StatusCode::OK);
}
