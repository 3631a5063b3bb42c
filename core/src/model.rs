//! What the store keeps (records) and how keys are made. Records are serde structs; an item is a
//! record's JSON object plus its keys, index keys and TTL attribute.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::casetype::UploadRules;
use crate::domain::{
    CaseId, CaseTypeKey, ContentType, Date, Email, Filename, Id, Sha256, TokenHash,
};
use crate::error::Error;
use crate::ports::{Index, Item, TTL_ATTR};

pub mod keys {
    use crate::domain::{CaseId, Id, TokenHash};

    pub const META: &str = "META";
    pub const REQUEST: &str = "REQUEST#";
    pub const DELIVERY: &str = "DELIVERY#";
    pub const DOC: &str = "DOC#";
    pub const PUB: &str = "PUB#";
    pub const EVENT: &str = "EVENT#";
    pub const MAIL: &str = "MAIL#";
    /// Who changed the configuration (case types), one item per change.
    pub const CONFIG_AUDIT: &str = "AUDIT#CONFIG";

    pub fn dossier(case: &CaseId) -> String {
        format!("DOSSIER#{case}")
    }
    /// The case of a dossier partition key.
    pub fn case_of(pk: &str) -> Option<CaseId> {
        CaseId::parse(pk.strip_prefix("DOSSIER#")?).ok()
    }
    /// The case and document of a kept blob's key (`dossiers/{case}/{id}[-{copy}]`).
    pub fn parse_blob(key: &str) -> Option<(CaseId, Id)> {
        let (case, name) = key.strip_prefix("dossiers/")?.rsplit_once('/')?;
        let id = name.split_once('-').map_or(name, |(id, _)| id);
        Some((CaseId::parse(case).ok()?, Id::parse(id).ok()?))
    }
    /// The case and document of a staged upload's key (`staged/{case}/{id}`).
    pub fn parse_staged_blob(key: &str) -> Option<(CaseId, Id)> {
        parse_under("staged/", key)
    }
    fn parse_under(prefix: &str, key: &str) -> Option<(CaseId, Id)> {
        let (case, id) = key.strip_prefix(prefix)?.rsplit_once('/')?;
        Some((CaseId::parse(case).ok()?, Id::parse(id).ok()?))
    }
    pub fn request(id: &Id) -> String {
        format!("{REQUEST}{id}")
    }
    pub fn delivery(request: &Id, id: &Id) -> String {
        format!("{DELIVERY}{request}#{id}")
    }
    pub fn publication(id: &Id) -> String {
        format!("{PUB}{id}")
    }
    pub fn doc(id: &Id) -> String {
        format!("{DOC}{id}")
    }
    pub fn event(id: &Id) -> String {
        format!("{EVENT}{id}")
    }
    pub fn mail(id: &Id) -> String {
        format!("{MAIL}{id}")
    }
    pub fn token(hash: &TokenHash) -> (String, String) {
        (format!("TOKEN#{}", hash.as_str()), "TOKEN".to_owned())
    }
    pub fn case_type(key: &str) -> (String, String) {
        ("CONFIG".to_owned(), format!("CASETYPE#{key}"))
    }
    pub fn destruction(case_ref: &str) -> (String, String) {
        ("DESTRUCTION".to_owned(), format!("DESTRUCTION#{case_ref}"))
    }
    /// A dossier's audit trail: its own partition, so reading the dossier never reads it and
    /// destruction removes it with the rest.
    pub fn audit(case: &CaseId) -> String {
        format!("AUDIT#DOSSIER#{case}")
    }
    /// Every blob of a dossier lives under this prefix, so destruction is one prefix delete.
    pub fn blob_prefix(case: &CaseId) -> String {
        format!("dossiers/{case}/")
    }
    pub fn blob(case: &CaseId, doc: &Id) -> String {
        format!("dossiers/{case}/{doc}")
    }
    /// One confirm's copy of a document (`copy` unique per attempt): confirms racing for the same
    /// files never write, read or delete each other's copy; the winner's is the document's.
    pub fn blob_copy(case: &CaseId, doc: &Id, copy: &Id) -> String {
        format!("dossiers/{case}/{doc}-{copy}")
    }
    /// Uploads land here until they are confirmed (or published) and copied under the dossier;
    /// S3 lifecycle expires what stays behind.
    pub fn staged_blob(case: &CaseId, doc: &Id) -> String {
        format!("staged/{case}/{doc}")
    }
    pub fn staged_prefix(case: &CaseId) -> String {
        format!("staged/{case}/")
    }
}

/// The overloaded index keys of dossiers and deliveries (see [`Index`]).
pub mod index_keys {
    use crate::domain::CaseTypeKey;
    use crate::ports::Index;

    use super::{DeliveryState, DossierStatus};

    /// `gsi3`: mail not yet sent, by when it is due.
    pub const OUTBOX: &str = "OUTBOX";

    /// The outbox index's sort key: due time first. (Items from before retries were scheduled
    /// carry their bare id, which sorts before any time: due at once.)
    pub fn outbox_due(at: chrono::DateTime<chrono::Utc>, id: &crate::domain::Id) -> String {
        format!(
            "{}#{id}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )
    }

    /// Everything due at `now` in the outbox index sorts at or before this.
    pub fn outbox_due_by(now: chrono::DateTime<chrono::Utc>) -> String {
        format!(
            "{}#~",
            now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        )
    }

    /// `gsi3`: sent documents waiting for the application's own scanner.
    pub const SCAN_QUEUE: &str = "SCANQ";

    fn status(s: DossierStatus) -> &'static str {
        match s {
            DossierStatus::Open => "open",
            DossierStatus::Closed => "closed",
        }
    }

    /// Dossiers of a status (`gsi1`), or of a status and case type (`gsi3`).
    pub fn dossiers(s: DossierStatus, case_type: Option<&CaseTypeKey>) -> (Index, String) {
        match case_type {
            None => (Index::Due, format!("DOSSIERS#{}", status(s))),
            Some(t) => (Index::Outbox, format!("DOSSIERS#{}#{t}", status(s))),
        }
    }

    /// Destruction records by when they were made (`gsi1`).
    pub fn destroyed() -> (Index, &'static str) {
        (Index::Due, "DESTROYED")
    }

    /// Dossiers by when they are destroyed (`gsi2`), legal holds included.
    pub const EXPIRY: &str = "EXPIRY";

    /// Deliveries of a state (`gsi1`).
    pub fn deliveries(state: DeliveryState) -> (Index, String) {
        let name = match state {
            DeliveryState::Submitted => "submitted",
            DeliveryState::Approved => "approved",
            DeliveryState::Rejected => "rejected",
        };
        (Index::Due, format!("DELIVERIES#{name}"))
    }
}

/// A record type stored as items.
pub trait Record: Serialize + DeserializeOwned {
    /// Extra attributes besides the record's own fields: index keys and TTL.
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }

    fn to_item(&self, pk: String, sk: String) -> Item {
        let Value::Object(mut attrs) =
            serde_json::to_value(self).expect("records serialise to objects")
        else {
            unreachable!("records are structs")
        };
        for (k, v) in self.index_attrs() {
            attrs.insert(k.to_owned(), v);
        }
        Item { pk, sk, attrs }
    }

    fn from_item(item: &Item) -> Result<Self, Error> {
        let mut attrs: Map<String, Value> = item.attrs.clone();
        for index in Index::ALL {
            attrs.remove(index.pk_attr());
            attrs.remove(index.sk_attr());
        }
        attrs.remove(TTL_ATTR);
        serde_json::from_value(Value::Object(attrs))
            .map_err(|e| Error::Corrupt(format!("item {} {}: {e}", item.pk, item.sk)))
    }
}

// ---------------------------------------------------------------- dossier

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Submitter {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Decision {
    pub reference: String,
    pub date: Date,
    #[serde(default)]
    pub subject: String,
    pub department: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Person {
    pub name: String,
    pub email: Email,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DossierStatus {
    Open,
    Closed,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Hold {
    pub reason: String,
    pub since: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Dossier {
    pub case_id: CaseId,
    pub case_type: CaseTypeKey,
    pub case_type_name: String,
    /// Copied from the case type so the portal page needs no configuration read.
    pub show_submitter: bool,
    pub title: String,
    pub remarks: String,
    pub submitter: Submitter,
    /// The decision the case is about; a Woo-verzoek or klacht may concern none.
    #[serde(default)]
    pub decision: Option<Decision>,
    pub handler: Person,
    pub status: DossierStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub result: Option<String>,
    /// When the links of a handled (closed) dossier stop; until then they read, without uploads.
    /// Absent on dossiers closed before this existed: their links stopped at the close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<DateTime<Utc>>,
    /// When the dossier is destroyed (closed dossiers only).
    #[serde(default, rename = "destroy_at")]
    pub destroy_at: Option<DateTime<Utc>>,
    /// The case type's terms when it was closed: the rule its destruction record names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_after_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy_after_days: Option<u32>,
    #[serde(default)]
    pub hold: Option<Hold>,
    /// Destruction has begun: from here on the dossier cannot be reopened or held.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroying: bool,
    /// Bumped on every change; writes are conditional on it.
    pub rev: u64,
}

impl Dossier {
    /// Open for changes: not handled, and not past its destruction time even if TTL has not
    /// removed it yet.
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.status == DossierStatus::Open && self.destroy_at.is_none_or(|t| t > now)
    }

    /// Its links still show it: open, or handled but before `closes_at`.
    pub fn is_readable_at(&self, now: DateTime<Utc>) -> bool {
        self.is_open_at(now)
            || (self.status == DossierStatus::Closed
                && self.closes_at.is_some_and(|t| t > now)
                && self.destroy_at.is_none_or(|t| t > now))
    }
}

impl Record for Dossier {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        // Listed newest first by status, and by status and case type.
        let listed = format!(
            "{}#{}",
            crate::events::time_key(self.created_at),
            self.case_id
        );
        let (by_status, by_status_key) = index_keys::dossiers(self.status, None);
        let (by_type, by_type_key) = index_keys::dossiers(self.status, Some(&self.case_type));
        let mut attrs = vec![
            (by_status.pk_attr(), Value::from(by_status_key)),
            (by_status.sk_attr(), Value::from(listed.clone())),
            (by_type.pk_attr(), Value::from(by_type_key)),
            (by_type.sk_attr(), Value::from(listed)),
        ];
        attrs.extend(self.expiry_attrs());
        attrs
    }
}

impl Dossier {
    /// Closed dossiers are listed by destruction time, legal holds included (the records
    /// manager sees them); TTL, the backstop that destroys, only without a hold.
    fn expiry_attrs(&self) -> Vec<(&'static str, Value)> {
        let Some(at) = self.destroy_at else {
            return Vec::new();
        };
        let mut attrs = vec![
            (Index::Expiry.pk_attr(), Value::from(index_keys::EXPIRY)),
            (Index::Expiry.sk_attr(), Value::from(self.expiry_key())),
        ];
        if self.hold.is_none() {
            attrs.push((TTL_ATTR, Value::from(at.timestamp())));
        }
        attrs
    }

    /// Its position in the list by destruction time.
    pub fn expiry_key(&self) -> String {
        self.destroy_at.map_or_else(String::new, |at| {
            format!(
                "{}#{}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                self.case_id
            )
        })
    }
}

// ---------------------------------------------------------------- request

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
    pub language: crate::mailtext::Language,
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

// ---------------------------------------------------------------- delivery and documents

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Submitted,
    Approved,
    Rejected,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub id: Id,
    pub request_id: Id,
    pub state: DeliveryState,
    pub comment: String,
    pub submitted_by: Person,
    pub submitted_at: DateTime<Utc>,
    pub documents: Vec<Id>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Record for Delivery {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        let (index, key) = index_keys::deliveries(self.state);
        vec![
            (index.pk_attr(), Value::from(key)),
            (
                index.sk_attr(),
                Value::from(format!(
                    "{}#{}",
                    crate::events::time_key(self.submitted_at),
                    self.id
                )),
            ),
        ]
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    /// Announced, maybe uploaded, not yet part of a delivery.
    Staged,
    Submitted,
    Approved,
    /// Rejected: the bytes are destroyed, the record stays for the history.
    Rejected,
    /// Uploaded by the case system for a publication, not yet published.
    Draft,
    Published,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Document {
    pub id: Id,
    pub filename: Filename,
    pub size: u64,
    pub content_type: ContentType,
    /// Announced by the client, or measured by storage at confirm.
    #[serde(default)]
    pub sha256: Option<Sha256>,
    pub blob_key: String,
    pub state: DocumentState,
    /// The request whose link staged it (deliveries) or the audience (publications).
    #[serde(default)]
    pub request_id: Option<Id>,
    #[serde(default)]
    pub delivery_id: Option<Id>,
    #[serde(default)]
    pub publication_id: Option<Id>,
    pub created_at: DateTime<Utc>,
    /// Malware scan state; documents from before scanning existed read as `not_scanned`.
    #[serde(default)]
    pub scan: ScanState,
    /// The threat found, or why the scan failed (for the handler; never shown to the department).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_note: Option<String>,
}

impl Record for Document {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        // Sent documents awaiting a scan the application makes itself (see `usecases::scan`).
        if self.scan == ScanState::Pending && self.state != DocumentState::Staged {
            vec![
                (Index::Outbox.pk_attr(), Value::from(index_keys::SCAN_QUEUE)),
                (Index::Outbox.sk_attr(), Value::from(self.id.to_string())),
            ]
        } else {
            Vec::new()
        }
    }
}

/// Where a document stands with the malware scanner.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    /// Waiting for the scanner's verdict.
    Pending,
    Clean,
    /// Malware found: quarantined, never downloadable.
    Infected,
    /// The scanner could not vouch for it (too large, encrypted, unsupported, access denied).
    Failed,
    /// No scanner is configured (or the document predates scanning).
    #[default]
    NotScanned,
}

impl ScanState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanState::Pending => "pending",
            ScanState::Clean => "clean",
            ScanState::Infected => "infected",
            ScanState::Failed => "failed",
            ScanState::NotScanned => "not_scanned",
        }
    }
}

// ---------------------------------------------------------------- publications

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PublicationState {
    /// Announced; its file may be uploading.
    Draft,
    Published,
}

/// A document the case system makes available to the department (one request, or all).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Publication {
    pub id: Id,
    pub document_id: Id,
    /// The audience: one request's department, or (None) every request of the dossier.
    #[serde(default)]
    pub request_id: Option<Id>,
    #[serde(default)]
    pub message: String,
    pub state: PublicationState,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
}
impl Record for Publication {}

// ---------------------------------------------------------------- events (timeline and audit)

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    DossierRegistered,
    DossierUpdated,
    RequestSent,
    RequestUpdated,
    RequestWithdrawn,
    LinkRotated,
    DeliverySubmitted,
    DeliveryApproved,
    DeliveryRejected,
    ReminderSent,
    PublicationPublished,
    DossierClosed,
    DossierReopened,
    HoldSet,
    HoldLifted,
    /// The scanner found malware in a sent document.
    DocumentQuarantined,
    /// A mail could not be delivered, for good.
    MailFailed,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    CaseSystem,
    Department,
    System,
}

/// One line of the dossier's history. Never holds a link token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub id: Id,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication_id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_id: Option<Id>,
    /// A short human summary in Dutch (e.g. "2 documenten").
    #[serde(default)]
    pub summary: String,
}
impl Record for Event {}

/// One change of the configuration, for the audit trail.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConfigChange {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub key: String,
}
impl Record for ConfigChange {}

// ---------------------------------------------------------------- mail outbox

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
    pub fn label(self, language: crate::mailtext::Language) -> &'static str {
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
            crate::mailtext::Language::Nl => nl,
            crate::mailtext::Language::En => en,
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
        rendered: crate::mailtext::Rendered,
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

// ---------------------------------------------------------------- destruction record

/// What remains of a destroyed dossier (Archiefwet: what, when, on which rule): no personal
/// data, no case number, no reversible identifier.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Destruction {
    /// HMAC of the case number under the records key ([`crate::sealing::RecordsKey`]): the
    /// portal finds a case's record; nobody without the key can tell which case it was.
    #[serde(default)]
    pub case_ref: String,
    /// Records written before `case_ref`: the bare SHA-256 of the case number (migrated away).
    #[serde(default, skip_serializing)]
    pub case_hash: Option<String>,
    /// Unknown when TTL removed the dossier's main item before the purge could read it.
    pub case_type: Option<CaseTypeKey>,
    /// The rule applied: the case type's terms when the dossier was handled.
    #[serde(default)]
    pub close_after_days: Option<u32>,
    #[serde(default)]
    pub destroy_after_days: Option<u32>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When destruction was due.
    #[serde(default)]
    pub destroy_at: Option<DateTime<Utc>>,
    pub destroyed_at: DateTime<Utc>,
    /// Documents of the dossier (every state) and their bytes.
    #[serde(default)]
    pub documents: u64,
    #[serde(default)]
    pub bytes: u64,
    /// Store items and stored files removed.
    pub items: u64,
    pub files: u64,
}

impl Record for Destruction {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        let (index, pk) = index_keys::destroyed();
        vec![
            (index.pk_attr(), Value::from(pk)),
            (index.sk_attr(), Value::from(self.listed())),
        ]
    }
}

impl Destruction {
    /// Its position in the list by destruction time.
    pub fn listed(&self) -> String {
        format!(
            "{}#{}",
            self.destroyed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.case_ref
        )
    }
}
