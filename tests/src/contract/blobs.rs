//! The `Blobs` contract: one function per behaviour, each under a prefix of its own.
//!
//! Uploads go to the URL the adapter signs, as a browser sends them. An adapter that serves the
//! uploads itself (the local blob route) asks the store whether an upload is still wanted (a
//! staged document record): `wanted` is that store, and each key is made wanted there before its
//! upload. S3 needs none.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use portaal_core::domain::Sha256;
use portaal_core::ports::{Blobs, DownloadSpec, PartSpec, Store, UploadSpec, UploadTarget, Write};
use reqwest::{Response, StatusCode};

use super::unique;

/// One `#[tokio::test]` per blob behaviour. `$make` is an async closure answering the blobs under
/// test (an `Arc`), the store that says which uploads are wanted (`Some(Arc<dyn Store>)`, or
/// `None` when storage needs none) and whatever must live as long as the test:
/// `(Arc<B>, wanted, keep)`.
#[macro_export]
macro_rules! blobs_contract_tests {
    ($make:expr) => {
        $crate::__contract_tests!(blobs, $make, (blobs, wanted, _keep) => (&*blobs, $crate::contract::blobs::wanted(&wanted)), [
            an_exact_upload_is_stored_with_its_size_and_sha256,
            a_download_gives_the_same_bytes_with_the_filename,
            a_body_of_another_size_is_refused_and_leaves_nothing,
            a_tampered_url_is_refused,
            bytes_unlike_the_announced_sha256_are_never_vouched_for,
            an_expired_url_is_refused,
            a_copy_holds_the_same_bytes_and_survives_its_source,
            delete_removes_a_blob_and_may_be_repeated,
            delete_prefix_removes_every_blob_under_it_even_twice_at_once,
            parts_join_into_one_blob_whose_copy_measures_its_sha256,
            a_tampered_part_url_is_refused,
            an_incomplete_upload_is_not_joined_and_can_be_aborted,
        ]);
    };
}

/// The store that says which uploads are wanted, for blobs that ask it.
pub type Wanted = Option<Arc<dyn Store>>;

/// `wanted` as the behaviours take it.
pub fn wanted(wanted: &Wanted) -> Option<&dyn Store> {
    wanted.as_deref()
}

/// The blobs under test, a prefix of this test's own, and an HTTP client to upload and download.
struct Bench<'a> {
    blobs: &'a dyn Blobs,
    wanted: Option<&'a dyn Store>,
    prefix: String,
    client: reqwest::Client,
}

/// 300,000 bytes that are not all alike.
fn large() -> Vec<u8> {
    (0..300_000u32).map(|i| (i % 251) as u8).collect()
}

impl<'a> Bench<'a> {
    fn new(blobs: &'a dyn Blobs, wanted: Option<&'a dyn Store>) -> Self {
        Self {
            blobs,
            wanted,
            prefix: format!("staged/{}/", unique("blob")),
            client: reqwest::Client::new(),
        }
    }

    /// A bench with [`large`] bytes stored (as [`Self::stored`]) under a new key; answers the
    /// key and the bytes too.
    async fn with_large_blob(
        blobs: &'a dyn Blobs,
        wanted: Option<&'a dyn Store>,
    ) -> (Self, String, Vec<u8>) {
        let bench = Self::new(blobs, wanted);
        let (key, bytes) = (bench.key(), large());
        bench.stored(&key, &bytes).await;
        (bench, key, bytes)
    }

    /// A new key under this test's prefix.
    fn key(&self) -> String {
        format!("{}{}", self.prefix, ulid::Ulid::new())
    }

    /// Makes an upload to `key` wanted, then asks for its upload target.
    async fn target(
        &self,
        key: &str,
        size: u64,
        content_type: &str,
        sha256: Option<&Sha256>,
        ttl: Duration,
    ) -> UploadTarget {
        if let Some(store) = self.wanted {
            want(store, key).await;
        }
        let spec = UploadSpec {
            key,
            size,
            content_type,
            sha256,
            ttl,
        };
        self.blobs.upload_target(spec).await.unwrap()
    }

    /// Sends `body` to the target with its headers (`content-length` is the body's own).
    async fn put(&self, target: &UploadTarget, body: Vec<u8>) -> StatusCode {
        let mut req = self
            .client
            .request(target.method.parse().unwrap(), &target.url);
        for (k, v) in &target.headers {
            if k != "content-length" {
                req = req.header(k, v);
            }
        }
        req.body(body).send().await.unwrap().status()
    }

    /// `bytes` uploaded exactly as announced (with their SHA-256) to `key`.
    async fn stored(&self, key: &str, bytes: &[u8]) {
        let sha = Sha256::of(bytes);
        let target = self
            .target(
                key,
                bytes.len() as u64,
                "application/pdf",
                Some(&sha),
                Duration::from_secs(300),
            )
            .await;
        let status = self.put(&target, bytes.to_vec()).await;
        assert!(status.is_success(), "an exact upload is accepted: {status}");
    }

    /// Fetches `key` through a download URL.
    async fn download(&self, key: &str, filename: &str, inline: bool) -> Response {
        let spec = DownloadSpec {
            key,
            filename,
            content_type: "application/pdf",
            inline,
            ttl: Duration::from_secs(60),
        };
        let url = self.blobs.download_url(spec).await.unwrap();
        self.client.get(&url).send().await.unwrap()
    }
}

/// An exact upload is stored; storage vouches for its size and SHA-256.
pub async fn an_exact_upload_is_stored_with_its_size_and_sha256(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let bench = Bench::new(blobs, wanted);
    let (key, bytes) = (bench.key(), large());
    let sha = Sha256::of(&bytes);
    let target = bench
        .target(
            &key,
            bytes.len() as u64,
            "application/pdf",
            Some(&sha),
            Duration::from_secs(300),
        )
        .await;
    assert_eq!(target.method, "PUT");
    assert_eq!(
        target.headers.get("content-type").map(String::as_str),
        Some("application/pdf")
    );
    assert!(
        bench.put(&target, bytes.clone()).await.is_success(),
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
}

/// A download URL gives the same bytes, as an attachment with the filename.
pub async fn a_download_gives_the_same_bytes_with_the_filename(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let (bench, key, bytes) = Bench::with_large_blob(blobs, wanted).await;
    let res = bench.download(&key, "besluit 1.pdf", false).await;
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
}

/// The target for 10 bytes of text under a new key.
async fn ten_bytes(bench: &Bench<'_>) -> (String, UploadTarget) {
    let key = bench.key();
    let target = bench
        .target(&key, 10, "text/plain", None, Duration::from_secs(300))
        .await;
    (key, target)
}

/// A body larger or smaller than announced is refused and leaves no blob.
pub async fn a_body_of_another_size_is_refused_and_leaves_nothing(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let bench = Bench::new(blobs, wanted);
    let (key, target) = ten_bytes(&bench).await;
    let status = bench.put(&target, vec![b'x'; 11]).await;
    assert!(
        status.is_client_error(),
        "a larger body is refused: {status}"
    );
    let status = bench.put(&target, vec![b'x'; 9]).await;
    assert!(
        status.is_client_error(),
        "a smaller body is refused: {status}"
    );
    assert_eq!(
        blobs.stat(&key).await.unwrap(),
        None,
        "a refused upload leaves nothing"
    );
}

/// A tampered signature is refused with 403 and leaves no blob.
pub async fn a_tampered_url_is_refused(blobs: &dyn Blobs, wanted: Option<&dyn Store>) {
    let bench = Bench::new(blobs, wanted);
    let (key, mut tampered) = ten_bytes(&bench).await;
    tampered.url = tamper(&tampered.url);
    assert_eq!(
        bench.put(&tampered, vec![b'x'; 10]).await,
        StatusCode::FORBIDDEN,
        "a tampered URL is refused"
    );
    assert_eq!(blobs.stat(&key).await.unwrap(), None);
}

/// Bytes that differ from the announced SHA-256 are refused, and never vouched for.
pub async fn bytes_unlike_the_announced_sha256_are_never_vouched_for(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let bench = Bench::new(blobs, wanted);
    let key = bench.key();
    let announced = Sha256::of(b"something else!!");
    let ttl = Duration::from_secs(300);
    let target = bench
        .target(&key, 16, "text/plain", Some(&announced), ttl)
        .await;
    let status = bench.put(&target, b"0123456789abcdef".to_vec()).await;
    assert!(
        status.is_client_error(),
        "a body with another SHA-256 is refused: {status}"
    );
    let after = blobs.stat(&key).await.unwrap();
    assert!(
        after.is_none_or(|i| i.sha256.as_ref() != Some(&announced)),
        "storage never vouches for bytes it refused"
    );
}

/// An upload URL past its lifetime is refused with 403.
pub async fn an_expired_url_is_refused(blobs: &dyn Blobs, wanted: Option<&dyn Store>) {
    let bench = Bench::new(blobs, wanted);
    let key = bench.key();
    let target = bench
        .target(&key, 3, "text/plain", None, Duration::from_secs(1))
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        bench.put(&target, b"abc".to_vec()).await,
        StatusCode::FORBIDDEN,
        "an expired URL is refused"
    );
}

/// A server-side copy holds the same bytes and survives the deletion of its source.
pub async fn a_copy_holds_the_same_bytes_and_survives_its_source(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let (bench, key, bytes) = Bench::with_large_blob(blobs, wanted).await;
    let copy = format!("{}copy", bench.prefix);
    blobs.copy(&key, &copy).await.expect("copy succeeds");
    let copied = blobs.stat(&copy).await.unwrap().expect("the copy exists");
    assert_eq!(copied.size, bytes.len() as u64);
    blobs.delete(&key).await.unwrap();
    let res = bench.download(&copy, "kopie.pdf", true).await;
    assert_eq!(
        res.bytes().await.unwrap().to_vec(),
        bytes,
        "the copy is byte-identical"
    );
}

/// A deleted blob stats as None; deleting it again is fine.
pub async fn delete_removes_a_blob_and_may_be_repeated(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let bench = Bench::new(blobs, wanted);
    let key = bench.key();
    bench.stored(&key, b"%PDF-").await;
    blobs.delete(&key).await.unwrap();
    assert_eq!(blobs.stat(&key).await.unwrap(), None);
    blobs.delete(&key).await.unwrap();
}

/// A prefix delete removes every blob under it. Two at once (a retry and a trigger) both
/// succeed, and between them all is gone; once more, nothing is left.
pub async fn delete_prefix_removes_every_blob_under_it_even_twice_at_once(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let bench = Bench::new(blobs, wanted);
    let prefix = &bench.prefix;
    let key = |n: u64| format!("{prefix}{}", ulid::Ulid::from_parts(n, 0));
    for n in [5u64, 6] {
        let t = bench
            .target(&key(n), 2, "text/plain", None, Duration::from_secs(60))
            .await;
        assert!(bench.put(&t, b"ok".to_vec()).await.is_success());
    }
    let (first, second) = tokio::join!(blobs.delete_prefix(prefix), blobs.delete_prefix(prefix));
    let removed = first.unwrap().max(second.unwrap());
    assert!(
        removed >= 2,
        "prefix delete removes every blob under it ({removed})"
    );
    assert_eq!(blobs.stat(&key(5)).await.unwrap(), None);
    assert_eq!(
        blobs.delete_prefix(prefix).await.unwrap(),
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
async fn want(store: &dyn Store, key: &str) {
    use portaal_core::domain::{ContentType, Filename};
    use portaal_core::model::{Document, DocumentState, Record, ScanState, keys};
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
        sha256_verified: true,
        parts: None,
    };
    store
        .transact(vec![Write::put(
            doc.to_item(keys::dossier(&case), keys::doc(&doc.id)),
        )])
        .await
        .unwrap();
}

// ---------------------------------------------------------------- uploads in parts

/// S3's smallest part but the last.
const MIN_PART: usize = 5 << 20;

/// Two parts: one of the smallest size S3 takes, and a short last one.
fn two_parts() -> (Vec<u8>, Vec<u8>) {
    let first: Vec<u8> = (0..MIN_PART as u32).map(|i| (i % 253) as u8).collect();
    let last: Vec<u8> = (0..1000u32).map(|i| (i % 7) as u8).collect();
    (first, last)
}

impl Bench<'_> {
    /// A part's signed target, for its bytes.
    async fn part(&self, key: &str, upload: &str, number: u32, bytes: &[u8]) -> UploadTarget {
        self.blobs
            .part_target(PartSpec {
                key,
                upload_id: upload,
                number,
                // Every part but the last is MIN_PART bytes.
                offset: u64::from(number - 1) * MIN_PART as u64,
                size: bytes.len() as u64,
                sha256: &Sha256::of(bytes),
                ttl: Duration::from_secs(300),
            })
            .await
            .unwrap()
    }

    /// Sends a part; answers the status and the ETag storage answered.
    async fn put_part(&self, target: &UploadTarget, bytes: &[u8]) -> (StatusCode, String) {
        let mut req = self.client.put(&target.url);
        for (k, v) in &target.headers {
            if k != "content-length" {
                req = req.header(k, v);
            }
        }
        let res = req.body(bytes.to_vec()).send().await.unwrap();
        let etag = res
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (res.status(), etag)
    }
}

/// Parts sent to their signed URLs are listed, joined in order into one blob with every byte,
/// and a measured copy tells the whole file's SHA-256.
pub async fn parts_join_into_one_blob_whose_copy_measures_its_sha256(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let bench = Bench::new(blobs, wanted);
    let key = bench.key();
    if let Some(store) = wanted {
        want(store, &key).await;
    }
    let (first, last) = two_parts();
    let whole = [first.clone(), last.clone()].concat();
    let upload = blobs.start_parts(&key, "application/pdf").await.unwrap();
    let mut etags = Vec::new();
    // The last part first: parts may arrive in any order.
    for (number, bytes) in [(2, &last), (1, &first)] {
        let target = bench.part(&key, &upload, number, bytes).await;
        let (status, etag) = bench.put_part(&target, bytes).await;
        assert!(status.is_success(), "part {number} is accepted: {status}");
        assert!(!etag.is_empty(), "part {number} answers an ETag");
        etags.push((number, etag));
    }
    etags.sort();
    let listed = blobs.parts(&key, &upload).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.number, p.size))
            .collect::<Vec<_>>(),
        [(1, first.len() as u64), (2, last.len() as u64)]
    );
    for (part, (_, etag)) in listed.iter().zip(&etags) {
        // S3 lists the ETag its PUT answered; s3s-fs (the emulator) lists none.
        assert!(part.etag.is_empty() || &part.etag == etag, "{part:?}");
    }
    let measured = blobs.complete_parts(&key, &upload, &etags).await.unwrap();
    let sha = Sha256::of(&whole);
    assert!(
        measured.is_none() || measured.as_ref() == Some(&sha),
        "storage that measures while joining measures the whole file"
    );
    let info = blobs.stat(&key).await.unwrap().expect("the joined blob");
    assert_eq!(info.size, whole.len() as u64);
    assert!(info.sha256.is_none() || info.sha256.as_ref() == Some(&sha));
    let res = bench.download(&key, "groot.pdf", false).await;
    assert_eq!(
        res.bytes().await.unwrap().to_vec(),
        whole,
        "every byte, in order"
    );
    let copy = format!("{}measured", bench.prefix);
    assert_eq!(blobs.copy_measured(&key, &copy).await.unwrap(), sha);
    assert_eq!(
        blobs.stat(&copy).await.unwrap().map(|i| i.size),
        Some(whole.len() as u64)
    );
}

/// A part URL whose signature was tampered with stores nothing.
pub async fn a_tampered_part_url_is_refused(blobs: &dyn Blobs, wanted: Option<&dyn Store>) {
    let bench = Bench::new(blobs, wanted);
    let key = bench.key();
    if let Some(store) = wanted {
        want(store, &key).await;
    }
    let upload = blobs.start_parts(&key, "application/pdf").await.unwrap();
    let bytes = b"%PDF-1.7 one part".to_vec();
    let mut target = bench.part(&key, &upload, 1, &bytes).await;
    target.url = tamper(&target.url);
    let (status, _) = bench.put_part(&target, &bytes).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(blobs.parts(&key, &upload).await.unwrap().is_empty());
    blobs.abort_parts(&key, &upload).await.unwrap();
}

/// Completing without every part fails and stores no blob; an aborted upload lists nothing.
pub async fn an_incomplete_upload_is_not_joined_and_can_be_aborted(
    blobs: &dyn Blobs,
    wanted: Option<&dyn Store>,
) {
    let bench = Bench::new(blobs, wanted);
    let (first, _) = two_parts();
    let mut uploads = Vec::new();
    for _ in 0..2 {
        let key = bench.key();
        if let Some(store) = wanted {
            want(store, &key).await;
        }
        let upload = blobs.start_parts(&key, "application/pdf").await.unwrap();
        let target = bench.part(&key, &upload, 1, &first).await;
        let (status, etag) = bench.put_part(&target, &first).await;
        assert!(status.is_success());
        uploads.push((key, upload, etag));
    }
    let (key, upload, etag) = &uploads[0];
    let missing = [(1, etag.clone()), (2, "\"none\"".to_owned())];
    assert!(blobs.complete_parts(key, upload, &missing).await.is_err());
    assert_eq!(blobs.stat(key).await.unwrap(), None, "nothing joined");
    let (key, upload, _) = &uploads[1];
    blobs.abort_parts(key, upload).await.unwrap();
    // Gone: S3 answers NoSuchUpload, the local store refuses; s3s-fs lists nothing.
    assert!(
        blobs
            .parts(key, upload)
            .await
            .map_or(true, |parts| parts.is_empty())
    );
    assert_eq!(blobs.stat(key).await.unwrap(), None);
}
