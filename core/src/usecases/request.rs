//! Ask a department for documents: one call makes the link, queues the mail, plans reminders.

use chrono::{Duration, NaiveTime};
use serde::Deserialize;

use crate::domain::{self, CaseId, Date, Email, LinkToken};
use crate::error::{Error, Result};
use crate::format::{dossier_vars, request_vars};
use crate::localtime::{dutch_date, mail_date};
use crate::model::{
    Actor, Dossier, EventKind, MailKind, Record, Request, RequestState, TokenRef, keys,
};
use crate::ports::{Job, Write};
use crate::service::Portaal;
use crate::views::RequestView;

#[derive(Clone, Debug, Deserialize)]
pub struct RequestInput {
    pub department: String,
    pub to: Vec<String>,
    /// Defaults to today plus the case type's `request_days`.
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub message: String,
    /// `"nl"` (default) or `"en"`: the language of the department's mails.
    #[serde(default)]
    pub language: Option<String>,
}

/// Reminders go out at 08:00 Dutch time on their day.
const REMINDER_HOUR: u32 = 8;

impl Portaal {
    /// `POST /api/v1/dossiers/{case_id}/requests`.
    #[tracing::instrument(skip(self, input), fields(case = %case))]
    pub async fn create_request(&self, case: &CaseId, input: &RequestInput) -> Result<RequestView> {
        let department = domain::text("department", &input.department, 200)?;
        if input.to.is_empty() || input.to.len() > 10 {
            return Err(Error::invalid("to must hold 1 to 10 e-mail addresses"));
        }
        let to = input
            .to
            .iter()
            .map(|e| Email::parse(e).map_err(|err| Error::invalid(format!("to: {err}"))))
            .collect::<Result<Vec<_>>>()?;
        let message = domain::optional_text("message", &input.message, 4000)?;
        let language = input
            .language
            .as_deref()
            .map(crate::mailtext::Language::parse)
            .transpose()?
            .unwrap_or_default();
        let dossier = self.open_dossier(case).await?;
        let case_type = self.case_type(dossier.case_type.as_str()).await?;
        let today = self.today();
        let due = match input.due.as_deref() {
            Some(raw) => Date::parse(raw).map_err(|e| Error::invalid(format!("due: {e}")))?,
            None => Date(today + Duration::days(case_type.request_days.into())),
        };
        if due.0 < today {
            return Err(Error::invalid(format!("due {due} lies in the past")));
        }

        let token = LinkToken::generate();
        let id = self.new_id();
        let request = Request {
            token_sealed: self.seal(&token, &id),
            portal_base: self.settings.public_url.clone(),
            id,
            case_id: case.clone(),
            department,
            to,
            due,
            message,
            language,
            state: RequestState::Open,
            token_hash: token.hash(),
            created_at: self.now(),
            delivered_at: None,
            reminder_days: case_type.reminder_days.clone(),
            reminders_sent: Vec::new(),
            overdue_reported: None,
            upload: case_type.upload.clone(),
            rev: 1,
        };
        // Schedules first: if the commit below fails they fire, find no request, and do nothing.
        self.schedule_reminders(&request).await?;
        self.store
            .transact(self.new_request_writes(&dossier, &case_type, &request))
            .await?;
        let mut view = RequestView::build(&request, today);
        view.portal_url = Some(self.portal_url(&token));
        Ok(view)
    }

    /// The request, its link token, its timeline event and its mail.
    fn new_request_writes(
        &self,
        dossier: &Dossier,
        case_type: &crate::casetype::CaseType,
        request: &Request,
    ) -> Vec<Write> {
        let case = &dossier.case_id;
        let mut vars = dossier_vars(dossier, request.language);
        request_vars(&mut vars, request);
        let (mailed_url, link) = self.mail_link(request);
        vars.insert("portal_url", mailed_url);
        let mut event = self.event(EventKind::RequestSent, Actor::CaseSystem);
        event.request_id = Some(request.id.clone());
        event.summary = format!(
            "Verzoek om stukken aan {}, uiterlijk {}",
            request.department,
            dutch_date(request.due.0)
        );
        let (token_pk, token_sk) = keys::token(&request.token_hash);
        let token_ref = TokenRef {
            case_id: case.clone(),
            request_id: request.id.clone(),
            created_at: request.created_at,
        };
        let mut writes = vec![
            self.dossier_unchanged(dossier),
            Write::create(request.to_item(keys::dossier(case), keys::request(&request.id))),
            Write::create(token_ref.to_item(token_pk, token_sk)),
            self.event_write(case, &event),
        ];
        writes.extend(self.queue_mail(
            case_type,
            case,
            Some(&request.id),
            MailKind::Request,
            request.language,
            request.to.clone(),
            &vars,
            link,
        ));
        writes
    }

    /// Removes every schedule of a request (withdrawn, or its dossier destroyed).
    pub(crate) async fn unschedule_request(&self, request: &Request) -> Result<()> {
        for &step in &request.reminder_days {
            self.scheduler
                .remove(&Job::Reminder {
                    case_id: request.case_id.clone(),
                    request_id: request.id.clone(),
                    step,
                })
                .await?;
        }
        self.scheduler
            .remove(&Job::Overdue {
                case_id: request.case_id.clone(),
                request_id: request.id.clone(),
            })
            .await?;
        Ok(())
    }

    pub(crate) async fn schedule_reminders(&self, request: &Request) -> Result<()> {
        let now = self.now();
        for &step in &request.reminder_days {
            let job = Job::Reminder {
                case_id: request.case_id.clone(),
                request_id: request.id.clone(),
                step,
            };
            let at = reminder_at(request, step);
            if at > now && !request.reminders_sent.contains(&step) {
                self.scheduler.upsert(&job, at).await?;
            } else {
                self.scheduler.remove(&job).await?;
            }
        }
        let overdue = Job::Overdue {
            case_id: request.case_id.clone(),
            request_id: request.id.clone(),
        };
        let day_after = crate::localtime::from_dutch(
            request.due.0 + Duration::days(1),
            NaiveTime::from_hms_opt(0, 0, 0).expect("valid"),
        );
        if request.overdue_reported.as_ref() != Some(&request.due) {
            // Already past (a due date moved back): the job reports at once.
            self.scheduler.upsert(&overdue, day_after.max(now)).await?;
        }
        Ok(())
    }

    /// Resolves a link to its request, refusing unknown, rotated and closed links alike.
    pub(crate) async fn resolve_token(&self, token: &LinkToken) -> Result<TokenRef> {
        let (pk, sk) = keys::token(&token.hash());
        let item = self.store.get(&pk, &sk).await?.ok_or(Error::UnknownLink)?;
        TokenRef::from_item(&item)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RequestPatch {
    #[serde(default)]
    pub due: Option<String>,
    /// Only `"withdrawn"`.
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct RotateInput {
    /// Mail the new link to the request's addresses.
    #[serde(default)]
    pub resend: bool,
}

/// Which requests the deadline overview lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overview {
    /// Every request not yet delivered or withdrawn.
    Open,
    /// Open requests past their due date.
    Overdue,
}

impl Portaal {
    /// A request that may still change: its dossier open, the request not withdrawn.
    async fn changeable_request_of(
        &self,
        case: &CaseId,
        id: &crate::domain::Id,
    ) -> Result<(crate::model::Dossier, Request)> {
        let (dossier, request) = self.request_of(case, id).await?;
        if !dossier.is_open_at(self.now()) {
            return Err(Error::Gone(format!("dossier {case} is closed")));
        }
        if request.state == RequestState::Withdrawn {
            return Err(Error::conflict("this request was withdrawn"));
        }
        Ok((dossier, request))
    }

    async fn request_of(
        &self,
        case: &CaseId,
        id: &crate::domain::Id,
    ) -> Result<(crate::model::Dossier, Request)> {
        let dossier = self.dossier(case).await?;
        let item = self
            .store
            .get(&keys::dossier(case), &keys::request(id))
            .await?
            .ok_or_else(|| Error::not_found(format!("request {id}")))?;
        Ok((dossier, Request::from_item(&item)?))
    }

    /// `PATCH …/requests/{id}`: a new due date (reminders follow it) and/or `state: "withdrawn"`.
    #[tracing::instrument(skip(self, patch), fields(case = %case))]
    pub async fn update_request(
        &self,
        case: &CaseId,
        id: &crate::domain::Id,
        patch: &RequestPatch,
    ) -> Result<RequestView> {
        let change = RequestChange::parse(patch, self.today())?;
        crate::service::with_retries(|| self.try_update_request(case, id, &change)).await
    }

    async fn try_update_request(
        &self,
        case: &CaseId,
        id: &crate::domain::Id,
        change: &RequestChange,
    ) -> Result<RequestView> {
        let (dossier, old) = self.changeable_request_of(case, id).await?;
        let mut new = Request {
            rev: old.rev + 1,
            ..old.clone()
        };
        let mut event = self.event(EventKind::RequestUpdated, Actor::CaseSystem);
        event.request_id = Some(old.id.clone());
        if let Some(due) = change.due {
            new.due = due;
            // Steps still ahead of the new date may fire again.
            new.reminders_sent.retain(|step| {
                let day = due.0 + Duration::days((*step).into());
                day <= self.today()
            });
            event.summary = format!("Termijn gewijzigd naar {}", dutch_date(due.0));
        }
        if change.withdraw {
            new.state = RequestState::Withdrawn;
            event.kind = EventKind::RequestWithdrawn;
            event.summary = "Verzoek ingetrokken".into();
        }
        let unchanged = Request {
            rev: old.rev,
            ..old.clone()
        };
        if new == unchanged {
            return Ok(RequestView::build(&old, self.today()));
        }
        // Schedules first; a stale one finds the request changed and does nothing.
        if new.state == RequestState::Withdrawn {
            self.unschedule_request(&new).await?;
        } else {
            self.schedule_reminders(&new).await?;
        }
        let mut writes = vec![Write::replace_if(
            new.to_item(keys::dossier(case), keys::request(id)),
            "rev",
            old.rev,
        )];
        writes.extend(self.event_writes(case, &event));
        writes.extend(self.change_mail(&dossier, &old, &new).await?);
        self.store.transact(writes).await?;
        Ok(RequestView::build(&new, self.today()))
    }

    /// The department hears of a change: a new date with the link, or that nothing more is
    /// asked.
    async fn change_mail(
        &self,
        dossier: &Dossier,
        old: &Request,
        new: &Request,
    ) -> Result<Vec<Write>> {
        let kind = if new.state == RequestState::Withdrawn {
            MailKind::Withdrawn
        } else if new.due != old.due {
            MailKind::DueChanged
        } else {
            return Ok(Vec::new());
        };
        let case_type = self.case_type(dossier.case_type.as_str()).await?;
        let mut vars = dossier_vars(dossier, new.language);
        request_vars(&mut vars, new);
        vars.insert("old_due", mail_date(old.due.0, new.language));
        let link = if kind == MailKind::DueChanged {
            let (portal_url, link) = self.mail_link(new);
            vars.insert("portal_url", portal_url);
            link
        } else {
            None
        };
        Ok(self.queue_mail(
            &case_type,
            &dossier.case_id,
            Some(&new.id),
            kind,
            new.language,
            new.to.clone(),
            &vars,
            link,
        ))
    }

    /// `POST …/requests/{id}/link`: a new link; the old one stops working at once.
    #[tracing::instrument(skip(self, input), fields(case = %case))]
    pub async fn rotate_link(
        &self,
        case: &CaseId,
        id: &crate::domain::Id,
        input: &RotateInput,
    ) -> Result<RequestView> {
        crate::service::with_retries(|| async {
            let (dossier, old) = self.changeable_request_of(case, id).await?;
            let token = LinkToken::generate();
            let new = Request {
                token_hash: token.hash(),
                token_sealed: self.seal(&token, &old.id),
                portal_base: self.settings.public_url.clone(),
                rev: old.rev + 1,
                ..old.clone()
            };
            let (old_pk, old_sk) = keys::token(&old.token_hash);
            let (new_pk, new_sk) = keys::token(&new.token_hash);
            let token_ref = TokenRef {
                case_id: case.clone(),
                request_id: old.id.clone(),
                created_at: self.now(),
            };
            let mut event = self.event(EventKind::LinkRotated, Actor::CaseSystem);
            event.request_id = Some(old.id.clone());
            event.summary = if input.resend {
                "Nieuwe link verstuurd".into()
            } else {
                "Nieuwe link gemaakt".into()
            };
            let portal_url = self.portal_url(&token);
            let mut writes = vec![
                self.dossier_unchanged(&dossier),
                Write::replace_if(
                    new.to_item(keys::dossier(case), keys::request(id)),
                    "rev",
                    old.rev,
                ),
                Write::Delete {
                    pk: old_pk,
                    sk: old_sk,
                    condition: crate::ports::Condition::None,
                },
                Write::create(token_ref.to_item(new_pk, new_sk)),
                self.event_write(case, &event),
            ];
            if input.resend {
                let case_type = self.case_type(dossier.case_type.as_str()).await?;
                let mut vars = dossier_vars(&dossier, new.language);
                request_vars(&mut vars, &new);
                let (mailed_url, link) = self.mail_link(&new);
                vars.insert("portal_url", mailed_url);
                writes.extend(self.queue_mail(
                    &case_type,
                    case,
                    Some(&new.id),
                    MailKind::Request,
                    new.language,
                    new.to.clone(),
                    &vars,
                    link,
                ));
            }
            self.store.transact(writes).await?;
            let mut view = RequestView::build(&new, self.today());
            view.portal_url = Some(portal_url);
            Ok(view)
        })
        .await
    }

    /// `GET /api/v1/requests`: open (or overdue) requests across dossiers, soonest due first, from
    /// the sparse due-date index (no scan).
    pub async fn deadline_overview(
        &self,
        which: Overview,
        due_before: Option<Date>,
    ) -> Result<Vec<RequestView>> {
        let today = self.today();
        let upto = match (which, due_before) {
            (Overview::Overdue, Some(d)) => Some(d.0.min(today)),
            (Overview::Overdue, None) => Some(today),
            (Overview::Open, d) => d.map(|d| d.0),
        };
        // Index keys are `{due}#…`; "{day}#" sorts before every key of that day, so `<` the day.
        let bound = upto.map(|d| format!("{}#", d.format("%Y-%m-%d")));
        let items = self
            .store
            .query_index(crate::ports::IndexQuery {
                index: crate::ports::Index::Due,
                pk: "DUE",
                upto: bound.as_deref(),
                limit: 1000,
            })
            .await?;
        items
            .iter()
            .map(|i| Request::from_item(i).map(|r| RequestView::build(&r, today)))
            .filter(|r| !matches!(r, Ok(v) if v.state != RequestState::Open))
            .collect()
    }
}

/// When a reminder step is due: 08:00 Dutch time, `step` days from the due date.
pub(crate) fn reminder_at(request: &Request, step: i32) -> chrono::DateTime<chrono::Utc> {
    crate::localtime::from_dutch(
        request.due.0 + Duration::days(step.into()),
        NaiveTime::from_hms_opt(REMINDER_HOUR, 0, 0).expect("valid"),
    )
}

/// A valid `PATCH` of a request: at least one of a due date not in the past and a withdrawal.
struct RequestChange {
    due: Option<Date>,
    withdraw: bool,
}

impl RequestChange {
    fn parse(patch: &RequestPatch, today: chrono::NaiveDate) -> Result<Self> {
        let due = patch
            .due
            .as_deref()
            .map(|raw| Date::parse(raw).map_err(|e| Error::invalid(format!("due: {e}"))))
            .transpose()?;
        let withdraw = match patch.state.as_deref() {
            None => false,
            Some("withdrawn") => true,
            Some(other) => {
                return Err(Error::invalid(format!(
                    "state can only become 'withdrawn', not '{other}'"
                )));
            }
        };
        if due.is_none() && !withdraw {
            return Err(Error::invalid(
                "give a new due date and/or state: \"withdrawn\"",
            ));
        }
        if due.is_some_and(|d| d.0 < today) {
            return Err(Error::invalid("due lies in the past"));
        }
        Ok(Self { due, withdraw })
    }
}
