//! A request for documents and the link token that opens it.

use super::*;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Open,
    Delivered,
    Withdrawn,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Request {
    pub id: Id,
    pub case_id: CaseId,
    pub department: String,
    pub to: Vec<Email>,
    pub due: Date,
    #[serde(default)]
    pub message: String,
    /// The language of the department's mails.
    #[serde(default)]
    pub language: crate::domain::Language,
    pub state: RequestState,
    pub token_hash: TokenHash,
    /// The token sealed under the link key (see `sealing`), for later mails.
    #[serde(default)]
    pub token_sealed: Option<String>,
    /// The public base URL the link was made for (behind API Gateway it may be the request's own).
    #[serde(default)]
    pub portal_base: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The due date `request.overdue` was reported for (once per due date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue_reported: Option<Date>,
    /// Reminder steps in days relative to `due` (negative: before).
    #[serde(default)]
    pub reminder_days: Vec<i32>,
    #[serde(default)]
    pub reminders_sent: Vec<i32>,
    /// The case type's upload rules when the request was made.
    pub upload: UploadRules,
    pub rev: u64,
}

impl Record for Request {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        if self.state == RequestState::Open {
            vec![
                (Index::Due.pk_attr(), Value::from("DUE")),
                (
                    Index::Due.sk_attr(),
                    Value::from(format!("{}#{}#{}", self.due, self.case_id, self.id)),
                ),
            ]
        } else {
            Vec::new()
        }
    }
}

/// The item behind a link: which request of which dossier it opens.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenRef {
    pub case_id: CaseId,
    pub request_id: Id,
    pub created_at: DateTime<Utc>,
}
impl Record for TokenRef {}
