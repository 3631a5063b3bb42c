//! The narrow interfaces the use cases need from the outside world. Adapters live in `infra`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{CaseId, Email, Id, Sha256};
// The adapters' errors live with the application's, which wraps them.
pub use crate::error::{BlobError, MailError, ScheduleError, StoreError};

// ---------------------------------------------------------------- store

/// One item of the single table (DESIGN.md §5): a partition key, a sort key and attributes.
/// Index keys (`gsi1pk`… see [`Index`]) and the TTL attribute `expires_at` are ordinary attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    pub attrs: Map<String, Value>,
}

impl Item {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, attrs: Map<String, Value>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            attrs,
        }
    }
    pub fn str_attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).and_then(Value::as_str)
    }
}

/// Sparse secondary indexes: only items that carry the index's key attributes appear in it.
/// CloudFormation adds one index per stack update, so each index is overloaded: several kinds of
/// item use it under index keys of their own (see `model::index_keys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    /// `gsi1`: open requests by due date (`DUE`), dossiers by status (`DOSSIERS#…`) and
    /// deliveries by state (`DELIVERIES#…`), newest last.
    Due,
    /// `gsi2`: closed dossiers by destruction time (`EXPIRY`), webhook attempts by when they
    /// are due (`HOOKDUE`).
    Expiry,
    /// `gsi3`: mail not yet sent (`OUTBOX`), events not yet sequenced (`FEEDQ`), dossiers by
    /// status and case type (`DOSSIERS#…#…`).
    Outbox,
}

impl Index {
    pub const ALL: [Index; 3] = [Index::Due, Index::Expiry, Index::Outbox];
    pub fn name(self) -> &'static str {
        match self {
            Index::Due => "gsi1",
            Index::Expiry => "gsi2",
            Index::Outbox => "gsi3",
        }
    }
    pub fn pk_attr(self) -> &'static str {
        match self {
            Index::Due => "gsi1pk",
            Index::Expiry => "gsi2pk",
            Index::Outbox => "gsi3pk",
        }
    }
    pub fn sk_attr(self) -> &'static str {
        match self {
            Index::Due => "gsi1sk",
            Index::Expiry => "gsi2sk",
            Index::Outbox => "gsi3sk",
        }
    }
}

/// The attribute DynamoDB TTL reads (epoch seconds).
pub const TTL_ATTR: &str = "expires_at";

/// A precondition on the current version of one item, checked inside the transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    None,
    /// No item with this key exists.
    NotExists,
    /// An item with this key exists.
    Exists,
    /// The item exists and the attribute equals the value.
    Equals(String, Value),
    /// The item exists and every attribute equals its value.
    AllEqual(Vec<(String, Value)>),
}

/// One write of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Replace the whole item.
    Put { item: Item, condition: Condition },
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// Only check the condition; write nothing.
    Check {
        pk: String,
        sk: String,
        condition: Condition,
    },
}

impl Write {
    pub fn put(item: Item) -> Self {
        Self::Put {
            item,
            condition: Condition::None,
        }
    }
    pub fn create(item: Item) -> Self {
        Self::Put {
            item,
            condition: Condition::NotExists,
        }
    }
    /// Deletes the item if it is there.
    pub fn delete(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self::Delete {
            pk: pk.into(),
            sk: sk.into(),
            condition: Condition::None,
        }
    }
    pub fn replace_if(item: Item, attr: &str, value: impl Into<Value>) -> Self {
        Self::Put {
            item,
            condition: Condition::Equals(attr.to_owned(), value.into()),
        }
    }
    pub fn key(&self) -> (&str, &str) {
        match self {
            Write::Put { item, .. } => (&item.pk, &item.sk),
            Write::Delete { pk, sk, .. } | Write::Check { pk, sk, .. } => (pk, sk),
        }
    }
}

/// The most writes one transaction may hold (DynamoDB's limit).
pub const MAX_TRANSACTION_WRITES: usize = 100;

/// A transaction every store accepts: 1 to MAX_TRANSACTION_WRITES writes, each to another item.
pub fn validate_transaction(writes: &[Write]) -> Result<(), StoreError> {
    let mut keys = std::collections::HashSet::new();
    if writes.is_empty()
        || writes.len() > MAX_TRANSACTION_WRITES
        || !writes.iter().all(|w| keys.insert(w.key()))
    {
        return Err(StoreError::InvalidTransaction(writes.len()));
    }
    Ok(())
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;
    /// Items of one partition whose sort key starts with `sk_prefix`, in sort-key order.
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError>;
    /// Items of a sparse index with the query's index key whose index sort key is `<= upto`
    /// (all when `None`), in index sort-key order, at most `limit`.
    async fn query_index(&self, query: IndexQuery<'_>) -> Result<Vec<Item>, StoreError>;
    /// One page of a partition, or of an index key when `query.index` is set: at most
    /// `query.limit` items strictly after `query.after` in (sort-key or index sort-key) order,
    /// reversed when `query.descending`. Exactly one read of the table or index per page.
    async fn page(&self, query: PageQuery<'_>) -> Result<Vec<Item>, StoreError>;
    /// All writes or none. Fails with `ConditionFailed` when any condition does not hold.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// After a destruction: leave no copy of deleted items behind where the store keeps them
    /// (SQLite: its write-ahead log). DynamoDB keeps none the application can reach.
    async fn scrub(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// See [`Store::query_index`].
#[derive(Clone, Copy, Debug)]
pub struct IndexQuery<'a> {
    pub index: Index,
    /// The index key.
    pub pk: &'a str,
    /// Inclusive end: the last index sort key wanted.
    pub upto: Option<&'a str>,
    pub limit: usize,
}

/// See [`Store::page`].
#[derive(Clone, Copy, Debug)]
pub struct PageQuery<'a> {
    pub index: Option<Index>,
    pub pk: &'a str,
    /// Only sort keys (or index sort keys) that start with this.
    pub prefix: Option<&'a str>,
    /// Exclusive start: a sort key (or index sort key) already seen.
    pub after: Option<&'a str>,
    /// Exclusive end: only sort keys below it.
    pub until: Option<&'a str>,
    pub descending: bool,
    pub limit: usize,
}

// ---------------------------------------------------------------- blobs

/// Where and how a client sends a file's bytes: exactly this method, URL and headers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadTarget {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// What storage knows of a stored file, without reading its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct BlobInfo {
    pub size: u64,
    /// Verified by storage against the bytes (S3 checksum, or computed while streaming locally).
    pub sha256: Option<Sha256>,
}

#[derive(Clone, Debug)]
pub struct UploadSpec<'a> {
    pub key: &'a str,
    pub size: u64,
    pub content_type: &'a str,
    pub sha256: Option<&'a Sha256>,
    pub ttl: Duration,
}

#[derive(Clone, Debug)]
pub struct DownloadSpec<'a> {
    pub key: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub inline: bool,
    pub ttl: Duration,
}

/// One part of an upload in parts, as storage holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartInfo {
    pub number: u32,
    pub size: u64,
    /// What storage answered when the part arrived; completing the upload names it.
    pub etag: String,
}

/// A part's signed upload: its size and SHA-256 are fixed by the signature, so storage refuses
/// other bytes.
#[derive(Clone, Debug)]
pub struct PartSpec<'a> {
    pub key: &'a str,
    pub upload_id: &'a str,
    pub number: u32,
    /// Where the part starts in the whole file (a store that writes parts in place uses it).
    pub offset: u64,
    pub size: u64,
    pub sha256: &'a Sha256,
    pub ttl: Duration,
}

#[async_trait]
pub trait Blobs: Send + Sync {
    /// A signed upload whose size, content type (and SHA-256 when given) are fixed by the signature.
    async fn upload_target(&self, spec: UploadSpec<'_>) -> Result<UploadTarget, BlobError>;
    /// A short-lived signed download URL.
    async fn download_url(&self, spec: DownloadSpec<'_>) -> Result<String, BlobError>;
    async fn stat(&self, key: &str) -> Result<Option<BlobInfo>, BlobError>;
    /// At most `len` bytes of a stored blob from `start` (a ranged read: the rest never moves).
    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>, BlobError>;
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Copies a blob within storage (server-side: the bytes never pass through the caller).
    async fn copy(&self, from: &str, to: &str) -> Result<(), BlobError>;
    /// Deletes every blob under the prefix; answers how many.
    async fn delete_prefix(&self, prefix: &str) -> Result<u64, BlobError>;
    /// Starts an upload in parts to `key`; answers storage's id for it.
    async fn start_parts(&self, key: &str, content_type: &str) -> Result<String, BlobError>;
    /// Where one part goes (method, URL, headers), its size and SHA-256 signed in.
    async fn part_target(&self, spec: PartSpec<'_>) -> Result<UploadTarget, BlobError>;
    /// The parts that arrived so far, by number.
    async fn parts(&self, key: &str, upload_id: &str) -> Result<Vec<PartInfo>, BlobError>;
    /// Joins the named parts, in order, into the blob at `key`. Answers the whole file's SHA-256
    /// where storage computes it while joining (locally); S3 keeps only a checksum of the parts'
    /// checksums, so there it is `None` and [`Blobs::copy_measured`] tells it later.
    async fn complete_parts(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Option<Sha256>, BlobError>;
    /// Drops an unfinished upload in parts and what arrived of it.
    async fn abort_parts(&self, key: &str, upload_id: &str) -> Result<(), BlobError>;
    /// Copies a blob within storage and answers the SHA-256 of the copy's bytes as storage
    /// measured them (S3: a CopyObject asking for a SHA-256 checksum). Slow for large files: it
    /// runs outside request handling.
    async fn copy_measured(&self, from: &str, to: &str) -> Result<Sha256, BlobError>;
    /// True when storage verifies a SHA-256 only if the uploader announced it (S3 checksums), so
    /// staging must ask for it.
    fn needs_announced_sha256(&self) -> bool {
        false
    }
}

// ---------------------------------------------------------------- malware scanning

/// What a scanner found in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The threat's name as the scanner reports it.
    Infected(String),
    /// The scanner answered but could not vouch for the file (too large, encrypted, unsupported).
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The scanner could not be asked (down, unreachable): try again later.
    #[error("{0}")]
    Unavailable(String),
}

/// A scanner the application asks itself (clamd). GuardDuty needs none: it scans on its own and
/// its verdicts arrive as events.
#[async_trait]
pub trait Scanner: Send + Sync {
    /// Scans the stored blob, reading it through `blobs`.
    async fn scan(&self, blobs: &dyn Blobs, key: &str, size: u64) -> Result<Verdict, ScanError>;
}

// ---------------------------------------------------------------- mail

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMail {
    /// The mail item's id: adapters use it to make a send idempotent where they can.
    pub id: Id,
    /// The dossier it belongs to (SES tags it, so a bounce finds its mail item).
    pub case_id: CaseId,
    pub to: Vec<Email>,
    /// Where replies go (the handler), when not to the sender.
    pub reply_to: Option<Email>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends; answers the transport's message id.
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError>;
}

/// Copies of sent mail a transport keeps (the embedded `.eml` outbox); SES and SMTP keep none
/// here. Destruction erases a dossier's.
#[async_trait]
pub trait SentMailCopies: Send + Sync {
    /// Removes every copy of these mails; answers how many files went.
    async fn erase(&self, mails: &[Id]) -> Result<u64, MailError>;
}

// ---------------------------------------------------------------- webhooks

/// What a receiver answered to one webhook POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookAnswer {
    /// An HTTP status (redirects are not followed: a 3xx is an answer like any other).
    Status(u16),
    /// No answer: refused, reset, TLS failure or the 10-second timeout.
    NoAnswer(String),
}

/// Sends one signed webhook request (the Standard Webhooks headers are made by the caller).
#[async_trait]
pub trait HookSender: Send + Sync {
    async fn post(&self, url: &str, headers: &[(&str, String)], body: &str) -> HookAnswer;
}

/// The key of one webhook attempt: which subscription, which event (by feed sequence).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookKey {
    pub subscription_id: Id,
    pub seq: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("{0}")]
    Backend(String),
}

/// Where attempts wait until they are due. The store's `HOOKDUE` index always holds them; a
/// queue (SQS on AWS) can hand them to a sender sooner. Locally the timer reads the index.
#[async_trait]
pub trait HookQueue: Send + Sync {
    async fn enqueue(&self, key: &HookKey, delay: Duration) -> Result<(), QueueError>;
}

/// No queue: the timer (or the scheduled sweep) finds due attempts in the store's index.
pub struct IndexOnlyQueue;

#[async_trait]
impl HookQueue for IndexOnlyQueue {
    async fn enqueue(&self, _key: &HookKey, _delay: Duration) -> Result<(), QueueError> {
        Ok(())
    }
}

// ---------------------------------------------------------------- scheduler

/// Work that a one-time schedule triggers: the payload of the `reminder` and `purge` functions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    Reminder {
        case_id: CaseId,
        request_id: Id,
        step: i32,
    },
    Purge {
        case_id: CaseId,
    },
    /// At 00:00 Dutch time the day after `due`: reports the request overdue (once).
    Overdue {
        case_id: CaseId,
        request_id: Id,
    },
}

impl Job {
    /// Deterministic, so re-scheduling replaces instead of duplicating. At most 64 characters.
    pub fn schedule_name(&self) -> String {
        use sha2::{Digest, Sha256};
        let raw = match self {
            Job::Reminder {
                case_id,
                request_id,
                step,
            } => format!("r|{case_id}|{request_id}|{step}"),
            Job::Purge { case_id } => format!("p|{case_id}"),
            Job::Overdue {
                case_id,
                request_id,
            } => format!("o|{case_id}|{request_id}"),
        };
        let prefix = match self {
            Job::Reminder { .. } => "reminder",
            Job::Purge { .. } => "purge",
            Job::Overdue { .. } => "overdue",
        };
        // Case ids may hold characters schedule names refuse, so name by hash.
        format!(
            "{prefix}-{}",
            &hex::encode(Sha256::digest(raw.as_bytes()))[..40]
        )
    }
}

#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Create or replace the one-time schedule for this job.
    async fn upsert(&self, job: &Job, at: DateTime<Utc>) -> Result<(), ScheduleError>;
    /// Remove it; absent is fine.
    async fn remove(&self, job: &Job) -> Result<(), ScheduleError>;
    /// When the job's schedule fires, if one exists.
    async fn scheduled_at(&self, job: &Job) -> Result<Option<DateTime<Utc>>, ScheduleError>;
}

// ---------------------------------------------------------------- clock

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_names_are_deterministic_and_short() {
        let job = Job::Reminder {
            case_id: crate::domain::CaseId::parse("BZ-1").unwrap(),
            request_id: Id::from_ulid(ulid::Ulid::nil()),
            step: -2,
        };
        assert_eq!(job.schedule_name(), job.clone().schedule_name());
        assert!(job.schedule_name().len() <= 64);
    }
}
