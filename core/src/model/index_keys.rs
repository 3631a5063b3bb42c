//! The overloaded index keys of dossiers and deliveries (see [`Index`]).

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

/// `gsi3`: staff sessions and pending sign-ins by when they end. DynamoDB's TTL deletes them;
/// the embedded store has no TTL, so the local server sweeps them from here.
pub const STAFF_EXPIRY: &str = "STAFFEXPIRY";

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

/// Dossiers under a legal hold, by when it was set (`gsi2`, the `HOLD` items beside them).
pub const HOLDS: &str = "HOLDS";

/// Deliveries of a state (`gsi1`).
pub fn deliveries(state: DeliveryState) -> (Index, String) {
    let name = match state {
        DeliveryState::Submitted => "submitted",
        DeliveryState::Approved => "approved",
        DeliveryState::Rejected => "rejected",
    };
    (Index::Due, format!("DELIVERIES#{name}"))
}
