//! Files sent in parts (above `PORTAAL_PART_THRESHOLD_BYTES`): the contract any client can use,
//! resuming after an interruption, completion, and on S3 the SHA-256 check after sending.

use portaal_tests::{TestApp, case_id, sha256_hex, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The smallest part S3 takes: small files still go in parts in these tests.
const PART: usize = 5 << 20;

async fn app() -> TestApp {
    app_with(&[]).await
}

/// [`app`] with `extra` settings.
async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let part = PART.to_string();
    let mut settings = vec![
        ("PORTAAL_PART_THRESHOLD_BYTES", part.as_str()),
        ("PORTAAL_PART_SIZE_BYTES", part.as_str()),
        ("PORTAAL_WORKER", "off"),
    ];
    settings.extend_from_slice(extra);
    spawn_with_settings(&settings).await
}

/// A PDF of two whole parts and a short last one.
fn large_pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..(2 * PART + 4000 - 9) as u32).map(|i| (i.wrapping_mul(31) % 251) as u8));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

fn part_of(bytes: &[u8], number: usize) -> &[u8] {
    let start = (number - 1) * PART;
    &bytes[start..(start + PART).min(bytes.len())]
}

fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap_or_default()
}

async fn json_of(res: reqwest::Response, status: StatusCode) -> Value {
    let actual = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    body
}

/// Stages `bytes` as a file sent in parts (no SHA-256 announced); answers the staging answer.
async fn stage_in_parts(app: &TestApp, link: &str, bytes: &[u8]) -> Value {
    let res = app
        .portal(Method::POST, &format!("{link}/uploads"))
        .json(&json!({"filename": "bouwtekening.pdf", "content_type": "application/pdf", "size": bytes.len()}))
        .send()
        .await
        .unwrap();
    json_of(res, StatusCode::CREATED).await
}

/// Asks the URL of one part and PUTs its bytes there; answers the ETag.
async fn send_part(app: &TestApp, staged: &Value, number: usize, bytes: &[u8]) -> String {
    let parts_url = staged["upload"]["parts_url"].as_str().unwrap();
    let res = app
        .portal(Method::POST, parts_url)
        .json(&json!({"number": number, "sha256": sha256_hex(bytes)}))
        .send()
        .await
        .unwrap();
    let target = json_of(res, StatusCode::OK).await;
    let mut put = app.client.put(target["url"].as_str().unwrap());
    for (k, v) in target["headers"].as_object().unwrap() {
        if k != "content-length" {
            put = put.header(k, v.as_str().unwrap());
        }
    }
    let res = put.body(bytes.to_vec()).send().await.unwrap();
    assert!(res.status().is_success(), "part {number}: {}", res.status());
    res.headers()["etag"].to_str().unwrap().to_owned()
}

/// Sends every part of `bytes`; answers each part's number and ETag, in order.
async fn send_every_part(app: &TestApp, staged: &Value, bytes: &[u8]) -> Vec<(usize, String)> {
    let mut etags = Vec::new();
    for number in 1..=bytes.len().div_ceil(PART) {
        etags.push((
            number,
            send_part(app, staged, number, part_of(bytes, number)).await,
        ));
    }
    etags
}

async fn complete(
    app: &TestApp,
    staged: &Value,
    parts: &[(usize, String)],
    sha: &str,
) -> reqwest::Response {
    let parts: Vec<Value> = parts
        .iter()
        .map(|(n, etag)| json!({"number": n, "etag": etag}))
        .collect();
    app.portal(
        Method::POST,
        staged["upload"]["complete_url"].as_str().unwrap(),
    )
    .json(&json!({"parts": parts, "sha256": sha}))
    .send()
    .await
    .unwrap()
}

/// The document `id` in the API's view of the dossier.
async fn document(app: &TestApp, case: &str, id: &str) -> Value {
    let dossier = app.get_dossier(case).await;
    dossier["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["documents"].as_array().unwrap().clone())
        .find(|d| d["id"] == id)
        .expect("the delivered document")
}

#[tokio::test]
async fn a_file_in_parts_resumes_after_an_interruption_and_arrives_byte_identical() {
    let app = app().await;
    let case = case_id("PARTS");
    let link = app.dossier_with_request(&case).await;
    let bytes = large_pdf();
    let staged = stage_in_parts(&app, &link, &bytes).await;
    let upload = &staged["upload"];
    assert_eq!(upload["part_size"], PART);
    assert!(upload.get("url").is_none(), "no single PUT: {upload}");
    let id = staged["id"].as_str().unwrap().to_owned();

    // Part 1 arrives, then the connection drops.
    let first = send_part(&app, &staged, 1, part_of(&bytes, 1)).await;
    let parts_url = upload["parts_url"].as_str().unwrap();
    let received = json_of(
        app.client.get(parts_url).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(received["completed"], false);
    let got: Vec<(u64, u64)> = received["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["number"].as_u64().unwrap(), p["size"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, [(1, PART as u64)], "only part 1 arrived");

    // After a reload the page recognises the file by name, size and part 1's SHA-256.
    let view = app.portal_view(&link).await;
    let waiting = &view["staged"][0];
    assert_eq!(waiting["id"], id.as_str());
    assert_eq!(
        waiting["parts"]["first_part_sha256"],
        sha256_hex(part_of(&bytes, 1))
    );
    assert_eq!(waiting["parts"]["completed"], false);

    // Another file under the same upload is refused; part numbers outside the file too.
    for (body, status) in [
        (
            json!({"number": 1, "sha256": sha256_hex(b"other")}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"number": 4, "sha256": sha256_hex(b"x")}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"number": 0, "sha256": sha256_hex(b"x")}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"number": 2, "sha256": "no hash"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let res = app
            .portal(Method::POST, parts_url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{body}");
    }

    // The rest is sent: only the missing parts.
    let mut etags = vec![(1, first)];
    for number in [2, 3] {
        etags.push((
            number,
            send_part(&app, &staged, number, part_of(&bytes, number)).await,
        ));
    }
    let whole = sha256_hex(&bytes);
    let res = complete(&app, &staged, &etags[..2], &whole).await;
    let refused = json_of(res, StatusCode::BAD_REQUEST).await;
    assert!(detail(&refused).contains("part 3"), "{refused}");

    let done = json_of(
        complete(&app, &staged, &etags, &whole).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["sha256"], whole.as_str());
    // Completing again answers the same.
    json_of(
        complete(&app, &staged, &etags, &whole).await,
        StatusCode::OK,
    )
    .await;
    let on_s3 = app.running.state.system.embedded.is_none();
    assert_eq!(
        done["sha256_verified"], !on_s3,
        "locally storage measures while joining; S3 keeps only the parts' checksums"
    );
    // Complete: no more parts.
    let res = app
        .portal(Method::POST, parts_url)
        .json(&json!({"number": 2, "sha256": sha256_hex(part_of(&bytes, 2))}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);

    assert_eq!(
        app.confirm(&link, &[&id]).await.status(),
        StatusCode::CREATED
    );
    if on_s3 {
        assert_eq!(document(&app, &case, &id).await["sha256_verified"], false);
        verify_through_the_stream(&app, &case, &id).await;
    }
    let sent = document(&app, &case, &id).await;
    assert_eq!(sent["sha256"], whole.as_str());
    assert_eq!(sent["sha256_verified"], true);
    assert!(sent.get("parts").is_none(), "only staged files show parts");
    assert_eq!(app.download(&case, &id).await, bytes, "byte-identical");
}

/// The notify function as the table's stream calls it with the `VERIFY#` insert confirm wrote
/// (the fixture `events/notify-verify-insert.json`); twice, as a redelivered record.
async fn verify_through_the_stream(app: &TestApp, case: &str, id: &str) {
    let system = &app.running.state.system;
    let marker = system
        .store
        .get(&format!("DOSSIER#{case}"), &format!("VERIFY#{id}"))
        .await
        .unwrap();
    assert!(
        marker.is_some(),
        "sending wrote the marker the stream passes on"
    );
    let before = document(app, case, id).await;
    let event = include_str!("../../../events/notify-verify-insert.json")
        .replace("BZ-2026-0042", case)
        .replace("01JDXQ6Y3V8M5R2K9T4W7Z1B0F", id);
    for _ in 0..2 {
        let trigger: notify::NotifyTrigger = serde_json::from_str(&event).unwrap();
        let answer = notify::notify(system, trigger).await.unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]));
    }
    let marker = system
        .store
        .get(&format!("DOSSIER#{case}"), &format!("VERIFY#{id}"))
        .await
        .unwrap();
    assert!(marker.is_none(), "the check removed its marker");
    assert_eq!(document(app, case, id).await["scan"], before["scan"]);
}

#[tokio::test]
async fn a_complete_that_fails_to_join_gives_up_its_claim_so_the_next_completes_at_once() {
    let app = app().await;
    if app.running.state.system.embedded.is_none() {
        return; // S3 refuses an ETag it did not answer (InvalidPart); s3s-fs, the emulator, joins.
    }
    let case = case_id("PARTREL");
    let link = app.dossier_with_request(&case).await;
    let bytes = large_pdf();
    let staged = stage_in_parts(&app, &link, &bytes).await;
    let etags = send_every_part(&app, &staged, &bytes).await;
    let whole = sha256_hex(&bytes);
    // An ETag storage did not answer: joining fails after this complete claimed the upload.
    let mut wrong = etags.clone();
    wrong[0].1 = format!("\"{}\"", "0".repeat(32));
    let refused = json_of(
        complete(&app, &staged, &wrong, &whole).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(!detail(&refused).is_empty(), "{refused}");
    // Not "being completed by another request" for the next ten minutes: the claim was given up.
    let done = json_of(
        complete(&app, &staged, &etags, &whole).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["sha256"], whole.as_str());
}

#[tokio::test]
async fn a_joined_file_unlike_the_sha256_given_is_discarded_locally() {
    let app = app().await;
    if app.running.state.system.embedded.is_none() {
        return; // S3 cannot tell while joining: its check after sending corrects the SHA-256.
    }
    let case = case_id("PARTSHA");
    let link = app.dossier_with_request(&case).await;
    let bytes = large_pdf();
    let staged = stage_in_parts(&app, &link, &bytes).await;
    let etags = send_every_part(&app, &staged, &bytes).await;
    // A wrong ETag is named as such.
    let mut wrong = etags.clone();
    wrong[1].1 = "\"0000\"".into();
    let refused = json_of(
        complete(&app, &staged, &wrong, &sha256_hex(&bytes)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail(&refused).contains("part 2"), "{refused}");

    let refused = json_of(
        complete(&app, &staged, &etags, &sha256_hex(b"another file")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(detail(&refused).contains("discarded"), "{refused}");
    let view = app.portal_view(&link).await;
    assert_eq!(view["staged"], json!([]), "record and bytes are gone");
}

#[tokio::test]
async fn a_part_unlike_its_signed_sha256_is_refused_locally() {
    let app = app().await;
    if app.running.state.system.embedded.is_none() {
        return; // S3 refuses it (BadDigest); s3s-fs, the emulator, does not check part checksums.
    }
    let case = case_id("PARTBAD");
    let link = app.dossier_with_request(&case).await;
    let bytes = large_pdf();
    let staged = stage_in_parts(&app, &link, &bytes).await;
    let res = app
        .portal(
            Method::POST,
            staged["upload"]["parts_url"].as_str().unwrap(),
        )
        .json(&json!({"number": 3, "sha256": sha256_hex(part_of(&bytes, 3))}))
        .send()
        .await
        .unwrap();
    let target = json_of(res, StatusCode::OK).await;
    let mut other = part_of(&bytes, 3).to_vec();
    other[0] ^= 1;
    let res = app
        .client
        .put(target["url"].as_str().unwrap())
        .body(other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let received = json_of(
        app.client
            .get(staged["upload"]["parts_url"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(received["received"], json!([]));
}

#[tokio::test]
async fn a_removed_upload_in_parts_takes_no_more_parts() {
    let app = app().await;
    let case = case_id("PARTRM");
    let link = app.dossier_with_request(&case).await;
    let bytes = large_pdf();
    let staged = stage_in_parts(&app, &link, &bytes).await;
    send_part(&app, &staged, 1, part_of(&bytes, 1)).await;
    let id = staged["id"].as_str().unwrap();
    let res = app
        .portal(Method::DELETE, &format!("{link}/uploads/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .portal(
            Method::POST,
            staged["upload"]["parts_url"].as_str().unwrap(),
        )
        .json(&json!({"number": 2, "sha256": sha256_hex(part_of(&bytes, 2))}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn small_files_keep_one_put_and_a_case_type_allows_at_most_5_gib() {
    let app = app().await;
    let case = case_id("PARTSMALL");
    let link = app.dossier_with_request(&case).await;
    let small = app
        .stage(
            &link,
            "klein.pdf",
            "application/pdf",
            b"%PDF-1.7 klein",
            Some(&sha256_hex(b"%PDF-1.7 klein")),
        )
        .await;
    let small = json_of(small, StatusCode::CREATED).await;
    assert_eq!(small["upload"]["method"], "PUT");
    assert!(small["upload"].get("parts_url").is_none());

    let types = json_of(
        app.api(Method::GET, "/case-types/bezwaar")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(types["upload"]["max_file_bytes"], 5u64 << 30, "the default");
    let res = app
        .api(Method::PATCH, "/case-types/bezwaar")
        .json(&json!({"upload": {"max_file_bytes": (5u64 << 30) + 1}}))
        .send()
        .await
        .unwrap();
    let refused = json_of(res, StatusCode::BAD_REQUEST).await;
    assert!(detail(&refused).contains("max_file_bytes"), "{refused}");
}

/// `app` with a new dossier (its case made from `label`) that has a request; answers the app,
/// the case and the request's link.
async fn with_request(app: TestApp, label: &str) -> (TestApp, String, String) {
    let case = case_id(label);
    let link = app.dossier_with_request(&case).await;
    (app, case, link)
}

/// [`with_request`] on an app whose dossiers are destroyed as soon as they close.
async fn destroyed_when_closed(label: &str) -> (TestApp, String, String) {
    let app = app().await;
    app.destroy_bezwaar_at_handling().await;
    with_request(app, label).await
}

#[tokio::test]
async fn destruction_leaves_no_part_of_an_unfinished_upload() {
    let (app, case, link) = destroyed_when_closed("PARTGONE").await;
    let bytes = large_pdf();
    let staged = stage_in_parts(&app, &link, &bytes).await;
    send_part(&app, &staged, 1, part_of(&bytes, 1)).await;
    app.close(&case, None).await;
    app.purge(&case).await;
    let system = &app.running.state.system;
    if system.embedded.is_some() {
        let left: Vec<_> = portaal_tests::files_under(&app.data_dir)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(&case))
            .collect();
        assert_eq!(left, Vec::<std::path::PathBuf>::new(), "no part is left");
    }
    // The upload is gone with the dossier, and so is its link.
    let res = app
        .client
        .get(staged["upload"]["parts_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Stages `bytes` in parts and joins them; answers the document's id.
async fn joined_in_parts(app: &TestApp, link: &str, bytes: &[u8]) -> String {
    let staged = stage_in_parts(app, link, bytes).await;
    let etags = send_every_part(app, &staged, bytes).await;
    json_of(
        complete(app, &staged, &etags, &sha256_hex(bytes)).await,
        StatusCode::OK,
    )
    .await;
    staged["id"].as_str().unwrap().to_owned()
}

/// GuardDuty scans what lands under `dossiers/`: a file sent in parts gets there only once its
/// SHA-256 is verified (locally when it is sent, on S3 by the check after sending), as one
/// object, and nothing of it stays under `joined/`.
#[tokio::test]
async fn a_file_in_parts_lands_under_the_scanned_prefix_once_verified() {
    let (app, case, link) = with_request(app().await, "PARTJOIN").await;
    let bytes = large_pdf();
    let id = joined_in_parts(&app, &link, &bytes).await;
    let (scanned, joined) = (format!("dossiers/{case}/"), format!("joined/{case}/"));
    assert_eq!(
        app.objects_under(&scanned).await,
        Vec::<String>::new(),
        "joined parts are not under the scanned prefix"
    );
    assert_eq!(app.objects_under(&joined).await, [format!("{joined}{id}")]);

    assert_eq!(
        app.confirm(&link, &[&id]).await.status(),
        StatusCode::CREATED
    );
    if app.running.state.system.embedded.is_none() {
        assert_eq!(
            app.objects_under(&scanned).await,
            Vec::<String>::new(),
            "sent, but its SHA-256 is not verified yet"
        );
        verify_through_the_stream(&app, &case, &id).await;
    }
    let kept = app.objects_under(&scanned).await;
    assert_eq!(
        kept,
        [crate::security::blob_key(&app, &case, &id).await],
        "one object, the document's"
    );
    assert_eq!(app.objects_under(&joined).await, Vec::<String>::new());
    assert_eq!(document(&app, &case, &id).await["sha256_verified"], true);
    assert_eq!(app.download(&case, &id).await, bytes, "byte-identical");
}

/// A document sent in parts before files were joined under `joined/` has its original under
/// `dossiers/`: the check after sending still verifies it, and removes the original.
#[tokio::test]
async fn a_file_joined_under_the_dossier_before_the_joined_prefix_still_verifies() {
    let (app, case, link) = with_request(app().await, "PARTOLD").await;
    let system = &app.running.state.system;
    if system.embedded.is_some() {
        return; // Locally storage measured it while joining: nothing is left to check.
    }
    let bytes = large_pdf();
    let id = joined_in_parts(&app, &link, &bytes).await;
    assert_eq!(
        app.confirm(&link, &[&id]).await.status(),
        StatusCode::CREATED
    );
    // Where staging used to join the parts: a copy key under the dossier.
    let (pk, sk) = (format!("DOSSIER#{case}"), format!("DOC#{id}"));
    let joined = crate::security::blob_key(&app, &case, &id).await;
    let old = format!("dossiers/{case}/{id}-{}", ulid::Ulid::new());
    system.blobs.copy(&joined, &old).await.unwrap();
    system.blobs.delete(&joined).await.unwrap();
    let mut item = system.store.get(&pk, &sk).await.unwrap().unwrap();
    item.attrs.insert("blob_key".into(), old.clone().into());
    system
        .store
        .transact(vec![portaal_core::ports::Write::put(item)])
        .await
        .unwrap();

    verify_through_the_stream(&app, &case, &id).await;
    let verified = crate::security::blob_key(&app, &case, &id).await;
    assert_ne!(verified, old, "the measured copy is the document's");
    assert_eq!(
        app.objects_under(&format!("dossiers/{case}/")).await,
        [verified]
    );
    assert_eq!(document(&app, &case, &id).await["sha256_verified"], true);
    assert_eq!(app.download(&case, &id).await, bytes, "byte-identical");
}

/// Destruction removes joined files whether sent or not, verified or not; a check after sending
/// that arrives later finds nothing to do and leaves nothing behind.
#[tokio::test]
async fn destruction_leaves_nothing_of_joined_files() {
    let (app, case, link) = destroyed_when_closed("PARTJGONE").await;
    let bytes = large_pdf();
    let sent = joined_in_parts(&app, &link, &bytes).await;
    assert_eq!(
        app.confirm(&link, &[&sent]).await.status(),
        StatusCode::CREATED
    );
    joined_in_parts(&app, &link, &bytes).await;
    assert!(
        !app.objects_under(&format!("joined/{case}/"))
            .await
            .is_empty()
    );
    app.close(&case, None).await;
    app.purge(&case).await;
    for prefix in [format!("joined/{case}/"), format!("dossiers/{case}/")] {
        assert_eq!(
            app.objects_under(&prefix).await,
            Vec::<String>::new(),
            "{prefix}"
        );
    }
    let portaal = &app.running.state.system.portaal;
    let (marker_pk, marker_sk) = (format!("DOSSIER#{case}"), format!("VERIFY#{sent}"));
    assert_eq!(
        portaal
            .verify_sent_sha256(&marker_pk, &marker_sk)
            .await
            .unwrap(),
        portaal_core::usecases::verify::Verification::NothingToDo
    );
    assert_eq!(
        app.objects_under(&format!("dossiers/{case}/")).await,
        Vec::<String>::new()
    );
}

/// GuardDuty scans only the measured copy: its verdict, should it arrive before the check points
/// the document at the copy, is refused for now (EventBridge delivers it again), never dropped.
#[tokio::test]
async fn a_verdict_on_the_measured_copy_that_comes_early_is_taken_later() {
    let scanned = app_with(&[("PORTAAL_SCANNER", "guardduty")]).await;
    let (app, case, link) = with_request(scanned, "PARTSCAN").await;
    let system = &app.running.state.system;
    if system.embedded.is_some() {
        return; // Locally the copy is made when the file is sent.
    }
    let bytes = large_pdf();
    let id = joined_in_parts(&app, &link, &bytes).await;
    assert_eq!(
        app.confirm(&link, &[&id]).await.status(),
        StatusCode::CREATED
    );
    let early = format!("dossiers/{case}/{id}-{}", ulid::Ulid::new());
    let refused = notify::notify(
        system,
        crate::security::guardduty_event(&early, "NO_THREATS_FOUND"),
    )
    .await;
    assert!(refused.is_err(), "asked again later: {refused:?}");
    assert_eq!(document(&app, &case, &id).await["scan"], "pending");

    verify_through_the_stream(&app, &case, &id).await;
    let copy = crate::security::blob_key(&app, &case, &id).await;
    notify::notify(
        system,
        crate::security::guardduty_event(&copy, "NO_THREATS_FOUND"),
    )
    .await
    .unwrap();
    assert_eq!(document(&app, &case, &id).await["scan"], "clean");
}

/// Two completes of one upload at the same instant (a double click, a retry racing the first):
/// the file is joined once, both answers name the same document (or the second is refused
/// with a reason), and the bytes delivered are the file's.
#[tokio::test]
async fn two_completes_at_the_same_instant_join_the_file_once() {
    let (app, case, link) = with_request(app().await, "PARTS-TWICE").await;
    let bytes = large_pdf();
    let staged = stage_in_parts(&app, &link, &bytes).await;
    let etags = send_every_part(&app, &staged, &bytes).await;
    let sha = sha256_hex(&bytes);
    let (first, second) = tokio::join!(
        complete(&app, &staged, &etags, &sha),
        complete(&app, &staged, &etags, &sha)
    );
    let mut joined = 0;
    for res in [first, second] {
        let status = res.status();
        let body: Value = res.json().await.unwrap_or_default();
        match status {
            StatusCode::OK => {
                joined += 1;
                assert_eq!(body["id"], staged["id"], "{body}");
            }
            StatusCode::CONFLICT | StatusCode::BAD_REQUEST => {
                assert!(!detail(&body).is_empty(), "a refusal says why: {body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(joined >= 1, "one of them joined the file");
    let id = staged["id"].as_str().unwrap();
    let res = app.confirm(&link, &[id]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    if std::env::var("PORTAAL_BACKEND").as_deref() == Ok("aws") {
        verify_through_the_stream(&app, &case, id).await;
    }
    assert_eq!(app.download(&case, id).await, bytes);
}
