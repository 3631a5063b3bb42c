//! The records manager's console page (role `records`): the destruction records of a period
//! (also as CSV, like `GET /api/v1/destructions`), the dossiers destroyed within 30 days, and
//! the legal holds with their reasons.

use axum::Router;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portaal_core::error::Error;
use portaal_core::model::Destruction;
use portaal_core::usecases::audit::AuditResult;
use portaal_core::usecases::records::DestructionQuery;
use serde::Deserialize;

use super::admin::{chrome, failed, no_store};
use super::{Page, Records, Staff};
use crate::AppState;
use crate::page::staff_admin::{
    DestroyedRow, DestructionsView, DueRow, HoldRow, Input, TimeTag, destructions_page,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/destructions", get(destructions))
        .route("/staff/destructions.csv", get(destructions_csv))
}

/// Destruction records the page lists at most (the CSV has them all).
const PAGE_RECORDS: usize = 200;
/// Records per read of the CSV, and reads at most (a million records).
const CSV_READ: usize = 1000;
const CSV_READS: usize = 1000;
/// Legal holds the page lists at most.
const PAGE_HOLDS: usize = 200;
/// The days ahead the page shows destruction of.
const AHEAD_DAYS: u64 = 30;

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

impl PeriodQuery {
    fn from(&self) -> Option<String> {
        self.from.clone().filter(|f| !f.trim().is_empty())
    }
    fn to(&self) -> Option<String> {
        self.to.clone().filter(|t| !t.trim().is_empty())
    }
}

/// `GET /staff/destructions`.
async fn destructions(staff: Staff<Records>, Query(q): Query<PeriodQuery>) -> Response {
    let (page, signed_in) = (staff.page(), &staff.signed_in);
    let portaal = staff.console.portaal();
    let lang = page.lang;
    let mut from = Input::of(q.from().unwrap_or_default());
    let mut to = Input::of(q.to().unwrap_or_default());
    let query = DestructionQuery {
        from: q.from(),
        to: q.to(),
        limit: Some(PAGE_RECORDS),
        ..Default::default()
    };
    let mut status = StatusCode::OK;
    let (destroyed, destroyed_more) = match portaal.destructions_page(&query).await {
        Ok(found) => (
            found.items.iter().map(|r| destroyed_row(r, lang)).collect(),
            found.next.is_some(),
        ),
        Err(Error::Invalid(message)) => {
            status = StatusCode::BAD_REQUEST;
            let in_field = message.starts_with("to");
            let message = lang.message(&message);
            if in_field {
                to.error = Some(message);
            } else {
                from.error = Some(message);
            }
            (Vec::new(), false)
        }
        Err(e) => return failed(&page, "reading destruction records failed", &e),
    };
    portaal.log_unfiled_call(
        "destructions.view",
        "/staff/destructions",
        AuditResult::Success,
        &staff.actor(),
        &staff.console.ip.origin(),
    );
    let today = portaal_core::localtime::dutch_today(chrono::Utc::now());
    let before = (today + chrono::Days::new(AHEAD_DAYS + 1))
        .format("%Y-%m-%d")
        .to_string();
    let upcoming = match portaal
        .dossiers_destroyed_before(&before, None, None, PAGE_RECORDS)
        .await
    {
        Ok(found) => found
            .items
            .iter()
            .map(|d| DueRow {
                case_id: d.case_id.to_string(),
                title: d.title.clone(),
                case_type: d.case_type.to_string(),
                destroys: d.destroys_at.map(|at| TimeTag::at(at, lang)),
                on_hold: d.on_hold,
            })
            .collect(),
        Err(e) => return failed(&page, "reading dossiers due for destruction failed", &e),
    };
    let (holds, holds_more) = match legal_holds(&page).await {
        Ok(found) => found,
        Err(e) => return failed(&page, "looking for legal holds failed", &e),
    };
    let mut csv_query = Vec::new();
    for (name, value) in [("from", q.from()), ("to", q.to())] {
        if let Some(v) = value {
            csv_query.push(format!(
                "{name}={}",
                percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
    }
    if lang == crate::page::Lang::En {
        csv_query.push("lang=en".to_owned());
    }
    let view = DestructionsView {
        from,
        to,
        csv_query: if csv_query.is_empty() {
            String::new()
        } else {
            format!("?{}", csv_query.join("&"))
        },
        destroyed,
        destroyed_more,
        upcoming,
        holds,
        holds_more,
    };
    no_store(page.html(
        status,
        destructions_page(view, chrome(&page, signed_in, None)),
    ))
}

fn destroyed_row(r: &Destruction, lang: crate::page::Lang) -> DestroyedRow {
    DestroyedRow {
        case_ref: r.case_ref.clone(),
        case_type: r
            .case_type
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_else(|| lang.admin_texts().unknown.to_owned()),
        closed: r.closed_at.map(|at| TimeTag::at(at, lang)),
        destroy_due: r.destroy_at.map(|at| TimeTag::at(at, lang)),
        destroyed: TimeTag::at(r.destroyed_at, lang),
        documents: r.documents,
    }
}

/// Dossiers under a legal hold, open or closed, with their reasons, oldest first, from the holds
/// index; whether there are more than the page shows.
async fn legal_holds(page: &Page<'_>) -> Result<(Vec<HoldRow>, bool), Error> {
    let found = page
        .state
        .system
        .portaal
        .legal_holds(None, PAGE_HOLDS)
        .await?;
    let rows = found
        .items
        .iter()
        .map(|h| HoldRow {
            case_id: h.case_id.to_string(),
            title: h.title.clone(),
            reason: h.hold.reason.clone(),
            since: TimeTag::at(h.hold.since, page.lang),
        })
        .collect();
    Ok((rows, found.next.is_some()))
}

/// `GET /staff/destructions.csv`: every destruction record of the period as CSV (RFC 4180,
/// formulas neutralised), the same columns as `GET /api/v1/destructions` with `Accept: text/csv`.
async fn destructions_csv(staff: Staff<Records>, Query(q): Query<PeriodQuery>) -> Response {
    let page = staff.page();
    let portaal = staff.console.portaal();
    let mut records = Vec::new();
    let mut after = None;
    for _ in 0..CSV_READS {
        let query = DestructionQuery {
            from: q.from(),
            to: q.to(),
            limit: Some(CSV_READ),
            after: after.take(),
            ..Default::default()
        };
        match portaal.destructions_page(&query).await {
            Ok(found) => {
                records.extend(found.items);
                match found.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            Err(Error::Invalid(message)) => {
                let a = page.lang.admin_texts();
                let message = page.lang.message(&message);
                return page.error(StatusCode::BAD_REQUEST, a.error_title, &message);
            }
            Err(e) => return failed(&page, "reading destruction records failed", &e),
        }
    }
    portaal.log_unfiled_call(
        "destructions.view",
        "/staff/destructions.csv",
        AuditResult::Success,
        &staff.actor(),
        &staff.console.ip.origin(),
    );
    (
        [
            (
                header::CONTENT_TYPE,
                "text/csv; charset=utf-8; header=present",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"vernietigingen.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        crate::records::csv(&records),
    )
        .into_response()
}
