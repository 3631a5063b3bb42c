//! Uploads in parts on the local file system, the protocol of S3 multipart: each part PUT to a
//! signed URL that fixes its number, offset, size and SHA-256. Each part is written in place,
//! at its offset in the file being joined, and synced; its size and SHA-256 are kept beside it
//! once they are the signed ones. Completing reads the file once: the whole file's SHA-256, and
//! each part's again (a part sent twice at once cannot leave mixed bytes unnoticed), then the
//! file is renamed into place. No second write of the bytes. The file and the parts' records
//! wait in a hidden directory beside their key (`.parts-{upload}`), so destruction of the prefix
//! the file is joined under (core's `joined/{case}/`) takes them too. Parts sent before parts
//! were written in place (each in a file of its own) are still joined by copying.

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

use super::{BLOB_ROUTE, BlobAccessError, FsBlobs, Meta, io, spool_into};

/// The parameters a valid part URL fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedPart {
    pub key: String,
    pub upload_id: String,
    pub number: u32,
    pub offset: u64,
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
    /// Where it was written in the joined file; none for a part in a file of its own (sent
    /// before parts were written in place).
    #[serde(default)]
    offset: Option<u64>,
}

const STARTED: &str = "upload.json";
/// The file the parts are written into, in place.
const JOINED: &str = ".joined";
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

    fn part_canonical(part: &SignedPart, exp: i64) -> String {
        let SignedPart {
            key,
            upload_id,
            number,
            offset,
            size,
            sha256,
        } = part;
        format!("PART\n{key}\n{upload_id}\n{number}\n{offset}\n{exp}\n{size}\n{sha256}")
    }

    /// Checks a part URL's query (`upload`, `part`, `off`, `exp`, `size`, `sha`, `sig`) for this
    /// key.
    pub fn verify_part(
        &self,
        key: &str,
        query: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<SignedPart, BlobAccessError> {
        let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
        let bad = |_| BlobAccessError::BadSignature;
        let exp: i64 = get("exp").parse().map_err(bad)?;
        let signed = SignedPart {
            key: key.to_owned(),
            upload_id: get("upload").to_owned(),
            number: get("part").parse().map_err(bad)?,
            offset: get("off").parse().map_err(bad)?,
            size: get("size").parse().map_err(bad)?,
            sha256: get("sha").to_owned(),
        };
        self.check(&Self::part_canonical(&signed, exp), get("sig"), exp, now)?;
        Ok(signed)
    }

    /// Writes one part in place and syncs it; it counts (its record is kept) only when its size
    /// and SHA-256 are the signed ones. Answers its ETag. Sending a part again replaces it.
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
        let record = dir.join(format!("{number}.meta"));
        let io_err = |e: std::io::Error| BlobAccessError::Io(e.to_string());
        // Its old record goes first: while its bytes are rewritten the part does not count.
        match tokio::fs::remove_file(&record).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        let spool = super::super::spool::Spool::at(dir.join(JOINED), signed.offset);
        let sha = spool_into(spool, signed.size, Some(&signed.sha256), body).await?;
        let meta = PartMeta {
            size: signed.size,
            sha256: sha.clone(),
            offset: Some(signed.offset),
        };
        super::super::files::write_atomically(
            &record,
            &serde_json::to_vec(&meta).expect("serialisable"),
        )
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
        let signed = SignedPart {
            key: spec.key.to_owned(),
            upload_id: spec.upload_id.to_owned(),
            number: spec.number,
            offset: spec.offset,
            size: spec.size,
            sha256: spec.sha256.as_str().to_owned(),
        };
        let sig = self.sign(&Self::part_canonical(&signed, exp));
        let url = format!(
            "{}{BLOB_ROUTE}{}?upload={}&part={}&off={}&exp={exp}&size={}&sha={}&sig={sig}",
            self.base_url,
            spec.key,
            spec.upload_id,
            spec.number,
            spec.offset,
            spec.size,
            signed.sha256
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
            let raw = tokio::fs::read(entry.path()).await.map_err(io)?;
            let meta: PartMeta = serde_json::from_slice(&raw).map_err(io)?;
            // A part in a file of its own had its record written before its bytes landed: it
            // counts once they are there. A part written in place has its record after.
            if meta.offset.is_none()
                && tokio::fs::metadata(dir.join(number.to_string()))
                    .await
                    .is_err()
            {
                continue;
            }
            parts.push(PartInfo {
                number,
                size: meta.size,
                etag: etag_of(&meta.sha256),
            });
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    /// Makes the key's file of the parts: those written in place are read once to hash them
    /// (and checked part by part), those in files of their own are joined by copying; then the
    /// file is renamed into place with its meta.
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
        let joined = dir.join(JOINED);
        // A complete cut off (a crash) after renaming the file into place but before writing
        // its meta left the file where it belongs: it is measured there.
        let renamed_before = tokio::fs::metadata(&joined).await.is_err()
            && tokio::fs::metadata(&target).await.is_ok();
        let parts = parts.to_vec();
        let joining_dir = dir.clone();
        let measured_file = if renamed_before {
            target.clone()
        } else {
            joined.clone()
        };
        let (size, sha) = tokio::task::spawn_blocking(move || {
            let records = records_of(&joining_dir, &parts)?;
            if records.iter().all(|r| r.offset.is_some()) {
                measure_in_place(&measured_file, &parts, &records, &joining_dir)
            } else {
                join(&joining_dir, &parts)
            }
        })
        .await
        .map_err(io)??;
        if !renamed_before {
            match tokio::fs::rename(&joined, &target).await {
                Ok(()) => {}
                // Another complete of this upload renamed it first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(BlobError::Refused(
                        "this upload in parts is complete or was removed".into(),
                    ));
                }
                Err(e) => return Err(io(e)),
            }
        }
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

/// The records of the named `parts` (number, ETag), each checked against its ETag.
fn records_of(dir: &Path, parts: &[(u32, String)]) -> Result<Vec<PartMeta>, BlobError> {
    parts
        .iter()
        .map(|(number, etag)| {
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
            Ok(meta)
        })
        .collect()
}

/// The file the parts were written into (`file`; their records in `dir`), cut to their length
/// and read once: answers its size and SHA-256. Each part must start where the one before it ended and still hash to its
/// record (a part resent while it was being written is refused, its record dropped, so it is
/// sent again).
fn measure_in_place(
    file: &Path,
    parts: &[(u32, String)],
    records: &[PartMeta],
    dir: &Path,
) -> Result<(u64, String), BlobError> {
    let mut size = 0u64;
    for ((number, _), record) in parts.iter().zip(records) {
        if record.offset != Some(size) {
            return Err(BlobError::Refused(format!(
                "part {number} was sent for another place in the file: send it again"
            )));
        }
        size += record.size;
    }
    let file = match std::fs::File::options().read(true).write(true).open(file) {
        Ok(file) => file,
        // Another complete of this upload took it first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BlobError::Refused(
                "this upload in parts is complete or was removed".into(),
            ));
        }
        Err(e) => return Err(io(e)),
    };
    file.set_len(size).map_err(io)?;
    let mut input = std::io::BufReader::with_capacity(JOIN_BUFFER, file);
    let mut whole = sha2::Sha256::new();
    let mut buffer = vec![0u8; JOIN_BUFFER];
    for ((number, _), record) in parts.iter().zip(records) {
        let mut part = sha2::Sha256::new();
        let mut left = record.size;
        while left > 0 {
            let want = usize::try_from(left.min(JOIN_BUFFER as u64)).unwrap_or(JOIN_BUFFER);
            input.read_exact(&mut buffer[..want]).map_err(io)?;
            part.update(&buffer[..want]);
            whole.update(&buffer[..want]);
            left -= want as u64;
        }
        if hex::encode(part.finalize()) != record.sha256 {
            let _ = std::fs::remove_file(dir.join(format!("{number}.meta")));
            return Err(BlobError::Refused(format!(
                "part {number} changed while it was sent again: send it again"
            )));
        }
    }
    Ok((size, hex::encode(whole.finalize())))
}

/// Joins `parts` (number, ETag) from their own files in `dir` into `dir/.joined`, as parts were
/// kept before they were written in place; answers its size and SHA-256.
fn join(dir: &Path, parts: &[(u32, String)]) -> Result<(u64, String), BlobError> {
    let joined = dir.join(JOINED);
    let mut output = std::fs::File::create(&joined).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; JOIN_BUFFER];
    let mut size = 0u64;
    // Their records were checked against the ETags named (`records_of`).
    for (number, _) in parts {
        let mut input = std::fs::File::open(dir.join(number.to_string()))
            .map_err(|_| BlobError::Refused(format!("part {number} is missing")))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use portaal_core::ports::Blobs;

    fn blobs(dir: &Path) -> FsBlobs {
        FsBlobs::new(dir, "http://127.0.0.1:1", b"k".repeat(32)).unwrap()
    }

    async fn send(
        blobs: &FsBlobs,
        key: &str,
        upload: &str,
        number: u32,
        offset: u64,
        bytes: &[u8],
    ) -> String {
        let signed = SignedPart {
            key: key.to_owned(),
            upload_id: upload.to_owned(),
            number,
            offset,
            size: bytes.len() as u64,
            sha256: hex::encode(sha2::Sha256::digest(bytes)),
        };
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::copy_from_slice(bytes))]);
        blobs.receive_part(&signed, body).await.unwrap()
    }

    /// An upload of "abcdefg" in two parts, sent last part first: each lands at its offset.
    /// Answers the upload, the parts named for completing, and the file they are written into.
    async fn two_parts_sent(blobs: &FsBlobs, key: &str) -> (String, Vec<(u32, String)>, PathBuf) {
        let upload = blobs.start_parts(key, "application/pdf").await.unwrap();
        let second = send(blobs, key, &upload, 2, 4, b"efg").await;
        let first = send(blobs, key, &upload, 1, 0, b"abcd").await;
        let in_place = blobs.parts_dir(key, &upload).unwrap().join(JOINED);
        (upload, vec![(1, first), (2, second)], in_place)
    }

    #[tokio::test]
    async fn parts_are_written_in_place_and_the_file_is_renamed_not_copied() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let blobs = blobs(dir.path());
        let key = "joined/BZ-1/01J";
        let (upload, named, in_place) = two_parts_sent(&blobs, key).await;
        let inode = std::fs::metadata(&in_place).unwrap().ino();
        let sha = blobs.complete_parts(key, &upload, &named).await.unwrap();
        assert_eq!(
            sha.expect("measured while joined").as_str(),
            hex::encode(sha2::Sha256::digest(b"abcdefg"))
        );
        let target = blobs.path(key).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"abcdefg");
        assert_eq!(
            std::fs::metadata(&target).unwrap().ino(),
            inode,
            "the file the parts were written into is the file: no second write"
        );
    }

    #[tokio::test]
    async fn a_complete_cut_off_after_the_rename_is_finished_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = blobs(dir.path());
        let key = "joined/BZ-3/01J";
        let (upload, named, in_place) = two_parts_sent(&blobs, key).await;
        // As a crash leaves it: renamed into place, no meta written yet.
        let target = blobs.path(key).unwrap();
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::rename(&in_place, &target).unwrap();
        assert!(
            blobs.stat(key).await.unwrap().is_none(),
            "not a blob without its meta"
        );
        let sha = blobs.complete_parts(key, &upload, &named).await.unwrap();
        assert_eq!(
            sha.expect("measured").as_str(),
            hex::encode(sha2::Sha256::digest(b"abcdefg"))
        );
        let info = blobs.stat(key).await.unwrap().expect("a blob now");
        assert_eq!(info.size, 7);
    }

    #[tokio::test]
    async fn a_part_whose_bytes_changed_after_it_arrived_is_refused_and_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = blobs(dir.path());
        let key = "joined/BZ-2/01J";
        let (upload, named, in_place) = two_parts_sent(&blobs, key).await;
        // As if a second sending of part 1 with other bytes had overwritten it.
        let mut bytes = std::fs::read(&in_place).unwrap();
        bytes[1] = b'X';
        std::fs::write(&in_place, &bytes).unwrap();
        let refused = blobs
            .complete_parts(key, &upload, &named)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("part 1"), "{refused}");
        let listed: Vec<u32> = blobs
            .parts(key, &upload)
            .await
            .unwrap()
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(listed, [2], "part 1 no longer counts: it is sent again");
        assert!(
            blobs.path(key).unwrap().metadata().is_err(),
            "nothing joined"
        );
    }
}
