//! One contract suite per port. Each function takes the adapter under test and panics with a
//! message naming the broken promise; the embedded and the AWS adapters run the same functions.
//! The store and the scheduler suites are one function per behaviour, and a macro that makes one
//! test of each ([`store`], [`scheduler`]).

pub mod scheduler;
pub mod store;

/// The tests of one port's suite: one `#[tokio::test]` per behaviour, named after it. Each makes
/// its adapter with `$make` (an async closure), binds what that answers to `$bind` (kept until the
/// test ends) and calls `contract::$port::$behaviour` with the arguments `$args`.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($port:ident, $make:expr, $bind:pat => $args:tt, [$($behaviour:ident),+ $(,)?]) => {
        $(
            #[::tokio::test]
            async fn $behaviour() {
                let $bind = ($make)().await;
                $crate::contract::$port::$behaviour $args.await;
            }
        )+
    };
}

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use portaal_core::domain::{Email, Id, Sha256};
use portaal_core::ports::{Blobs, DownloadSpec, Mailer, OutgoingMail, Store, UploadSpec, Write};
use reqwest::StatusCode;
use serde_json::Value;

pub(crate) fn unique(label: &str) -> String {
    crate::case_id(label)
}

// ---------------------------------------------------------------- blobs

async fn put(
    client: &reqwest::Client,
    target: &portaal_core::ports::UploadTarget,
    body: Vec<u8>,
    skip_length: bool,
) -> StatusCode {
    let mut req = client.request(target.method.parse().unwrap(), &target.url);
    for (k, v) in &target.headers {
        if !(skip_length && k == "content-length") {
            req = req.header(k, v);
        }
    }
    req.body(body).send().await.unwrap().status()
}

/// `store`: where the local blob route looks up whether an upload is still wanted (a staged
/// document record); each key is made wanted there before its upload. S3 needs none.
pub async fn blobs_contract(blobs: Arc<dyn Blobs>, store: Option<Arc<dyn Store>>) {
    let client = reqwest::Client::new();
    let prefix = format!("staged/{}/", unique("blob"));
    let new_key = || format!("{prefix}{}", ulid::Ulid::new());
    let key = new_key();
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let sha = Sha256::of(&bytes);

    // an exact upload is stored; storage vouches for its size and SHA-256
    want(store.as_ref(), &key).await;
    let target = blobs
        .upload_target(UploadSpec {
            key: &key,
            size: bytes.len() as u64,
            content_type: "application/pdf",
            sha256: Some(&sha),
            ttl: Duration::from_secs(300),
        })
        .await
        .unwrap();
    assert_eq!(target.method, "PUT");
    assert_eq!(
        target.headers.get("content-type").map(String::as_str),
        Some("application/pdf")
    );
    assert!(
        put(&client, &target, bytes.clone(), true)
            .await
            .is_success(),
        "an exact upload is accepted"
    );
    let info = blobs
        .stat(&key)
        .await
        .unwrap()
        .expect("uploaded blob exists");
    assert_eq!(info.size, bytes.len() as u64);
    assert_eq!(
        info.sha256.as_ref(),
        Some(&sha),
        "storage reports the verified SHA-256"
    );

    // a download URL gives the same bytes with the filename
    let url = blobs
        .download_url(DownloadSpec {
            key: &key,
            filename: "besluit 1.pdf",
            content_type: "application/pdf",
            inline: false,
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        disposition.contains("attachment") && disposition.contains("besluit"),
        "download names the file: {disposition}"
    );
    assert_eq!(
        res.bytes().await.unwrap().to_vec(),
        bytes,
        "download is byte-identical"
    );

    // a body of another size is refused and leaves no blob
    let key2 = new_key();
    want(store.as_ref(), &key2).await;
    let target = blobs
        .upload_target(UploadSpec {
            key: &key2,
            size: 10,
            content_type: "text/plain",
            sha256: None,
            ttl: Duration::from_secs(300),
        })
        .await
        .unwrap();
    let status = put(&client, &target, vec![b'x'; 11], true).await;
    assert!(
        status.is_client_error(),
        "a larger body is refused: {status}"
    );
    let status = put(&client, &target, vec![b'x'; 9], true).await;
    assert!(
        status.is_client_error(),
        "a smaller body is refused: {status}"
    );
    assert_eq!(
        blobs.stat(&key2).await.unwrap(),
        None,
        "a refused upload leaves nothing"
    );

    // a tampered signature is refused with 403
    let mut tampered = target.clone();
    tampered.url = tamper(&tampered.url);
    assert_eq!(
        put(&client, &tampered, vec![b'x'; 10], true).await,
        StatusCode::FORBIDDEN,
        "a tampered URL is refused"
    );
    assert_eq!(blobs.stat(&key2).await.unwrap(), None);

    // bytes that differ from the announced SHA-256 are never vouched for
    let key3 = new_key();
    let announced = Sha256::of(b"something else!!");
    want(store.as_ref(), &key3).await;
    let target = blobs
        .upload_target(UploadSpec {
            key: &key3,
            size: 16,
            content_type: "text/plain",
            sha256: Some(&announced),
            ttl: Duration::from_secs(300),
        })
        .await
        .unwrap();
    let status = put(&client, &target, b"0123456789abcdef".to_vec(), true).await;
    assert!(
        status.is_client_error(),
        "a body with another SHA-256 is refused: {status}"
    );
    let after = blobs.stat(&key3).await.unwrap();
    assert!(
        after.is_none_or(|i| i.sha256.as_ref() != Some(&announced)),
        "storage never vouches for bytes it refused"
    );

    // an expired URL is refused
    let key4 = new_key();
    want(store.as_ref(), &key4).await;
    let target = blobs
        .upload_target(UploadSpec {
            key: &key4,
            size: 3,
            content_type: "text/plain",
            sha256: None,
            ttl: Duration::from_secs(1),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        put(&client, &target, b"abc".to_vec(), true).await,
        StatusCode::FORBIDDEN,
        "an expired URL is refused"
    );

    // a server-side copy holds the same bytes and survives its source
    let copy = format!("{prefix}copy");
    blobs.copy(&key, &copy).await.expect("copy succeeds");
    let copied = blobs.stat(&copy).await.unwrap().expect("the copy exists");
    assert_eq!(copied.size, bytes.len() as u64);
    blobs.delete(&key).await.unwrap();
    let url = blobs
        .download_url(DownloadSpec {
            key: &copy,
            filename: "kopie.pdf",
            content_type: "application/pdf",
            inline: true,
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    assert_eq!(
        client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        bytes,
        "the copy is byte-identical"
    );

    // delete and prefix delete
    blobs.delete(&key).await.unwrap();
    assert_eq!(blobs.stat(&key).await.unwrap(), None);
    blobs.delete(&key).await.unwrap();
    for n in [5u64, 6] {
        let k = format!("{prefix}{}", ulid::Ulid::from_parts(n, 0));
        want(store.as_ref(), &k).await;
        let t = blobs
            .upload_target(UploadSpec {
                key: &k,
                size: 2,
                content_type: "text/plain",
                sha256: None,
                ttl: Duration::from_secs(60),
            })
            .await
            .unwrap();
        assert!(put(&client, &t, b"ok".to_vec(), true).await.is_success());
    }
    // Two destructions at once (a retry and a trigger): both succeed, between them all is gone.
    let (first, second) = tokio::join!(blobs.delete_prefix(&prefix), blobs.delete_prefix(&prefix));
    let removed = first.unwrap().max(second.unwrap());
    assert!(
        removed >= 2,
        "prefix delete removes every blob under it ({removed})"
    );
    assert_eq!(
        blobs
            .stat(&format!("{prefix}{}", ulid::Ulid::from_parts(5, 0)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        blobs.delete_prefix(&prefix).await.unwrap(),
        0,
        "again: nothing left"
    );
}

/// Changes one character of the signature-bearing query parameter.
pub fn tamper(url: &str) -> String {
    for marker in ["sig=", "X-Amz-Signature="] {
        if let Some(i) = url.find(marker) {
            let at = i + marker.len();
            let c = &url[at..at + 1];
            let replacement = if c == "0" { "1" } else { "0" };
            return format!("{}{}{}", &url[..at], replacement, &url[at + 1..]);
        }
    }
    panic!("no signature in {url}");
}

/// Makes an upload to `key` wanted: a staged document record, as staging writes it.
async fn want(store: Option<&Arc<dyn Store>>, key: &str) {
    use portaal_core::domain::{ContentType, Filename};
    use portaal_core::model::{Document, DocumentState, Record, ScanState, keys};
    let Some(store) = store else { return };
    let (case, id) = keys::parse_staged_blob(key).expect("a staged key");
    let doc = Document {
        id,
        filename: Filename::parse("contract.pdf").unwrap(),
        size: 1,
        content_type: ContentType::parse("application/pdf").unwrap(),
        sha256: None,
        blob_key: key.to_owned(),
        state: DocumentState::Staged,
        request_id: None,
        delivery_id: None,
        publication_id: None,
        created_at: Utc::now(),
        scan: ScanState::NotScanned,
        scan_note: None,
    };
    store
        .transact(vec![Write::put(
            doc.to_item(keys::dossier(&case), keys::doc(&doc.id)),
        )])
        .await
        .unwrap();
}

// ---------------------------------------------------------------- mailer

/// `sink` answers the sent mails the transport holds, as JSON objects with `to`, `subject` and
/// the bodies.
pub async fn mailer_contract<F, Fut>(mailer: Arc<dyn Mailer>, sink: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<Value>>,
{
    let subject = format!("Contract {}", unique("mail"));
    let mail = OutgoingMail {
        id: Id::from_ulid(ulid::Ulid::new()),
        case_id: portaal_core::domain::CaseId::parse("BZ-2026-0042").unwrap(),
        to: vec![
            Email::parse("afdeling@example.nl").unwrap(),
            Email::parse("tweede@example.nl").unwrap(),
        ],
        reply_to: Some(Email::parse("behandelaar@example.nl").unwrap()),
        subject: subject.clone(),
        text: "Beste collega,\n\nZie https://portaal.example.nl/p/abc".into(),
        html: "<p>Beste collega,</p><p><a href=\"https://portaal.example.nl/p/abc\">link</a></p>"
            .into(),
    };
    let id = mailer.send(&mail).await.expect("send succeeds");
    assert!(!id.is_empty(), "the transport answers a message id");
    let sent = sink().await;
    let found: Vec<&Value> = sent
        .iter()
        .filter(|m| m.to_string().contains(&subject))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "the mail reached the transport once: {sent:?}"
    );
    let text = found[0].to_string();
    assert!(
        text.contains("afdeling@example.nl") && text.contains("tweede@example.nl"),
        "every recipient is addressed"
    );
    assert!(
        text.contains("portaal.example.nl/p/abc"),
        "the body arrives"
    );
}

// ---------------------------------------------------------------- AWS emulator sinks

/// Mails moto received through SES (under `ses.Message` of its data API).
pub async fn aws_sent_mails() -> Vec<Value> {
    let Ok(moto) = std::env::var("PORTAAL_MOTO_URL") else {
        return Vec::new();
    };
    let ses: Value = reqwest::get(format!("{moto}/portaal-test/sent-mail"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = Vec::new();
    for kind in ["Message", "RawMessage"] {
        if let Some(list) = ses[kind].as_array() {
            // `to` as the embedded outbox lists it, so tests read both alike.
            out.extend(list.iter().cloned().map(|mut m| {
                m["to"] = m["destinations"]["ToAddresses"].clone();
                m
            }));
        }
    }
    out
}
