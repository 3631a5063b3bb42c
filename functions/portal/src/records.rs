//! The records manager's routes under `/api/v1`: destruction records (JSON or CSV, paged with
//! `Link: rel=next`) and a dossier's audit trail. Authenticated like the rest of the API.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, RequestExt, Router};
use portaal_core::audit::{AuditResult, Origin};
use portaal_core::domain::CaseId;
use portaal_core::model::Destruction;
use portaal_core::usecases::records::DestructionQuery;
use serde::Deserialize;

use crate::AppState;
use crate::caller::Caller;
use crate::portal::ClientIp;
use crate::problem::{ApiError, ApiResult};
use crate::state::PublicBase;
use portaal_core::Portaal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/destructions", get(destructions))
        .route("/dossiers/{case_id}/audit", get(audit_trail))
}

/// The audit action of an API route (its method and path template under `/api/v1`).
fn action(method: &Method, route: &str) -> Option<&'static str> {
    let m = method.as_str();
    Some(match (m, route) {
        ("GET", "/dossiers/{case_id}") => "dossier.view",
        ("PUT", "/dossiers/{case_id}") => "dossier.register",
        ("POST", "/dossiers/{case_id}/requests") => "request.create",
        ("PATCH", "/dossiers/{case_id}/requests/{request_id}") => "request.update",
        ("POST", "/dossiers/{case_id}/requests/{request_id}/link") => "link.rotate",
        ("GET", "/dossiers/{case_id}/deliveries/{delivery_id}") => "delivery.view",
        ("POST", "/dossiers/{case_id}/deliveries/{delivery_id}/approve") => "delivery.approve",
        ("POST", "/dossiers/{case_id}/deliveries/{delivery_id}/reject") => "delivery.reject",
        ("GET", "/dossiers/{case_id}/documents/{document_id}/content") => "document.download",
        ("POST", "/dossiers/{case_id}/publications") => "publication.create",
        ("POST", "/dossiers/{case_id}/publications/{publication_id}/publish") => {
            "publication.publish"
        }
        ("POST", "/dossiers/{case_id}/close") => "dossier.close",
        ("POST", "/dossiers/{case_id}/reopen") => "dossier.reopen",
        ("PUT", "/dossiers/{case_id}/hold") => "hold.set",
        ("DELETE", "/dossiers/{case_id}/hold") => "hold.lift",
        ("GET", "/dossiers/{case_id}/audit") => "audit.view",
        ("PUT" | "PATCH", "/case-types/{key}") => "casetype.change",
        ("POST", "/subscriptions") => "subscription.create",
        ("DELETE", "/subscriptions/{id}") => "subscription.delete",
        ("POST", "/subscriptions/{id}/rotate-secret") => "subscription.rotate_secret",
        ("POST", "/subscriptions/{id}/redeliver") => "subscription.redeliver",
        ("GET", "/destructions") => "destructions.view",
        _ => return None,
    })
}

/// One API call to audit: what, on what, by whom, from where.
pub(crate) struct AuditedCall {
    action: &'static str,
    case: Option<CaseId>,
    object: String,
    actor: String,
    origin: Origin,
}

/// Actions only logged, never stored in the dossier's trail: reading the trail would otherwise
/// add to what it reads, and a paging reader would never reach the end.
const LOGGED_ONLY: &[&str] = &["audit.view"];

impl AuditedCall {
    /// The call's audit data, when its route is one that is audited.
    pub(crate) async fn of(req: &mut Request, caller: &Caller, ip: &ClientIp) -> Option<Self> {
        let template = req.extensions().get::<MatchedPath>()?.as_str().to_owned();
        let route = template.strip_prefix("/api/v1").unwrap_or(&template);
        let action = action(req.method(), route)?;
        // The router's own parameters, decoded.
        let params = req
            .extract_parts::<axum::extract::RawPathParams>()
            .await
            .ok()?;
        let param = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
        // The most specific thing named in the path.
        let object = [
            "document_id",
            "delivery_id",
            "publication_id",
            "request_id",
            "id",
            "key",
        ]
        .iter()
        .find_map(|name| param(name).map(|v| format!("{}:{v}", name.trim_end_matches("_id"))))
        .or_else(|| param("case_id").map(|c| format!("dossier:{c}")))
        .unwrap_or_else(|| route.to_owned());
        let case = param("case_id")
            .filter(|_| !LOGGED_ONLY.contains(&action))
            .and_then(|c| CaseId::parse(c).ok());
        Some(Self {
            action,
            case,
            object,
            actor: caller.actor(),
            origin: ip.origin(),
        })
    }

    /// Logs the call, and stores it in the dossier's trail (see `Portaal::record_audit`).
    pub(crate) async fn record(self, state: &AppState, status: StatusCode) {
        let result = AuditResult::of_status(status.as_u16());
        let portaal = &state.system.portaal;
        let Some(case) = &self.case else {
            portaal.log_unfiled_call(self.action, &self.object, result, &self.actor, &self.origin);
            return;
        };
        let entry = portaal.audit_entry(
            case,
            self.action,
            self.object,
            result,
            self.actor,
            &self.origin,
        );
        if let Err(e) = portaal.record_audit(&entry).await {
            tracing::error!(error = %e, action = entry.action, "audit entry not stored");
        }
    }
}

#[derive(Deserialize)]
struct TrailQuery {
    after: Option<String>,
    limit: Option<usize>,
}

async fn audit_trail(
    State(portaal): State<Portaal>,
    Extension(base): Extension<PublicBase>,
    Path(case): Path<String>,
    q: Result<Query<TrailQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let q = crate::integration::query(q)?;
    let case = CaseId::parse(&case)
        .map_err(|_| ApiError::NotFound(format!("dossier {case} not found")))?;
    let page = portaal
        .audit_trail(&case, q.after.as_deref(), q.limit)
        .await?;
    let mut res =
        Json(serde_json::json!({ "entries": page.items, "next": page.next })).into_response();
    if let Some(after) = &page.next {
        let path = format!("/api/v1/dossiers/{case}/audit");
        link_next(
            &mut res,
            &base,
            &path,
            after,
            &[("limit", q.limit.map(|l| l.to_string()))],
        );
    }
    Ok(res)
}

/// Whether the client asks for CSV before JSON.
fn wants_csv(headers: &HeaderMap) -> bool {
    crate::negotiate::preferred(headers, &["application/json", "text/csv"]) == Some("text/csv")
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

pub(crate) fn csv(records: &[Destruction]) -> String {
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

/// `Link: <…>; rel="next"`: the same list from `after` on, with the query's other parameters.
fn link_next(
    res: &mut Response,
    base: &PublicBase,
    path: &str,
    after: &str,
    kept: &[(&str, Option<String>)],
) {
    let mut next = format!("{}{path}?after={}", base.url, query_value(after));
    for (name, value) in kept {
        if let Some(v) = value {
            next.push_str(&format!("&{name}={}", query_value(v)));
        }
    }
    if let Ok(v) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
        res.headers_mut().insert(header::LINK, v);
    }
}

/// Percent-encodes a query value.
fn query_value(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn destructions(
    State(portaal): State<Portaal>,
    Extension(base): Extension<PublicBase>,
    headers: HeaderMap,
    q: Result<Query<DestructionQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let q = crate::integration::query(q)?;
    let page = portaal.destructions_page(&q).await?;
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
    if let Some(after) = &page.next {
        let kept = [
            ("from", q.from.clone()),
            ("to", q.to.clone()),
            ("limit", q.limit.map(|l| l.to_string())),
        ];
        link_next(&mut res, &base, "/api/v1/destructions", after, &kept);
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
