//! Blobs on the local file system behind HMAC-signed, expiring URLs that the local server serves.
//! Size, content type (and SHA-256 when announced) are part of the signature; bytes are streamed
//! to disk while hashed, never held whole in memory, and land under their key only when complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use hmac::{Hmac, Mac};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use portaal_core::domain::Sha256;
use portaal_core::ports::{
    BlobError, BlobInfo, Blobs, DownloadSpec, PartInfo, PartSpec, UploadSpec, UploadTarget,
};
use serde::{Deserialize, Serialize};
use sha2::Digest;

type HmacSha256 = Hmac<sha2::Sha256>;

mod parts;
pub use parts::SignedPart;

/// Where signed blob URLs are served by the local server.
pub const BLOB_ROUTE: &str = "/blobs/";

#[derive(Clone)]
pub struct FsBlobs {
    root: PathBuf,
    base_url: String,
    secret: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    size: u64,
    sha256: String,
    content_type: String,
}

/// Why a signed URL or an upload is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BlobAccessError {
    #[error("the link's signature is not valid")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
    #[error("{0}")]
    Refused(String),
    #[error("not found")]
    NotFound,
    #[error("storage failed: {0}")]
    Io(String),
}

/// The parameters a valid upload URL fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedUpload {
    pub key: String,
    pub size: u64,
    pub content_type: String,
    pub sha256: Option<String>,
}

/// The parameters a valid download URL fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedDownload {
    pub key: String,
    pub filename: String,
    pub content_type: String,
    pub inline: bool,
}

fn io(e: impl std::fmt::Display) -> BlobError {
    BlobError::Backend(e.to_string())
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// Keys are made by core (`dossiers/{case}/{id}`); refuse anything that could leave the root.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 300
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

impl FsBlobs {
    pub fn new(root: impl Into<PathBuf>, base_url: &str, secret: Vec<u8>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            base_url: base_url.trim_end_matches('/').to_owned(),
            secret,
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobAccessError> {
        if valid_key(key) {
            Ok(self.root.join(key))
        } else {
            Err(BlobAccessError::NotFound)
        }
    }

    fn meta_path(path: &Path) -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push(".meta");
        PathBuf::from(p)
    }

    fn sign(&self, canonical: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("any key length");
        mac.update(canonical.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn check(
        &self,
        canonical: &str,
        sig: &str,
        exp: i64,
        now: DateTime<Utc>,
    ) -> Result<(), BlobAccessError> {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("any key length");
        mac.update(canonical.as_bytes());
        let sig = hex::decode(sig).map_err(|_| BlobAccessError::BadSignature)?;
        mac.verify_slice(&sig)
            .map_err(|_| BlobAccessError::BadSignature)?;
        if exp < now.timestamp() {
            return Err(BlobAccessError::Expired);
        }
        Ok(())
    }

    fn upload_canonical(key: &str, exp: i64, size: u64, ct: &str, sha: &str) -> String {
        format!("PUT\n{key}\n{exp}\n{size}\n{ct}\n{sha}")
    }

    fn download_canonical(key: &str, exp: i64, fname: &str, ct: &str, disp: &str) -> String {
        format!("GET\n{key}\n{exp}\n{fname}\n{ct}\n{disp}")
    }

    /// Checks an upload URL's query (`exp`, `size`, `ct`, `sha`, `sig`) for this key.
    pub fn verify_upload(
        &self,
        key: &str,
        query: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<SignedUpload, BlobAccessError> {
        let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
        let exp: i64 = get("exp")
            .parse()
            .map_err(|_| BlobAccessError::BadSignature)?;
        let size: u64 = get("size")
            .parse()
            .map_err(|_| BlobAccessError::BadSignature)?;
        let (ct, sha) = (get("ct"), get("sha"));
        self.check(
            &Self::upload_canonical(key, exp, size, ct, sha),
            get("sig"),
            exp,
            now,
        )?;
        Ok(SignedUpload {
            key: key.to_owned(),
            size,
            content_type: ct.to_owned(),
            sha256: (!sha.is_empty()).then(|| sha.to_owned()),
        })
    }

    /// Checks a download URL's query (`exp`, `fn`, `ct`, `disp`, `sig`) for this key.
    pub fn verify_download(
        &self,
        key: &str,
        query: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<SignedDownload, BlobAccessError> {
        let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
        let exp: i64 = get("exp")
            .parse()
            .map_err(|_| BlobAccessError::BadSignature)?;
        let (fname, ct, disp) = (get("fn"), get("ct"), get("disp"));
        self.check(
            &Self::download_canonical(key, exp, fname, ct, disp),
            get("sig"),
            exp,
            now,
        )?;
        Ok(SignedDownload {
            key: key.to_owned(),
            filename: fname.to_owned(),
            content_type: ct.to_owned(),
            inline: disp == "inline",
        })
    }

    /// Streams an upload to disk. The file appears under its key only when every byte arrived and
    /// matched the signed size and SHA-256; otherwise nothing is left behind.
    pub async fn receive<S, E>(
        &self,
        signed: &SignedUpload,
        content_type: Option<&str>,
        body: S,
    ) -> Result<BlobInfo, BlobAccessError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        if content_type
            .map(portaal_core::domain::ContentType::essence)
            .as_deref()
            != Some(signed.content_type.as_str())
        {
            return Err(BlobAccessError::Refused(format!(
                "Content-Type must be {} as announced",
                signed.content_type
            )));
        }
        let path = self.path(&signed.key)?;
        let dir = path.parent().expect("keys have a directory").to_owned();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| BlobAccessError::Io(e.to_string()))?;
        let part = dir.join(format!(
            ".{}.part-{}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            ulid::Ulid::new()
        ));
        let sha = spool_checked(&part, signed.size, signed.sha256.as_deref(), body).await?;
        tokio::fs::rename(&part, &path)
            .await
            .map_err(|e| BlobAccessError::Io(e.to_string()))?;
        let meta = Meta {
            size: signed.size,
            sha256: sha.clone(),
            content_type: signed.content_type.clone(),
        };
        super::files::write_atomically(
            &Self::meta_path(&path),
            serde_json::to_vec(&meta).expect("serialisable").as_slice(),
        )
        .await
        .map_err(|e| BlobAccessError::Io(e.to_string()))?;
        Ok(BlobInfo {
            size: signed.size,
            sha256: Sha256::parse(&sha).ok(),
        })
    }

    /// Opens a stored blob for streaming out.
    pub async fn open(&self, key: &str) -> Result<(tokio::fs::File, u64), BlobAccessError> {
        let (file, meta) = self.open_with_meta(key).await?;
        Ok((file, meta.size))
    }

    async fn open_with_meta(&self, key: &str) -> Result<(tokio::fs::File, Meta), BlobAccessError> {
        let path = self.path(key)?;
        let meta = read_meta(&path).await.ok_or(BlobAccessError::NotFound)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|_| BlobAccessError::NotFound)?;
        Ok((file, meta))
    }

    /// A stored blob as a stream that is checked against the SHA-256 recorded when it arrived.
    /// The last chunk is held back until the hash is known: on a mismatch the stream ends in an
    /// error instead (the response is aborted, the client never gets a complete file) and an
    /// integrity alert is logged.
    pub async fn open_verified(&self, key: &str) -> Result<(VerifiedStream, u64), BlobAccessError> {
        let (file, meta) = self.open_with_meta(key).await?;
        let size = meta.size;
        let chunks = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        let state = Verifying {
            chunks,
            hasher: sha2::Sha256::new(),
            held: None,
            expected: meta.sha256,
            key: key.to_owned(),
        };
        let stream = futures_util::stream::unfold(Some(state), |state| async move {
            let mut s = state?;
            loop {
                match s.chunks.next().await {
                    Some(Ok(chunk)) => {
                        s.hasher.update(&chunk);
                        if let Some(previous) = s.held.replace(chunk) {
                            return Some((Ok(previous), Some(s)));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), None)),
                    None => {
                        let actual = hex::encode(s.hasher.clone().finalize());
                        if actual != s.expected {
                            tracing::error!(
                                key = %s.key,
                                "integrity alert: a stored file does not match the SHA-256 it arrived with; download aborted"
                            );
                            return Some((
                                Err(std::io::Error::other(
                                    "stored file failed its integrity check",
                                )),
                                None,
                            ));
                        }
                        return s.held.take().map(|last| (Ok(last), None));
                    }
                }
            }
        });
        Ok((Box::pin(stream), size))
    }
}

/// Streams `body` into the new file `part`, hashing it; answers the hex SHA-256 when exactly
/// `size` bytes arrived (and matched `sha256` when given). On any failure `part` is removed.
async fn spool_checked<S, E>(
    part: &Path,
    size: u64,
    sha256: Option<&str>,
    body: S,
) -> Result<String, BlobAccessError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let spool = super::spool::Spool::create(part.to_owned());
    let result = spool_into(spool, size, sha256, body).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(part).await;
    }
    result
}

/// Streams `body` through `spool`: exactly `size` bytes, whose SHA-256 (when given) must be
/// `sha256`; answers the SHA-256 of what arrived, written and synced.
async fn spool_into<S, E>(
    mut spool: super::spool::Spool,
    size: u64,
    sha256: Option<&str>,
    mut body: S,
) -> Result<String, BlobAccessError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let result = async {
        let mut received: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| BlobAccessError::Refused(format!("upload interrupted: {e}")))?;
            received += chunk.len() as u64;
            if received > size {
                return Err(BlobAccessError::Refused(format!(
                    "more than the announced {size} bytes arrived"
                )));
            }
            spool
                .push(chunk)
                .await
                .map_err(|e| BlobAccessError::Io(e.to_string()))?;
        }
        if received != size {
            return Err(BlobAccessError::Refused(format!(
                "{received} bytes arrived but {size} were announced"
            )));
        }
        Ok(())
    }
    .await;
    let finished = match result {
        Ok(()) => spool
            .finish()
            .await
            .map_err(|e| BlobAccessError::Io(e.to_string())),
        Err(e) => {
            spool.abandon().await;
            Err(e)
        }
    };
    finished.and_then(|sha| {
        if sha256.is_some_and(|s| s != sha) {
            return Err(BlobAccessError::Refused(
                "the SHA-256 of the bytes differs from the one announced".into(),
            ));
        }
        Ok(sha)
    })
}

/// See [`FsBlobs::open_verified`].
pub type VerifiedStream =
    std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

struct Verifying {
    chunks: tokio_util::io::ReaderStream<tokio::fs::File>,
    hasher: sha2::Sha256,
    held: Option<Bytes>,
    expected: String,
    key: String,
}

async fn read_meta(path: &Path) -> Option<Meta> {
    let raw = tokio::fs::read(FsBlobs::meta_path(path)).await.ok()?;
    serde_json::from_slice(&raw).ok()
}

#[async_trait]
impl Blobs for FsBlobs {
    async fn upload_target(&self, spec: UploadSpec<'_>) -> Result<UploadTarget, BlobError> {
        if !valid_key(spec.key) {
            return Err(io(format!("invalid key {}", spec.key)));
        }
        let expires_at = Utc::now() + spec.ttl;
        let exp = expires_at.timestamp();
        let sha = spec
            .sha256
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let sig = self.sign(&Self::upload_canonical(
            spec.key,
            exp,
            spec.size,
            spec.content_type,
            &sha,
        ));
        let url = format!(
            "{}{BLOB_ROUTE}{}?exp={exp}&size={}&ct={}&sha={sha}&sig={sig}",
            self.base_url,
            spec.key,
            spec.size,
            enc(spec.content_type)
        );
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_owned(), spec.content_type.to_owned());
        headers.insert("content-length".to_owned(), spec.size.to_string());
        Ok(UploadTarget {
            method: "PUT".into(),
            url,
            headers,
            expires_at,
        })
    }

    async fn download_url(&self, spec: DownloadSpec<'_>) -> Result<String, BlobError> {
        let exp = (Utc::now() + spec.ttl).timestamp();
        let disp = if spec.inline { "inline" } else { "attachment" };
        let sig = self.sign(&Self::download_canonical(
            spec.key,
            exp,
            spec.filename,
            spec.content_type,
            disp,
        ));
        Ok(format!(
            "{}{BLOB_ROUTE}{}?exp={exp}&fn={}&ct={}&disp={disp}&sig={sig}",
            self.base_url,
            spec.key,
            enc(spec.filename),
            enc(spec.content_type)
        ))
    }

    async fn stat(&self, key: &str) -> Result<Option<BlobInfo>, BlobError> {
        let Ok(path) = self.path(key) else {
            return Ok(None);
        };
        Ok(read_meta(&path).await.map(|m| BlobInfo {
            size: m.size,
            sha256: Sha256::parse(&m.sha256).ok(),
        }))
    }

    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>, BlobError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let (mut file, _) = self.open(key).await.map_err(io)?;
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(io)?;
        let mut bytes = Vec::with_capacity(len.min(1 << 20) as usize);
        file.take(len).read_to_end(&mut bytes).await.map_err(io)?;
        Ok(bytes)
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError> {
        let (Ok(source), Ok(target)) = (self.path(from), self.path(to)) else {
            return Err(io(format!("invalid key {from} or {to}")));
        };
        let dir = target.parent().expect("keys have a directory").to_owned();
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        // A hard link shares the bytes (no copy); a later upload to the source replaces its file,
        // never the target's. Land it under a temporary name, then rename over any older target.
        let tmp = dir.join(format!(
            ".{}.link-{}",
            target.file_name().unwrap_or_default().to_string_lossy(),
            ulid::Ulid::new()
        ));
        tokio::fs::hard_link(&source, &tmp).await.map_err(io)?;
        tokio::fs::rename(&tmp, &target).await.map_err(io)?;
        let meta = tokio::fs::read(Self::meta_path(&source))
            .await
            .map_err(io)?;
        super::files::write_atomically(&Self::meta_path(&target), &meta)
            .await
            .map_err(io)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let Ok(path) = self.path(key) else {
            return Ok(());
        };
        // Meta first: a blob without meta is invisible, so a crash in between hides no half state.
        for p in [Self::meta_path(&path), path] {
            match tokio::fs::remove_file(&p).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    async fn start_parts(&self, key: &str, content_type: &str) -> Result<String, BlobError> {
        self.start_parts_at(key, content_type).await
    }

    async fn part_target(&self, spec: PartSpec<'_>) -> Result<UploadTarget, BlobError> {
        self.part_target_for(spec)
    }

    async fn parts(&self, key: &str, upload_id: &str) -> Result<Vec<PartInfo>, BlobError> {
        self.parts_of(key, upload_id).await
    }

    async fn complete_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Option<Sha256>, BlobError> {
        self.complete_parts_at(key, upload_id, parts)
            .await
            .map(Some)
    }

    async fn abort_parts(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        self.abort_parts_at(key, upload_id).await
    }

    async fn copy_measured(&self, from: &str, to: &str) -> Result<Sha256, BlobError> {
        self.copy_measured_at(from, to).await
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64, BlobError> {
        let prefix = prefix.trim_end_matches('/');
        let Ok(dir) = self.path(prefix) else {
            return Ok(0);
        };
        let mut count = 0;
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(io(e)),
        };
        loop {
            match entries.next_entry().await {
                Ok(Some(entry)) => {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && !name.ends_with(".meta") {
                        count += 1;
                    }
                }
                Ok(None) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(io(e)),
            }
        }
        // Two destructions of one dossier may run at once (a retry, the timer and a trigger):
        // what the other removed first is gone all the same.
        for _ in 0..3 {
            match tokio::fs::remove_dir_all(&dir).await {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if tokio::fs::metadata(&dir).await.is_err() {
                        break;
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        Ok(count)
    }
}

/// Parses a URL query string into a map (for the local server's blob routes).
pub fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}
