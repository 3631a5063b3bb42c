//! What the API and the portal page show. Built from records; never holds a token hash.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::casetype::UploadRules;
use crate::domain::{CaseId, CaseTypeKey, ContentType, Date, Email, Filename, Id, Sha256};
use crate::model::{
    Decision, Delivery, DeliveryState, Document, DocumentState, Dossier, DossierStatus, Event,
    Hold, Person, Request, RequestState, ScanState, Submitter,
};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DocumentView {
    pub id: Id,
    pub filename: Filename,
    pub size: u64,
    pub content_type: ContentType,
    pub sha256: Option<Sha256>,
    pub state: DocumentState,
    /// Malware scan: `pending`, `clean`, `infected` (quarantined), `failed` or `not_scanned`.
    pub scan: ScanState,
    /// False while `sha256` is the uploader's and storage has not yet confirmed it (a file sent
    /// in parts to S3; checked shortly after it is sent).
    pub sha256_verified: bool,
    /// A staged file sent in parts: how, and how far it got (for resuming).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts: Option<PartsView>,
}

/// What a client needs to resume an upload in parts.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PartsView {
    pub part_size: u64,
    /// Part 1's SHA-256 once its URL was asked: the same file chosen again has the same.
    pub first_part_sha256: Option<Sha256>,
    /// The parts were joined: nothing more to send.
    pub completed: bool,
}

impl From<&Document> for DocumentView {
    fn from(d: &Document) -> Self {
        Self {
            id: d.id.clone(),
            filename: d.filename.clone(),
            size: d.size,
            content_type: d.content_type.clone(),
            sha256: d.sha256.clone(),
            state: d.state,
            scan: d.scan,
            sha256_verified: d.sha256_verified,
            parts: d
                .parts
                .as_ref()
                .filter(|_| d.state == DocumentState::Staged)
                .map(|p| PartsView {
                    part_size: p.part_size,
                    first_part_sha256: p.first_part_sha256.clone(),
                    completed: p.completed,
                }),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DeliveryView {
    pub id: Id,
    pub request_id: Id,
    pub state: DeliveryState,
    pub comment: String,
    pub submitted_by: Person,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub documents: Vec<DocumentView>,
}

impl DeliveryView {
    pub fn build(delivery: &Delivery, docs: &[Document]) -> Self {
        let documents = delivery
            .documents
            .iter()
            .filter_map(|id| docs.iter().find(|d| &d.id == id))
            .map(DocumentView::from)
            .collect();
        Self {
            id: delivery.id.clone(),
            request_id: delivery.request_id.clone(),
            state: delivery.state,
            comment: delivery.comment.clone(),
            submitted_by: delivery.submitted_by.clone(),
            submitted_at: delivery.submitted_at,
            decided_at: delivery.decided_at,
            reason: delivery.reason.clone(),
            documents,
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RequestView {
    pub id: Id,
    pub case_id: CaseId,
    pub department: String,
    pub to: Vec<Email>,
    pub due: Date,
    pub message: String,
    pub language: crate::mailtext::Language,
    pub state: RequestState,
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub reminder_days: Vec<i32>,
    pub reminders_sent: Vec<i32>,
    /// Mails about this request that could not be delivered, for good (oldest first).
    pub mail_failures: Vec<MailFailureView>,
    /// Only in the answer that creates or rotates the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_url: Option<String>,
}

impl RequestView {
    pub fn build(r: &Request, today: NaiveDate) -> Self {
        Self {
            id: r.id.clone(),
            case_id: r.case_id.clone(),
            department: r.department.clone(),
            to: r.to.clone(),
            due: r.due,
            message: r.message.clone(),
            language: r.language,
            state: r.state,
            overdue: r.state == RequestState::Open && r.due.0 < today,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
            reminder_days: r.reminder_days.clone(),
            reminders_sent: r.reminders_sent.clone(),
            mail_failures: Vec::new(),
            portal_url: None,
        }
    }

    /// With the mail failures the dossier's timeline holds for this request.
    pub fn with_mail_failures(mut self, events: &[crate::model::Event]) -> Self {
        self.mail_failures = events
            .iter()
            .filter(|e| {
                e.kind == crate::model::EventKind::MailFailed
                    && e.request_id.as_ref() == Some(&self.id)
            })
            .map(|e| MailFailureView {
                at: e.at,
                detail: e.summary.clone(),
            })
            .collect();
        self
    }
}

/// A mail that could not be delivered: when it was given up, and what (kind, recipient, reason).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MailFailureView {
    pub at: DateTime<Utc>,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PublicationView {
    pub id: Id,
    pub document: DocumentView,
    pub request_id: Option<Id>,
    pub message: String,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DossierView {
    pub case_id: CaseId,
    pub case_type: CaseTypeKey,
    pub case_type_name: String,
    pub title: String,
    pub remarks: String,
    pub submitter: Submitter,
    pub decision: Option<Decision>,
    pub handler: Person,
    pub status: DossierStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    /// When a handled dossier's links stop (until then they read, without uploads).
    pub closes_at: Option<DateTime<Utc>>,
    /// When the dossier is destroyed.
    pub destroys_at: Option<DateTime<Utc>>,
    /// The same as `destroys_at` (kept for clients written before it).
    pub expires_at: Option<DateTime<Utc>>,
    pub hold: Option<Hold>,
    pub requests: Vec<RequestView>,
    pub deliveries: Vec<DeliveryView>,
    pub publications: Vec<PublicationView>,
    /// The newest events (at most 100), oldest first.
    pub timeline: Vec<Event>,
    /// The `before` cursor of the older events (`GET …/timeline?before=`); `None` when the
    /// timeline holds them all.
    pub timeline_next: Option<String>,
}

impl DossierView {
    pub fn summary(d: &Dossier) -> Self {
        Self {
            case_id: d.case_id.clone(),
            case_type: d.case_type.clone(),
            case_type_name: d.case_type_name.clone(),
            title: d.title.clone(),
            remarks: d.remarks.clone(),
            submitter: d.submitter.clone(),
            decision: d.decision.clone(),
            handler: d.handler.clone(),
            status: d.status,
            created_at: d.created_at,
            updated_at: d.updated_at,
            closed_at: d.closed_at,
            result: d.result.clone(),
            closes_at: d.closes_at,
            destroys_at: d.destroy_at,
            expires_at: d.destroy_at,
            hold: d.hold.clone(),
            requests: Vec::new(),
            deliveries: Vec::new(),
            publications: Vec::new(),
            timeline: Vec::new(),
            timeline_next: None,
        }
    }
}

/// The dossier as a link holder sees it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PortalDossier {
    pub case_id: CaseId,
    pub case_type: crate::domain::CaseTypeKey,
    pub case_type_name: String,
    pub title: String,
    pub remarks: String,
    /// Absent when the case type hides the submitter from departments.
    pub submitter: Option<Submitter>,
    pub decision: Option<Decision>,
    pub handler_name: String,
    /// Set once the case is handled: the link reads (no uploads) until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PortalRequest {
    pub department: String,
    pub due: Date,
    pub state: RequestState,
    pub overdue: bool,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PortalView {
    /// The organisation (`PORTAAL_ORG_NAME`), for the page's header and footer; may be empty.
    pub org_name: String,
    pub dossier: PortalDossier,
    pub request: PortalRequest,
    pub deliveries: Vec<DeliveryView>,
    pub publications: Vec<PublicationView>,
    /// The request's part of the dossier's newest events (at most 100), oldest first.
    pub timeline: Vec<Event>,
    /// The `before` cursor of older events (`GET /p/{token}/timeline?before=`); `None` when
    /// there are none.
    pub timeline_next: Option<String>,
    /// Files uploaded through this link and not yet sent.
    pub staged: Vec<DocumentView>,
    pub upload: UploadRules,
    /// Files larger than this (bytes) are sent in parts (`PORTAAL_PART_THRESHOLD_BYTES`).
    pub part_threshold: u64,
    /// False once the dossier is closed or the request withdrawn: uploads are refused.
    pub accepting: bool,
}

/// One page of a list, and where the next begins.
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}
