//! The timeline's events and configuration changes.

use super::*;

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
