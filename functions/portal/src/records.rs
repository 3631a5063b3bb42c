//! The records manager's routes under `/api/v1`: destruction records (JSON or CSV, paged with
//! `Link: rel=next`) and a dossier's audit trail. Authenticated like the rest of the API.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use portaal_core::model::Destruction;
use portaal_core::usecases::records::DestructionQuery;

use crate::AppState;
use crate::problem::{ApiError, ApiResult};
use crate::state::PublicBase;

pub fn routes() -> Router<AppState> {
    Router::new().route("/destructions", get(destructions))
}

/// Whether the client asks for CSV before JSON.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .map(|part| part.split(';').next().unwrap_or("").trim())
                .find(|media| matches!(*media, "text/csv" | "application/json"))
                == Some("text/csv")
        })
}

/// One CSV field (RFC 4180), with a leading `=`, `+`, `-` or `@` neutralised so a spreadsheet
/// does not run it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

const CSV_HEADER: &str = "case_ref,case_type,closed_at,destroy_at,destroyed_at,close_after_days,destroy_after_days,documents,bytes,items,files";

fn csv(records: &[Destruction]) -> String {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let days = |d: Option<u32>| d.map(|d| d.to_string()).unwrap_or_default();
    let mut out = format!("{CSV_HEADER}\r\n");
    for r in records {
        let row = [
            r.case_ref.clone(),
            r.case_type
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            time(r.closed_at),
            time(r.destroy_at),
            time(Some(r.destroyed_at)),
            days(r.close_after_days),
            days(r.destroy_after_days),
            r.documents.to_string(),
            r.bytes.to_string(),
            r.items.to_string(),
            r.files.to_string(),
        ];
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Percent-encodes a query value.
fn query_value(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn destructions(
    State(s): State<AppState>,
    Extension(base): Extension<PublicBase>,
    headers: HeaderMap,
    q: Result<Query<DestructionQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| {
        ApiError::BadRequest(format!("the query string is not valid: {}", e.body_text()))
    })?;
    let page = s.system.portaal.destructions_page(&q).await?;
    let mut res = if wants_csv(&headers) {
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
            ],
            csv(&page.items),
        )
            .into_response()
    } else {
        Json(&page.items).into_response()
    };
    if let Some(after) = page.next {
        let mut next = format!("/api/v1/destructions?after={}", query_value(&after));
        for (name, value) in [("from", &q.from), ("to", &q.to)] {
            if let Some(v) = value {
                next.push_str(&format!("&{name}={}", query_value(v)));
            }
        }
        if let Some(limit) = q.limit {
            next.push_str(&format!("&limit={limit}"));
        }
        let link = format!("<{}{next}>; rel=\"next\"", base.url);
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("bezwaar"), "bezwaar");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("zeg \"ja\""), "\"zeg \"\"ja\"\"\"");
    }

    #[test]
    fn csv_is_asked_for_by_its_media_type_before_json() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
            wants_csv(&h)
        };
        assert!(with("text/csv"));
        assert!(with("text/csv;q=0.9, application/json;q=0.5"));
        assert!(!with("application/json, text/csv"));
        assert!(!with("*/*"));
    }
}
