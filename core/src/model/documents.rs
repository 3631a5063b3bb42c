//! Deliveries, documents and publications.

use super::*;

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
                Value::from(format!("{}#{}", keys::time_key(self.submitted_at), self.id)),
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
    /// False while `sha256` is the one the uploader computed and storage has not yet confirmed
    /// it (a file sent in parts to S3, which keeps only a checksum of the parts' checksums).
    #[serde(default = "verified")]
    pub sha256_verified: bool,
    /// A file sent in parts: its storage upload and how far it got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<PartedUpload>,
}

fn verified() -> bool {
    true
}

impl Document {
    /// A file joined from parts whose SHA-256 storage did not measure while joining (S3): it is
    /// sent where it was joined, and the check after sending copies it under the dossier.
    pub fn awaits_measured_copy(&self) -> bool {
        self.parts.is_some() && !self.sha256_verified
    }
}

/// A staged file sent in parts (S3 multipart, or the same protocol locally).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PartedUpload {
    /// Storage's id of the upload.
    pub upload_id: String,
    /// Every part has this size, the last one the rest.
    pub part_size: u64,
    /// The SHA-256 of part 1 as its URL was signed: with name and size, it recognises the same
    /// file chosen again after a reload (the upload resumes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_part_sha256: Option<Sha256>,
    /// The parts were joined into the file.
    #[serde(default)]
    pub completed: bool,
    /// A request is joining the parts since then: one at a time (a second complete waits for
    /// its answer); a claim this old lapses, in case that request never finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completing_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl PartedUpload {
    /// How many parts a file of `size` bytes has.
    pub fn count(&self, size: u64) -> u32 {
        u32::try_from(size.div_ceil(self.part_size.max(1))).unwrap_or(u32::MAX)
    }

    /// Where part `number` (1-based) starts in the file.
    pub fn offset_of(&self, number: u32) -> u64 {
        u64::from(number.saturating_sub(1)) * self.part_size
    }

    /// The size of part `number` (1-based) of a file of `size` bytes.
    pub fn size_of(&self, number: u32, size: u64) -> u64 {
        let start = u64::from(number - 1) * self.part_size;
        size.saturating_sub(start).min(self.part_size)
    }
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
