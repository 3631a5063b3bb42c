//! Time-driven work: reminders before and after the due date, and destruction of closed dossiers.

use serde::Serialize;

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::model::{
    Actor, Destruction, DossierStatus, EventKind, MailKind, Record, Request, RequestState, keys,
};
use crate::ports::{Condition, Job, MAX_TRANSACTION_WRITES, Write};
use crate::service::{Portaal, dossier_vars, request_vars};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "why", rename_all = "snake_case")]
pub enum JobOutcome {
    Done,
    Skipped(String),
}

impl Portaal {
    /// Runs a scheduled job. Idempotent: it re-checks state and does nothing twice.
    pub async fn run_job(&self, job: &Job) -> Result<JobOutcome> {
        match job {
            Job::Reminder {
                case_id,
                request_id,
                step,
            } => self.send_reminder(case_id, request_id, *step).await,
            Job::Purge { case_id } => self.purge(case_id).await,
        }
    }

    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn send_reminder(
        &self,
        case: &CaseId,
        request_id: &Id,
        step: i32,
    ) -> Result<JobOutcome> {
        let dossier = match self.dossier(case).await {
            Ok(d) => d,
            Err(Error::NotFound(_)) => return Ok(JobOutcome::Skipped("dossier is gone".into())),
            Err(e) => return Err(e),
        };
        if !dossier.is_open_at(self.now()) {
            return Ok(JobOutcome::Skipped("dossier is closed".into()));
        }
        let Some(item) = self
            .store
            .get(&keys::dossier(case), &keys::request(request_id))
            .await?
        else {
            return Ok(JobOutcome::Skipped("request is gone".into()));
        };
        let request = Request::from_item(&item)?;
        if request.state != RequestState::Open {
            return Ok(JobOutcome::Skipped(
                format!("request is {:?}", request.state).to_lowercase(),
            ));
        }
        if request.reminders_sent.contains(&step) {
            return Ok(JobOutcome::Skipped("reminder already sent".into()));
        }
        let case_type = self.case_type(dossier.case_type.as_str()).await?;
        let mut vars = dossier_vars(&dossier);
        request_vars(&mut vars, &request);
        // Only the link's hash is stored, so the reminder points at the request mail.
        vars.insert(
            "portal_url",
            format!(
                "(de link uit ons verzoek van {})",
                crate::service::dutch_date(request.created_at.date_naive())
            ),
        );
        let kind = if step <= 0 {
            MailKind::ReminderBefore
        } else {
            MailKind::ReminderOverdue
        };
        let mut sent = request.reminders_sent.clone();
        sent.push(step);
        let updated = Request {
            reminders_sent: sent,
            rev: request.rev + 1,
            ..request.clone()
        };
        let mut event = self.event(EventKind::ReminderSent, Actor::System);
        event.request_id = Some(request.id.clone());
        event.summary = if step <= 0 {
            "Herinnering verstuurd".into()
        } else {
            "Rappel verstuurd".into()
        };
        self.store
            .transact(vec![
                Write::replace_if(
                    updated.to_item(keys::dossier(case), keys::request(request_id)),
                    "rev",
                    request.rev,
                ),
                self.event_write(case, &event),
                self.queue_mail(&case_type, case, kind, request.to.clone(), &vars),
            ])
            .await?;
        Ok(JobOutcome::Done)
    }

    /// Destroys a closed dossier whose time has come: every file, every item, every link; leaves a
    /// destruction record without personal data. Safe to repeat after a crash: the dossier's main
    /// item goes last, so a retry finds the work unfinished.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn purge(&self, case: &CaseId) -> Result<JobOutcome> {
        let p = match self.partition(case).await {
            Ok(p) => p,
            Err(Error::NotFound(_)) => {
                return Ok(JobOutcome::Skipped("dossier is already gone".into()));
            }
            Err(e) => return Err(e),
        };
        let d = &p.dossier;
        if d.status != DossierStatus::Closed {
            return Ok(JobOutcome::Skipped("dossier is open".into()));
        }
        if d.hold.is_some() {
            return Ok(JobOutcome::Skipped("dossier is under legal hold".into()));
        }
        match d.destroy_at {
            Some(at) if at <= self.now() => {}
            _ => return Ok(JobOutcome::Skipped("destruction is not due yet".into())),
        }
        let files = self.blobs.delete_prefix(&keys::blob_prefix(case)).await?;
        use sha2::Digest;
        let case_hash = hex::encode(sha2::Sha256::digest(case.as_str().as_bytes()));
        let record = Destruction {
            case_hash: case_hash.clone(),
            case_type: d.case_type.clone(),
            closed_at: d.closed_at,
            destroyed_at: self.now(),
            items: p.keys.len() as u64,
            files,
        };
        let (rpk, rsk) = keys::destruction(&case_hash);
        self.store
            .transact(vec![Write::put(record.to_item(rpk, rsk))])
            .await?;

        let mut deletes: Vec<Write> = p
            .requests
            .iter()
            .map(|r| {
                let (pk, sk) = keys::token(&r.token_hash);
                Write::Delete {
                    pk,
                    sk,
                    condition: Condition::None,
                }
            })
            .collect();
        deletes.extend(
            p.keys
                .iter()
                .filter(|(_, sk)| sk != keys::META)
                .map(|(pk, sk)| Write::Delete {
                    pk: pk.clone(),
                    sk: sk.clone(),
                    condition: Condition::None,
                }),
        );
        for chunk in deletes.chunks(MAX_TRANSACTION_WRITES) {
            self.store.transact(chunk.to_vec()).await?;
        }
        self.store
            .transact(vec![Write::Delete {
                pk: keys::dossier(case),
                sk: keys::META.into(),
                condition: Condition::None,
            }])
            .await?;
        self.scheduler
            .remove(&Job::Purge {
                case_id: case.clone(),
            })
            .await?;
        tracing::info!(items = p.keys.len(), files, "dossier destroyed");
        Ok(JobOutcome::Done)
    }
}
