//! The audit trail: views, uploads, decisions and downloads are recorded, paged, and never
//! hold a link token.

use portaal_core::domain::CaseId;
use portaal_tests::{TestApp, case_id, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::follow_pages;

/// The audit trail of a case, and how many pages it came in.
async fn audit_trail(app: &TestApp, case: &str, limit: usize) -> (Vec<Value>, usize) {
    let url = format!("{}/api/v1/dossiers/{case}/audit?limit={limit}", app.base);
    let pages = follow_pages(app, url).await;
    let entries = pages
        .iter()
        .flat_map(|p| p["entries"].as_array().unwrap().iter().cloned())
        .collect();
    (entries, pages.len())
}

#[tokio::test]
async fn views_uploads_decisions_and_downloads_are_audited_without_the_token() {
    let app = spawn_with_settings(&[]).await;
    let case = case_id("AUDIT");
    let link = app.dossier_with_request(&case).await;
    let token = link.rsplit('/').next().unwrap().to_owned();
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let sent = app.deliver(&link, "besluit.pdf", b"%PDF-1.7 audit").await;
    let dossier = app.get_dossier(&case).await;
    let delivery = dossier["deliveries"][0]["id"].as_str().unwrap().to_owned();
    app.approve(&case, &delivery).await;
    let res = app
        .client
        .get(format!("{link}/documents/{}", sent.id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "the department downloads");
    app.download(&case, &sent.id).await;
    // A refused call is audited too.
    let res = app
        .api(
            Method::POST,
            &format!("/dossiers/{case}/deliveries/{delivery}/reject"),
        )
        .json(&json!({"reason": "Te laat"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);

    let (entries, pages) = audit_trail(&app, &case, 3).await;
    assert!(pages > 1, "paged: {pages}");
    // Reading the trail does not add to it: a page at a time still reaches the end.
    let (one_by_one, _) = audit_trail(&app, &case, 1).await;
    assert_eq!(one_by_one, entries);
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(&token), "no token in the trail");
    let has = |action: &str, actor_prefix: &str, result: &str| {
        entries.iter().any(|e| {
            e["action"] == action
                && e["actor"].as_str().unwrap().starts_with(actor_prefix)
                && e["result"] == result
        })
    };
    let request_id = dossier["requests"][0]["id"].as_str().unwrap();
    let holder = format!("link:request:{request_id}");
    assert!(has("portal.view", &holder, "success"), "{entries:#?}");
    assert!(has("document.upload", &holder, "success"));
    assert!(has("delivery.confirm", &holder, "success"));
    assert!(has("document.download", &holder, "success"));
    assert!(has("dossier.view", "api-key", "success"));
    assert!(has("delivery.approve", "api-key", "success"));
    assert!(has("document.download", "api-key", "success"));
    assert!(has("delivery.reject", "api-key", "refused"));
    for e in &entries {
        assert!(e["at"].is_string() && e["object"].is_string(), "{e}");
        assert!(e["origin"].as_str().is_some_and(|o| !o.is_empty()), "{e}");
    }
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    let download = entries
        .iter()
        .find(|e| e["action"] == "document.download")
        .unwrap();
    assert_eq!(download["object"], format!("document:{}", sent.id));

    // Calls about a case never registered leave no trail that nothing would destroy.
    let stranger = case_id("NOOIT");
    for res in [
        app.api(Method::POST, &format!("/dossiers/{stranger}/requests"))
            .json(&json!({"department": ""}))
            .send()
            .await
            .unwrap(),
        app.api(Method::PUT, &format!("/dossiers/{stranger}/hold"))
            .json(&json!({"reason": "x"}))
            .send()
            .await
            .unwrap(),
    ] {
        assert!(res.status().is_client_error());
    }
    let typed = CaseId::parse(&stranger).unwrap();
    assert!(
        app.running
            .state
            .system
            .store
            .query(&portaal_core::model::keys::audit(&typed), "")
            .await
            .unwrap()
            .is_empty()
    );
}
