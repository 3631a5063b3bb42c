//! Mail as queued in the outbox, with its kind and state.

use super::*;

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    Request,
    ReminderBefore,
    ReminderOverdue,
    DeliveryReceived,
    Receipt,
    Publication,
    Rejected,
    /// To the handler: malware was found in a delivered file.
    Quarantined,
    /// To the handler: a mail could not be delivered, for good.
    MailFailed,
    /// To the department: the request's due date changed.
    DueChanged,
    /// To the department: the request was withdrawn; its link no longer works.
    Withdrawn,
}

fn announces_by_default() -> bool {
    true
}

impl MailKind {
    /// Mail that goes to a department (its link holders or submitter), not to the handler.
    pub fn goes_to_department(self) -> bool {
        !matches!(
            self,
            MailKind::DeliveryReceived | MailKind::Quarantined | MailKind::MailFailed
        )
    }

    pub const ALL: [MailKind; 11] = [
        MailKind::Request,
        MailKind::ReminderBefore,
        MailKind::ReminderOverdue,
        MailKind::DueChanged,
        MailKind::Withdrawn,
        MailKind::DeliveryReceived,
        MailKind::Receipt,
        MailKind::Publication,
        MailKind::Rejected,
        MailKind::Quarantined,
        MailKind::MailFailed,
    ];

    /// What the mail is, in words.
    pub fn label(self, language: crate::domain::Language) -> &'static str {
        let (nl, en) = match self {
            MailKind::Request => ("verzoek om stukken", "request for documents"),
            MailKind::ReminderBefore => ("herinnering", "reminder"),
            MailKind::ReminderOverdue => ("rappel", "overdue reminder"),
            MailKind::DueChanged => ("gewijzigde termijn", "changed due date"),
            MailKind::Withdrawn => ("intrekking van het verzoek", "request withdrawn"),
            MailKind::DeliveryReceived => ("melding van een aanlevering", "delivery notice"),
            MailKind::Receipt => ("ontvangstbevestiging", "receipt"),
            MailKind::Publication => ("publicatie", "publication"),
            MailKind::Rejected => ("afwijzing van een aanlevering", "delivery rejected"),
            MailKind::Quarantined => ("melding van malware", "malware notice"),
            MailKind::MailFailed => ("melding van een onbezorgde mail", "undelivered mail notice"),
        };
        match language {
            crate::domain::Language::Nl => nl,
            crate::domain::Language::En => en,
        }
    }

    /// The name in the API, in templates' keys and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Request => "request",
            MailKind::ReminderBefore => "reminder_before",
            MailKind::ReminderOverdue => "reminder_overdue",
            MailKind::DueChanged => "due_changed",
            MailKind::Withdrawn => "withdrawn",
            MailKind::DeliveryReceived => "delivery_received",
            MailKind::Receipt => "receipt",
            MailKind::Publication => "publication",
            MailKind::Rejected => "rejected",
            MailKind::Quarantined => "quarantined",
            MailKind::MailFailed => "mail_failed",
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    Queued,
    /// Claimed by a sender until `claimed_until`; another sender may take it over after.
    Sending,
    Sent,
    Failed,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Mail {
    pub id: Id,
    pub case_id: CaseId,
    /// The request a request mail or reminder is about (for `request.sent`, `reminder.sent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Id>,
    pub kind: MailKind,
    /// One recipient per item since mail became per recipient (older items may hold several).
    pub to: Vec<Email>,
    /// Where replies go: the dossier's handler, on mail to a department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Email>,
    /// The item whose sending is reported to the case system (the first recipient's).
    #[serde(default = "announces_by_default")]
    pub announces: bool,
    pub subject: String,
    /// Rendered bodies; emptied once sent, so links do not linger in the table.
    pub text: String,
    pub html: String,
    pub state: MailState,
    pub attempts: u32,
    pub queued_at: DateTime<Utc>,
    #[serde(default)]
    pub claimed_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// After a temporary failure: not before this time (`PORTAAL_MAIL_RETRY_SCHEDULE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The link the bodies hold as [`LINK_PLACEHOLDER`], sealed: a raw link token is never
    /// stored, not even in a queued mail; the sender opens it when it sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<MailLink>,
}

/// Stands for the department's link in a queued mail's subject and bodies (it survives HTML
/// escaping unchanged).
pub const LINK_PLACEHOLDER: &str = "%%PORTAAL-LINK%%";

/// A department's link: where the portal is reached, and the token.
pub fn portal_link(base: &str, token: &crate::domain::LinkToken) -> String {
    format!("{base}/p/{}", token.expose())
}

/// A mail's link: the request's sealed token and the portal base it was issued under.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MailLink {
    pub request_id: Id,
    pub sealed: String,
    pub base: String,
}

impl Mail {
    /// A rendered mail to one recipient, queued at `at`, about no request, announcing itself,
    /// without reply address or link (set those with struct update).
    pub fn queued(
        id: Id,
        case_id: CaseId,
        kind: MailKind,
        to: Email,
        rendered: Rendered,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            case_id,
            request_id: None,
            kind,
            to: vec![to],
            reply_to: None,
            announces: true,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            state: MailState::Queued,
            attempts: 0,
            queued_at: at,
            claimed_until: None,
            sent_at: None,
            message_id: None,
            last_error: None,
            next_attempt_at: None,
            link: None,
        }
    }

    /// When a sender should take it: after its claim lapses, or its retry time, or at once.
    pub fn due_at(&self) -> DateTime<Utc> {
        match self.state {
            MailState::Sending => self.claimed_until.unwrap_or(self.queued_at),
            _ => self.next_attempt_at.unwrap_or(self.queued_at),
        }
    }
}

impl Record for Mail {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        match self.state {
            // Ordered by when the mail is due: a retry waits for its time, a crashed send for its
            // claim to lapse.
            MailState::Queued | MailState::Sending => vec![
                (Index::Outbox.pk_attr(), Value::from(index_keys::OUTBOX)),
                (
                    Index::Outbox.sk_attr(),
                    Value::from(index_keys::outbox_due(self.due_at(), &self.id)),
                ),
            ],
            MailState::Sent | MailState::Failed => Vec::new(),
        }
    }
}

/// A mail text filled in: what goes out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}
