//! Time-driven work: reminders before and after the due date, and destruction of closed dossiers.

use serde::Serialize;

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::model::{
    Actor, Destruction, Dossier, DossierStatus, EventKind, MailKind, Record, Request, RequestState,
    keys,
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
            Job::Purge { case_id } => self.purge(case_id, None).await,
            Job::Overdue {
                case_id,
                request_id,
            } => self.report_overdue(case_id, request_id).await,
        }
    }

    /// The request a job is about, if it is still open; else why the job has nothing to do.
    async fn open_request_for_job(
        &self,
        case: &CaseId,
        request_id: &Id,
    ) -> Result<std::result::Result<Request, JobOutcome>> {
        let Some(item) = self
            .store
            .get(&keys::dossier(case), &keys::request(request_id))
            .await?
        else {
            return Ok(Err(JobOutcome::Skipped("request is gone".into())));
        };
        let request = Request::from_item(&item)?;
        if request.state != RequestState::Open {
            return Ok(Err(JobOutcome::Skipped(
                format!("request is {:?}", request.state).to_lowercase(),
            )));
        }
        Ok(Ok(request))
    }

    /// `request.overdue`: once per due date, when the Dutch day after it begins and the request
    /// is still open.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn report_overdue(&self, case: &CaseId, request_id: &Id) -> Result<JobOutcome> {
        let request = match self.open_request_for_job(case, request_id).await? {
            Ok(r) => r,
            Err(skipped) => return Ok(skipped),
        };
        if request.due.0 >= self.today() {
            return Ok(JobOutcome::Skipped("request is not overdue".into()));
        }
        if request.overdue_reported == Some(request.due) {
            return Ok(JobOutcome::Skipped("already reported".into()));
        }
        let updated = Request {
            overdue_reported: Some(request.due),
            rev: request.rev + 1,
            ..request.clone()
        };
        self.store
            .transact(vec![
                Write::replace_if(
                    updated.to_item(keys::dossier(case), keys::request(request_id)),
                    "rev",
                    request.rev,
                ),
                crate::usecases::feed::pending_event(
                    self.new_id(),
                    crate::events::EventType::RequestOverdue,
                    self.now(),
                    case,
                    &[
                        ("request_id", request.id.to_string().into()),
                        ("due", request.due.to_string().into()),
                        ("state", "open".into()),
                    ],
                ),
            ])
            .await?;
        Ok(JobOutcome::Done)
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
        let request = match self.open_request_for_job(case, request_id).await? {
            Ok(r) => r,
            Err(skipped) => return Ok(skipped),
        };
        if request.reminders_sent.contains(&step) {
            return Ok(JobOutcome::Skipped("reminder already sent".into()));
        }
        // After downtime several steps fire at once: only the latest one due is sent, a
        // herinnering never after the due date, and never one older than a step already sent.
        if step <= 0 && request.due.0 < self.today() {
            return Ok(JobOutcome::Skipped(
                "the due date passed: a herinnering would come too late".into(),
            ));
        }
        if request.reminders_sent.iter().any(|sent| *sent > step) {
            return Ok(JobOutcome::Skipped(
                "a later reminder was already sent".into(),
            ));
        }
        // A later step's time has come too (a positive step's time lies after the due date, so
        // a herinnering is never sent once a rappel is due).
        let now = self.now();
        if request.reminder_days.iter().any(|later| {
            *later > step && crate::usecases::request::reminder_at(&request, *later) <= now
        }) {
            return Ok(JobOutcome::Skipped(
                "a later reminder is due as well; only that one is sent".into(),
            ));
        }
        let case_type = self.case_type(dossier.case_type.as_str()).await?;
        let mut vars = dossier_vars(&dossier, request.language);
        request_vars(&mut vars, &request);
        let (portal_url, link) = self.mail_link(&request);
        vars.insert("portal_url", portal_url);
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
            .transact(
                [
                    self.dossier_unchanged(&dossier),
                    Write::replace_if(
                        updated.to_item(keys::dossier(case), keys::request(request_id)),
                        "rev",
                        request.rev,
                    ),
                    self.event_write(case, &event),
                ]
                .into_iter()
                .chain(self.queue_mail(
                    &case_type,
                    case,
                    Some(&request.id),
                    kind,
                    request.language,
                    request.to.clone(),
                    &vars,
                    link,
                ))
                .collect::<Vec<_>>(),
            )
            .await?;
        Ok(JobOutcome::Done)
    }

    /// Destroys a closed dossier whose time has come: every file, every item, every link; leaves a
    /// destruction record without personal data. Safe to repeat after a crash: the dossier's main
    /// item goes last, so a retry finds the work unfinished.
    ///
    /// `removed` is the dossier's main item as DynamoDB TTL deleted it (the stream's old image):
    /// then the deadline had passed (TTL is only set without a legal hold) and the rest follows.
    #[tracing::instrument(skip(self, removed), fields(case = %case))]
    pub async fn purge(&self, case: &CaseId, removed: Option<Dossier>) -> Result<JobOutcome> {
        let items = self.store.query(&keys::dossier(case), "").await?;
        let current = items
            .iter()
            .find(|i| i.sk == keys::META)
            .map(Dossier::from_item)
            .transpose()?;
        let dossier = match (current, removed) {
            (Some(d), _) => {
                if d.status != DossierStatus::Closed {
                    return Ok(JobOutcome::Skipped("dossier is open".into()));
                }
                if d.hold.is_some() {
                    return Ok(JobOutcome::Skipped("dossier is under legal hold".into()));
                }
                if d.destroy_at.is_none_or(|at| at > self.now()) {
                    return Ok(JobOutcome::Skipped("destruction is not due yet".into()));
                }
                if !d.destroying {
                    // Claim the destruction against the revision checked above: a reopen or a
                    // legal hold that commits first wins, one that comes later is refused.
                    let marked = Dossier {
                        destroying: true,
                        rev: d.rev + 1,
                        ..d.clone()
                    };
                    let claim = Write::replace_if(
                        marked.to_item(keys::dossier(case), keys::META.into()),
                        "rev",
                        d.rev,
                    );
                    match self.store.transact(vec![claim]).await {
                        Err(crate::ports::StoreError::ConditionFailed { .. }) => {
                            return Ok(JobOutcome::Skipped("the dossier changed meanwhile".into()));
                        }
                        other => other?,
                    }
                }
                Some(d)
            }
            (None, removed) if !items.is_empty() => removed,
            (None, _) => {
                // A run that stopped after the last delete: finish what follows it.
                self.finish_destruction(case, &[]).await?;
                return Ok(JobOutcome::Skipped("dossier is already gone".into()));
            }
        };
        self.migrate_destruction_records().await?;

        let files = self.blobs.delete_prefix(&keys::blob_prefix(case)).await?
            + self.blobs.delete_prefix(&keys::staged_prefix(case)).await?;
        let documents: Vec<crate::model::Document> = items
            .iter()
            .filter(|i| i.sk.starts_with(keys::DOC))
            .map(crate::model::Document::from_item)
            .collect::<Result<_>>()?;
        let mails: Vec<Id> = items
            .iter()
            .filter(|i| i.sk.starts_with(keys::MAIL))
            .map(|i| crate::model::Mail::from_item(i).map(|m| m.id))
            .collect::<Result<_>>()?;
        let case_ref = self.settings.records_key.case_ref(case);
        let record = Destruction {
            case_ref: case_ref.clone(),
            case_hash: None,
            case_type: dossier.as_ref().map(|d| d.case_type.clone()),
            close_after_days: dossier.as_ref().and_then(|d| d.close_after_days),
            destroy_after_days: dossier.as_ref().and_then(|d| d.destroy_after_days),
            closed_at: dossier.as_ref().and_then(|d| d.closed_at),
            destroy_at: dossier.as_ref().and_then(|d| d.destroy_at),
            destroyed_at: self.now(),
            documents: documents.len() as u64,
            bytes: documents.iter().map(|d| d.size).sum(),
            items: items.len() as u64,
            files,
        };
        let (rpk, rsk) = keys::destruction(&case_ref);
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
        // The record once: a retry after a crash finds less to count, and the first one stands.
        // When TTL already removed the main item, `dossier.destroyed` goes with the record.
        let mut writes = vec![Write::create(record.to_item(rpk, rsk))];
        if !meta_present {
            writes.push(destroyed.clone());
        }
        match self.store.transact(writes).await {
            Ok(()) | Err(crate::ports::StoreError::ConditionFailed { .. }) => {}
            Err(e) => return Err(e.into()),
        }

        let delete = |pk: String, sk: String| Write::Delete {
            pk,
            sk,
            condition: Condition::None,
        };
        let mut deletes = Vec::with_capacity(items.len() + 4);
        for item in items.iter().filter(|i| i.sk.starts_with(keys::REQUEST)) {
            let request = Request::from_item(item)?;
            self.unschedule_request(&request).await?;
            let (pk, sk) = keys::token(&request.token_hash);
            deletes.push(delete(pk, sk));
        }
        deletes.extend(
            items
                .iter()
                .filter(|i| i.sk != keys::META)
                .map(|i| delete(i.pk.clone(), i.sk.clone())),
        );
        for chunk in deletes.chunks(MAX_TRANSACTION_WRITES) {
            self.store.transact(chunk.to_vec()).await?;
        }
        if meta_present {
            let last = Write::Delete {
                pk: keys::dossier(case),
                sk: keys::META.into(),
                condition: Condition::Exists,
            };
            match self.store.transact(vec![last, destroyed]).await {
                // Another run finished it (and told the case system).
                Err(crate::ports::StoreError::ConditionFailed { .. }) => {}
                other => other?,
            }
        }
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
}

impl Portaal {
    /// What follows the deletion of a dossier's main item, safe to repeat: its audit trail (an
    /// entry is only written while the main item exists, so none can follow), mail copies a
    /// send in flight wrote meanwhile, the store's log, and last the schedule that retries all
    /// this.
    async fn finish_destruction(&self, case: &CaseId, mails: &[Id]) -> Result<()> {
        let trail = self.store.query(&keys::audit(case), "").await?;
        let deletes: Vec<Write> = trail
            .iter()
            .map(|i| Write::Delete {
                pk: i.pk.clone(),
                sk: i.sk.clone(),
                condition: Condition::None,
            })
            .collect();
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

/// A mistaken close can be undone for this long: nothing is destroyed sooner after the call,
/// unless the case type's `destroy_after_days` is 0 (set on purpose).
const UNDO_WINDOW_HOURS: i64 = 24;

/// When a case handled at `closed_at` (the close call made `now`) stops its links and is
/// destroyed.
pub(crate) fn retention(
    case_type: &crate::casetype::CaseType,
    closed_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let days = |d: u32| chrono::Duration::days(d.into());
    let mut destroy_at = closed_at + days(case_type.destroy_days());
    if case_type.destroy_days() > 0 {
        destroy_at = destroy_at.max(now + chrono::Duration::hours(UNDO_WINDOW_HOURS));
    }
    let closes_at = (closed_at + days(case_type.close_after_days)).min(destroy_at);
    (closes_at, destroy_at)
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct CloseInput {
    #[serde(default)]
    pub result: Option<String>,
    /// Defaults to now; the case system may pass the date the case was actually handled.
    #[serde(default)]
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct HoldInput {
    pub reason: String,
}

impl Portaal {
    /// Writes a changed dossier with its event, conditional on the revision read.
    async fn save_dossier(
        &self,
        old: &Dossier,
        new: Dossier,
        kind: EventKind,
        summary: String,
    ) -> Result<Dossier> {
        let mut event = self.event(kind, Actor::CaseSystem);
        event.summary = summary;
        let case = &old.case_id;
        let mut writes = vec![Write::replace_if(
            new.to_item(keys::dossier(case), keys::META.into()),
            "rev",
            old.rev,
        )];
        writes.extend(self.event_writes(case, &event));
        self.store.transact(writes).await?;
        Ok(new)
    }

    /// `POST /api/v1/dossiers/{case_id}/close`: links stop at `expires_at`, then the dossier is
    /// destroyed (unless a legal hold is set). Closing a closed dossier answers it unchanged.
    #[tracing::instrument(skip(self, input), fields(case = %case))]
    pub async fn close_dossier(&self, case: &CaseId, input: &CloseInput) -> Result<Dossier> {
        let result = input
            .result
            .as_deref()
            .map(|r| crate::domain::optional_text("result", r, 500))
            .transpose()?;
        crate::service::with_retries(|| async {
            let d = self.dossier(case).await?;
            if d.status == DossierStatus::Closed {
                return Ok(d);
            }
            let case_type = self.case_type(d.case_type.as_str()).await?;
            let closed_at = input.closed_at.unwrap_or_else(|| self.now());
            let (closes_at, destroy_at) = retention(&case_type, closed_at, self.now());
            let closed = Dossier {
                status: DossierStatus::Closed,
                closed_at: Some(closed_at),
                result: result.clone(),
                closes_at: Some(closes_at),
                destroy_at: Some(destroy_at),
                close_after_days: Some(case_type.close_after_days),
                destroy_after_days: Some(case_type.destroy_days()),
                updated_at: self.now(),
                rev: d.rev + 1,
                ..d.clone()
            };
            // Schedule first: a purge that fires for a dossier still open does nothing.
            self.scheduler
                .upsert(
                    &Job::Purge {
                        case_id: case.clone(),
                    },
                    destroy_at,
                )
                .await?;
            let summary = format!(
                "Dossier gesloten; vernietiging op {}",
                crate::localtime::dutch_today(destroy_at)
            );
            self.save_dossier(&d, closed, EventKind::DossierClosed, summary)
                .await
        })
        .await
    }

    /// `POST /api/v1/dossiers/{case_id}/reopen`: destruction cancelled.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn reopen_dossier(&self, case: &CaseId) -> Result<Dossier> {
        crate::service::with_retries(|| async {
            let d = self.dossier(case).await?;
            if d.destroying {
                return Err(Error::conflict(format!(
                    "destruction of dossier {case} has begun"
                )));
            }
            if d.status == DossierStatus::Open {
                return Ok(d);
            }
            let open = Dossier {
                status: DossierStatus::Open,
                closed_at: None,
                closes_at: None,
                destroy_at: None,
                close_after_days: None,
                destroy_after_days: None,
                updated_at: self.now(),
                rev: d.rev + 1,
                ..d.clone()
            };
            let saved = self
                .save_dossier(
                    &d,
                    open,
                    EventKind::DossierReopened,
                    "Dossier heropend".into(),
                )
                .await?;
            self.scheduler
                .remove(&Job::Purge {
                    case_id: case.clone(),
                })
                .await?;
            Ok(saved)
        })
        .await
    }

    /// `PUT`/`DELETE /api/v1/dossiers/{case_id}/hold`: a legal hold blocks destruction.
    #[tracing::instrument(skip(self, reason), fields(case = %case))]
    pub async fn set_hold(&self, case: &CaseId, reason: Option<&str>) -> Result<Dossier> {
        let reason = reason
            .map(|r| crate::domain::text("reason", r, 500))
            .transpose()?;
        crate::service::with_retries(|| async {
            let d = self.dossier(case).await?;
            if d.destroying {
                return Err(Error::conflict(format!(
                    "destruction of dossier {case} has begun"
                )));
            }
            let hold = reason.as_ref().map(|r| crate::model::Hold {
                reason: r.clone(),
                since: self.now(),
            });
            if d.hold.as_ref().map(|h| &h.reason) == hold.as_ref().map(|h| &h.reason) {
                return Ok(d);
            }
            let (kind, summary) = match &hold {
                Some(h) => (EventKind::HoldSet, format!("Bewaarplicht: {}", h.reason)),
                None => (EventKind::HoldLifted, "Bewaarplicht opgeheven".to_owned()),
            };
            // Lifting a hold on a closed dossier puts destruction back on the calendar.
            if let (None, Some(at)) = (&hold, d.destroy_at) {
                let job = Job::Purge {
                    case_id: case.clone(),
                };
                self.scheduler.upsert(&job, at.max(self.now())).await?;
            }
            let changed = Dossier {
                hold,
                updated_at: self.now(),
                rev: d.rev + 1,
                ..d.clone()
            };
            self.save_dossier(&d, changed, kind, summary).await
        })
        .await
    }
}
