//! Ask a department for documents: one call makes the link, queues the mail, plans reminders.

use chrono::{Duration, NaiveTime, TimeZone, Utc};
use serde::Deserialize;

use crate::domain::{self, CaseId, Date, Email, LinkToken};
use crate::error::{Error, Result};
use crate::model::{Actor, EventKind, MailKind, Record, Request, RequestState, TokenRef, keys};
use crate::ports::{Job, Write};
use crate::service::{Portaal, dossier_vars, request_vars};
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
}

/// Reminders go out at 08:00 Dutch winter time (07:00 UTC) on their day.
const REMINDER_HOUR_UTC: u32 = 7;

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
        let request = Request {
            id: self.new_id(),
            case_id: case.clone(),
            department,
            to: to.clone(),
            due,
            message,
            state: RequestState::Open,
            token_hash: token.hash(),
            created_at: self.now(),
            delivered_at: None,
            reminder_days: case_type.reminder_days.clone(),
            reminders_sent: Vec::new(),
            upload: case_type.upload.clone(),
            rev: 1,
        };
        let portal_url = self.portal_url(&token);
        let mut vars = dossier_vars(&dossier);
        request_vars(&mut vars, &request);
        vars.insert("portal_url", portal_url.clone());

        let mut event = self.event(EventKind::RequestSent, Actor::CaseSystem);
        event.request_id = Some(request.id.clone());
        event.summary = format!(
            "Verzoek om stukken aan {}, uiterlijk {}",
            request.department,
            crate::service::dutch_date(request.due.0)
        );
        let (token_pk, token_sk) = keys::token(&request.token_hash);
        let token_ref = TokenRef {
            case_id: case.clone(),
            request_id: request.id.clone(),
            created_at: self.now(),
        };

        // Schedules first: if the commit below fails they fire, find no request, and do nothing.
        self.schedule_reminders(&request).await?;
        self.store
            .transact(vec![
                self.dossier_unchanged(&dossier),
                Write::create(request.to_item(keys::dossier(case), keys::request(&request.id))),
                Write::create(token_ref.to_item(token_pk, token_sk)),
                self.event_write(case, &event),
                self.queue_mail(&case_type, case, MailKind::Request, to, &vars),
            ])
            .await?;
        let mut view = RequestView::build(&request, today);
        view.portal_url = Some(portal_url);
        Ok(view)
    }

    pub(crate) async fn schedule_reminders(&self, request: &Request) -> Result<()> {
        let now = self.now();
        for &step in &request.reminder_days {
            let job = Job::Reminder {
                case_id: request.case_id.clone(),
                request_id: request.id.clone(),
                step,
            };
            let day = request.due.0 + Duration::days(step.into());
            let at = Utc.from_utc_datetime(
                &day.and_time(NaiveTime::from_hms_opt(REMINDER_HOUR_UTC, 0, 0).expect("valid")),
            );
            if at > now && !request.reminders_sent.contains(&step) {
                self.scheduler.upsert(&job, at).await?;
            } else {
                self.scheduler.remove(&job).await?;
            }
        }
        Ok(())
    }

    /// Resolves a link to its request, refusing unknown, rotated and closed links alike.
    pub(crate) async fn resolve_token(&self, token: &LinkToken) -> Result<TokenRef> {
        let (pk, sk) = keys::token(&token.hash());
        let item = self
            .store
            .get(&pk, &sk)
            .await?
            .ok_or_else(|| Error::not_found("link"))?;
        TokenRef::from_item(&item)
    }
}
