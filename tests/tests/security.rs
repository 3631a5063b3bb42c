//! What a security officer asks of the files: each is what it claims to be, scanned for malware,
//! and quarantined when infected. Runs on the backend the environment chooses (embedded by
//! default; `PORTAAL_BACKEND=aws` on the emulators).

use portaal_tests::{case_id, sha256_hex, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn problem(res: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

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
    let page: Value = app
        .client
        .get(&link)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
