//! The blob contract against `S3Blobs` on s3s-fs (an S3 emulator that checks SigV4).
//!
//! Needs the emulators: `eval "$(infra/emulators up)"` first, `infra/emulators down` after.

use std::sync::Arc;
use std::time::Duration;

use portaal_core::domain::Sha256;
use portaal_core::ports::{Blobs, DownloadSpec, UploadSpec, UploadTarget};
use portaal_infra::aws::s3::S3Blobs;
use portaal_tests::case_id;
use reqwest::StatusCode;

const START: &str = "start the emulators first: eval \"$(infra/emulators up)\" (stop them with infra/emulators down)";

fn env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{name} is not set; {START}"))
}

/// The S3 client as production must build it, on the emulator.
async fn s3_client() -> aws_sdk_s3::Client {
    env("AWS_ENDPOINT_URL_S3");
    portaal_tests::emulator_s3_client().await
}

async fn blobs() -> S3Blobs {
    S3Blobs::new(s3_client().await, env("PORTAAL_BUCKET"))
}

fn prefix(label: &str) -> String {
    format!("tests/{}/", case_id(label))
}

/// Sends `body` to the target with its headers, `content-type` replaced when given.
async fn send(target: &UploadTarget, body: Vec<u8>, content_type: Option<&str>) -> StatusCode {
    let client = reqwest::Client::new();
    let mut req = client.request(target.method.parse().unwrap(), &target.url);
    for (k, v) in &target.headers {
        match (k.as_str(), content_type) {
            ("content-length", _) => {}
            ("content-type", Some(other)) => req = req.header(k, other),
            _ => req = req.header(k, v),
        }
    }
    req.body(body).send().await.unwrap().status()
}

/// The blob contract, one test per behaviour: `aws_s3::s3_blobs::a_tampered_url_is_refused`.
mod s3_blobs {
    use super::*;

    portaal_tests::blobs_contract_tests!(|| async { (Arc::new(blobs().await), None, ()) });
}

#[tokio::test]
async fn upload_targets_sign_only_headers_a_browser_can_send() {
    let blobs = blobs().await;
    let bytes = b"%PDF-1.7 portaal".to_vec();
    let sha = Sha256::of(&bytes);
    let key = format!("{}doc", prefix("headers"));
    let target = blobs
        .upload_target(UploadSpec {
            key: &key,
            size: bytes.len() as u64,
            content_type: "application/pdf",
            sha256: Some(&sha),
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    let names: Vec<&str> = target.headers.keys().map(String::as_str).collect();
    assert!(
        names
            .iter()
            .all(|n| ["content-length", "content-type"].contains(n) || n.starts_with("x-amz-")),
        "unexpected header in {names:?}"
    );
    assert!(
        !names.iter().any(|n| *n == "host" || n.contains("crc")),
        "no host and no CRC checksum header: {names:?}"
    );
    assert_eq!(target.headers["content-length"], bytes.len().to_string());
    assert_eq!(target.headers["content-type"], "application/pdf");
    assert_eq!(target.headers["x-amz-checksum-sha256"], sha.to_base64());
    let signed = target
        .url
        .split("X-Amz-SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("SigV4 query signature");
    for name in &names {
        assert!(signed.contains(name), "{name} is signed ({signed})");
    }
    assert!(target.expires_at > chrono::Utc::now());
    assert!(target.expires_at <= chrono::Utc::now() + chrono::Duration::seconds(61));
    assert!(blobs.needs_announced_sha256());

    assert!(send(&target, bytes.clone(), None).await.is_success());
    let info = blobs.stat(&key).await.unwrap().expect("stored");
    assert_eq!((info.size, info.sha256), (bytes.len() as u64, Some(sha)));

    // inline downloads carry the content type and the inline disposition
    let url = blobs
        .download_url(DownloadSpec {
            key: &key,
            filename: "overzicht €.pdf",
            content_type: "application/pdf",
            inline: true,
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "application/pdf");
    let disposition = header("content-disposition");
    assert!(
        disposition.starts_with("inline;")
            && disposition.contains("filename*=UTF-8''overzicht%20%E2%82%AC.pdf"),
        "{disposition}"
    );
    assert_eq!(blobs.delete_prefix(&key).await.unwrap(), 1);
}

#[tokio::test]
async fn a_presigned_put_with_another_content_type_is_refused() {
    let blobs = blobs().await;
    let key = format!("{}doc", prefix("ctype"));
    let target = blobs
        .upload_target(UploadSpec {
            key: &key,
            size: 5,
            content_type: "application/pdf",
            sha256: None,
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    assert_eq!(
        send(&target, b"<b/>x".to_vec(), Some("text/html")).await,
        StatusCode::FORBIDDEN,
        "another content type breaks the signature"
    );
    assert_eq!(blobs.stat(&key).await.unwrap(), None, "nothing stored");
    assert!(
        send(&target, b"%PDF-".to_vec(), None).await.is_success(),
        "the signed content type is accepted"
    );
    blobs.delete(&key).await.unwrap();
}

#[tokio::test]
async fn wrong_bytes_under_an_announced_sha256_are_never_vouched_for() {
    let blobs = blobs().await;
    let key = format!("{}doc", prefix("digest"));
    let announced = Sha256::of(b"the announced bytes");
    let target = blobs
        .upload_target(UploadSpec {
            key: &key,
            size: 19,
            content_type: "text/plain",
            sha256: Some(&announced),
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    let status = send(&target, b"other bytes, size19".to_vec(), None).await;
    assert!(status.is_client_error(), "refused: {status}");
    // S3 stores nothing; s3s-fs keeps the bytes but without a checksum. Either way no SHA-256
    // that matches the announcement.
    let info = blobs.stat(&key).await.unwrap();
    assert!(
        info.as_ref().is_none_or(|i| i.sha256.is_none()),
        "storage vouches for no SHA-256 after a refused body: {info:?}"
    );
    blobs.delete(&key).await.unwrap();
}

#[tokio::test]
async fn absent_blobs_stat_as_none_and_delete_quietly() {
    let blobs = blobs().await;
    let p = prefix("absent");
    assert_eq!(blobs.stat(&format!("{p}nothing")).await.unwrap(), None);
    blobs.delete(&format!("{p}nothing")).await.unwrap();
    assert_eq!(blobs.delete_prefix(&p).await.unwrap(), 0);
}

#[tokio::test]
async fn prefix_delete_pages_through_more_than_a_thousand_blobs() {
    let client = s3_client().await;
    let bucket = env("PORTAAL_BUCKET");
    let p = prefix("many");
    let mut tasks = tokio::task::JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(32));
    for i in 0..1005 {
        let (client, bucket, key) = (client.clone(), bucket.clone(), format!("{p}{i:04}"));
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(b"x".to_vec().into())
                .send()
                .await
                .unwrap();
        });
    }
    tasks.join_all().await;
    // a sibling prefix stays
    let sibling = format!("{}-sibling/keep", p.trim_end_matches('/'));
    client
        .put_object()
        .bucket(&bucket)
        .key(&sibling)
        .body(b"y".to_vec().into())
        .send()
        .await
        .unwrap();
    let blobs = S3Blobs::new(client, bucket);
    assert_eq!(blobs.delete_prefix(&p).await.unwrap(), 1005);
    assert_eq!(blobs.stat(&format!("{p}1004")).await.unwrap(), None);
    assert_eq!(blobs.delete_prefix(&p).await.unwrap(), 0);
    assert!(blobs.stat(&sibling).await.unwrap().is_some());
    blobs.delete(&sibling).await.unwrap();
}
