//! The audit trail (BIO 8.15): who did what to which part of a dossier, from where, and how it
//! ended. Each entry is stored in the dossier's audit partition (destroyed with the dossier) and
//! written as a structured log line with the same fields (kept as long as the logs are).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::model::{Record, keys};
use crate::ports::{PageQuery, Write};
use crate::service::Portaal;
use crate::views::ListPage;

/// How an audited action ended.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuditResult {
    Success,
    /// Refused: not allowed, not found, not valid or in conflict (a 4xx).
    Refused,
    /// It went wrong on our side (a 5xx).
    Failed,
}

impl AuditResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditResult::Success => "success",
            AuditResult::Refused => "refused",
            AuditResult::Failed => "failed",
        }
    }

    pub fn of_status(status: u16) -> Self {
        match status {
            ..400 => AuditResult::Success,
            400..500 => AuditResult::Refused,
            _ => AuditResult::Failed,
        }
    }
}

/// Who acts, and from where: a link holder is named by the request its link belongs to (never
/// the token); the case system by its principal (`api-key`, `admin-key` or the IAM caller ARN).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The client's address, as far as it is known.
    pub address: Option<String>,
}

impl Origin {
    pub fn from_address(address: Option<String>) -> Self {
        Self { address }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    pub id: Id,
    pub at: DateTime<Utc>,
    /// `portal.view`, `document.download`, `delivery.confirm`, `delivery.approve`, …
    pub action: String,
    /// What it was done to: `dossier:…`, `document:…`, `delivery:…`, `request:…`, …
    pub object: String,
    pub result: AuditResult,
    pub actor: String,
    /// The client's address.
    #[serde(default)]
    pub origin: Option<String>,
    pub case_id: CaseId,
}

impl Record for AuditEntry {}

impl AuditEntry {
    fn sort_key(&self) -> String {
        format!(
            "{}#{}",
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.id
        )
    }

    /// The entry as a structured log line (JSON in the Lambda logs): the same fields.
    pub fn log(&self) {
        log_line(self, Some(&self.case_id));
    }
}

/// An audit log line for an action on no dossier (configuration, lists).
fn log_unfiled(
    at: DateTime<Utc>,
    action: &str,
    object: &str,
    result: AuditResult,
    actor: &str,
    origin: &Origin,
) {
    let entry = UnfiledEntry {
        at,
        action,
        object,
        result,
        actor,
        origin: origin.address.as_deref(),
    };
    log_fields(&entry, None);
}

struct UnfiledEntry<'a> {
    at: DateTime<Utc>,
    action: &'a str,
    object: &'a str,
    result: AuditResult,
    actor: &'a str,
    origin: Option<&'a str>,
}

fn log_line(e: &AuditEntry, case: Option<&CaseId>) {
    let fields = UnfiledEntry {
        at: e.at,
        action: &e.action,
        object: &e.object,
        result: e.result,
        actor: &e.actor,
        origin: e.origin.as_deref(),
    };
    log_fields(&fields, case);
}

fn log_fields(e: &UnfiledEntry<'_>, case: Option<&CaseId>) {
    tracing::info!(
        target: "portaal::audit",
        at = %e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        action = e.action,
        object = e.object,
        result = e.result.as_str(),
        actor = e.actor,
        origin = e.origin.unwrap_or(""),
        case_id = case.map(CaseId::as_str).unwrap_or(""),
        "audit"
    );
}

/// The actor a link holder is audited as.
pub fn link_holder(request: &Id) -> String {
    format!("link:request:{request}")
}

/// Entries per page of `GET /api/v1/dossiers/{case_id}/audit` at most (100 by default).
const MAX_AUDIT_PAGE: usize = 1000;

impl Portaal {
    /// An entry for `case`; the caller stores it (alone or with its change) and logs it once
    /// that is done.
    pub fn audit_entry(
        &self,
        case: &CaseId,
        action: &str,
        object: String,
        result: AuditResult,
        actor: String,
        origin: &Origin,
    ) -> AuditEntry {
        AuditEntry {
            id: self.new_id(),
            at: self.now(),
            action: action.to_owned(),
            object,
            result,
            actor,
            origin: origin.address.clone(),
            case_id: case.clone(),
        }
    }

    /// The log line of a call kept out of every dossier's trail (configuration, lists, and
    /// reading a trail, which would otherwise grow with each page read).
    pub fn log_unfiled_call(
        &self,
        action: &str,
        object: &str,
        result: AuditResult,
        actor: &str,
        origin: &Origin,
    ) {
        log_unfiled(self.now(), action, object, result, actor, origin);
    }

    /// The write that stores an entry (in the same transaction as the change it records).
    pub fn audit_write(entry: &AuditEntry) -> Write {
        Write::put(entry.to_item(keys::audit(&entry.case_id), entry.sort_key()))
    }

    /// Stores an entry on its own (reads, and API calls recorded after they ended), only while
    /// the dossier exists: an entry about a case never registered, or one written while its
    /// destruction deletes the main item, would start a trail nothing destroys.
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        // What it records has happened: the log line goes whether or not the entry is stored.
        entry.log();
        let exists = Write::Check {
            pk: keys::dossier(&entry.case_id),
            sk: keys::META.to_owned(),
            condition: crate::ports::Condition::Exists,
        };
        match self
            .store
            .transact(vec![exists, Self::audit_write(entry)])
            .await
        {
            Ok(()) | Err(crate::ports::StoreError::ConditionFailed { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /api/v1/dossiers/{case_id}/audit`: oldest first, a page at a time.
    pub async fn audit_trail(
        &self,
        case: &CaseId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<ListPage<AuditEntry>> {
        let limit = crate::usecases::lists::page_limit(limit, MAX_AUDIT_PAGE)?;
        if let Some(a) = after {
            let valid = a.split_once('#').is_some_and(|(at, id)| {
                DateTime::parse_from_rfc3339(at).is_ok() && Id::parse(id).is_ok()
            });
            if !valid {
                return Err(Error::invalid(
                    "after must be the `next` of a previous page of this trail",
                ));
            }
        }
        // A destroyed (or never registered) dossier has no trail to show.
        self.dossier(case).await?;
        let items = self
            .store
            .page(PageQuery {
                prefix: None,
                index: None,
                pk: &keys::audit(case),
                after,
                until: None,
                descending: false,
                limit,
            })
            .await?;
        let entries: Vec<AuditEntry> = items
            .iter()
            .map(AuditEntry::from_item)
            .collect::<Result<_>>()?;
        let next = (entries.len() == limit)
            .then(|| entries.last().map(AuditEntry::sort_key))
            .flatten();
        Ok(ListPage {
            items: entries,
            next,
        })
    }
}
