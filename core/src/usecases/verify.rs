//! The SHA-256 of a file sent in parts to S3, checked after it was sent. S3 keeps only a
//! checksum of the parts' checksums, so until this check the document carries the SHA-256 the
//! browser computed, marked `sha256_verified: false`. Sending writes a `VERIFY#{doc}` item; its
//! insert reaches the notify function through the table's stream, which copies the file within
//! S3 asking for a SHA-256 checksum (minutes for 5 GiB: never inside a page's request) and keeps
//! the copy with the SHA-256 storage measured.
//!
//! The parts are joined under `joined/` (`keys::joined_blob`), outside the `dossiers/` prefix
//! GuardDuty scans: the measured copy is the one object of the file that lands there, so it is
//! scanned once. Documents sent before that prefix existed were joined under the dossier; their
//! check copies from there alike.

use crate::domain::{CaseId, Id};
use crate::error::Result;
use crate::model::{Document, DocumentState, Record, keys};
use crate::ports::{Item, Write};

use crate::service::Portaal;

/// What the check did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Storage measured the SHA-256 the uploader gave.
    Confirmed,
    /// Storage measured another one, which the document now carries (an integrity alert is
    /// logged: the uploader's hash was wrong).
    Corrected,
    /// Nothing to check any more (verified already, rejected, or gone).
    NothingToDo,
}

impl Portaal {
    /// The marker items that have the sent documents' SHA-256 checked after sending.
    pub(crate) fn verification_writes(&self, case: &CaseId, sent: &[Document]) -> Vec<Write> {
        sent.iter()
            .filter(|d| !d.sha256_verified)
            .map(|d| {
                Write::create(Item::new(
                    keys::dossier(case),
                    keys::verify(&d.id),
                    Default::default(),
                ))
            })
            .collect()
    }

    /// Checks the SHA-256 of the document a `VERIFY#` marker names (`pk`, `sk` of the marker) and
    /// removes the marker. Safe to repeat: a retried record finds the document verified.
    #[tracing::instrument(skip_all, fields(pk = %pk, sk = %sk))]
    pub async fn verify_sent_sha256(&self, pk: &str, sk: &str) -> Result<Verification> {
        let (Some(case), Some(id)) = (
            keys::case_of(pk),
            sk.strip_prefix(keys::VERIFY)
                .and_then(|id| Id::parse(id).ok()),
        ) else {
            tracing::warn!("not a verification marker");
            return Ok(Verification::NothingToDo);
        };
        let marker_gone = Write::delete(pk, sk);
        let doc = match self.store.get(pk, &keys::doc(&id)).await? {
            Some(item) => Document::from_item(&item)?,
            None => {
                self.store.transact(vec![marker_gone]).await?;
                return Ok(Verification::NothingToDo);
            }
        };
        if doc.sha256_verified || doc.state == DocumentState::Rejected {
            self.store.transact(vec![marker_gone]).await?;
            return Ok(Verification::NothingToDo);
        }
        self.keep_measured(&case, doc, marker_gone).await
    }

    /// Copies the document's bytes from where they were joined to under the dossier, measuring
    /// their SHA-256, and points the document at the copy (only if it still points where it
    /// did); the original goes after.
    async fn keep_measured(
        &self,
        case: &CaseId,
        doc: Document,
        marker_gone: Write,
    ) -> Result<Verification> {
        let copy = keys::blob_copy(case, &doc.id, &self.new_id());
        let measured = self.blobs.copy_measured(&doc.blob_key, &copy).await?;
        let outcome = if doc.sha256.as_ref() == Some(&measured) {
            Verification::Confirmed
        } else {
            tracing::error!(
                case = %case,
                document = %doc.id,
                "integrity alert: the SHA-256 the uploader gave differs from the bytes stored; the measured one is kept"
            );
            Verification::Corrected
        };
        if let Err(e) = self
            .point_at(case, &doc, &copy, measured, marker_gone)
            .await
        {
            // Changed meanwhile (rejected, destroyed): the copy is nobody's.
            let _ = self.blobs.delete(&copy).await;
            return Err(e);
        }
        if let Err(e) = self.blobs.delete(&doc.blob_key).await {
            tracing::warn!(error = %e, "original of a verified file not deleted; destruction removes it");
        }
        Ok(outcome)
    }

    /// Points the document at its measured copy. Its scan verdict or review may land while the
    /// copy runs: then it is read again and the write repeated, as long as it still points at
    /// the original.
    async fn point_at(
        &self,
        case: &CaseId,
        original: &Document,
        copy: &str,
        measured: crate::domain::Sha256,
        marker_gone: Write,
    ) -> Result<()> {
        let (pk, sk) = (keys::dossier(case), keys::doc(&original.id));
        let mut current = original.clone();
        for _ in 0..5 {
            let unchanged = current.to_item(pk.clone(), sk.clone());
            let condition = ["blob_key", "state", "scan"]
                .iter()
                .map(|a| {
                    (
                        a.to_string(),
                        unchanged.attrs.get(*a).cloned().unwrap_or_default(),
                    )
                })
                .collect();
            let verified = Document {
                blob_key: copy.to_owned(),
                sha256: Some(measured.clone()),
                sha256_verified: true,
                ..current.clone()
            };
            let written = self
                .store
                .transact(vec![
                    Write::Put {
                        item: verified.to_item(pk.clone(), sk.clone()),
                        condition: crate::ports::Condition::AllEqual(condition),
                    },
                    marker_gone.clone(),
                ])
                .await;
            match written {
                Ok(()) => return Ok(()),
                Err(crate::ports::StoreError::ConditionFailed { .. }) => {
                    let Some(item) = self.store.get(&pk, &sk).await? else {
                        return Err(crate::Error::not_found(format!("document {}", original.id)));
                    };
                    current = Document::from_item(&item)?;
                    if current.blob_key != original.blob_key
                        || current.state == DocumentState::Rejected
                    {
                        return Err(crate::Error::conflict("the document changed meanwhile"));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(crate::Error::conflict(
            "the document kept changing; retried later",
        ))
    }
}
