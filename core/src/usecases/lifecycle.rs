//! Time-driven work: reminders before and after the due date; closing, reopening and legal holds.

use serde::Serialize;

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::format::{dossier_vars, request_vars};
use crate::model::{
    Actor, Dossier, DossierStatus, EventKind, MailKind, Record, Request, RequestState, keys,
};
use crate::ports::{Job, Write};
use crate::service::Portaal;

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
        if old.hold != new.hold {
            writes.push(crate::model::HeldDossier::write_for(&new));
        }
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
