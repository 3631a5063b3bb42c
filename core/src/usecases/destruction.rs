//! Destruction of a closed dossier whose time has come: every file, every item, every link,
//! leaving a record without personal data. Safe to repeat after a crash: the dossier's main
//! item goes last, so a retry finds the work unfinished.

use std::ops::ControlFlow;

use crate::domain::{CaseId, Id};
use crate::error::Result;
use crate::model::{Destruction, Document, Dossier, DossierStatus, Mail, Record, Request, keys};
use crate::ports::{Condition, Item, Job, MAX_TRANSACTION_WRITES, StoreError, Write};
use crate::service::Portaal;
use crate::usecases::lifecycle::JobOutcome;

impl Portaal {
    /// Destroys the dossier if it is closed, not held, and its destruction is due.
    ///
    /// `removed` is the dossier's main item as DynamoDB TTL deleted it (the stream's old image):
    /// then the deadline had passed (TTL is only set without a legal hold) and the rest follows.
    #[tracing::instrument(skip(self, removed), fields(case = %case))]
    pub async fn purge(&self, case: &CaseId, removed: Option<Dossier>) -> Result<JobOutcome> {
        let items = self.store.query(&keys::dossier(case), "").await?;
        let dossier = match self.claim_destruction(case, &items, removed).await? {
            ControlFlow::Continue(dossier) => dossier,
            ControlFlow::Break(skipped) => return Ok(skipped),
        };
        self.migrate_destruction_records().await?;

        let mut files = 0;
        for prefix in keys::file_prefixes(case) {
            files += self.blobs.delete_prefix(&prefix).await?;
        }
        let record = self.destruction_record(case, dossier.as_ref(), &items, files)?;
        // `dossier.destroyed` goes with the last write of the destruction, once: the deletion of
        // the main item, or (TTL removed that already) the first writing of the record.
        let destroyed = crate::usecases::feed::pending_event(
            self.new_id(),
            crate::events::EventType::DossierDestroyed,
            self.now(),
            case,
            &[(
                "case_type",
                record
                    .case_type
                    .as_ref()
                    .map_or(serde_json::Value::Null, |t| t.as_str().into()),
            )],
        );
        let meta_present = items.iter().any(|i| i.sk == keys::META);
        self.keep_destruction_record(&record, (!meta_present).then(|| destroyed.clone()))
            .await?;
        self.delete_dossier_items(&items).await?;
        if meta_present {
            let last = Write::Delete {
                pk: keys::dossier(case),
                sk: keys::META.into(),
                condition: Condition::Exists,
            };
            match self.store.transact(vec![last, destroyed]).await {
                // Another run finished it (and told the case system).
                Err(StoreError::ConditionFailed { .. }) => {}
                other => other?,
            }
        }
        let mails: Vec<Id> = items
            .iter()
            .filter(|i| keys::is_mail(&i.sk))
            .map(|i| Mail::from_item(i).map(|m| m.id))
            .collect::<Result<_>>()?;
        self.finish_destruction(case, &mails).await?;
        tracing::info!(
            items = record.items,
            files = record.files,
            documents = record.documents,
            bytes = record.bytes,
            "dossier destroyed"
        );
        Ok(JobOutcome::Done)
    }

    /// The dossier to destroy (`None`: TTL removed its main item already), marked `destroying`
    /// against the revision checked; or why there is nothing to do.
    async fn claim_destruction(
        &self,
        case: &CaseId,
        items: &[Item],
        removed: Option<Dossier>,
    ) -> Result<ControlFlow<JobOutcome, Option<Dossier>>> {
        let skip = |why: &str| Ok(ControlFlow::Break(JobOutcome::Skipped(why.into())));
        let current = items
            .iter()
            .find(|i| i.sk == keys::META)
            .map(Dossier::from_item)
            .transpose()?;
        let Some(d) = current else {
            if !items.is_empty() {
                return Ok(ControlFlow::Continue(removed));
            }
            // A run that stopped after the last delete: finish what follows it.
            self.finish_destruction(case, &[]).await?;
            return skip("dossier is already gone");
        };
        if d.status != DossierStatus::Closed {
            return skip("dossier is open");
        }
        if d.hold.is_some() {
            return skip("dossier is under legal hold");
        }
        if d.destroy_at.is_none_or(|at| at > self.now()) {
            return skip("destruction is not due yet");
        }
        if !d.destroying {
            // A reopen or a legal hold that commits first wins, one that comes later is refused.
            let marked = Dossier {
                destroying: true,
                rev: d.rev + 1,
                ..d.clone()
            };
            let item = marked.to_item(keys::dossier(case), keys::META.into());
            match self
                .store
                .transact(vec![Write::replace_if(item, "rev", d.rev)])
                .await
            {
                Err(StoreError::ConditionFailed { .. }) => {
                    return skip("the dossier changed meanwhile");
                }
                other => other?,
            }
        }
        Ok(ControlFlow::Continue(Some(d)))
    }

    /// What the records manager keeps: the rule, the dates and the counts, no personal data.
    fn destruction_record(
        &self,
        case: &CaseId,
        dossier: Option<&Dossier>,
        items: &[Item],
        files: u64,
    ) -> Result<Destruction> {
        let documents: Vec<Document> = items
            .iter()
            .filter(|i| i.sk.starts_with(keys::DOC))
            .map(Document::from_item)
            .collect::<Result<_>>()?;
        Ok(Destruction {
            case_ref: self.settings.records_key.case_ref(case),
            case_hash: None,
            case_type: dossier.map(|d| d.case_type.clone()),
            close_after_days: dossier.and_then(|d| d.close_after_days),
            destroy_after_days: dossier.and_then(|d| d.destroy_after_days),
            closed_at: dossier.and_then(|d| d.closed_at),
            destroy_at: dossier.and_then(|d| d.destroy_at),
            destroyed_at: self.now(),
            documents: documents.len() as u64,
            bytes: documents.iter().map(|d| d.size).sum(),
            items: items.len() as u64,
            files,
        })
    }

    /// Writes the record once: a retry after a crash finds less to count, and the first one
    /// stands. `event` (when TTL already removed the main item) goes with it.
    async fn keep_destruction_record(
        &self,
        record: &Destruction,
        event: Option<Write>,
    ) -> Result<()> {
        let (pk, sk) = keys::destruction(&record.case_ref);
        let mut writes = vec![Write::create(record.to_item(pk, sk))];
        writes.extend(event);
        match self.store.transact(writes).await {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every item of the dossier but its main one, the requests' link tokens and schedules.
    async fn delete_dossier_items(&self, items: &[Item]) -> Result<()> {
        let mut deletes = Vec::with_capacity(items.len() + 4);
        for item in items.iter().filter(|i| i.sk.starts_with(keys::REQUEST)) {
            let request = Request::from_item(item)?;
            self.unschedule_request(&request).await?;
            let (pk, sk) = keys::token(&request.token_hash);
            deletes.push(Write::delete(pk, sk));
        }
        deletes.extend(
            items
                .iter()
                .filter(|i| i.sk != keys::META)
                .map(|i| Write::delete(&i.pk, &i.sk)),
        );
        for chunk in deletes.chunks(MAX_TRANSACTION_WRITES) {
            self.store.transact(chunk.to_vec()).await?;
        }
        Ok(())
    }

    /// What follows the deletion of a dossier's main item, safe to repeat: its audit trail (an
    /// entry is only written while the main item exists, so none can follow), mail copies a
    /// send in flight wrote meanwhile, the store's log, and last the schedule that retries all
    /// this.
    async fn finish_destruction(&self, case: &CaseId, mails: &[Id]) -> Result<()> {
        let trail = self.store.query(&keys::audit(case), "").await?;
        let deletes: Vec<Write> = trail.iter().map(|i| Write::delete(&i.pk, &i.sk)).collect();
        for chunk in deletes.chunks(MAX_TRANSACTION_WRITES) {
            self.store.transact(chunk.to_vec()).await?;
        }
        if let Some(copies) = &self.sent_copies {
            copies.erase(mails).await?;
        }
        // Deleted items must not live on in the store's log.
        self.store.scrub().await?;
        self.scheduler
            .remove(&Job::Purge {
                case_id: case.clone(),
            })
            .await?;
        Ok(())
    }
}
