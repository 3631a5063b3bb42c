//! What a security officer asks of the files: each is what it claims to be, scanned for malware,
//! and quarantined when infected. Runs on the backend the environment chooses (embedded by
//! default; `PORTAAL_BACKEND=aws` on the emulators).

use portaal_tests::{case_id, problem, sha256_hex, spawn_app, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The start of a Windows executable (an `MZ` header with its PE pointer).
fn windows_executable() -> Vec<u8> {
    let mut exe = vec![0u8; 4096];
    exe[..2].copy_from_slice(b"MZ");
    exe[0x3C] = 0x80;
    exe[0x80..0x84].copy_from_slice(b"PE\0\0");
    exe
}

#[tokio::test]
async fn a_disguised_executable_or_web_page_is_refused_and_nothing_is_committed() {
    let app = spawn_app().await;
    let case = case_id("CONTENT");
    let link = app.dossier_with_request(&case).await;
    let exe = app
        .upload(
            &link,
            "besluit.pdf",
            "application/pdf",
            windows_executable(),
        )
        .await;
    let html = app
        .upload(
            &link,
            "scan.png",
            "image/png",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(),
        )
        .await;
    let good = app
        .upload(
            &link,
            "notitie.txt",
            "text/plain",
            "Zaak één, regel twee.\r\n".as_bytes().to_vec(),
        )
        .await;

    for (bad, name, nl) in [
        (&exe, "besluit.pdf", "uitvoerbaar programma"),
        (&html, "scan.png", "webpagina"),
    ] {
        let body = problem(
            app.confirm(&link, &[&good.id, &bad.id]).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(name), "names the file: {detail}");
        assert!(detail.contains(nl), "says why in Dutch: {detail}");
        assert!(
            detail.contains("does not match"),
            "and in English: {detail}"
        );
    }
    let dossier = app.get_dossier(&case).await;
    assert_eq!(dossier["deliveries"], json!([]), "no delivery was made");

    // The good file still confirms alone; the refused ones stay staged until removed.
    let res = app.confirm(&link, &[&good.id]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let page: Value = app.portal_view(&link).await;
    let staged: Vec<&str> = page["staged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["filename"].as_str().unwrap())
        .collect();
    assert_eq!(staged, ["besluit.pdf", "scan.png"]);
}

#[tokio::test]
async fn office_documents_and_mail_are_recognised_by_their_content() {
    let app = spawn_app().await;
    let case = case_id("OFFICE");
    let link = app.dossier_with_request(&case).await;
    let ole2 = [
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..],
        &[0u8; 1024],
    ]
    .concat();
    // An OLE2 file matches every OLE2 type (a .msg announced as .doc is no disguise).
    let doc = app
        .upload(&link, "oud.doc", "application/msword", ole2.clone())
        .await;
    let msg = app
        .upload(&link, "mail.msg", "application/vnd.ms-outlook", ole2)
        .await;
    let eml = app
        .upload(
            &link,
            "mail.eml",
            "message/rfc822",
            b"From: a@example.nl\r\nSubject: Besluit\r\n\r\nZie bijlage.".to_vec(),
        )
        .await;
    let csv = app
        .upload(
            &link,
            "bedragen.csv",
            "text/csv",
            b"naam;bedrag\ncaf\xE9;12\n".to_vec(),
        )
        .await;
    let res = app
        .confirm(&link, &[&doc.id, &msg.id, &eml.id, &csv.id])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let binary_as_text = app
        .upload(&link, "notitie.txt", "text/plain", b"a\0b".to_vec())
        .await;
    let body = problem(
        app.confirm(&link, &[&binary_as_text.id]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("notitie.txt"));
}

#[tokio::test]
async fn a_publication_whose_content_is_not_its_type_is_not_published() {
    let app = spawn_app().await;
    let case = case_id("PUBCHK");
    app.dossier_with_request(&case).await;
    let bytes = windows_executable();
    let res = app
        .api(Method::POST, &format!("/dossiers/{case}/publications"))
        .json(&json!({"filename": "verslag.pdf", "content_type": "application/pdf", "size": bytes.len(), "sha256": sha256_hex(&bytes)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let publication: Value = res.json().await.unwrap();
    let put = app.send_bytes(&publication, bytes).await;
    assert!(put.status().is_success());
    let id = publication["id"].as_str().unwrap();
    let body = problem(
        app.api(
            Method::POST,
            &format!("/dossiers/{case}/publications/{id}/publish"),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("verslag.pdf"));
    let dossier = app.get_dossier(&case).await;
    assert!(
        dossier["publications"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["published_at"].is_null()),
        "nothing was published: {}",
        dossier["publications"]
    );
}

/// The EICAR test file, assembled here so this source is no test file itself.
fn eicar() -> Vec<u8> {
    [
        r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR",
        "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

/// The real clamd `tests/run` starts (`infra/clamd up`).
fn clamd_url() -> String {
    std::env::var("CLAMD_URL")
        .expect("these tests need clamd: run `eval \"$(infra/clamd up)\"` first (tests/run does)")
}

fn documents_of(dossier: &Value) -> Vec<Value> {
    dossier["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["documents"].as_array().unwrap().clone())
        .collect()
}

fn scan_of(dossier: &Value, filename: &str) -> String {
    documents_of(dossier)
        .into_iter()
        .find(|d| d["filename"] == filename)
        .unwrap_or_else(|| panic!("{filename} in {dossier}"))["scan"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn status_and_retry_after(res: reqwest::Response) -> (StatusCode, Option<String>) {
    (
        res.status(),
        res.headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned()),
    )
}

async fn approve(app: &portaal_tests::TestApp, case: &str, delivery: &str) -> reqwest::Response {
    app.api(
        Method::POST,
        &format!("/dossiers/{case}/deliveries/{delivery}/approve"),
    )
    .send()
    .await
    .unwrap()
}

async fn content(app: &portaal_tests::TestApp, case: &str, doc: &str) -> reqwest::Response {
    app.api(
        Method::GET,
        &format!("/dossiers/{case}/documents/{doc}/content"),
    )
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn clamd_quarantines_eicar_passes_a_clean_file_and_fails_one_over_its_limits() {
    // No background worker: the test decides when scanning happens.
    let app = spawn_with_settings(&[
        ("PORTAAL_CLAMD_URL", &clamd_url()),
        ("PORTAAL_WORKER", "off"),
    ])
    .await;
    let system = &app.running.state.system;
    let case = case_id("CLAMD");
    let link = app.dossier_with_request(&case).await;
    let infected = app
        .upload(&link, "notitie.txt", "text/plain", eicar())
        .await;
    let clean = app
        .upload(
            &link,
            "besluit.pdf",
            "application/pdf",
            b"%PDF-1.7 schoon".to_vec(),
        )
        .await;
    let res = app.confirm(&link, &[&infected.id, &clean.id]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let delivery: Value = res.json().await.unwrap();
    let delivery = delivery["id"].as_str().unwrap().to_owned();

    // Scanning follows the confirm; until it is done nothing is approved or downloaded.
    let dossier = app.get_dossier(&case).await;
    assert_eq!(scan_of(&dossier, "notitie.txt"), "pending");
    let (status, retry) = status_and_retry_after(approve(&app, &case, &delivery).await).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::CONFLICT, Some("30"))
    );
    let (status, retry) = status_and_retry_after(content(&app, &case, &clean.id).await).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::CONFLICT, Some("30"))
    );

    // On AWS the scan function's schedule does it: the same handler, fed its event.
    let scan: notify::NotifyTrigger =
        serde_json::from_str(include_str!("../../../events/notify-scan.json")).unwrap();
    let answer = notify::notify(system, scan).await.unwrap();
    assert_eq!(answer["scanned"], 2, "{answer}");
    let dossier = app.get_dossier(&case).await;
    assert_eq!(scan_of(&dossier, "notitie.txt"), "infected");
    assert_eq!(scan_of(&dossier, "besluit.pdf"), "clean");
    assert_eq!(
        system.portaal.scan_pending().await.unwrap(),
        0,
        "a verdict is recorded once"
    );

    // Quarantined: never downloadable (API and portal: 403, no redirect), never approved.
    assert_eq!(
        content(&app, &case, &infected.id).await.status(),
        StatusCode::FORBIDDEN
    );
    let portal_download = app
        .client
        .get(format!("{link}/documents/{}", infected.id))
        .send()
        .await
        .unwrap();
    assert_eq!(portal_download.status(), StatusCode::FORBIDDEN);
    assert!(portal_download.headers().get("location").is_none());
    let body = problem(approve(&app, &case, &delivery).await, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("notitie.txt"));
    assert_eq!(app.download(&case, &clean.id).await, clean.bytes);

    // The handler is mailed naming the file; the timeline and the feed say so once.
    // request, handler's notice, receipt, quarantine notice
    let mails = app.exact_mails(&case, 4).await;
    let notice = mails
        .iter()
        .find(|m| {
            let subject = m["subject"].as_str().unwrap_or_default();
            subject.contains("alware") && subject.contains("notitie.txt")
        })
        .unwrap_or_else(|| panic!("a quarantine mail: {mails:?}"));
    assert!(
        notice["to"].to_string().contains("m.jansen@example.nl"),
        "to the handler: {notice}"
    );
    let quarantined: Vec<&Value> = dossier["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "document_quarantined")
        .collect();
    assert_eq!(quarantined.len(), 1, "{}", dossier["timeline"]);
    system.webhooks.sequence_pending(500).await.unwrap();
    let feed: Value = app
        .api(Method::GET, "/events?limit=500")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let told: Vec<&Value> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "document.quarantined" && e["data"]["case_id"] == case.as_str())
        .collect();
    assert_eq!(told.len(), 1, "{feed}");
    assert_eq!(told[0]["data"]["document_id"], infected.id.as_str());

    // The department sees on its page that the file was refused.
    let page = app
        .client
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("geweigerd: de virusscanner vond malware"),
        "{page}"
    );

    // Over clamd's limits (4 MiB in tests/run): failed, never clean.
    let big = portaal_tests::pdf(portaal_tests::pseudo_random(5 * 1024 * 1024, 3));
    let big = app.upload(&link, "groot.pdf", "application/pdf", big).await;
    let res = app.confirm(&link, &[&big.id]).await;
    let second: Value = res.json().await.unwrap();
    system.portaal.scan_pending().await.unwrap();
    let dossier = app.get_dossier(&case).await;
    assert_eq!(scan_of(&dossier, "groot.pdf"), "failed");
    let (status, retry) =
        status_and_retry_after(approve(&app, &case, second["id"].as_str().unwrap()).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(retry.is_some());
}

#[tokio::test]
async fn an_unreachable_clamd_leaves_documents_pending_not_clean() {
    let app = spawn_with_settings(&[
        ("PORTAAL_CLAMD_URL", "tcp://127.0.0.1:1"),
        ("PORTAAL_WORKER", "off"),
    ])
    .await;
    let case = case_id("NOCLAMD");
    let link = app.dossier_with_request(&case).await;
    app.deliver(&link, "a.pdf", b"%PDF-1.7 a").await;
    assert_eq!(
        app.running
            .state
            .system
            .portaal
            .scan_pending()
            .await
            .unwrap(),
        0
    );
    assert_eq!(scan_of(&app.get_dossier(&case).await, "a.pdf"), "pending");
}

/// Where the document's bytes are kept (GuardDuty names the object it scanned).
pub(crate) async fn blob_key(app: &portaal_tests::TestApp, case: &str, id: &str) -> String {
    let item = app
        .running
        .state
        .system
        .store
        .get(&format!("DOSSIER#{case}"), &format!("DOC#{id}"))
        .await
        .unwrap()
        .expect("the document item");
    item.str_attr("blob_key").unwrap().to_owned()
}

/// The sample GuardDuty event, about the document stored under `key`, with `status`.
pub(crate) fn guardduty_event(key: &str, status: &str) -> notify::NotifyTrigger {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/guardduty-scan-result.json")).unwrap();
    event["detail"]["s3ObjectDetails"]["objectKey"] = json!(key);
    event["detail"]["scanResultDetails"]["scanResultStatus"] = json!(status);
    serde_json::from_value(event).expect("the notify function accepts the sample event")
}

#[tokio::test]
async fn guardduty_verdicts_are_recorded_once_and_unsupported_means_failed() {
    let app =
        spawn_with_settings(&[("PORTAAL_SCANNER", "guardduty"), ("PORTAAL_WORKER", "off")]).await;
    let system = &app.running.state.system;
    let case = case_id("GD");
    let link = app.dossier_with_request(&case).await;
    let mut ids = Vec::new();
    for name in ["a.pdf", "b.pdf", "c.pdf"] {
        let doc = app
            .upload(
                &link,
                name,
                "application/pdf",
                format!("%PDF-1.7 {name}").into_bytes(),
            )
            .await;
        ids.push(doc.id);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        app.confirm(&link, &refs).await.status(),
        StatusCode::CREATED
    );
    for (id, status) in [
        (&ids[0], "THREATS_FOUND"),
        (&ids[1], "NO_THREATS_FOUND"),
        (&ids[2], "UNSUPPORTED"),
    ] {
        for _ in 0..2 {
            // EventBridge may deliver twice: the second is a no-op.
            let key = blob_key(&app, &case, id).await;
            notify::notify(system, guardduty_event(&key, status))
                .await
                .unwrap();
        }
    }
    // A result for something that is no document, or for a copy that is not the document's
    // (one a racing confirm made), changes nothing.
    for key in [
        "staged/x/y".to_owned(),
        format!("dossiers/{case}/{}", ids[1]),
    ] {
        notify::notify(system, guardduty_event(&key, "THREATS_FOUND"))
            .await
            .unwrap();
    }
    let dossier = app.get_dossier(&case).await;
    assert_eq!(scan_of(&dossier, "a.pdf"), "infected");
    assert_eq!(scan_of(&dossier, "b.pdf"), "clean");
    assert_eq!(scan_of(&dossier, "c.pdf"), "failed");
    let quarantines = dossier["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "document_quarantined")
        .count();
    assert_eq!(quarantines, 1);
    assert_eq!(
        content(&app, &case, &ids[0]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.download(&case, &ids[1]).await, b"%PDF-1.7 b.pdf");
    assert_eq!(
        content(&app, &case, &ids[2]).await.status(),
        StatusCode::CONFLICT
    );
}
