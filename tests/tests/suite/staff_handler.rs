//! The case handler's dossier pages in the staff console, signed in at the real OpenID provider:
//! approving and rejecting deliveries through the forms, the audit trail naming the staff user,
//! role refusals, CSRF refusals, search, registration by hand and the other actions.

use portaal_tests::oidc::{Browser, Seen, spawn_with_provider};
use portaal_tests::{TestApp, case_id, pdf};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A dossier with one delivery awaiting review; answers its delivery's id.
async fn delivered(app: &TestApp, case: &str, name: &str) -> String {
    let link = app.dossier_with_request(case).await;
    app.deliver(&link, name, &pdf(name.as_bytes().to_vec()))
        .await;
    let view = app.get_dossier(case).await;
    view["deliveries"][0]["id"].as_str().unwrap().to_owned()
}

async fn signed_in(app: &TestApp, login: &str) -> Browser {
    let mut browser = Browser::new();
    let back = browser
        .sign_in(&format!("{}/staff/dossiers", app.base), login)
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    browser
}

/// The dossier page and its CSRF token.
async fn dossier_page(app: &TestApp, browser: &mut Browser, case: &str) -> (Seen, String) {
    let page = browser
        .get(&format!("{}/staff/dossiers/{case}", app.base))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Browser::csrf(&page.body);
    (page, csrf)
}

async fn trail(app: &TestApp, case: &str) -> Vec<Value> {
    let res = app
        .api(Method::GET, &format!("/dossiers/{case}/audit?limit=1000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["entries"].as_array().unwrap().clone()
}

fn by_staff(entries: &[Value], action: &str) -> Vec<Value> {
    entries
        .iter()
        .filter(|e| e["action"] == action)
        .filter(|e| e["actor"] == "staff:handler <handler@example.nl>")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_handler_approves_one_delivery_and_rejects_another_with_a_reason_as_the_audited_actor() {
    let (app, _) = spawn_with_provider(&[]).await;
    let approve_case = case_id("HANDLER-A");
    let reject_case = case_id("HANDLER-R");
    let to_approve = delivered(&app, &approve_case, "besluit.pdf").await;
    let to_reject = delivered(&app, &reject_case, "scan.pdf").await;
    let mut browser = signed_in(&app, "handler").await;

    // The work queue links to the dossier.
    let queue = browser.get(&format!("{}/staff", app.base)).await;
    assert!(
        queue
            .body
            .contains(&format!("href=\"/staff/dossiers/{approve_case}")),
        "{}",
        queue.body
    );

    let (page, csrf) = dossier_page(&app, &mut browser, &approve_case).await;
    assert!(page.body.contains("besluit.pdf") && page.body.contains("te beoordelen"));
    let approved = browser
        .post_form(
            &format!(
                "{}/staff/dossiers/{approve_case}/deliveries/{to_approve}/approve",
                app.base
            ),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let to = approved.location.unwrap();
    assert_eq!(to, format!("/staff/dossiers/{approve_case}?done=approved"));
    let after = browser.get(&format!("{}{to}", app.base)).await;
    assert!(
        after.body.contains("De levering is goedgekeurd."),
        "{}",
        after.body
    );
    let view = app.get_dossier(&approve_case).await;
    assert_eq!(view["deliveries"][0]["state"], "approved");

    // Rejecting without a reason is refused on the page, the field marked; with one it is done.
    let (_, csrf) = dossier_page(&app, &mut browser, &reject_case).await;
    let url = format!(
        "{}/staff/dossiers/{reject_case}/deliveries/{to_reject}/reject?lang=en",
        app.base
    );
    let refused = browser
        .post_form(&url, &[("csrf", &csrf), ("reason", "  ")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("That did not work (400)"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("role=\"alert\""));
    assert!(
        refused
            .body
            .contains(&format!("href=\"#reject-{to_reject}\""))
    );
    assert!(refused.body.contains("aria-invalid=\"true\""));
    let reason = "De scan is onleesbaar; graag opnieuw.";
    let rejected = browser
        .post_form(&url, &[("csrf", &csrf), ("reason", reason)])
        .await;
    assert_eq!(rejected.status, StatusCode::SEE_OTHER, "{}", rejected.body);
    assert_eq!(
        rejected.location.as_deref(),
        Some(format!("/staff/dossiers/{reject_case}?done=rejected&lang=en").as_str())
    );
    let view = app.get_dossier(&reject_case).await;
    assert_eq!(view["deliveries"][0]["state"], "rejected");
    assert_eq!(view["deliveries"][0]["reason"], reason);

    // Both in their dossier's trail, with the user's sub and e-mail as actor.
    let entries = trail(&app, &approve_case).await;
    let approvals = by_staff(&entries, "delivery.approve");
    assert_eq!(approvals.len(), 1, "{entries:?}");
    assert_eq!(approvals[0]["result"], "success");
    assert_eq!(approvals[0]["object"], format!("delivery:{to_approve}"));
    assert!(
        !by_staff(&entries, "dossier.view").is_empty(),
        "viewing is audited"
    );
    let entries = trail(&app, &reject_case).await;
    let rejections = by_staff(&entries, "delivery.reject");
    let results: Vec<&str> = rejections
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["refused", "success"], "{entries:?}");
}

#[tokio::test]
async fn other_roles_get_403_and_a_form_without_the_sessions_token_is_refused() {
    let (app, _) = spawn_with_provider(&[]).await;
    let case = case_id("HANDLER-C");
    let delivery = delivered(&app, &case, "a.pdf").await;
    let approve = format!(
        "{}/staff/dossiers/{case}/deliveries/{delivery}/approve",
        app.base
    );
    for login in ["records", "admin"] {
        let mut other = signed_in(&app, login).await;
        for page in ["/staff/dossiers", "/staff/dossiers/new"] {
            let refused = other.get(&format!("{}{page}", app.base)).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{login} {page}");
            assert!(refused.body.contains("behandelaar (handler)"));
        }
        let refused = other
            .get(&format!("{}/staff/dossiers/{case}", app.base))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let csrf = Browser::csrf(&refused.body);
        let refused = other.post_form(&approve, &[("csrf", &csrf)]).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{login} may not approve"
        );
    }
    let mut handler = signed_in(&app, "handler").await;
    let missing = handler.post_form(&approve, &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.body);
    assert!(missing.body.contains("Formulier verlopen"));
    let forged = handler.post_form(&approve, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Another user's token is not this session's.
    let mut other = signed_in(&app, "all").await;
    let (_, theirs) = dossier_page(&app, &mut other, &case).await;
    let foreign = handler.post_form(&approve, &[("csrf", &theirs)]).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_dossier(&case).await["deliveries"][0]["state"],
        "submitted"
    );
    // Without a session a form goes to sign in, and comes back to the dossier, not the action.
    let anonymous = Browser::new().post_form(&approve, &[("csrf", "x")]).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(
        anonymous
            .location
            .unwrap()
            .starts_with(portaal_tests::oidc::issuer())
    );
}

#[tokio::test]
async fn a_handler_searches_registers_by_hand_and_runs_the_dossiers_other_actions() {
    let (app, _) = spawn_with_provider(&[]).await;
    let case = case_id("HANDLER-S");
    let delivery = delivered(&app, &case, "bijlage.pdf").await;
    let mut browser = signed_in(&app, "handler").await;

    // Search by part of the case number, and by a title that matches nothing.
    let part = &case[..case.len() - 2];
    let found = browser
        .get(&format!("{}/staff/dossiers?q={part}&status=open", app.base))
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.body.contains(&case), "{}", found.body);
    let none = browser
        .get(&format!(
            "{}/staff/dossiers?q=zzz-nothing-zzz&lang=en",
            app.base
        ))
        .await;
    assert!(none.body.contains("No dossiers found."));
    let bad = browser
        .get(&format!("{}/staff/dossiers?status=weird", app.base))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Register a dossier by hand; the same case number again is refused with the form kept.
    let new_case = case_id("HANDLER-N");
    let form_page = browser
        .get(&format!("{}/staff/dossiers/new", app.base))
        .await;
    assert_eq!(form_page.status, StatusCode::OK);
    let csrf = Browser::csrf(&form_page.body);
    let fields = [
        ("csrf", csrf.as_str()),
        ("case_id", new_case.as_str()),
        ("case_type", "bezwaar"),
        ("title", "Bezwaar tegen parkeerboete"),
        ("submitter_name", "J. de Vries"),
        ("submitter_email", ""),
        ("decision_reference", "PB-1"),
        ("decision_date", "2026-10-01"),
        ("decision_department", "Parkeren"),
        ("handler_name", "M. Jansen"),
        ("handler_email", "m.jansen@example.nl"),
    ];
    let url = format!("{}/staff/dossiers", app.base);
    let made = browser.post_form(&url, &fields).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert_eq!(
        made.location.as_deref(),
        Some(format!("/staff/dossiers/{new_case}?done=registered").as_str())
    );
    assert_eq!(
        app.get_dossier(&new_case).await["title"],
        "Bezwaar tegen parkeerboete"
    );
    let again = browser.post_form(&url, &fields).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("bestaat al") && again.body.contains("Bezwaar tegen parkeerboete"));
    assert_eq!(
        by_staff(&trail(&app, &new_case).await, "dossier.register").len(),
        1
    );

    // A new request, a due date, a new link, withdrawal, download, hold, close and reopen.
    let (_, csrf) = dossier_page(&app, &mut browser, &new_case).await;
    let base = format!("{}/staff/dossiers/{new_case}", app.base);
    let sent = browser
        .post_form(
            &format!("{base}/requests"),
            &[
                ("csrf", &csrf),
                ("department", "Parkeren"),
                ("to", "parkeren@example.nl, handhaving@example.nl"),
                ("due", "2099-06-30"),
                ("message", "Graag de foto's."),
                ("language", "nl"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let view = app.get_dossier(&new_case).await;
    let request = view["requests"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(view["requests"][0]["to"].as_array().unwrap().len(), 2);
    let steps = [
        ("due", vec![("due", "2099-07-31")], "due-changed"),
        ("link", vec![("resend", "true")], "rotated"),
        ("withdraw", vec![], "withdrawn"),
    ];
    for (action, extra, done) in steps {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(extra);
        let res = browser
            .post_form(&format!("{base}/requests/{request}/{action}"), &form)
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{action}: {}", res.body);
        let to = res.location.unwrap();
        assert!(to.ends_with(&format!("done={done}")), "{action}: {to}");
    }
    let view = app.get_dossier(&new_case).await;
    assert_eq!(view["requests"][0]["due"], "2099-07-31");
    assert_eq!(view["requests"][0]["state"], "withdrawn");
    // A new request with a bad address is shown with the values kept.
    let refused = browser
        .post_form(
            &format!("{base}/requests"),
            &[
                ("csrf", &csrf),
                ("department", "Parkeren"),
                ("to", "geen-adres"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("geen-adres") && refused.body.contains("href=\"#new-request\""));

    // Download from the first dossier: audited, then to the short-lived URL.
    let document = app.get_dossier(&case).await["deliveries"][0]["documents"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, csrf) = dossier_page(&app, &mut browser, &case).await;
    let download = browser
        .post_form(
            &format!(
                "{}/staff/dossiers/{case}/documents/{document}/download",
                app.base
            ),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(download.status, StatusCode::SEE_OTHER, "{}", download.body);
    let url = download.location.unwrap();
    let bytes = app.client.get(&url).send().await.unwrap();
    assert_eq!(bytes.status(), StatusCode::OK, "{url}");
    assert_eq!(
        by_staff(&trail(&app, &case).await, "document.download").len(),
        1
    );
    let _ = delivery;

    let (_, csrf) = dossier_page(&app, &mut browser, &new_case).await;
    for (path, form, done) in [
        ("hold", vec![("reason", "WOB-verzoek")], "hold-set"),
        ("hold/lift", vec![], "hold-lifted"),
        ("close", vec![("result", "gegrond")], "closed"),
        ("reopen", vec![], "reopened"),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form);
        let res = browser.post_form(&format!("{base}/{path}"), &fields).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{path}: {}", res.body);
        assert!(res.location.unwrap().contains(&format!("done={done}")));
    }
    let entries = trail(&app, &new_case).await;
    for action in [
        "request.create",
        "request.update",
        "link.rotate",
        "hold.set",
        "hold.lift",
        "dossier.close",
        "dossier.reopen",
    ] {
        assert!(
            !by_staff(&entries, action).is_empty(),
            "{action}: {entries:?}"
        );
    }
    // The English page, and an older page of the timeline.
    let english = browser.get(&format!("{base}?lang=en")).await;
    assert!(english.body.contains("Timeline") && english.body.contains("Deliveries"));
    let unknown = browser
        .get(&format!("{}/staff/dossiers/NOPE-404", app.base))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_dossiers_timeline_pages_back_with_before() {
    let (app, _) = spawn_with_provider(&[]).await;
    let case = case_id("HANDLER-T");
    assert!(app.put_dossier(&case).await.status().is_success());
    // Registered, then 51 holds set and lifted: more than a page (100) of events.
    for round in 0..51 {
        let hold = app
            .api(Method::PUT, &format!("/dossiers/{case}/hold"))
            .json(&serde_json::json!({"reason": format!("ronde {round}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(hold.status(), StatusCode::OK);
        let lift = app
            .api(Method::DELETE, &format!("/dossiers/{case}/hold"))
            .send()
            .await
            .unwrap();
        assert_eq!(lift.status(), StatusCode::OK);
    }
    let mut browser = signed_in(&app, "handler").await;
    let (page, _) = dossier_page(&app, &mut browser, &case).await;
    assert!(
        !page.body.contains("Zaak geregistreerd"),
        "the oldest is on the next page"
    );
    let at = page.body.find("?before=").expect("a link to older events");
    let end = page.body[at..].find('"').unwrap();
    let query = page.body[at..at + end].replace("&amp;", "&");
    let query = query.split('#').next().unwrap();
    let older = browser
        .get(&format!("{}/staff/dossiers/{case}{query}", app.base))
        .await;
    assert_eq!(older.status, StatusCode::OK, "{}", older.body);
    assert!(older.body.contains("Zaak geregistreerd"));
    assert!(older.body.contains("Nieuwste gebeurtenissen"));
    let garbage = browser
        .get(&format!(
            "{}/staff/dossiers/{case}?before=nonsense",
            app.base
        ))
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_handler_publishes_a_document_through_the_signed_upload_path() {
    let (app, _) = spawn_with_provider(&[]).await;
    let case = case_id("HANDLER-PUB");
    let link = app.dossier_with_request(&case).await;
    let mut browser = signed_in(&app, "handler").await;
    let (page, csrf) = dossier_page(&app, &mut browser, &case).await;
    assert!(
        page.body.contains("id=\"publish\"") && page.body.contains("Document publiceren"),
        "{}",
        page.body
    );
    let bytes = pdf(b"het besluit op bezwaar".to_vec());
    let stage_url = format!("{}/staff/dossiers/{case}/publications", app.base);
    let size = bytes.len().to_string();
    let sha256 = portaal_tests::sha256_hex(&bytes);
    let announce = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("filename", "besluit op bezwaar.pdf".to_owned()),
            ("content_type", "application/pdf".to_owned()),
            ("size", size.clone()),
            ("sha256", sha256.clone()),
            ("request_id", String::new()),
            ("message", "Het besluit, ter kennisname.".to_owned()),
        ]
    };
    let pairs = |form: &[(&'static str, String)]| -> Vec<(&'static str, String)> { form.to_vec() };

    // The script's call is answered as JSON: 401 without a session, 403 with a foreign token.
    let form = pairs(&announce(&csrf));
    let as_str: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let signed_out = Browser::new().post_form(&stage_url, &as_str).await;
    assert_eq!(
        signed_out.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        signed_out.body
    );
    let problem: Value = serde_json::from_str(&signed_out.body).unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("niet (meer) aangemeld")
    );
    let form = pairs(&announce("not-the-token"));
    let as_str: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let foreign = browser.post_form(&stage_url, &as_str).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.body);
    // A size that is no number is a clear 400.
    let mut form = pairs(&announce(&csrf));
    form[3].1 = "groot".to_owned();
    let as_str: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad = browser.post_form(&stage_url, &as_str).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("size"), "{}", bad.body);

    let form = pairs(&announce(&csrf));
    let as_str: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let staged = browser.post_form(&stage_url, &as_str).await;
    assert_eq!(staged.status, StatusCode::CREATED, "{}", staged.body);
    let staged: Value = serde_json::from_str(&staged.body).unwrap();
    let put = app.send_bytes(&staged, bytes.clone()).await;
    assert!(put.status().is_success(), "{}", put.status());
    // Not published before the form says so.
    assert!(
        app.portal_view(&link).await["publications"]
            .as_array()
            .is_none_or(|p| p.is_empty())
    );
    let id = staged["id"].as_str().unwrap();
    let published = browser
        .post_form(
            &format!("{stage_url}/{id}/publish"),
            &[("csrf", &csrf), ("request_id", ""), ("message", "")],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    let back = published.location.unwrap();
    assert_eq!(back, format!("/staff/dossiers/{case}?done=published"));
    let after = browser.get(&format!("{}{back}", app.base)).await;
    assert!(
        after.body.contains("Het document is gepubliceerd")
            && after.body.contains("besluit op bezwaar.pdf"),
        "{}",
        after.body
    );

    // The department sees it through its link, byte for byte, and is mailed.
    let view = app.portal_view(&link).await;
    let shown = view["publications"][0].clone();
    assert_eq!(
        shown["document"]["filename"], "besluit op bezwaar.pdf",
        "{view}"
    );
    assert_eq!(shown["message"], "Het besluit, ter kennisname.");
    let document = shown["document"]["id"].as_str().unwrap();
    assert_eq!(app.download(&case, document).await, bytes);
    let mails = app.mails(&case, 2).await;
    assert!(
        mails
            .iter()
            .any(|m| m.to_string().contains("besluit op bezwaar.pdf")),
        "{mails:?}"
    );

    // Both steps in the trail as the signed-in handler.
    let entries = trail(&app, &case).await;
    let created = by_staff(&entries, "publication.create");
    let results: Vec<&str> = created
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["refused", "success"], "{entries:?}");
    let publishes = by_staff(&entries, "publication.publish");
    assert_eq!(publishes.len(), 1, "{entries:?}");
    assert_eq!(publishes[0]["object"], format!("publication:{id}"));
}
