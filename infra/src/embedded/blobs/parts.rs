//! Uploads in parts on the local file system, the protocol of S3 multipart: each part PUT to a
//! signed URL that fixes its number, size and SHA-256; the parts joined in order when the upload
//! is completed, the whole file hashed while joining. Parts wait in a hidden directory beside
//! their key (`.parts-{upload}`), so destruction of the prefix the file is joined under (core's
//! `joined/{case}/`) takes them too.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use portaal_core::domain::Sha256;
use portaal_core::ports::{BlobError, PartInfo, PartSpec, UploadTarget};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{BLOB_ROUTE, BlobAccessError, FsBlobs, Meta, io, spool_checked};

/// The parameters a valid part URL fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedPart {
    pub key: String,
    pub upload_id: String,
    pub number: u32,
    pub size: u64,
    pub sha256: String,
}

/// What an upload in parts is for, kept beside its parts.
#[derive(Debug, Serialize, Deserialize)]
struct Started {
    key: String,
    content_type: String,
}

/// A part as it arrived.
#[derive(Debug, Serialize, Deserialize)]
struct PartMeta {
    size: u64,
    sha256: String,
}

const STARTED: &str = "upload.json";
/// Bytes read and written at a time while joining.
const JOIN_BUFFER: usize = 1 << 20;

/// Upload ids are made here (a ULID); anything else could leave the directory.
fn valid_upload_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// S3 answers ETags quoted; the local ones are the part's SHA-256 in hex, quoted alike.
fn etag_of(sha256: &str) -> String {
    format!("\"{sha256}\"")
}

impl FsBlobs {
    fn parts_dir(&self, key: &str, upload_id: &str) -> Result<PathBuf, BlobAccessError> {
        let path = self.path(key)?;
        if !valid_upload_id(upload_id) {
            return Err(BlobAccessError::NotFound);
        }
        let dir = path.parent().expect("keys have a directory");
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        Ok(dir.join(format!(".parts-{name}-{upload_id}")))
    }

    fn part_canonical(key: &str, upload: &str, n: u32, exp: i64, size: u64, sha: &str) -> String {
        format!("PART\n{key}\n{upload}\n{n}\n{exp}\n{size}\n{sha}")
    }

    /// Checks a part URL's query (`upload`, `part`, `exp`, `size`, `sha`, `sig`) for this key.
    pub fn verify_part(
        &self,
        key: &str,
        query: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<SignedPart, BlobAccessError> {
        let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
        let bad = |_| BlobAccessError::BadSignature;
        let exp: i64 = get("exp").parse().map_err(bad)?;
        let size: u64 = get("size").parse().map_err(bad)?;
        let part: u32 = get("part").parse().map_err(bad)?;
        let (upload, sha) = (get("upload"), get("sha"));
        self.check(
            &Self::part_canonical(key, upload, part, exp, size, sha),
            get("sig"),
            exp,
            now,
        )?;
        Ok(SignedPart {
            key: key.to_owned(),
            upload_id: upload.to_owned(),
            number: part,
            size,
            sha256: sha.to_owned(),
        })
    }

    /// Streams one part to disk; it counts only when its size and SHA-256 are the signed ones.
    /// Answers its ETag. Sending a part again replaces it.
    pub async fn receive_part<S, E>(
        &self,
        signed: &SignedPart,
        body: S,
    ) -> Result<String, BlobAccessError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let dir = self.parts_dir(&signed.key, &signed.upload_id)?;
        if tokio::fs::metadata(dir.join(STARTED)).await.is_err() {
            return Err(BlobAccessError::Refused(
                "this upload in parts is complete or was removed".into(),
            ));
        }
        let number = signed.number;
        let tmp = dir.join(format!(".{number}.{}", ulid::Ulid::new()));
        let sha = spool_checked(&tmp, signed.size, Some(&signed.sha256), body).await?;
        let meta = PartMeta {
            size: signed.size,
            sha256: sha.clone(),
        };
        let io_err = |e: std::io::Error| BlobAccessError::Io(e.to_string());
        super::super::files::write_atomically(
            &dir.join(format!("{number}.meta")),
            &serde_json::to_vec(&meta).expect("serialisable"),
        )
        .await
        .map_err(io_err)?;
        tokio::fs::rename(&tmp, dir.join(number.to_string()))
            .await
            .map_err(io_err)?;
        Ok(etag_of(&sha))
    }

    pub(super) async fn start_parts_at(
        &self,
        key: &str,
        content_type: &str,
    ) -> Result<String, BlobError> {
        let upload_id = ulid::Ulid::new().to_string();
        let dir = self.parts_dir(key, &upload_id).map_err(io)?;
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let started = Started {
            key: key.to_owned(),
            content_type: content_type.to_owned(),
        };
        super::super::files::write_atomically(
            &dir.join(STARTED),
            &serde_json::to_vec(&started).expect("serialisable"),
        )
        .await
        .map_err(io)?;
        Ok(upload_id)
    }

    pub(super) fn part_target_for(&self, spec: PartSpec<'_>) -> Result<UploadTarget, BlobError> {
        if !valid_upload_id(spec.upload_id) {
            return Err(io(format!("invalid upload id {}", spec.upload_id)));
        }
        let expires_at = Utc::now() + spec.ttl;
        let exp = expires_at.timestamp();
        let sha = spec.sha256.as_str();
        let sig = self.sign(&Self::part_canonical(
            spec.key,
            spec.upload_id,
            spec.number,
            exp,
            spec.size,
            sha,
        ));
        let url = format!(
            "{}{BLOB_ROUTE}{}?upload={}&part={}&exp={exp}&size={}&sha={sha}&sig={sig}",
            self.base_url, spec.key, spec.upload_id, spec.number, spec.size
        );
        Ok(UploadTarget {
            method: "PUT".into(),
            url,
            headers: BTreeMap::new(),
            expires_at,
        })
    }

    pub(super) async fn parts_of(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, BlobError> {
        let dir = self.parts_dir(key, upload_id).map_err(io)?;
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::Refused(
                    "this upload in parts is complete or was removed".into(),
                ));
            }
            Err(e) => return Err(io(e)),
        };
        let mut parts = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(number) = name
                .strip_suffix(".meta")
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            // The meta is written before the part lands: a part counts once its bytes are there.
            if tokio::fs::metadata(dir.join(number.to_string()))
                .await
                .is_err()
            {
                continue;
            }
            let raw = tokio::fs::read(entry.path()).await.map_err(io)?;
            let meta: PartMeta = serde_json::from_slice(&raw).map_err(io)?;
            parts.push(PartInfo {
                number,
                size: meta.size,
                etag: etag_of(&meta.sha256),
            });
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    /// Joins the parts into the key's file while hashing them: read and written in large
    /// blocks on a blocking thread, then synced, then renamed into place with its meta.
    pub(super) async fn complete_parts_at(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Sha256, BlobError> {
        let dir = self.parts_dir(key, upload_id).map_err(io)?;
        let target = self.path(key).map_err(io)?;
        let raw = match tokio::fs::read(dir.join(STARTED)).await {
            Ok(raw) => raw,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::Refused(
                    "this upload in parts is complete or was removed".into(),
                ));
            }
            Err(e) => return Err(io(e)),
        };
        let started: Started = serde_json::from_slice(&raw).map_err(io)?;
        let parts = parts.to_vec();
        let joining_dir = dir.clone();
        let (size, sha) = tokio::task::spawn_blocking(move || join(&joining_dir, &parts))
            .await
            .map_err(io)??;
        let joined = dir.join(".joined");
        tokio::fs::rename(&joined, &target).await.map_err(io)?;
        let meta = Meta {
            size,
            sha256: sha.clone(),
            content_type: started.content_type,
        };
        super::super::files::write_atomically(
            &Self::meta_path(&target),
            &serde_json::to_vec(&meta).expect("serialisable"),
        )
        .await
        .map_err(io)?;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        Sha256::parse(&sha).map_err(io)
    }

    pub(super) async fn abort_parts_at(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        let dir = self.parts_dir(key, upload_id).map_err(io)?;
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    /// A copy whose bytes are hashed on the way (the local stand-in for S3's checksum on copy).
    pub(super) async fn copy_measured_at(&self, from: &str, to: &str) -> Result<Sha256, BlobError> {
        let (source, target) = (self.path(from).map_err(io)?, self.path(to).map_err(io)?);
        let Some(meta) = super::read_meta(&source).await else {
            return Err(io(format!("{from} not found")));
        };
        let dir = target.parent().expect("keys have a directory").to_owned();
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let tmp = dir.join(format!(".copy-{}", ulid::Ulid::new()));
        let (from_path, tmp_path) = (source.clone(), tmp.clone());
        let sha = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            let mut input = std::fs::File::open(&from_path)?;
            let mut output = std::fs::File::create_new(&tmp_path)?;
            let mut hasher = sha2::Sha256::new();
            let mut buffer = vec![0u8; JOIN_BUFFER];
            loop {
                let n = input.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                output.write_all(&buffer[..n])?;
            }
            output.sync_all()?;
            Ok(hex::encode(hasher.finalize()))
        })
        .await
        .map_err(io)?
        .map_err(io)?;
        tokio::fs::rename(&tmp, &target).await.map_err(io)?;
        let meta = Meta {
            sha256: sha.clone(),
            ..meta
        };
        super::super::files::write_atomically(
            &Self::meta_path(&target),
            &serde_json::to_vec(&meta).expect("serialisable"),
        )
        .await
        .map_err(io)?;
        Sha256::parse(&sha).map_err(io)
    }
}

/// Joins `parts` (number, ETag) from `dir` into `dir/.joined`; answers its size and SHA-256.
fn join(dir: &Path, parts: &[(u32, String)]) -> Result<(u64, String), BlobError> {
    let joined = dir.join(".joined");
    let mut output = std::fs::File::create(&joined).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; JOIN_BUFFER];
    let mut size = 0u64;
    for (number, etag) in parts {
        let refused = |why: &str| BlobError::Refused(format!("part {number} {why}"));
        let meta: PartMeta = std::fs::read(dir.join(format!("{number}.meta")))
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .ok_or_else(|| refused("has not arrived: send it first"))?;
        if etag.trim_matches('"') != meta.sha256 {
            return Err(refused(
                "has another ETag than the one named: name the ETag its PUT answered",
            ));
        }
        let mut input =
            std::fs::File::open(dir.join(number.to_string())).map_err(|_| refused("is missing"))?;
        loop {
            let n = input.read(&mut buffer).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            output.write_all(&buffer[..n]).map_err(io)?;
            size += n as u64;
        }
    }
    output.sync_all().map_err(io)?;
    Ok((size, hex::encode(hasher.finalize())))
}
