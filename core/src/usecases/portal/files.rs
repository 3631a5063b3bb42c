//! Files on their way in, shared by deliveries and publications: an announcement checked
//! against the rules, the upload target, the bytes verified and their content checked, kept under
//! the dossier (or discarded).

use futures_util::StreamExt;

use super::*;

/// How many files of one confirm or publish are verified, checked and copied at once: storage
/// calls overlap, and a delivery of 90 files does not open 90 connections.
pub(crate) const FILES_AT_ONCE: usize = 8;

impl Portaal {
    /// Staged files made the dossier's, for a delivery or a publication: each verified where it
    /// was uploaded (size, SHA-256), its content checked there, then copied under the dossier;
    /// up to [`FILES_AT_ONCE`] files at a time, answered in the order given. All or none: a
    /// failure discards every copy made.
    pub(crate) async fn keep_checked(
        &self,
        case: &crate::domain::CaseId,
        docs: &[&Document],
    ) -> Result<Vec<Document>> {
        // The futures are made first (they do nothing until polled): a closure inside the
        // stream would make the confirm future too general to be `Send` for axum.
        let each: Vec<_> = docs.iter().map(|doc| self.keep_one(case, doc)).collect();
        let outcomes: Vec<Result<Document>> = futures_util::stream::iter(each)
            .buffered(FILES_AT_ONCE)
            .collect()
            .await;
        let mut kept = Vec::with_capacity(outcomes.len());
        let mut first_error = None;
        for outcome in outcomes {
            match outcome {
                Ok(copy) => kept.push(copy),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            None => Ok(kept),
            Some(e) => {
                self.discard_copies(&kept).await;
                Err(e)
            }
        }
    }

    async fn keep_one(&self, case: &crate::domain::CaseId, doc: &Document) -> Result<Document> {
        let verified = self.verify_upload(doc).await?;
        self.check_content(&verified).await?;
        self.keep(case, verified).await
    }

    /// Whether bytes may still arrive for this staged key: only while its document is staged (a
    /// delivery's file) or a draft (a publication's). A removed or sent upload's URL stores
    /// nothing, however long its signature is valid. One read.
    pub async fn accepts_upload(&self, key: &str) -> Result<bool> {
        // A single PUT arrives in staging, a file in parts where it is joined (or, staged before
        // `joined/` existed, under the dossier).
        let Some((case, id)) = keys::parse_staged_blob(key)
            .or_else(|| keys::parse_joined_blob(key))
            .or_else(|| keys::parse_blob(key))
        else {
            return Ok(false);
        };
        let Some(item) = self
            .store
            .get(&keys::dossier(&case), &keys::doc(&id))
            .await?
        else {
            return Ok(false);
        };
        let doc = Document::from_item(&item)?;
        Ok(doc.blob_key == key
            && matches!(doc.state, DocumentState::Staged | DocumentState::Draft)
            && !doc.parts.as_ref().is_some_and(|p| p.completed))
    }

    /// Compares what storage holds with what was announced; answers the document with its SHA-256.
    pub(crate) async fn verify_upload(&self, doc: &Document) -> Result<Document> {
        let info = self.blobs.stat(&doc.blob_key).await?.ok_or_else(|| {
            Error::invalid(format!(
                "{} has not been uploaded (completely); upload it again",
                doc.filename
            ))
        })?;
        if info.size != doc.size {
            return Err(Error::invalid(format!(
                "{}: {} bytes arrived but {} were announced; upload it again",
                doc.filename, info.size, doc.size
            )));
        }
        let sha256 = match (&doc.sha256, info.sha256) {
            (Some(announced), Some(measured)) if *announced != measured => {
                return Err(Error::invalid(format!(
                    "{}: the SHA-256 of what arrived differs from the one announced; upload it again",
                    doc.filename
                )));
            }
            (_, Some(measured)) => measured,
            // Joined parts on S3: the uploader's SHA-256 stands, unverified, until the check
            // after sending copies the file with a SHA-256 checksum.
            (Some(announced), None) if doc.parts.as_ref().is_some_and(|p| p.completed) => {
                return Ok(Document {
                    sha256_verified: false,
                    ..doc.clone()
                });
            }
            // Storage that cannot vouch for the bytes (S3 refused the checksum, or none was
            // sent) never turns an upload into a document.
            (_, None) => {
                return Err(Error::invalid(format!(
                    "{}: storage could not verify the file's SHA-256; upload it again",
                    doc.filename
                )));
            }
        };
        Ok(Document {
            sha256: Some(sha256),
            sha256_verified: true,
            ..doc.clone()
        })
    }
}

/// A file as announced before its bytes are sent: name, type, size and (maybe) SHA-256, checked.
pub(crate) struct Announced {
    pub filename: Filename,
    pub content_type: ContentType,
    pub size: u64,
    pub sha256: Option<Sha256>,
}

impl Portaal {
    /// Checks an announcement against the limits (`allowed_types` empty: any type). A file sent
    /// `in_parts` may leave its SHA-256 out (given when complete).
    pub(crate) fn announce(
        &self,
        input: &UploadInput,
        max_bytes: u64,
        allowed_types: &[String],
        in_parts: bool,
    ) -> Result<Announced> {
        let filename = Filename::parse(&input.filename)?;
        let content_type = ContentType::parse(&input.content_type)?;
        let sha256 = input
            .sha256
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(Sha256::parse)
            .transpose()?;
        if input.size == 0 {
            return Err(Error::invalid(format!("{filename} is empty")));
        }
        if input.size > max_bytes {
            return Err(Error::TooLarge(format!(
                "{filename} is {} bytes; at most {max_bytes} bytes are allowed per file",
                input.size
            )));
        }
        if !allowed_types.is_empty() && !allowed_types.iter().any(|t| t == content_type.as_str()) {
            return Err(Error::UnsupportedType(format!(
                "{filename}: type {content_type} is not accepted; allowed are: {}",
                allowed_types.join(", ")
            )));
        }
        // A file in parts gives its SHA-256 when complete (the browser hashes while sending).
        if sha256.is_none() && self.blobs.needs_announced_sha256() && !in_parts {
            return Err(Error::invalid(
                "sha256 is required: give the file's SHA-256 (hex) when announcing it",
            ));
        }
        Ok(Announced {
            filename,
            content_type,
            size: input.size,
            sha256,
        })
    }

    /// Copies a verified upload from where it arrived to a copy of this attempt's own under the
    /// dossier (server-side) and answers the document pointing there. Storage that can tell the
    /// copy's SHA-256 must tell the verified one: a re-upload racing the copy is caught. A file
    /// joined from parts is copied only where storage measured it while joining (locally, a
    /// hard link); on S3 the check after sending makes its one copy.
    pub(crate) async fn keep(
        &self,
        case: &crate::domain::CaseId,
        doc: Document,
    ) -> Result<Document> {
        if doc.awaits_measured_copy() {
            return Ok(doc);
        }
        let kept = keys::blob_copy(case, &doc.id, &self.new_id());
        self.blobs.copy(&doc.blob_key, &kept).await?;
        if let Some(info) = self.blobs.stat(&kept).await? {
            if (info.sha256.is_some() && info.sha256 != doc.sha256) || info.size != doc.size {
                let _ = self.blobs.delete(&kept).await;
                return Err(Error::invalid(format!(
                    "{} changed while it was being sent; upload it again",
                    doc.filename
                )));
            }
        }
        Ok(Document {
            blob_key: kept,
            ..doc
        })
    }

    /// Refuses a file whose bytes are not what its content type announced. Reads only the head
    /// and tail ranges the rules need.
    pub(crate) async fn check_content(&self, doc: &Document) -> Result<()> {
        use crate::content::{HEAD_BYTES, Sample, TAIL_BYTES};
        let head = self
            .blobs
            .read_range(&doc.blob_key, 0, doc.size.min(HEAD_BYTES))
            .await?;
        let tail = if doc.size > HEAD_BYTES {
            let start = doc.size.saturating_sub(TAIL_BYTES);
            self.blobs
                .read_range(&doc.blob_key, start, doc.size - start)
                .await?
        } else {
            Vec::new()
        };
        let sample = Sample {
            head: &head,
            tail: &tail,
        };
        let Err(mismatch) = crate::content::check(doc.content_type.as_str(), &sample) else {
            return Ok(());
        };
        tracing::warn!(content_type = %doc.content_type, reason = %mismatch.english(), "content refused");
        Err(Error::Unprocessable(format!(
            "{name}: de inhoud past niet bij het type {ct} ({nl}); er is niets verstuurd. / \
             {name}: the content does not match the type {ct} ({en}); nothing was sent.",
            name = doc.filename,
            ct = doc.content_type,
            nl = mismatch.dutch(),
            en = mismatch.english(),
        )))
    }

    /// Removes copies an attempt made that did not commit.
    pub(crate) async fn discard_copies(&self, copies: &[Document]) {
        // A file joined on S3 was not copied: its bytes stay with its staged record.
        for doc in copies.iter().filter(|d| !d.awaits_measured_copy()) {
            if let Err(e) = self.blobs.delete(&doc.blob_key).await {
                tracing::warn!(error = %e, "copy of an attempt that did not commit not deleted");
            }
        }
    }

    /// After the commit: staged copies are no longer needed. A failure leaves them to the
    /// storage's expiry of abandoned uploads (and to destruction).
    pub(crate) async fn discard_staged(&self, keys: &[&str]) {
        for key in keys {
            if let Err(e) = self.blobs.delete(key).await {
                tracing::warn!(error = %e, "staged copy not deleted");
            }
        }
    }

    /// The signed upload for a document's blob: size, type and SHA-256 fixed by the signature.
    pub(crate) async fn upload_target_for(&self, doc: &Document) -> Result<UploadTarget> {
        Ok(self
            .blobs
            .upload_target(UploadSpec {
                key: &doc.blob_key,
                size: doc.size,
                content_type: doc.content_type.as_str(),
                sha256: doc.sha256.as_ref(),
                ttl: self.settings.upload_ttl,
            })
            .await?)
    }
}
