//! Register, update and read a dossier (case-system API).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::{self, CaseId, CaseTypeKey, Date, Email, Id};
use crate::error::{Error, Result};
use crate::model::{
    Actor, Decision, Dossier, DossierStatus, EventKind, Person, Record, Submitter, keys,
};
use crate::partition::Partition;
use crate::ports::Write;
use crate::service::{Portaal, with_retries};
use crate::usecases::timeline::{TimelinePage, newest_page};
use crate::views::{DeliveryView, DossierView, RequestView};

#[derive(Clone, Debug, Deserialize)]
pub struct SubmitterInput {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DecisionInput {
    pub reference: String,
    pub date: String,
    #[serde(default)]
    pub subject: String,
    pub department: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PersonInput {
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DossierInput {
    pub case_type: String,
    pub title: String,
    #[serde(default)]
    pub remarks: String,
    pub submitter: SubmitterInput,
    /// Required unless the case type says otherwise (a Woo-verzoek, a klacht).
    #[serde(default)]
    pub decision: Option<DecisionInput>,
    pub handler: PersonInput,
}

pub(crate) fn person(field: &str, p: &PersonInput) -> Result<Person> {
    Ok(Person {
        name: domain::text(&format!("{field}.name"), &p.name, 200)?,
        email: Email::parse(&p.email).map_err(|e| Error::invalid(format!("{field}.email: {e}")))?,
    })
}

struct ValidDossier {
    case_type: CaseTypeKey,
    title: String,
    remarks: String,
    submitter: Submitter,
    decision: Option<Decision>,
    handler: Person,
}

fn validate(input: &DossierInput) -> Result<ValidDossier> {
    let email = match input.submitter.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => {
            Some(Email::parse(e).map_err(|e| Error::invalid(format!("submitter.email: {e}")))?)
        }
    };
    Ok(ValidDossier {
        case_type: CaseTypeKey::parse(&input.case_type)?,
        title: domain::text("title", &input.title, 300)?,
        remarks: domain::optional_text("remarks", &input.remarks, 4000)?,
        submitter: Submitter {
            name: domain::text("submitter.name", &input.submitter.name, 200)?,
            email,
            address: input
                .submitter
                .address
                .as_deref()
                .map(|a| domain::optional_text("submitter.address", a, 300))
                .transpose()?
                .filter(|a| !a.is_empty()),
        },
        decision: input.decision.as_ref().map(decision).transpose()?,
        handler: person("handler", &input.handler)?,
    })
}

impl ValidDossier {
    /// A new open dossier of this case type.
    fn new_dossier(
        &self,
        case: &CaseId,
        case_type: &crate::casetype::CaseType,
        now: DateTime<Utc>,
    ) -> Dossier {
        Dossier {
            case_id: case.clone(),
            case_type: self.case_type.clone(),
            case_type_name: case_type.name.clone(),
            show_submitter: case_type.show_submitter,
            title: self.title.clone(),
            remarks: self.remarks.clone(),
            submitter: self.submitter.clone(),
            decision: self.decision.clone(),
            handler: self.handler.clone(),
            status: DossierStatus::Open,
            created_at: now,
            updated_at: now,
            closed_at: None,
            result: None,
            closes_at: None,
            destroy_at: None,
            close_after_days: None,
            destroy_after_days: None,
            hold: None,
            destroying: false,
            rev: 1,
        }
    }

    /// The open dossier `old` with this case data, or `None` when nothing changes.
    fn applied_to(&self, old: &Dossier, now: DateTime<Utc>) -> Result<Option<Dossier>> {
        if old.status == DossierStatus::Closed {
            return Err(Error::conflict(format!(
                "dossier {} is closed; reopen it before changing it",
                old.case_id
            )));
        }
        if old.case_type != self.case_type {
            return Err(Error::conflict(
                "case_type of an existing dossier cannot change",
            ));
        }
        let new = Dossier {
            title: self.title.clone(),
            remarks: self.remarks.clone(),
            submitter: self.submitter.clone(),
            decision: self.decision.clone(),
            handler: self.handler.clone(),
            ..old.clone()
        };
        if &new == old {
            return Ok(None);
        }
        Ok(Some(Dossier {
            updated_at: now,
            rev: old.rev + 1,
            ..new
        }))
    }
}

fn decision(input: &DecisionInput) -> Result<Decision> {
    Ok(Decision {
        reference: domain::text("decision.reference", &input.reference, 100)?,
        date: Date::parse(&input.date)
            .map_err(|e| Error::invalid(format!("decision.date: {e}")))?,
        subject: domain::optional_text("decision.subject", &input.subject, 300)?,
        department: domain::text("decision.department", &input.department, 200)?,
    })
}

/// Whether `put_dossier` made a new dossier or changed an existing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    Created,
    Updated,
}

impl Portaal {
    /// `PUT /api/v1/dossiers/{case_id}`: create, or update the case data of an open dossier.
    #[tracing::instrument(skip(self, input), fields(case = %case))]
    pub async fn put_dossier(
        &self,
        case: &CaseId,
        input: &DossierInput,
    ) -> Result<(Saved, DossierView)> {
        let valid = validate(input)?;
        let case_type = self.case_type(valid.case_type.as_str()).await?;
        if valid.decision.is_none() && case_type.requires_decision() {
            return Err(Error::invalid(format!(
                "decision is required for a {}",
                case_type.name.to_lowercase()
            )));
        }
        with_retries(|| self.try_put_dossier(case, &valid, &case_type)).await
    }

    async fn try_put_dossier(
        &self,
        case: &CaseId,
        valid: &ValidDossier,
        case_type: &crate::casetype::CaseType,
    ) -> Result<(Saved, DossierView)> {
        let now = self.now();
        let existing = match self.dossier(case).await {
            Ok(d) => Some(d),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let (saved, dossier, write) = match existing {
            None => {
                let d = valid.new_dossier(case, case_type, now);
                let w = Write::create(d.to_item(keys::dossier(case), keys::META.into()));
                (Saved::Created, d, w)
            }
            Some(old) => {
                let Some(d) = valid.applied_to(&old, now)? else {
                    // Nothing changed: answer without writing, so retries by the case system are free.
                    return Ok((Saved::Updated, DossierView::summary(&old)));
                };
                let w = Write::replace_if(
                    d.to_item(keys::dossier(case), keys::META.into()),
                    "rev",
                    old.rev,
                );
                (Saved::Updated, d, w)
            }
        };
        let kind = match saved {
            Saved::Created => EventKind::DossierRegistered,
            Saved::Updated => EventKind::DossierUpdated,
        };
        let mut event = self.event(kind, Actor::CaseSystem);
        event.summary = dossier.title.clone();
        let mut writes = vec![write, self.event_write(case, &event)];
        if dossier.hold.is_some() {
            // The holds index shows the title too.
            writes.push(crate::model::HeldDossier::write_for(&dossier));
        }
        self.store.transact(writes).await?;
        Ok((saved, DossierView::summary(&dossier)))
    }

    /// `GET /api/v1/dossiers/{case_id}`: the dossier with everything in it; of its history the
    /// newest page, oldest first, and `timeline_next` for the pages before.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn get_dossier(&self, case: &CaseId) -> Result<DossierView> {
        // One read: the dossier's items, then the newest page of its history.
        let (p, paged) = self.partition_and_history(case).await?;
        let timeline = newest_page(paged, p.events.clone());
        Ok(self.dossier_view(&p, timeline))
    }

    /// The dossier as `get_dossier` answers it, with the page of its history before `before`
    /// in `timeline` (the console's dossier paged back): its items and that page read at once.
    pub async fn get_dossier_before(&self, case: &CaseId, before: &Id) -> Result<DossierView> {
        let (p, timeline) =
            futures_util::try_join!(self.partition(case), self.history_before(case, before))?;
        Ok(self.dossier_view(&p, timeline))
    }

    fn dossier_view(&self, p: &Partition, timeline: TimelinePage) -> DossierView {
        let today = self.today();
        let mut view = DossierView::summary(&p.dossier);
        view.requests = p
            .requests
            .iter()
            .map(|r| RequestView::build(r, today).with_mail_failures(&p.events))
            .collect();
        view.deliveries = p
            .deliveries
            .iter()
            .map(|d| DeliveryView::build(d, &p.documents))
            .collect();
        view.publications = self.publication_views(p, None);
        view.timeline = timeline.events;
        view.timeline_next = timeline.next;
        view
    }
}
