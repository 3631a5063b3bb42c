//! The lists a case system reads instead of polling dossiers: dossiers by status and case type
//! (or by destruction time), deliveries by state. Newest first, from the indexes, a page at a time
//! with signed cursors.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{CaseId, CaseTypeKey, Id};
use crate::error::{Error, Result};
use crate::model::{DeliveryState, DossierStatus, Record, index_keys};
use crate::ports::{Item, PageQuery};
use crate::service::Portaal;
use crate::usecases::feed::{DEFAULT_PAGE, MAX_LIST_PAGE};
pub use crate::views::ListPage;

impl Portaal {
    /// `GET /api/v1/dossiers?status=&case_type=&limit=&cursor=`: newest first, from the indexes.
    pub async fn list_dossiers(&self, filter: &DossierFilter) -> Result<ListPage<DossierSummary>> {
        let limit = page_limit(filter.limit, MAX_LIST_PAGE)?;
        if let Some(before) = filter.destroys_before.as_deref() {
            if filter
                .status
                .as_deref()
                .is_some_and(|s| s != "closed" && !s.is_empty())
            {
                return Err(Error::invalid(
                    "destroys_before lists closed dossiers: it does not combine with status=open",
                ));
            }
            let case_type = filter
                .case_type
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(CaseTypeKey::parse)
                .transpose()?;
            return self
                .dossiers_destroyed_before(
                    before,
                    case_type.as_ref(),
                    filter.cursor.as_deref(),
                    limit,
                )
                .await;
        }
        let statuses = match filter.status.as_deref() {
            None | Some("") => vec![DossierStatus::Open, DossierStatus::Closed],
            Some("open") => vec![DossierStatus::Open],
            Some("closed") => vec![DossierStatus::Closed],
            Some(other) => {
                return Err(Error::invalid(format!(
                    "status must be open or closed, not '{}'",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        let case_type = match filter.case_type.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(CaseTypeKey::parse(raw)?),
        };
        let sources: Vec<(crate::ports::Index, String)> = statuses
            .into_iter()
            .map(|s| index_keys::dossiers(s, case_type.as_ref()))
            .collect();
        let (items, next) = self
            .merged_page("dossiers", &sources, filter.cursor.as_deref(), limit)
            .await?;
        let dossiers = items
            .iter()
            .map(|i| crate::model::Dossier::from_item(i).map(|d| DossierSummary::from(&d)))
            .collect::<Result<_>>()?;
        Ok(ListPage {
            items: dossiers,
            next,
        })
    }

    /// `GET /api/v1/deliveries?state=&limit=&cursor=`: newest first, each with its case.
    pub async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<ListPage<DeliverySummary>> {
        let limit = page_limit(filter.limit, MAX_LIST_PAGE)?;
        let states = match filter.state.as_deref() {
            None | Some("") => vec![
                DeliveryState::Submitted,
                DeliveryState::Approved,
                DeliveryState::Rejected,
            ],
            Some("submitted") => vec![DeliveryState::Submitted],
            Some("approved") => vec![DeliveryState::Approved],
            Some("rejected") => vec![DeliveryState::Rejected],
            Some(other) => {
                return Err(Error::invalid(format!(
                    "state must be submitted, approved or rejected, not '{}'",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        let sources: Vec<(crate::ports::Index, String)> =
            states.into_iter().map(index_keys::deliveries).collect();
        let (items, next) = self
            .merged_page("deliveries", &sources, filter.cursor.as_deref(), limit)
            .await?;
        let deliveries = items
            .iter()
            .map(|item| {
                let delivery = crate::model::Delivery::from_item(item)?;
                let case = item
                    .pk
                    .strip_prefix("DOSSIER#")
                    .and_then(|c| CaseId::parse(c).ok())
                    .ok_or_else(|| {
                        Error::Corrupt(format!("delivery outside a dossier: {}", item.pk))
                    })?;
                Ok(DeliverySummary::build(case, &delivery))
            })
            .collect::<Result<_>>()?;
        Ok(ListPage {
            items: deliveries,
            next,
        })
    }

    /// Newest first over one or more index keys (one read each), merged by index sort key.
    async fn merged_page(
        &self,
        purpose: &str,
        sources: &[(crate::ports::Index, String)],
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Item>, Option<String>)> {
        let after = cursor
            .map(|c| self.settings.cursor_key.open(purpose, c))
            .transpose()?;
        let mut merged: Vec<(String, Item)> = Vec::new();
        for (index, pk) in sources {
            let items = self
                .store
                .page(PageQuery {
                    prefix: None,
                    index: Some(*index),
                    pk,
                    after: after.as_deref(),
                    until: None,
                    descending: true,
                    // One more than shown tells whether another page follows.
                    limit: limit + 1,
                })
                .await?;
            for item in items {
                let key = item
                    .str_attr(index.sk_attr())
                    .unwrap_or_default()
                    .to_owned();
                merged.push((key, item));
            }
        }
        merged.sort_by(|a, b| b.0.cmp(&a.0));
        let more = merged.len() > limit;
        merged.truncate(limit);
        let next = match merged.last() {
            Some((key, _)) if more => Some(self.settings.cursor_key.seal(purpose, key)),
            _ => None,
        };
        Ok((merged.into_iter().map(|(_, i)| i).collect(), next))
    }
}

pub(crate) fn page_limit(limit: Option<usize>, max: usize) -> Result<usize> {
    match limit {
        None => Ok(DEFAULT_PAGE.min(max)),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(Error::invalid(format!("limit must be 1 to {max}, not {n}"))),
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DossierFilter {
    pub status: Option<String>,
    pub case_type: Option<String>,
    /// Closed dossiers destroyed before this Dutch date, soonest first.
    pub destroys_before: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct DeliveryFilter {
    pub state: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DossierSummary {
    pub case_id: CaseId,
    pub case_type: CaseTypeKey,
    pub title: String,
    pub status: DossierStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When a closed dossier's link stops and when it is destroyed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destroys_at: Option<DateTime<Utc>>,
    pub on_hold: bool,
    /// The legal hold that keeps it from destruction, with its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<crate::model::Hold>,
}

impl From<&crate::model::Dossier> for DossierSummary {
    fn from(d: &crate::model::Dossier) -> Self {
        Self {
            case_id: d.case_id.clone(),
            case_type: d.case_type.clone(),
            title: d.title.clone(),
            status: d.status,
            created_at: d.created_at,
            updated_at: d.updated_at,
            closed_at: d.closed_at,
            closes_at: d.closes_at,
            destroys_at: d.destroy_at,
            on_hold: d.hold.is_some(),
            hold: d.hold.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeliverySummary {
    pub case_id: CaseId,
    pub id: Id,
    pub request_id: Id,
    pub state: DeliveryState,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub document_ids: Vec<Id>,
}

impl DeliverySummary {
    fn build(case_id: CaseId, d: &crate::model::Delivery) -> Self {
        Self {
            case_id,
            id: d.id.clone(),
            request_id: d.request_id.clone(),
            state: d.state,
            submitted_at: d.submitted_at,
            decided_at: d.decided_at,
            document_ids: d.documents.clone(),
        }
    }
}
