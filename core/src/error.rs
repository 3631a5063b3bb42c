/// What a use case can answer besides success. Variants map one-to-one to HTTP problem types.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
    /// Invalid, with each mistake at its place (a template's line and column).
    #[error("{detail}")]
    InvalidFields {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("{0} not found")]
    NotFound(String),
    /// A portal link that opens nothing (unknown, rotated, or not a link at all).
    #[error("this link is not known; check it against the e-mail you received")]
    UnknownLink,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    /// A link whose request the case system withdrew: it shows nothing any more.
    #[error("this request was withdrawn; its link no longer gives access")]
    RequestWithdrawn,
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedType(String),
    /// Not possible yet; asking again after `retry_after_secs` may succeed (a scan in progress).
    #[error("{detail}")]
    NotYet {
        detail: String,
        retry_after_secs: u32,
    },
    /// Over a rate limit; allowed again after `retry_after_secs`.
    #[error("{detail}")]
    TooMany {
        detail: String,
        retry_after_secs: u32,
    },
    /// Never allowed for anyone (a quarantined file).
    #[error("{0}")]
    Forbidden(String),
    /// Well-formed, but the content is refused (a file that is not what it was announced as).
    #[error("{0}")]
    Unprocessable(String),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("blob storage: {0}")]
    Blob(#[from] BlobError),
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    #[error("scheduler: {0}")]
    Schedule(#[from] ScheduleError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::Conflict(msg.into())
    }
    /// [`Error::InvalidFields`] listing `errors`, the first in `detail`.
    pub fn mistakes(errors: Vec<FieldError>) -> Self {
        let detail = match errors.first() {
            Some(first) => format!(
                "{} mistake(s) in the mail texts; the first: {}: {}",
                errors.len(),
                first.field,
                first.detail
            ),
            None => "the mail texts are not valid".to_owned(),
        };
        Self::InvalidFields { detail, errors }
    }

    /// `Ok` without mistakes, else [`Error::mistakes`].
    pub fn unless_mistakes(errors: Vec<FieldError>) -> Result<()> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self::mistakes(errors))
        }
    }

    /// True for failures of the system rather than of the request.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::Store(_) | Self::Blob(_) | Self::Mail(_) | Self::Schedule(_) | Self::Corrupt(_)
        )
    }
}

/// One mistake in a request body: the field, where in its text (1-based), and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub detail: String,
}

impl FieldError {
    pub fn new(field: &str, detail: String) -> Self {
        Self {
            field: field.to_owned(),
            line: None,
            column: None,
            detail,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

// ---------------------------------------------------------------- the ports' errors

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition did not hold; nothing was written. `index` is the failing write, when known.
    #[error("condition failed (write {index:?})")]
    ConditionFailed { index: Option<usize> },
    #[error("a transaction holds {0} writes; at most 100 are allowed, each key once")]
    InvalidTransaction(usize),
    #[error("{0}")]
    Backend(String),
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{0}")]
    Backend(String),
    /// Storage refused what the client sent (a part missing, of the wrong size, or not matching
    /// the ETag named): the client can correct it.
    #[error("{0}")]
    Refused(String),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail can never be sent (e.g. a refused address): do not retry.
    #[error("rejected: {0}")]
    Rejected(String),
    #[error("{0}")]
    Backend(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Backend(String),
}
