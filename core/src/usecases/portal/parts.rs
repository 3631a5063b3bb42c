//! Files sent in parts: above `PORTAAL_PART_THRESHOLD_BYTES` a staged file gets an upload in
//! parts instead of one PUT. The client asks a signed URL per part (its SHA-256 signed in, so
//! storage refuses other bytes), may ask which parts arrived (to resume after a network error or
//! a reload), and completes the upload with the parts' ETags and the SHA-256 it computed of the
//! whole file.

use serde::{Deserialize, Serialize};

use super::*;
use crate::model::PartedUpload;
use crate::ports::{Condition, PartInfo, PartSpec};

/// Where a staged file's bytes go: one signed request, or parts.
#[derive(Clone, Debug, PartialEq)]
pub enum UploadPlan {
    Single(UploadTarget),
    /// Parts of `part_size` bytes (the last one the rest), each sent where its URL says.
    Parts {
        part_size: u64,
    },
}

/// `POST …/uploads/{id}/parts`: which part, and the SHA-256 of its bytes (hex).
#[derive(Clone, Debug, Deserialize)]
pub struct PartInput {
    pub number: u32,
    pub sha256: String,
}

/// One part named in `POST …/uploads/{id}/complete`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct PartRef {
    pub number: u32,
    pub etag: String,
}

/// `POST …/uploads/{id}/complete`: every part in order, and the SHA-256 of the whole file.
#[derive(Clone, Debug, Deserialize)]
pub struct CompleteInput {
    pub parts: Vec<PartRef>,
    pub sha256: String,
}

/// What arrived of an upload in parts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReceivedParts {
    pub received: Vec<PartInfo>,
    /// The parts were already joined into the file: nothing more to send.
    pub completed: bool,
}

impl Portaal {
    /// Whether a file of this size is sent in parts.
    pub(crate) fn sent_in_parts(&self, size: u64) -> bool {
        size > self.settings.part_threshold
    }

    /// Starts the storage upload for a file sent in parts.
    pub(crate) async fn start_parts(&self, key: &str, content_type: &str) -> Result<PartedUpload> {
        let upload_id = self.blobs.start_parts(key, content_type).await?;
        Ok(PartedUpload {
            upload_id,
            part_size: self.settings.part_size,
            first_part_sha256: None,
            completed: false,
            completing_since: None,
        })
    }

    /// `POST /p/{token}/uploads/{id}/parts`: a signed URL for one part. Asking again (an expired
    /// URL, a resumed upload) is free: it does not count against the staging limit. Part 1's
    /// SHA-256 is kept, so the same file chosen again after a reload is recognised.
    #[tracing::instrument(skip_all, fields(upload = %upload, part = input.number))]
    pub async fn part_upload(
        &self,
        token: &LinkToken,
        upload: &Id,
        input: &PartInput,
    ) -> Result<UploadTarget> {
        let o = self.open_link(token).await?;
        self.accepting(&o)?;
        let (doc, parts) = parted(&o, upload)?;
        if parts.completed {
            return Err(Error::conflict(format!(
                "{} is complete: its parts were joined; send it or remove it",
                doc.filename
            )));
        }
        let count = parts.count(doc.size);
        if input.number == 0 || input.number > count {
            return Err(Error::invalid(format!(
                "number must be 1 to {count}: {} has {count} parts of {} bytes",
                doc.filename, parts.part_size
            )));
        }
        let sha256 = Sha256::parse(&input.sha256)?;
        if input.number == 1 {
            self.remember_first_part(&o, doc, parts, &sha256).await?;
        }
        Ok(self
            .blobs
            .part_target(PartSpec {
                key: &doc.blob_key,
                upload_id: &parts.upload_id,
                number: input.number,
                offset: parts.offset_of(input.number),
                size: parts.size_of(input.number, doc.size),
                sha256: &sha256,
                ttl: self.settings.upload_ttl,
            })
            .await?)
    }

    /// Keeps part 1's SHA-256 on the document the first time; another one later means another
    /// file, which must be staged as such.
    async fn remember_first_part(
        &self,
        o: &Opened,
        doc: &Document,
        parts: &PartedUpload,
        sha256: &Sha256,
    ) -> Result<()> {
        match &parts.first_part_sha256 {
            Some(known) if known == sha256 => Ok(()),
            Some(_) => Err(Error::conflict(format!(
                "part 1 of {} was announced with another SHA-256: this is another file; announce it as a new upload",
                doc.filename
            ))),
            None => {
                let remembered = Document {
                    parts: Some(PartedUpload {
                        first_part_sha256: Some(sha256.clone()),
                        ..parts.clone()
                    }),
                    ..doc.clone()
                };
                self.replace_staged(o, &remembered, Vec::new()).await
            }
        }
    }

    /// `GET /p/{token}/uploads/{id}/parts`: the parts storage holds, for resuming.
    #[tracing::instrument(skip_all, fields(upload = %upload))]
    pub async fn received_parts(&self, token: &LinkToken, upload: &Id) -> Result<ReceivedParts> {
        let o = self.open_link(token).await?;
        let (doc, parts) = parted(&o, upload)?;
        if parts.completed {
            return Ok(ReceivedParts {
                received: Vec::new(),
                completed: true,
            });
        }
        // Both adapters answer by number (the port says so).
        let received = self
            .blobs
            .parts(&doc.blob_key, &parts.upload_id)
            .await
            .map_err(refused_as_invalid)?;
        Ok(ReceivedParts {
            received,
            completed: false,
        })
    }

    /// `POST /p/{token}/uploads/{id}/complete`: joins the parts. Where storage measures the whole
    /// file while joining (locally) a SHA-256 other than the client's discards the upload; on S3
    /// the client's SHA-256 is kept as unverified until the check after sending
    /// ([`Portaal::verify_sent_sha256`]). Completing twice answers the same.
    #[tracing::instrument(skip_all, fields(upload = %upload))]
    pub async fn complete_upload(
        &self,
        token: &LinkToken,
        upload: &Id,
        input: &CompleteInput,
        origin: &Origin,
    ) -> Result<DocumentView> {
        let o = self.open_link(token).await?;
        self.accepting(&o)?;
        let (doc, parts) = parted(&o, upload)?;
        let sha256 = Sha256::parse(&input.sha256)?;
        if parts.completed {
            return completed_answer(doc, &sha256);
        }
        let named = every_part_once(&input.parts, parts.count(doc.size))?;
        // One complete at a time: a double click or a retry racing the first waits for its
        // answer instead of joining the parts a second time.
        let claimed = match self.claim_completing(&o, doc, parts).await {
            Ok(claimed) => claimed,
            Err(busy) => {
                return match self.completed_meanwhile(token, upload, &sha256).await {
                    Some(done) => done,
                    None => Err(busy),
                };
            }
        };
        let measured = match self
            .blobs
            .complete_parts(&doc.blob_key, &parts.upload_id, &named)
            .await
        {
            Ok(measured) => measured,
            Err(e) => {
                self.release_completing(&o, &claimed).await;
                return Err(refused_as_invalid(e));
            }
        };
        if measured.as_ref().is_some_and(|m| *m != sha256) {
            self.discard_parted(&o, doc).await;
            return Err(Error::invalid(format!(
                "{}: the SHA-256 of the joined parts differs from the one given; the upload was discarded, choose the file again",
                doc.filename
            )));
        }
        let completed = Document {
            sha256: Some(sha256),
            sha256_verified: measured.is_some(),
            parts: Some(PartedUpload {
                completed: true,
                completing_since: None,
                ..parts.clone()
            }),
            ..doc.clone()
        };
        let audit = self.link_entry(
            &o,
            "document.upload.complete",
            document_object(&doc.id),
            origin,
        );
        self.replace_staged(&o, &completed, vec![Self::audit_write(&audit)])
            .await?;
        audit.log();
        Ok(DocumentView::from(&completed))
    }

    /// Marks `doc` as being completed by this request, unless another one is (and its claim
    /// has not lapsed); answers the claimed document, or the conflict to answer instead.
    async fn claim_completing(
        &self,
        o: &Opened,
        doc: &Document,
        parts: &PartedUpload,
    ) -> Result<Document> {
        let busy = || {
            Error::conflict(format!(
                "{} is being completed by another request; ask again in a moment",
                doc.filename
            ))
        };
        if parts
            .completing_since
            .is_some_and(|since| self.now() - since < COMPLETING_LAPSES)
        {
            return Err(busy());
        }
        self.mark_completing(o, doc, parts, Some(self.now()))
            .await
            .map_err(|_| busy())
    }

    /// Gives up this request's claim after joining failed, so the client can try again at once.
    async fn release_completing(&self, o: &Opened, claimed: &Document) {
        let Some(parts) = &claimed.parts else { return };
        if let Err(e) = self.mark_completing(o, claimed, parts, None).await {
            tracing::warn!(error = %e, "a claim to complete an upload was not released; it lapses");
        }
    }

    /// Writes `doc` with `completing_since` set to `since`, if it is still staged with the
    /// `parts` read: a claim or its release, never over another request's.
    async fn mark_completing(
        &self,
        o: &Opened,
        doc: &Document,
        parts: &PartedUpload,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Document> {
        let marked = Document {
            parts: Some(PartedUpload {
                completing_since: since,
                ..parts.clone()
            }),
            ..doc.clone()
        };
        let case = &o.partition.dossier.case_id;
        let as_read = serde_json::to_value(parts).expect("parts serialise");
        self.store
            .transact(vec![Write::Put {
                item: marked.to_item(keys::dossier(case), keys::doc(&doc.id)),
                condition: Condition::AllEqual(vec![
                    ("state".into(), "staged".into()),
                    ("parts".into(), as_read),
                ]),
            }])
            .await?;
        Ok(marked)
    }

    /// The answer to a complete of `upload` that another request finished meanwhile: the
    /// document when it was completed with this SHA-256, a conflict when with another; none
    /// while it is not completed.
    async fn completed_meanwhile(
        &self,
        token: &LinkToken,
        upload: &Id,
        sha256: &Sha256,
    ) -> Option<Result<DocumentView>> {
        let o = self.open_link(token).await.ok()?;
        let (doc, parts) = parted(&o, upload).ok()?;
        parts.completed.then(|| completed_answer(doc, sha256))
    }

    /// Writes a changed staged document (and `with` in the same transaction), only while it is
    /// still staged.
    async fn replace_staged(&self, o: &Opened, doc: &Document, with: Vec<Write>) -> Result<()> {
        let case = &o.partition.dossier.case_id;
        let mut writes = vec![Write::replace_if(
            doc.to_item(keys::dossier(case), keys::doc(&doc.id)),
            "state",
            "staged",
        )];
        writes.extend(with);
        self.store
            .transact(writes)
            .await
            .map_err(|_| Error::conflict(format!("{} was sent or removed meanwhile", doc.filename)))
    }

    /// A joined file that is not what the client hashed: record and bytes go.
    async fn discard_parted(&self, o: &Opened, doc: &Document) {
        let case = &o.partition.dossier.case_id;
        let removed = self
            .store
            .transact(vec![Write::Delete {
                pk: keys::dossier(case),
                sk: keys::doc(&doc.id),
                condition: crate::ports::Condition::Equals("state".into(), "staged".into()),
            }])
            .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, "staged record of a discarded upload not removed");
        }
        if let Err(e) = self.blobs.delete(&doc.blob_key).await {
            tracing::warn!(error = %e, "bytes of a discarded upload not deleted");
        }
    }
}

/// The answer to completing `doc` again: the document when it was completed with `sha256`
/// (completing twice answers the same), a conflict when with another.
fn completed_answer(doc: &Document, sha256: &Sha256) -> Result<DocumentView> {
    if doc.sha256.as_ref() == Some(sha256) {
        Ok(DocumentView::from(doc))
    } else {
        Err(Error::conflict(format!(
            "{} was already completed with another SHA-256",
            doc.filename
        )))
    }
}

/// A claim to complete an upload lapses after this long (its request never finished).
const COMPLETING_LAPSES: chrono::Duration = chrono::Duration::minutes(10);

/// This link's staged document `upload`, sent in parts.
fn parted<'a>(o: &'a Opened, upload: &Id) -> Result<(&'a Document, &'a PartedUpload)> {
    let doc = staged_of_link(o, upload, "nothing more can be uploaded for it")?;
    let parts = doc.parts.as_ref().ok_or_else(|| {
        Error::conflict(format!(
            "{} is sent in one PUT, not in parts: use the upload URL the announcement answered",
            doc.filename
        ))
    })?;
    Ok((doc, parts))
}

/// The parts named for completing, checked to be 1..=count each once; answered in order.
fn every_part_once(named: &[PartRef], count: u32) -> Result<Vec<(u32, String)>> {
    let mut ordered: Vec<(u32, String)> = named
        .iter()
        .map(|p| (p.number, p.etag.trim().to_owned()))
        .collect();
    ordered.sort_by_key(|(n, _)| *n);
    for (expected, named) in
        (1..=count).zip(ordered.iter().map(Some).chain(std::iter::repeat(None)))
    {
        let Some((number, etag)) = named.filter(|(n, _)| *n == expected) else {
            return Err(Error::invalid(format!(
                "parts must name each of 1 to {count} once: part {expected} is missing or named twice"
            )));
        };
        if etag.is_empty() {
            return Err(Error::invalid(format!(
                "part {number} has no etag: give the ETag storage answered to its PUT"
            )));
        }
    }
    if ordered.len() != count as usize {
        return Err(Error::invalid(format!(
            "parts names {} parts; the file has {count}",
            ordered.len()
        )));
    }
    Ok(ordered)
}

/// Storage's refusal of what the client sent is the client's to correct.
fn refused_as_invalid(e: crate::ports::BlobError) -> Error {
    match e {
        crate::ports::BlobError::Refused(detail) => Error::invalid(detail),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(numbers: &[u32]) -> Vec<PartRef> {
        numbers
            .iter()
            .map(|n| PartRef {
                number: *n,
                etag: format!("\"e{n}\""),
            })
            .collect()
    }

    #[test]
    fn every_part_is_named_once_and_answered_in_order() {
        let ordered = every_part_once(&refs(&[3, 1, 2]), 3).unwrap();
        assert_eq!(
            ordered.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        for wrong in [
            &[1, 2][..],
            &[1, 2, 2],
            &[1, 2, 3, 4],
            &[0, 1, 2],
            &[2, 3, 4],
        ] {
            let e = every_part_once(&refs(wrong), 3).unwrap_err();
            assert!(matches!(e, Error::Invalid(_)), "{wrong:?}: {e}");
        }
        let mut blank = refs(&[1]);
        blank[0].etag = " ".into();
        assert!(every_part_once(&blank, 1).is_err());
    }

    #[test]
    fn parts_cover_the_file_with_the_rest_in_the_last() {
        let parts = PartedUpload {
            upload_id: "u".into(),
            part_size: 10,
            first_part_sha256: None,
            completed: false,
            completing_since: None,
        };
        assert_eq!(parts.count(25), 3);
        assert_eq!(parts.count(30), 3);
        assert_eq!(
            (1..=3).map(|n| parts.size_of(n, 25)).collect::<Vec<_>>(),
            [10, 10, 5]
        );
        assert_eq!(parts.size_of(3, 30), 10);
    }
}
