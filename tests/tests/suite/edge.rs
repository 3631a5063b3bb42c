//! The edge against hostile clients: upload URLs that outlive their upload, rates, slow and
//! numerous connections, tampered download URLs, files changed on disk, racing confirms, and
//! cross-site requests. Runs on the backend the environment chooses; the local server's own
//! routes (blobs, connections) are tested where it serves them.

use std::time::Duration;

use portaal_tests::{TestApp, case_id, problem, sha256_hex, spawn_app, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn is_embedded(app: &TestApp) -> bool {
    app.running.state.system.embedded.is_some()
}

async fn stage(app: &TestApp, link: &str, name: &str, bytes: &[u8]) -> Value {
    let res = app
        .stage(
            link,
            name,
            "application/pdf",
            bytes,
            Some(&sha256_hex(bytes)),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn an_upload_url_stores_nothing_once_its_upload_is_removed_or_sent() {
    let app = spawn_app().await;
    let case = case_id("URL");
    let link = app.dossier_with_request(&case).await;
    let bytes = b"%PDF-1.7 eerste versie".to_vec();

    // Removed, then PUT with the still-valid URL.
    let removed = stage(&app, &link, "weg.pdf", &bytes).await;
    let id = removed["id"].as_str().unwrap();
    let res = app
        .portal(Method::DELETE, &format!("{link}/uploads/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let put = app.send_bytes(&removed, bytes.clone()).await;
    if is_embedded(&app) {
        problem(put, StatusCode::FORBIDDEN).await;
        let staged_dir = app.data_dir.join("blobs/staged").join(&case);
        let left = std::fs::read_dir(&staged_dir)
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(left, 0, "no bytes without a record in {staged_dir:?}");
    }
    // Whatever storage took (S3 cannot unsign a URL; its staged/ lifecycle expires it), it is
    // no document.
    problem(app.confirm(&link, &[id]).await, StatusCode::BAD_REQUEST).await;

    // Sent, then PUT other bytes of the same size with the same URL.
    let sent = stage(&app, &link, "bewaard.pdf", &bytes).await;
    assert!(
        app.send_bytes(&sent, bytes.clone())
            .await
            .status()
            .is_success()
    );
    let id = sent["id"].as_str().unwrap();
    assert_eq!(
        app.confirm(&link, &[id]).await.status(),
        StatusCode::CREATED
    );
    let other = b"%PDF-1.7 tweede versie".to_vec();
    assert_eq!(other.len(), bytes.len());
    let put = app.send_bytes(&sent, other).await;
    if is_embedded(&app) {
        problem(put, StatusCode::FORBIDDEN).await;
    }
    assert_eq!(
        app.download(&case, id).await,
        bytes,
        "the sent file is unchanged"
    );
}

#[tokio::test]
async fn staging_and_deliveries_are_limited_per_link_and_repeated_confirms_do_not_count() {
    let app = spawn_with_settings(&[
        ("PORTAAL_STAGE_LIMIT_PER_HOUR", "5"),
        ("PORTAAL_DELIVERY_LIMIT_PER_HOUR", "2"),
    ])
    .await;
    let case = case_id("RATE");
    let link = app.dossier_with_request(&case).await;
    for name in ["a.pdf", "b.pdf"] {
        let doc = app
            .upload(&link, name, "application/pdf", b"%PDF-1.7 x".to_vec())
            .await;
        assert_eq!(
            app.confirm(&link, &[&doc.id]).await.status(),
            StatusCode::CREATED
        );
        assert_eq!(
            app.confirm(&link, &[&doc.id]).await.status(),
            StatusCode::OK,
            "a repeated confirm answers the delivery"
        );
    }
    let third = app
        .upload(&link, "c.pdf", "application/pdf", b"%PDF-1.7 x".to_vec())
        .await;
    let res = app.confirm(&link, &[&third.id]).await;
    let wait = retry_after(&res);
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    let body = problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body["detail"].as_str().unwrap().contains("deliveries"));

    // Three files staged so far; two more fit, the sixth does not.
    for name in ["d.pdf", "e.pdf"] {
        stage(&app, &link, name, b"%PDF-1.7 x").await;
    }
    let res = app
        .stage(
            &link,
            "f.pdf",
            "application/pdf",
            b"%PDF-1.7 x",
            Some(&sha256_hex(b"%PDF-1.7 x")),
        )
        .await;
    assert!(retry_after(&res) > 0);
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;

    // Another link has its own allowance.
    let other = app.dossier_with_request(&case_id("RATE2")).await;
    stage(&app, &other, "a.pdf", b"%PDF-1.7 x").await;
}

#[tokio::test]
async fn an_address_that_fails_to_authenticate_too_often_is_refused() {
    let app = spawn_with_settings(&[("PORTAAL_AUTH_FAILURE_LIMIT", "3")]).await;
    let wrong = |app: &TestApp| {
        app.client
            .get(format!("{}/api/v1/dossiers", app.base))
            .bearer_auth("wrong-key-wrong-key-wrong-key-wrong-key")
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            wrong(&app).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = wrong(&app).await.unwrap();
    assert!(retry_after(&res) <= 600);
    problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    // Refused before the key is compared: guessing further tells nothing.
    let res = app.api(Method::GET, "/dossiers").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// The local server's address (tests bind 127.0.0.1).
fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes or `limit` passes; answers what arrived (None: still open).
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut got)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn the_local_server_limits_connections_per_address_and_cuts_slow_headers() {
    let app = spawn_with_settings(&[
        ("PORTAAL_MAX_CONNECTIONS_PER_IP", "4"),
        ("PORTAAL_HEADER_TIMEOUT_SECONDS", "1"),
    ])
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
        // Half a request: headers that never finish.
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fifth = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    let answer = read_until_closed(&mut fifth, Duration::from_secs(5))
        .await
        .expect("the fifth connection is answered and closed");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after:"));

    // The slow ones are cut by the header timeout, which frees their places.
    for s in &mut held {
        let rest = read_until_closed(s, Duration::from_secs(10)).await;
        assert!(
            rest.is_some(),
            "a connection with unfinished headers is closed"
        );
    }
    let res = app
        .client
        .get(format!("{}/p/x", app.base))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_upload_body_that_goes_silent_is_cut_and_stores_nothing() {
    let app = spawn_with_settings(&[("PORTAAL_UPLOAD_IDLE_SECONDS", "1")]).await;
    if !is_embedded(&app) {
        return; // S3 takes uploads on AWS; this is the local server's blob route.
    }
    let case = case_id("IDLE");
    let link = app.dossier_with_request(&case).await;
    let bytes = vec![b'%'; 1000];
    let staged = stage(&app, &link, "traag.pdf", &bytes).await;
    let url = reqwest::Url::parse(staged["upload"]["url"].as_str().unwrap()).unwrap();
    let mut s = tokio::net::TcpStream::connect(addr(&app)).await.unwrap();
    let head = format!(
        "PUT {}?{} HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 1000\r\n\r\n",
        url.path(),
        url.query().unwrap()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&bytes[..100]).await.unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(10))
        .await
        .expect("the silent upload is cut");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("no bytes arrived"), "{answer}");
    let id = staged["id"].as_str().unwrap();
    problem(app.confirm(&link, &[id]).await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn a_file_changed_on_disk_is_never_served_as_if_nothing_happened() {
    let app = spawn_app().await;
    if !is_embedded(&app) {
        return; // S3 checks its own checksums; this is the local blob store.
    }
    let case = case_id("FLIP");
    let link = app.dossier_with_request(&case).await;
    let bytes = portaal_tests::pdf(portaal_tests::pseudo_random(600_000, 9));
    let doc = app
        .upload(&link, "besluit.pdf", "application/pdf", bytes.clone())
        .await;
    assert_eq!(
        app.confirm(&link, &[&doc.id]).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.download(&case, &doc.id).await, bytes);

    let dir = app.data_dir.join("blobs/dossiers").join(&case);
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(doc.id.as_str()) && !name.ends_with(".meta")
        })
        .expect("the kept file");
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[300_000] ^= 0x01;
    std::fs::write(&path, &on_disk).unwrap();

    let url = app.download_url(&case, &doc.id).await;
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the stream starts");
    let body = res.bytes().await;
    assert!(
        body.is_err(),
        "the response is aborted before the file is complete"
    );
}

#[tokio::test]
async fn twenty_concurrent_confirms_of_the_same_files_answer_the_one_delivery() {
    let app = spawn_app().await;
    let case = case_id("RACE");
    let link = app.dossier_with_request(&case).await;
    let a = app
        .upload(&link, "a.pdf", "application/pdf", b"%PDF-1.7 a".to_vec())
        .await;
    let b = app
        .upload(&link, "b.txt", "text/plain", b"notitie".to_vec())
        .await;
    let both = [a.id.as_str(), b.id.as_str()];
    let confirms = (0..20).map(|_| app.confirm(&link, &both));
    let answers = futures_util::future::join_all(confirms).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for res in answers {
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "never {status}: {body}"
        );
        created += usize::from(status == StatusCode::CREATED);
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1, "every answer names the one delivery");
    let dossier = app.get_dossier(&case).await;
    assert_eq!(dossier["deliveries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn state_changes_need_our_client_header_also_to_remove_a_file() {
    let app = spawn_app().await;
    let case = case_id("CSRFDEL");
    let link = app.dossier_with_request(&case).await;
    let doc = app
        .upload(&link, "a.pdf", "application/pdf", b"%PDF-1.7 a".to_vec())
        .await;
    let remove = format!("{link}/uploads/{}", doc.id);
    let without = app.client.delete(&remove).send().await.unwrap();
    problem(without, StatusCode::FORBIDDEN).await;
    let zero = app
        .client
        .delete(&remove)
        .header("X-Portaal-Client", "0")
        .send()
        .await
        .unwrap();
    problem(zero, StatusCode::FORBIDDEN).await;
    let confirm_zero = app
        .client
        .post(format!("{link}/deliveries"))
        .header("X-Portaal-Client", "0")
        .json(&json!({"uploads": [doc.id], "submitted_by": {"name": "X", "email": "x@example.nl"}}))
        .send()
        .await
        .unwrap();
    problem(confirm_zero, StatusCode::FORBIDDEN).await;
    // Still staged: nothing was removed or sent.
    assert_eq!(
        app.confirm(&link, &[&doc.id]).await.status(),
        StatusCode::CREATED
    );
}

/// `url` with one query parameter replaced (the signature kept).
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[tokio::test]
async fn a_download_url_with_an_edited_parameter_or_past_its_time_is_refused() {
    let app = spawn_app().await;
    let case = case_id("DLTAMPER");
    let link = app.dossier_with_request(&case).await;
    let doc = app.deliver(&link, "a.pdf", b"%PDF-1.7 a").await;
    let url = app.download_url(&case, &doc.id).await;
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    let edits: Vec<String> = if is_embedded(&app) {
        let exp: i64 = reqwest::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "exp")
            .unwrap()
            .1
            .parse()
            .unwrap();
        vec![
            with_param(&url, "exp", &(exp + 86_400).to_string()),
            with_param(&url, "ct", "text/html"),
            with_param(&url, "fn", "besluit.html"),
            with_param(&url, "disp", "inline"),
            with_param(&url, "exp", "1000000000"),
        ]
    } else {
        vec![
            with_param(&url, "response-content-type", "text/html"),
            with_param(&url, "X-Amz-Expires", "604800"),
            with_param(&url, "X-Amz-Date", "20200101T000000Z"),
        ]
    };
    for edited in edits {
        let res = app.client.get(&edited).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{edited}");
    }
}

#[tokio::test]
async fn no_store_file_holds_a_raw_link_token() {
    let app = spawn_app().await;
    if !is_embedded(&app) {
        return; // the DynamoDB side is asserted by the item shapes in the AWS contract
    }
    let case = case_id("NOTOKEN");
    let link = app.dossier_with_request(&case).await;
    app.deliver(&link, "a.pdf", b"%PDF-1.7 a").await;
    app.exact_mails(&case, 3).await;
    let token = link.rsplit('/').next().unwrap();
    assert!(token.len() >= 40, "{token}");
    let mut checked = 0;
    for entry in std::fs::read_dir(&app.data_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("portaal.sqlite3") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{name} holds the raw token"
            );
            checked += 1;
        }
    }
    assert!(checked >= 1, "the database files were read");
}

/// A store that holds partition reads until two confirms have both made theirs: the overlap of
/// two confirms of the same files is forced, not hoped for.
struct PausingStore {
    inner: std::sync::Arc<dyn portaal_core::ports::Store>,
    barrier: tokio::sync::Barrier,
    armed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl portaal_core::ports::Store for PausingStore {
    async fn get(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<portaal_core::ports::Item>, portaal_core::ports::StoreError> {
        self.inner.get(pk, sk).await
    }
    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
    ) -> Result<Vec<portaal_core::ports::Item>, portaal_core::ports::StoreError> {
        let items = self.inner.query(pk, sk_prefix).await;
        // The first read of each confirm: the link's partition. Both wait for each other here.
        if pk.starts_with("DOSSIER#")
            && self.armed.load(std::sync::atomic::Ordering::SeqCst)
            && self.barrier.wait().await.is_leader()
        {
            self.armed.store(false, std::sync::atomic::Ordering::SeqCst);
        }
        items
    }
    async fn query_index(
        &self,
        query: portaal_core::ports::IndexQuery<'_>,
    ) -> Result<Vec<portaal_core::ports::Item>, portaal_core::ports::StoreError> {
        self.inner.query_index(query).await
    }
    async fn page(
        &self,
        query: portaal_core::ports::PageQuery<'_>,
    ) -> Result<Vec<portaal_core::ports::Item>, portaal_core::ports::StoreError> {
        self.inner.page(query).await
    }
    async fn transact(
        &self,
        writes: Vec<portaal_core::ports::Write>,
    ) -> Result<(), portaal_core::ports::StoreError> {
        self.inner.transact(writes).await
    }
}

#[tokio::test]
async fn two_confirms_that_read_before_either_writes_make_one_delivery() {
    use portaal_core::usecases::dossier::PersonInput;
    use portaal_core::usecases::portal::{ConfirmInput, Confirmed};
    let app = spawn_app().await;
    let case = case_id("OVERLAP");
    let link = app.dossier_with_request(&case).await;
    let a = app
        .upload(&link, "a.pdf", "application/pdf", b"%PDF-1.7 a".to_vec())
        .await;
    let system = &app.running.state.system;
    let store = std::sync::Arc::new(PausingStore {
        inner: system.store.clone(),
        barrier: tokio::sync::Barrier::new(2),
        armed: std::sync::atomic::AtomicBool::new(true),
    });
    let portaal = portaal_core::Portaal::new(
        store,
        system.blobs.clone(),
        system.scheduler.clone(),
        std::sync::Arc::new(portaal_core::ports::SystemClock),
        system.portaal.settings().clone(),
    );
    let token = portaal_core::domain::LinkToken::parse(link.rsplit('/').next().unwrap()).unwrap();
    let input = ConfirmInput {
        uploads: vec![a.id.clone()],
        comment: String::new(),
        submitted_by: PersonInput {
            name: "Piet".into(),
            email: "p@example.nl".into(),
        },
    };
    let origin = portaal_core::audit::Origin::default();
    let (first, second) = tokio::join!(
        portaal.confirm_delivery(&token, &input, &origin),
        portaal.confirm_delivery(&token, &input, &origin)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    let created = [&first, &second]
        .iter()
        .filter(|c| matches!(c, Confirmed::Created(_)))
        .count();
    assert_eq!(created, 1, "{first:?} / {second:?}");
    let id = |c: &Confirmed| match c {
        Confirmed::Created(v) | Confirmed::AlreadyConfirmed(v) => v.id.clone(),
    };
    assert_eq!(id(&first), id(&second));
    assert_eq!(
        app.get_dossier(&case).await["deliveries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(app.download(&case, &a.id).await, a.bytes);
}
