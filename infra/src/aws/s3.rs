//! Blob storage on S3: presigned PUT/GET URLs, HeadObject for size and verified SHA-256.
//!
//! # The client this adapter expects
//!
//! Presigned uploads are made by browsers, which cannot compute the CRC32 the SDK's default
//! "flexible checksums" would add, so build the S3 client with
//! `request_checksum_calculation(RequestChecksumCalculation::WhenRequired)` (on the
//! `aws_config` loader or the `aws_sdk_s3::config::Builder`). The adapter signs only what the
//! [`UploadSpec`] fixes: content type, content length and, when announced, the SHA-256
//! (`x-amz-checksum-sha256`), and lists every header of the presigned request in
//! [`UploadTarget::headers`] so the client can send exactly those.
//!
//! For emulators (s3s-fs, MinIO…) set `force_path_style(true)`; an IP endpoint such as
//! `http://127.0.0.1:PORT` already gets path-style URLs, a host name does not.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::lazy::LazyClient;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, Delete,
    ObjectIdentifier,
};
use chrono::{DateTime, Utc};
use portaal_core::domain::Sha256;
use portaal_core::ports::{
    BlobError, BlobInfo, Blobs, DownloadSpec, PartInfo, PartSpec, UploadSpec, UploadTarget,
};

/// DeleteObjects takes at most this many keys.
const DELETE_BATCH: usize = 1000;

/// Blob storage in one S3 bucket. See the module docs for the client configuration it expects.
#[derive(Clone, Debug)]
pub struct S3Blobs {
    client: LazyClient<aws_sdk_s3::Client>,
    bucket: String,
}

impl S3Blobs {
    /// `client` must be built with `RequestChecksumCalculation::WhenRequired` (module docs).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self::lazy(LazyClient::ready(client), bucket)
    }

    /// With a client built at its first use: a page view signs no URL, and building the client
    /// (its endpoint resolver parses the partition table) is part of a Lambda's init.
    pub fn lazy(client: LazyClient<aws_sdk_s3::Client>, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    fn client(&self) -> &aws_sdk_s3::Client {
        self.client.get()
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Every part of an upload with its checksum, through ListParts' pages.
    async fn list_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<aws_sdk_s3::types::Part>, BlobError> {
        let mut pages = self
            .client()
            .list_parts()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .into_paginator()
            .send();
        let mut parts = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| part_error("ListParts", e))?;
            parts.extend(page.parts().iter().cloned());
        }
        Ok(parts)
    }

    /// Aborts every unfinished upload in parts under the prefix, so no part outlives a
    /// destruction (the bucket's lifecycle rule is the backstop). Storage without the listing
    /// (s3s-fs) is skipped with a warning.
    async fn abort_uploads_under(&self, prefix: &str) -> Result<(), BlobError> {
        let mut marker: Option<(String, String)> = None;
        loop {
            let out = match self
                .client()
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(marker.as_ref().map(|(k, _)| k.clone()))
                .set_upload_id_marker(marker.as_ref().map(|(_, u)| u.clone()))
                .send()
                .await
            {
                Ok(out) => out,
                Err(err)
                    if unsupported(err.code(), err.raw_response().map(|r| r.status().as_u16())) =>
                {
                    tracing::warn!(
                        "storage cannot list uploads in parts; the lifecycle rule drops them"
                    );
                    return Ok(());
                }
                Err(err) => return Err(sdk_error("ListMultipartUploads", err)),
            };
            for upload in out.uploads() {
                if let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) {
                    self.abort_parts(key, id).await?;
                }
            }
            if out.is_truncated() != Some(true) {
                return Ok(());
            }
            marker = out
                .next_key_marker()
                .zip(out.next_upload_id_marker())
                .map(|(k, u)| (k.to_owned(), u.to_owned()));
            if marker.is_none() {
                return Ok(());
            }
        }
    }

    /// The SHA-256 of a blob's bytes read back through this function: only for storage that
    /// computes no checksum on copy (s3s-fs, the emulator); S3 itself always does.
    async fn hash_by_reading(&self, key: &str) -> Result<Sha256, BlobError> {
        use sha2::Digest;
        let mut out = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("GetObject", e))?;
        let mut hasher = sha2::Sha256::new();
        while let Some(chunk) = out
            .body
            .try_next()
            .await
            .map_err(|e| BlobError::Backend(format!("S3 GetObject of {key}: {e}")))?
        {
            hasher.update(&chunk);
        }
        Sha256::parse(&hex::encode(hasher.finalize())).map_err(backend)
    }

    async fn delete_batch(&self, keys: &[String]) -> Result<(), BlobError> {
        let objects = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k).build().map_err(backend))
            .collect::<Result<Vec<_>, _>>()?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(backend)?;
        match self
            .client()
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
        {
            Ok(out) => {
                // Gone already (a concurrent destruction; some emulators say so, S3 does not).
                let failed: Vec<_> = out
                    .errors()
                    .iter()
                    .filter(|e| e.code() != Some("NoSuchKey"))
                    .collect();
                match failed.first() {
                    None => Ok(()),
                    Some(e) => Err(BlobError::Backend(format!(
                        "S3 DeleteObjects failed for {} keys, e.g. {:?}: {:?} {:?}",
                        failed.len(),
                        e.key(),
                        e.code(),
                        e.message()
                    ))),
                }
            }
            // Emulators without DeleteObjects: delete one by one.
            Err(err)
                if unsupported(err.code(), err.raw_response().map(|r| r.status().as_u16())) =>
            {
                for key in keys {
                    self.delete(key).await?;
                }
                Ok(())
            }
            Err(err) => Err(sdk_error("DeleteObjects", err)),
        }
    }
}

/// S3's answers that name a mistake of the uploader (a part missing, too small, or not the one
/// named; the upload completed or aborted already).
fn refused_by_s3(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" | "NoSuchUpload")
    )
}

fn part_error<E>(op: &str, err: aws_sdk_s3::error::SdkError<E>) -> BlobError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    if refused_by_s3(err.code()) {
        let why = match err.code() {
            Some("NoSuchUpload") => "this upload in parts is complete or was removed".to_owned(),
            code => format!(
                "storage refused the parts ({}): {}",
                code.unwrap_or_default(),
                err.message()
                    .unwrap_or("send the missing parts and name each part's ETag")
            ),
        };
        return BlobError::Refused(why);
    }
    sdk_error(op, err)
}

/// A presigned request as the client must send it.
fn target(req: PresignedRequest, expires_at: DateTime<Utc>) -> Result<UploadTarget, BlobError> {
    let headers = signed_headers(&req);
    if let Some(unexpected) = headers
        .keys()
        .find(|k| k.starts_with("x-amz-checksum-") && k.as_str() != "x-amz-checksum-sha256")
    {
        // A checksum the browser cannot compute: the client is not configured as documented.
        return Err(BlobError::Backend(format!(
            "S3 presigned upload carries {unexpected}; build the S3 client with \
             RequestChecksumCalculation::WhenRequired"
        )));
    }
    Ok(UploadTarget {
        method: req.method().to_owned(),
        url: req.uri().to_owned(),
        headers,
        expires_at,
    })
}

fn unsupported(code: Option<&str>, status: Option<u16>) -> bool {
    matches!(code, Some("NotImplemented" | "MethodNotAllowed")) || matches!(status, Some(405 | 501))
}

fn backend(e: impl std::fmt::Display) -> BlobError {
    BlobError::Backend(format!("S3: {e}"))
}

fn sdk_error<E: std::error::Error + 'static>(op: &str, e: E) -> BlobError {
    BlobError::Backend(format!("S3 {op}: {}", DisplayErrorContext(e)))
}

fn presigning(ttl: Duration) -> Result<(PresigningConfig, DateTime<Utc>), BlobError> {
    let start = SystemTime::now();
    let config = PresigningConfig::builder()
        .start_time(start)
        .expires_in(ttl)
        .build()
        .map_err(backend)?;
    let expires_at = DateTime::<Utc>::from(start + ttl);
    Ok((config, expires_at))
}

/// Every header the presigned request carries (and so was signed), except `host`, which the
/// HTTP client derives from the URL.
fn signed_headers(req: &PresignedRequest) -> BTreeMap<String, String> {
    req.headers()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .filter(|(k, _)| k != "host")
        .collect()
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn upload_target(&self, spec: UploadSpec<'_>) -> Result<UploadTarget, BlobError> {
        let (config, expires_at) = presigning(spec.ttl)?;
        let size = i64::try_from(spec.size).map_err(backend)?;
        let req = self
            .client()
            .put_object()
            .bucket(&self.bucket)
            .key(spec.key)
            .content_length(size)
            .content_type(spec.content_type)
            .set_checksum_sha256(spec.sha256.map(Sha256::to_base64))
            .presigned(config)
            .await
            .map_err(|e| sdk_error("presign PutObject", e))?;
        target(req, expires_at)
    }

    async fn download_url(&self, spec: DownloadSpec<'_>) -> Result<String, BlobError> {
        let (config, _) = presigning(spec.ttl)?;
        let req = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(spec.key)
            .response_content_disposition(crate::download::content_disposition(
                spec.filename,
                spec.inline,
            ))
            .response_content_type(spec.content_type)
            .presigned(config)
            .await
            .map_err(|e| sdk_error("presign GetObject", e))?;
        Ok(req.uri().to_owned())
    }

    async fn stat(&self, key: &str) -> Result<Option<BlobInfo>, BlobError> {
        let out = match self
            .client()
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err)
                if err.as_service_error().is_some_and(|e| e.is_not_found())
                    || err
                        .raw_response()
                        .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(sdk_error("HeadObject", err)),
        };
        let size = out
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| BlobError::Backend(format!("S3 HeadObject of {key}: no size")))?;
        // No checksum (a composite multipart checksum, or s3s-fs after a refused body) means
        // storage vouches for nothing: answer None, never a guess.
        let sha256 = out
            .checksum_sha256()
            .filter(|c| !c.contains('-'))
            .and_then(|c| Sha256::from_base64(c).ok());
        Ok(Some(BlobInfo { size, sha256 }))
    }

    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>, BlobError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes={start}-{}", start + len - 1))
            .send()
            .await
            .map_err(|err| sdk_error("GetObject (range)", err))?;
        // A server that ignored the range answers from byte 0: those are not the bytes asked for.
        let answered = out.content_range().unwrap_or_default();
        if start > 0 && !answered.starts_with(&format!("bytes {start}-")) {
            return Err(BlobError::Backend(format!(
                "S3 GetObject (range) of {key} answered '{answered}' for bytes from {start}"
            )));
        }
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Backend(format!("S3 GetObject (range) of {key}: {e}")))?;
        // Nor more than asked pass through.
        let mut bytes = bytes.into_bytes().to_vec();
        bytes.truncate(len as usize);
        Ok(bytes)
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        // Keys are made of [A-Za-z0-9._/-] (core's key scheme), so the source needs no escaping.
        self.client()
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .key(to)
            .send()
            .await
            .map_err(|err| sdk_error("CopyObject", err))?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self
            .client()
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // S3 answers 204 for an absent key; some emulators answer 404.
            Err(err)
                if err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(())
            }
            Err(err) => Err(sdk_error("DeleteObject", err)),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64, BlobError> {
        let mut pages = self
            .client()
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("ListObjectsV2", e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        // Listed first, deleted after: deleting while paginating could skip keys.
        for batch in keys.chunks(DELETE_BATCH) {
            self.delete_batch(batch).await?;
        }
        // Parts of unfinished uploads are no objects (the listing above never shows them).
        self.abort_uploads_under(prefix).await?;
        Ok(keys.len() as u64)
    }

    async fn start_parts(&self, key: &str, content_type: &str) -> Result<String, BlobError> {
        let out = self
            .client()
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            // Each part then carries a SHA-256 S3 verifies against its bytes.
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| sdk_error("CreateMultipartUpload", e))?;
        out.upload_id()
            .map(str::to_owned)
            .ok_or_else(|| backend("CreateMultipartUpload answered no upload id"))
    }

    async fn part_target(&self, spec: PartSpec<'_>) -> Result<UploadTarget, BlobError> {
        let (config, expires_at) = presigning(spec.ttl)?;
        let req = self
            .client()
            .upload_part()
            .bucket(&self.bucket)
            .key(spec.key)
            .upload_id(spec.upload_id)
            .part_number(i32::try_from(spec.number).map_err(backend)?)
            .content_length(i64::try_from(spec.size).map_err(backend)?)
            .checksum_sha256(spec.sha256.to_base64())
            .presigned(config)
            .await
            .map_err(|e| sdk_error("presign UploadPart", e))?;
        target(req, expires_at)
    }

    async fn parts(&self, key: &str, upload_id: &str) -> Result<Vec<PartInfo>, BlobError> {
        // S3 lists by number; s3s-fs in directory order.
        let mut parts: Vec<PartInfo> = self
            .list_parts(key, upload_id)
            .await?
            .iter()
            .filter_map(|p| {
                Some(PartInfo {
                    number: u32::try_from(p.part_number()?).ok()?,
                    size: u64::try_from(p.size().unwrap_or_default()).unwrap_or_default(),
                    // S3 always answers it; s3s-fs (the emulator) leaves it out.
                    etag: p.e_tag().unwrap_or_default().to_owned(),
                })
            })
            .collect();
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    async fn complete_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Option<Sha256>, BlobError> {
        // An upload begun with a checksum algorithm is completed naming each part's checksum.
        let checksums: BTreeMap<i32, String> = self
            .list_parts(key, upload_id)
            .await?
            .iter()
            .filter_map(|p| Some((p.part_number()?, p.checksum_sha256()?.to_owned())))
            .collect();
        let completed = parts
            .iter()
            .map(|(number, etag)| {
                let number = i32::try_from(*number).map_err(backend)?;
                Ok(CompletedPart::builder()
                    .part_number(number)
                    .e_tag(etag)
                    .set_checksum_sha256(checksums.get(&number).cloned())
                    .build())
            })
            .collect::<Result<Vec<_>, BlobError>>()?;
        self.client()
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(completed))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| part_error("CompleteMultipartUpload", e))?;
        // S3 keeps a checksum of the parts' checksums, not the file's: see `copy_measured`.
        Ok(None)
    }

    async fn abort_parts(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        match self
            .client()
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("NoSuchUpload") => Ok(()),
            Err(err) => Err(sdk_error("AbortMultipartUpload", err)),
        }
    }

    async fn copy_measured(&self, from: &str, to: &str) -> Result<Sha256, BlobError> {
        let out = self
            .client()
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{from}", self.bucket))
            .key(to)
            // S3 computes the copy's SHA-256 over its bytes: one object, so of the whole file.
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|err| sdk_error("CopyObject", err))?;
        match out
            .copy_object_result()
            .and_then(|r| r.checksum_sha256())
            .filter(|c| !c.contains('-'))
        {
            Some(checksum) => Sha256::from_base64(checksum).map_err(backend),
            None => self.hash_by_reading(to).await,
        }
    }

    fn needs_announced_sha256(&self) -> bool {
        true
    }
}
