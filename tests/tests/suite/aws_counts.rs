//! What the AWS deployment costs and carries, counted by an SDK interceptor on the emulators:
//! the portal page is 3 DynamoDB reads (the token, then at once the dossier's items and its newest
//! history) plus the audit entry's write, a confirm is one TransactWriteItems, and no
//! document byte passes through the application beyond the content check's two ranges (8 KiB
//! head, 64 KiB tail) per file (no other S3 GetObject, no PutObject by it). Also: S3
//! (s3s-fs) refuses tampered, expired and other-size uploads with 403, and the portal then
//! refuses to confirm them.

use std::collections::BTreeMap;

use portaal_infra::aws::metrics::CallCounter;
use portaal_tests::{TestApp, case_id, contract::tamper, sha256_hex, spawn_aws_app};
use reqwest::StatusCode;
use serde_json::Value;

fn counter(app: &TestApp) -> CallCounter {
    app.running
        .state
        .system
        .calls
        .clone()
        .expect("the AWS backend counts its calls")
}

fn dynamodb(snapshot: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    snapshot
        .iter()
        .filter(|(k, _)| k.starts_with("DynamoDB."))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

#[tokio::test]
async fn the_page_costs_two_reads_and_an_audit_write_a_confirm_one_transaction_and_no_bytes_pass_through()
 {
    // No background worker: only the requests under test make calls (mail is sent by the test).
    let app = spawn_aws_app(&[("PORTAAL_WORKER", "off")]).await;
    let calls = counter(&app);
    let case = case_id("COUNT");
    let link = app.dossier_with_request(&case).await;
    app.mails(&case, 1).await;

    for accept in ["text/html", "application/json"] {
        calls.reset();
        let res = app
            .client
            .get(&link)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let used = dynamodb(&calls.snapshot());
        let count = |ops: &[&str]| -> u64 {
            ops.iter()
                .map(|op| used.get(&format!("DynamoDB.{op}")).copied().unwrap_or(0))
                .sum()
        };
        // The link's token, then one Query: the dossier's items and right after them the
        // newest page of its history (its keys run newest first), never its mail.
        assert_eq!(
            (
                count(&["GetItem"]),
                count(&["Query"]),
                count(&["BatchGetItem", "Scan"])
            ),
            (1, 1, 0),
            "opening the page ({accept}) reads the token and one range: {used:?}"
        );
        assert_eq!(
            count(&["TransactWriteItems", "PutItem"]),
            1,
            "and writes its audit entry once: {used:?}"
        );
        assert_eq!(calls.total("DynamoDB"), 3, "{used:?}");
    }

    let big_pdf = portaal_tests::pdf(vec![7u8; 300_000]);
    let a = app
        .upload(&link, "a.pdf", "application/pdf", big_pdf.clone())
        .await;
    let b = app
        .upload(&link, "b.txt", "text/plain", b"notitie".to_vec())
        .await;
    calls.reset();
    let res = app.confirm(&link, &[&a.id, &b.id]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let during_confirm = calls.snapshot();
    assert_eq!(
        during_confirm.get("DynamoDB.TransactWriteItems"),
        Some(&1),
        "one transaction: {during_confirm:?}"
    );
    let writes: u64 = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]
        .iter()
        .map(|op| calls.get(&format!("DynamoDB.{op}")))
        .sum();
    assert_eq!(writes, 0, "no other writes: {during_confirm:?}");

    let delivery: Value = res.json().await.unwrap();
    let id = delivery["id"].as_str().unwrap();
    app.approve(&case, id).await;
    assert_eq!(app.download(&case, &a.id).await, big_pdf);
    app.mails(&case, 3).await;

    // Over the whole flow (staging, uploads, confirm, approve, download) the application itself
    // never read or wrote a document's bytes: browsers and the case system talk to S3 directly.
    let all = calls.snapshot();
    let s3: Vec<&String> = all.keys().filter(|k| k.starts_with("S3.")).collect();
    // The content check: the 300 kB file's head and tail, the small file's head only.
    assert_eq!(
        calls.get("S3.GetObject"),
        3,
        "only the content check's ranged reads: {all:?}"
    );
    assert_eq!(
        calls.bytes("S3.GetObject"),
        8 * 1024 + 64 * 1024 + b"notitie".len() as u64,
        "no other document bytes passed the app: {all:?}"
    );
    assert_eq!(
        calls.get("S3.PutObject"),
        0,
        "no PutObject through the app: {all:?}"
    );
    let allowed = [
        "S3.HeadObject",
        "S3.GetObject",
        "S3.CopyObject",
        "S3.DeleteObject",
    ];
    assert!(
        s3.iter().all(|k| allowed.contains(&k.as_str())),
        "the app only asks about, copies (server-side) and deletes files: {s3:?}"
    );
}

#[tokio::test]
async fn a_confirm_checks_and_copies_its_files_eight_at_a_time_with_the_same_calls_per_file() {
    let app = spawn_aws_app(&[("PORTAAL_WORKER", "off")]).await;
    let calls = counter(&app);
    let case = case_id("MANY");
    let link = app.dossier_with_request(&case).await;
    const FILES: u64 = 20;
    let mut ids = Vec::new();
    for n in 0..FILES {
        let text = format!("bestand {n}").into_bytes();
        let staged = app
            .upload(&link, &format!("{n}.txt"), "text/plain", text)
            .await;
        ids.push(staged.id);
    }
    calls.reset();
    let res = app
        .confirm(&link, &ids.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let all = calls.snapshot();
    // Per file: what arrived (HeadObject), its head for the content check, its copy, and what
    // the copy holds (HeadObject again: a re-upload racing the copy is caught).
    for (op, per_file) in [
        ("S3.HeadObject", 2),
        ("S3.GetObject", 1),
        ("S3.CopyObject", 1),
    ] {
        assert_eq!(calls.get(op), per_file * FILES, "{op} per file: {all:?}");
    }
    let peak = calls.peak_in_flight("S3");
    assert!(
        (2..=8).contains(&peak),
        "files overlap, at most 8 at a time: {peak} S3 calls were under way at once"
    );
}

async fn staged(app: &TestApp, link: &str, bytes: &[u8]) -> Value {
    let res = app
        .stage(
            link,
            "stuk.pdf",
            "application/pdf",
            bytes,
            Some(&sha256_hex(bytes)),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn refused_then_not_confirmable(
    app: &TestApp,
    link: &str,
    staged: &Value,
    put: reqwest::Response,
    what: &str,
    code: &str,
) {
    let status = put.status();
    let body = put.text().await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "S3 refuses {what}: {body}");
    // The reason, not just any 403 (an expired URL must not pass for a bad signature).
    assert!(
        body.contains(&format!("<Code>{code}</Code>")),
        "S3 refuses {what} with {code}: {body}"
    );
    let res = app.confirm(link, &[staged["id"].as_str().unwrap()]).await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "the portal refuses to confirm after {what}"
    );
}

#[tokio::test]
async fn s3_refuses_tampered_expired_and_resized_uploads_and_the_portal_refuses_to_confirm_them() {
    // Upload URLs valid for the default half hour: a slow machine cannot turn these cases into
    // expired ones (each case asserts its own S3 error code).
    let app = spawn_aws_app(&[]).await;
    let case = case_id("PRESIGN");
    let link = app.dossier_with_request(&case).await;
    let bytes = b"%PDF-1.4 precies deze bytes".to_vec();

    // a changed signature
    let s = staged(&app, &link, &bytes).await;
    let mut tampered = s.clone();
    tampered["upload"]["url"] = tamper(s["upload"]["url"].as_str().unwrap()).into();
    let put = app.send_bytes(&tampered, bytes.clone()).await;
    refused_then_not_confirmable(
        &app,
        &link,
        &s,
        put,
        "a changed signature",
        "SignatureDoesNotMatch",
    )
    .await;

    // a body of another size (the signed content-length is sent as announced)
    let s = staged(&app, &link, &bytes).await;
    let upload = &s["upload"];
    let mut req = app.client.put(upload["url"].as_str().unwrap());
    for (k, v) in upload["headers"].as_object().unwrap() {
        if k != "content-length" {
            req = req.header(k, v.as_str().unwrap());
        }
    }
    let put = req
        .body([bytes.clone(), b"extra".to_vec()].concat())
        .send()
        .await
        .unwrap();
    refused_then_not_confirmable(
        &app,
        &link,
        &s,
        put,
        "a body of another size",
        "SignatureDoesNotMatch",
    )
    .await;

    let first = app;
    // an expired URL (an app whose upload URLs live two seconds)
    let app = spawn_aws_app(&[("PORTAAL_UPLOAD_TTL_SECONDS", "2")]).await;
    let link = app.dossier_with_request(&case_id("PRESIGN-EXP")).await;
    let s = staged(&app, &link, &bytes).await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let put = app.send_bytes(&s, bytes.clone()).await;
    refused_then_not_confirmable(&app, &link, &s, put, "an expired URL", "AccessDenied").await;

    let dossier = first.get_dossier(&case).await;
    assert!(
        dossier["deliveries"].as_array().unwrap().is_empty(),
        "nothing refused became a delivery"
    );
}

/// The calls one typical dossier makes, for the cost model (`tests/perf/costs.py`): the case
/// system creates it and asks one department, which opens the page twice, uploads three files and
/// confirms; the case system approves, fetches the three files and closes the dossier. Printed as
/// `calls per dossier: {json}`; what is fixed by design is asserted.
#[tokio::test]
async fn one_typical_dossier_makes_these_calls() {
    let app = spawn_aws_app(&[("PORTAAL_WORKER", "off")]).await;
    let calls = counter(&app);
    calls.reset();
    let case = case_id("TYPICAL");
    let link = app.dossier_with_request(&case).await;
    for _ in 0..2 {
        let res = app.client.get(&link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let mut ids = Vec::new();
    for n in 0..3u8 {
        let pdf = portaal_tests::pdf(vec![n; 200_000]);
        ids.push(
            app.upload(&link, &format!("{n}.pdf"), "application/pdf", pdf)
                .await
                .id,
        );
    }
    let res = app
        .confirm(&link, &ids.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let delivery: Value = res.json().await.unwrap();
    app.approve(&case, delivery["id"].as_str().unwrap()).await;
    for id in &ids {
        app.download(&case, id).await;
    }
    app.close(&case, None).await;
    let mails = app.exact_mails(&case, 3).await;
    let all = calls.snapshot();
    println!(
        "calls per dossier: {}",
        serde_json::to_string(&all).unwrap()
    );
    assert_eq!(calls.get("SESv2.SendEmail"), mails.len() as u64, "{all:?}");
    assert_eq!(calls.get("S3.PutObject"), 0, "{all:?}");
}
