//! Malware scanning of sent documents. Scanning starts after the bytes are kept (the confirm or
//! publish does not wait for it): every sent document is `pending` while a scanner is configured,
//! until a verdict arrives from the application's own scanner (clamd, swept from the `SCANQ`
//! index) or from GuardDuty (an event per object). An infected document is quarantined: never
//! downloadable, its delivery never approved, the handler mailed and the case system told.

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::format::dossier_vars;
use crate::mailtext::Language;
use crate::model::{
    Actor, Document, DocumentState, EventKind, MailKind, Record, ScanState, index_keys, keys,
};
use crate::ports::{Index, IndexQuery, Verdict, Write};
use crate::service::{Portaal, with_retries};

/// What a client waiting for a scan is told to wait.
pub const SCAN_RETRY_AFTER_SECS: u32 = 30;
/// A failed scan does not resolve itself; an hour is the honest hint.
pub const FAILED_SCAN_RETRY_AFTER_SECS: u32 = 3600;
/// Documents scanned per sweep round.
const SWEEP_BATCH: usize = 25;

impl Portaal {
    /// The scan state a document starts with when it is sent.
    pub(crate) fn initial_scan(&self) -> ScanState {
        if self.settings.scanning {
            ScanState::Pending
        } else {
            ScanState::NotScanned
        }
    }

    /// Whether a document may be downloaded (or its delivery approved: `action`) now.
    pub(crate) fn scan_permits(&self, doc: &Document, action: &str) -> Result<()> {
        match doc.scan {
            ScanState::Infected => Err(Error::Forbidden(format!(
                "{} is quarantined: the malware scanner found a threat in it; it can never be {action}",
                doc.filename
            ))),
            ScanState::Pending if self.settings.require_scan => Err(Error::NotYet {
                detail: format!(
                    "{} is still being scanned for malware; it can be {action} once the scan is clean",
                    doc.filename
                ),
                retry_after_secs: SCAN_RETRY_AFTER_SECS,
            }),
            ScanState::Failed if self.settings.require_scan => Err(Error::NotYet {
                detail: format!(
                    "the malware scan of {} failed (the scanner could not vouch for it); it cannot be {action} unless it is scanned clean",
                    doc.filename
                ),
                retry_after_secs: FAILED_SCAN_RETRY_AFTER_SECS,
            }),
            _ => Ok(()),
        }
    }

    /// Scans sent documents waiting for the in-process scanner; answers how many got a verdict.
    /// Stops at the first scanner outage (the rest stay pending for the next sweep).
    #[tracing::instrument(skip_all)]
    pub async fn scan_pending(&self) -> Result<usize> {
        let Some(scanner) = &self.scanner else {
            return Ok(0);
        };
        let mut decided = 0;
        loop {
            let items = self
                .store
                .query_index(IndexQuery {
                    index: Index::Outbox,
                    pk: index_keys::SCAN_QUEUE,
                    upto: None,
                    limit: SWEEP_BATCH,
                })
                .await?;
            let round = items.len();
            let before = decided;
            for item in items {
                let doc = Document::from_item(&item)?;
                let case = keys::case_of(&item.pk).ok_or_else(|| {
                    Error::Corrupt(format!("document outside a dossier: {}", item.pk))
                })?;
                match scanner
                    .scan(self.blobs.as_ref(), &doc.blob_key, doc.size)
                    .await
                {
                    Ok(verdict) => {
                        self.record_verdict(&case, &doc.id, Some(&doc.blob_key), verdict)
                            .await?;
                        decided += 1;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "scanner unavailable; documents stay pending");
                        return Ok(decided);
                    }
                }
            }
            // A full round that decided nothing would only read the same items again.
            if round < SWEEP_BATCH || decided == before {
                return Ok(decided);
            }
        }
    }

    /// Records a verdict for the document stored under `blob_key` (`dossiers/{case}/{id}`), as
    /// GuardDuty reports it. Keys outside `dossiers/` are not documents: ignored.
    pub async fn record_verdict_for_key(&self, blob_key: &str, verdict: Verdict) -> Result<()> {
        let Some((case, id)) = keys::parse_blob(blob_key) else {
            tracing::info!("verdict for an object that is no document; ignored");
            return Ok(());
        };
        self.record_verdict(&case, &id, Some(blob_key), verdict)
            .await
    }

    /// Records a verdict once: the first one for a pending document stands, repeats are no-ops.
    /// An infected document is quarantined in the same transaction as its timeline event, its
    /// `document.quarantined` feed event and the handler's mail. `scanned`: the object the
    /// verdict is about; a verdict on another copy than the document's (one of a confirm that
    /// lost a race) is ignored.
    #[tracing::instrument(skip(self, scanned, verdict), fields(case = %case, document = %id))]
    pub async fn record_verdict(
        &self,
        case: &CaseId,
        id: &Id,
        scanned: Option<&str>,
        verdict: Verdict,
    ) -> Result<()> {
        with_retries(|| async {
            let p = match self.partition(case).await {
                Ok(p) => p,
                // Destroyed meanwhile: nothing left to record on.
                Err(Error::NotFound(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            let Some(doc) = p.documents.iter().find(|d| &d.id == id) else {
                return Ok(());
            };
            if doc.state == DocumentState::Staged || doc.state == DocumentState::Draft {
                // The scanner saw the kept copy before the confirm committed: ask again later
                // (the trigger retries).
                return Err(Error::NotYet {
                    detail: format!("document {id} is not sent yet"),
                    retry_after_secs: SCAN_RETRY_AFTER_SECS,
                });
            }
            if doc.scan != ScanState::Pending {
                return Ok(());
            }
            if scanned.is_some_and(|key| key != doc.blob_key) {
                if doc.sha256_verified || doc.state == DocumentState::Rejected {
                    tracing::info!("verdict on a copy that is not the document's; ignored");
                    return Ok(());
                }
                // The check of a file sent in parts made this copy and is about to point the
                // document at it: it is the only copy scanned, so its verdict must not be lost.
                return Err(Error::NotYet {
                    detail: format!("document {id} is not verified yet"),
                    retry_after_secs: SCAN_RETRY_AFTER_SECS,
                });
            }
            let (scan, note) = match &verdict {
                Verdict::Clean => (ScanState::Clean, None),
                Verdict::Infected(threat) => (ScanState::Infected, Some(threat.clone())),
                Verdict::Failed(why) => (ScanState::Failed, Some(why.clone())),
            };
            tracing::info!(scan = scan.as_str(), "scan verdict");
            let pk = keys::dossier(case);
            let scanned = Document {
                scan,
                scan_note: note,
                ..doc.clone()
            };
            let mut writes = vec![Write::replace_if(
                scanned.to_item(pk, keys::doc(id)),
                "scan",
                ScanState::Pending.as_str(),
            )];
            if let Verdict::Infected(threat) = &verdict {
                tracing::warn!(%threat, "malware found; document quarantined");
                let mut event = self.event(EventKind::DocumentQuarantined, Actor::System);
                event.request_id = doc.request_id.clone();
                event.delivery_id = doc.delivery_id.clone();
                event.publication_id = doc.publication_id.clone();
                event.document_id = Some(id.clone());
                event.summary =
                    format!("Bestand geweigerd: in {} is malware gevonden", doc.filename);
                writes.extend(self.event_writes(case, &event));
                let case_type = self.case_type(p.dossier.case_type.as_str()).await?;
                let mut vars = dossier_vars(&p.dossier, Language::Nl);
                vars.insert("filename", doc.filename.to_string());
                vars.insert("threat", threat.clone());
                let department = doc
                    .request_id
                    .as_ref()
                    .and_then(|r| p.request(r).ok())
                    .map(|r| r.department.clone())
                    .unwrap_or_else(|| "juridische zaken (publicatie)".into());
                vars.insert("department", department);
                writes.extend(self.queue_mail(
                    &case_type,
                    case,
                    doc.request_id.as_ref(),
                    MailKind::Quarantined,
                    Language::Nl,
                    vec![p.dossier.handler.email.clone()],
                    &vars,
                    None,
                ));
            }
            self.store.transact(writes).await?;
            Ok(())
        })
        .await
    }
}
