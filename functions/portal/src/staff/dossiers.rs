//! The case handler's dossiers in the staff console (`/staff/dossiers…`, role `handler`): the
//! list with its search, one dossier, and its actions. Each action is a POST form with the
//! session's CSRF token that calls the same use case as the case-system API, is recorded in the
//! dossier's audit trail with the signed-in user (`staff:{sub} <{email}>`) as actor and under the
//! API's action names, and ends in a redirect back to the dossier with a message (POST, redirect,
//! GET); a refused or failed action shows the dossier again with the problem, never a panic.
//!
//! A child module of [`super`] (the console's session, role and CSRF checks), in a file of its
//! own at the top of `src` so the route-coverage test reads its routes.

use axum::Router;
use axum::extract::rejection::FormRejection;
use std::collections::HashMap;

use axum::extract::{Form, MatchedPath, Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portaal_core::Portaal;
use portaal_core::audit::AuditResult;
use portaal_core::domain::{CaseId, Id};
use portaal_core::error::Error as CoreError;
use portaal_core::staff::Role;
use portaal_core::usecases::dossier::{DecisionInput, DossierInput, PersonInput, SubmitterInput};
use portaal_core::usecases::lifecycle::CloseInput;
use portaal_core::usecases::lists::DossierFilter;
use portaal_core::usecases::portal::UploadInput;
use portaal_core::usecases::publication::PublicationInput;
use portaal_core::usecases::request::{RequestInput, RequestPatch, RotateInput};
use portaal_core::usecases::review::RejectInput;
use serde::Deserialize;

use super::{Console, CsrfField, Handler, SignedIn, Staff, StaffForm};
use crate::AppState;
use crate::page::Lang;
use crate::page::staff::dossier::{
    Done, DossierExtras, ListFilter, Listing, Problem, RegisterValues, RequestValues, dossier_page,
    dossiers_page, query_string, register_page,
};
use crate::problem::ApiError;

/// Dossiers the list shows per page of the store it reads.
const LIST_PAGE: usize = 50;
/// Store pages a search reads at most before it offers the next.
const SEARCH_PAGES: usize = 10;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/dossiers", get(list).post(register))
        .route("/staff/dossiers/new", get(register_form))
        .route("/staff/dossiers/{case_id}", get(show))
        .route(
            "/staff/dossiers/{case_id}/documents/{document_id}/download",
            post(act),
        )
        .route(
            "/staff/dossiers/{case_id}/deliveries/{delivery_id}/approve",
            post(act),
        )
        .route(
            "/staff/dossiers/{case_id}/deliveries/{delivery_id}/reject",
            post(act),
        )
        .route("/staff/dossiers/{case_id}/requests", post(act))
        .route(
            "/staff/dossiers/{case_id}/requests/{request_id}/due",
            post(act),
        )
        .route(
            "/staff/dossiers/{case_id}/requests/{request_id}/withdraw",
            post(act),
        )
        .route(
            "/staff/dossiers/{case_id}/requests/{request_id}/link",
            post(act),
        )
        .route("/staff/dossiers/{case_id}/close", post(act))
        .route("/staff/dossiers/{case_id}/reopen", post(act))
        .route("/staff/dossiers/{case_id}/hold", post(act))
        .route("/staff/dossiers/{case_id}/hold/lift", post(act))
        .route(
            "/staff/dossiers/{case_id}/publications",
            post(stage_publication),
        )
        .route(
            "/staff/dossiers/{case_id}/publications/{publication_id}/publish",
            post(act),
        )
}

impl Console {
    fn lang_pair(&self) -> (&'static str, &'static str) {
        ("lang", if self.lang == Lang::En { "en" } else { "" })
    }

    /// Records a console action in the dossier's trail (and the log), as the API does its calls.
    async fn audit(
        &self,
        signed_in: &SignedIn,
        case: &CaseId,
        action: &str,
        object: String,
        result: AuditResult,
    ) {
        let portaal = self.portaal();
        let entry = portaal.audit_entry(
            case,
            action,
            object,
            result,
            signed_in.session.user.actor(),
            &self.ip.origin(),
        );
        if let Err(e) = portaal.record_audit(&entry).await {
            tracing::error!(error = %e, action, "audit entry not stored");
        }
    }

    /// `/staff/dossiers/{case}` under the base path, in the page's language, with `done`.
    fn dossier_url(&self, case: &CaseId, done: Option<Done>) -> String {
        format!(
            "/staff/dossiers/{case}{}",
            query_string(&[("done", done.map_or("", Done::as_str)), self.lang_pair()])
        )
    }

    fn not_found(&self, case: &str) -> Response {
        let d = self.lang.dossier_texts();
        let case: String = case.chars().take(64).collect();
        self.page().error(
            StatusCode::NOT_FOUND,
            d.not_found_title,
            &crate::page::texts::fill(d.not_found_detail, &[("case", &case)]),
        )
    }

    /// A core error as the page shows it: its status and the caller's part of its message, in
    /// the page's language.
    fn problem(&self, e: CoreError, form: &str) -> Problem {
        let error = ApiError::Core(e);
        let status = error.status();
        if status.is_server_error() {
            tracing::error!(error = %error, "a console action failed");
        }
        Problem {
            status: status.as_u16(),
            detail: self.lang.message(&error.detail()),
            form: form.to_owned(),
        }
    }

    /// The dossier page, with a message or a problem.
    async fn dossier(
        &self,
        signed_in: &SignedIn,
        case: &CaseId,
        before: Option<&str>,
        done: Option<Done>,
        problem: Option<Problem>,
        new_request: &RequestValues,
    ) -> Response {
        let page = self.page();
        let portaal = self.portaal();
        // Paged back (`?before=`): the dossier's items and that page of its history, read at
        // once; a cursor that is none is refused once the dossier is known to exist.
        let cursor = before.map(portaal_core::usecases::timeline::parse_cursor);
        let read = match &cursor {
            Some(Ok(cursor)) => portaal.get_dossier_before(case, cursor).await,
            _ => portaal.get_dossier(case).await,
        };
        let view = match read {
            Ok(view) => view,
            Err(CoreError::NotFound(_)) => return self.not_found(case.as_str()),
            Err(e) => {
                let p = self.problem(e, "");
                let status =
                    StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return page.error(status, "Error", &p.detail);
            }
        };
        if let Some(Err(e)) = cursor {
            let p = self.problem(e, "");
            return page.error(StatusCode::BAD_REQUEST, "Error", &p.detail);
        }
        let paged_back = before.is_some();
        let status = problem
            .as_ref()
            .and_then(|p| StatusCode::from_u16(p.status).ok())
            .unwrap_or(StatusCode::OK);
        let extras = DossierExtras {
            timeline: paged_back
                .then_some((view.timeline.as_slice(), view.timeline_next.as_deref())),
            done,
            problem,
            new_request,
        };
        page.html(
            status,
            dossier_page(
                &view,
                extras,
                self.bar(signed_in),
                self.lang,
                &self.base.path,
                page.org(),
            ),
        )
    }

    /// Every case type's key and name, for the selects.
    async fn case_types(&self) -> Vec<(String, String)> {
        match self.portaal().case_types().await {
            Ok(all) => all
                .iter()
                .map(|t| (t.key.to_string(), t.name.to_string()))
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "reading the case types failed");
                Vec::new()
            }
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(flatten)]
    filter: ListFilter,
    cursor: Option<String>,
}

/// `GET /staff/dossiers`: newest first, filtered by status and case type in the store and by
/// case number or title here, a few store pages at a time.
async fn list(staff: Staff<Handler>, Query(q): Query<ListQuery>) -> Response {
    let (console, signed_in) = (&staff.console, &staff.signed_in);
    let page = console.page();
    let needle = q.filter.q.trim().to_lowercase();
    let mut filter = DossierFilter {
        status: Some(q.filter.status.clone()),
        case_type: Some(q.filter.case_type.clone()),
        limit: Some(LIST_PAGE),
        cursor: q.cursor.clone(),
        ..DossierFilter::default()
    };
    let mut rows = Vec::new();
    let mut next = None;
    let mut problem = None;
    for _ in 0..SEARCH_PAGES {
        match console.portaal().list_dossiers(&filter).await {
            Ok(found) => {
                rows.extend(found.items.into_iter().filter(|d| {
                    needle.is_empty()
                        || d.case_id.as_str().to_lowercase().contains(&needle)
                        || d.title.to_lowercase().contains(&needle)
                }));
                next = found.next;
            }
            Err(e) => {
                problem = Some(console.problem(e, "search"));
                next = None;
                break;
            }
        }
        // Without a search a page is a page; a search reads on until it found a page full.
        if needle.is_empty() || rows.len() >= LIST_PAGE || next.is_none() {
            break;
        }
        filter.cursor = next.clone();
    }
    let status = problem
        .as_ref()
        .and_then(|p| StatusCode::from_u16(p.status).ok())
        .unwrap_or(StatusCode::OK);
    let case_types = console.case_types().await;
    let listing = Listing {
        rows: &rows,
        next,
        filter: &q.filter,
        case_types: &case_types,
        problem,
    };
    page.html(
        status,
        dossiers_page(
            listing,
            console.bar(signed_in),
            console.lang,
            &console.base.path,
            page.org(),
        ),
    )
}

#[derive(Deserialize)]
struct ShowQuery {
    before: Option<String>,
    done: Option<String>,
}

/// `GET /staff/dossiers/{case_id}`: the dossier (viewing it is audited, as the API's read is).
async fn show(
    staff: Staff<Handler>,
    Path(case): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let (console, signed_in) = (&staff.console, &staff.signed_in);
    let Ok(case) = CaseId::parse(&case) else {
        return console.not_found(&case);
    };
    let answer = console
        .dossier(
            signed_in,
            &case,
            q.before.as_deref(),
            q.done.as_deref().and_then(Done::parse),
            None,
            &RequestValues::default(),
        )
        .await;
    let result = AuditResult::of_status(answer.status().as_u16());
    console
        .audit(
            signed_in,
            &case,
            "dossier.view",
            format!("dossier:{case}"),
            result,
        )
        .await;
    answer
}

/// A dossier action, by the route it is posted to (as `records::action` names the API's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Download,
    Approve,
    Reject,
    NewRequest,
    ChangeDue,
    Withdraw,
    RotateLink,
    Close,
    Reopen,
    SetHold,
    LiftHold,
    Publish,
}

impl Op {
    const ROUTES: [(&'static str, Op); 12] = [
        (
            "/staff/dossiers/{case_id}/documents/{document_id}/download",
            Op::Download,
        ),
        (
            "/staff/dossiers/{case_id}/deliveries/{delivery_id}/approve",
            Op::Approve,
        ),
        (
            "/staff/dossiers/{case_id}/deliveries/{delivery_id}/reject",
            Op::Reject,
        ),
        ("/staff/dossiers/{case_id}/requests", Op::NewRequest),
        (
            "/staff/dossiers/{case_id}/requests/{request_id}/due",
            Op::ChangeDue,
        ),
        (
            "/staff/dossiers/{case_id}/requests/{request_id}/withdraw",
            Op::Withdraw,
        ),
        (
            "/staff/dossiers/{case_id}/requests/{request_id}/link",
            Op::RotateLink,
        ),
        ("/staff/dossiers/{case_id}/close", Op::Close),
        ("/staff/dossiers/{case_id}/reopen", Op::Reopen),
        ("/staff/dossiers/{case_id}/hold", Op::SetHold),
        ("/staff/dossiers/{case_id}/hold/lift", Op::LiftHold),
        (
            "/staff/dossiers/{case_id}/publications/{publication_id}/publish",
            Op::Publish,
        ),
    ];

    fn of(route: &str) -> Option<Op> {
        Op::ROUTES
            .iter()
            .find(|(r, _)| *r == route)
            .map(|(_, op)| *op)
    }

    /// The audit trail's action: the API's name for the same change.
    fn audit_action(self) -> &'static str {
        match self {
            Op::Download => "document.download",
            Op::Approve => "delivery.approve",
            Op::Reject => "delivery.reject",
            Op::NewRequest => "request.create",
            Op::ChangeDue | Op::Withdraw => "request.update",
            Op::RotateLink => "link.rotate",
            Op::Close => "dossier.close",
            Op::Reopen => "dossier.reopen",
            Op::SetHold => "hold.set",
            Op::LiftHold => "hold.lift",
            Op::Publish => "publication.publish",
        }
    }

    /// The path parameter naming what it acts on within the dossier, and what that is.
    fn part(self) -> Option<(&'static str, &'static str)> {
        match self {
            Op::Download => Some(("document_id", "document")),
            Op::Approve | Op::Reject => Some(("delivery_id", "delivery")),
            Op::ChangeDue | Op::Withdraw | Op::RotateLink => Some(("request_id", "request")),
            Op::Publish => Some(("publication_id", "publication")),
            _ => None,
        }
    }

    /// The `id` of the form whose fields a problem concerns ("" for a form without fields).
    fn form_id(self, part: &str) -> String {
        match self {
            Op::Reject => format!("reject-{part}"),
            Op::ChangeDue => format!("due-{part}"),
            Op::NewRequest => "new-request".to_owned(),
            Op::Close => "close".to_owned(),
            Op::SetHold => "hold".to_owned(),
            Op::Publish => "publish".to_owned(),
            _ => String::new(),
        }
    }
}

/// Every action form's fields; each action reads its own.
#[derive(Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    resend: String,
    /// The new request's fields; `due` is also the changed due date.
    #[serde(flatten)]
    request: RequestValues,
}

impl CsrfField for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// What an action ends in: the dossier with a message, or a download.
enum Outcome {
    Done(Done),
    Download(String),
}

fn request_input(v: &RequestValues) -> RequestInput {
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    RequestInput {
        department: v.department.trim().to_owned(),
        to: v
            .to
            .split([',', '\n', ';'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
        due: given(&v.due),
        message: v.message.clone(),
        language: given(&v.language),
    }
}

/// Runs `op` on `case` (and `part`, the delivery, request or document it names).
async fn perform(
    portaal: &Portaal,
    public_url: &str,
    op: Op,
    case: &CaseId,
    part: Option<Id>,
    form: &ActionForm,
) -> Result<Outcome, CoreError> {
    let part = || {
        part.clone()
            .ok_or_else(|| CoreError::invalid("no id in the path"))
    };
    let done = match op {
        Op::Download => {
            return Ok(Outcome::Download(
                portaal.document_url(case, &part()?).await?,
            ));
        }
        Op::Approve => {
            portaal.approve_delivery(case, &part()?).await?;
            Done::Approved
        }
        Op::Reject => {
            let input = RejectInput {
                reason: form.reason.clone(),
            };
            portaal.reject_delivery(case, &part()?, &input).await?;
            Done::Rejected
        }
        Op::NewRequest => {
            let input = request_input(&form.request);
            portaal
                .with_public_url(public_url)
                .create_request(case, &input)
                .await?;
            Done::RequestSent
        }
        Op::ChangeDue | Op::Withdraw => {
            let patch = if op == Op::ChangeDue {
                RequestPatch {
                    due: Some(form.request.due.trim().to_owned()),
                    state: None,
                }
            } else {
                RequestPatch {
                    due: None,
                    state: Some("withdrawn".to_owned()),
                }
            };
            portaal.update_request(case, &part()?, &patch).await?;
            if op == Op::ChangeDue {
                Done::DueChanged
            } else {
                Done::Withdrawn
            }
        }
        Op::RotateLink => {
            let input = RotateInput {
                resend: !form.resend.is_empty(),
            };
            portaal
                .with_public_url(public_url)
                .rotate_link(case, &part()?, &input)
                .await?;
            Done::Rotated
        }
        Op::Close => {
            let input = CloseInput {
                result: Some(form.result.trim().to_owned()).filter(|r| !r.is_empty()),
                closed_at: None,
            };
            portaal.close_dossier(case, &input).await?;
            Done::Closed
        }
        Op::Reopen => {
            portaal.reopen_dossier(case).await?;
            Done::Reopened
        }
        Op::SetHold => {
            portaal.set_hold(case, Some(&form.reason)).await?;
            Done::HoldSet
        }
        Op::LiftHold => {
            portaal.set_hold(case, None).await?;
            Done::HoldLifted
        }
        Op::Publish => {
            portaal
                .with_public_url(public_url)
                .publish(case, &part()?)
                .await?;
            Done::Published
        }
    };
    Ok(Outcome::Done(done))
}

/// `POST /staff/dossiers/{case_id}/…`: every dossier action (see [`Op::ROUTES`]). Answers 303
/// back to the dossier with its message (or to the download), or the dossier with the problem;
/// audited either way (unless the case number is no case number).
async fn act(
    route: MatchedPath,
    Path(params): Path<HashMap<String, String>>,
    StaffForm { staff, form }: StaffForm<Handler, ActionForm>,
) -> Response {
    let (console, signed_in) = (&staff.console, &staff.signed_in);
    let case = params.get("case_id").cloned().unwrap_or_default();
    let Some(op) = Op::of(route.as_str()) else {
        tracing::error!(route = route.as_str(), "a console route without its action");
        return console
            .page()
            .error(StatusCode::INTERNAL_SERVER_ERROR, "Error", "");
    };
    let Ok(case) = CaseId::parse(&case) else {
        return console.not_found(&case);
    };
    let (object, part) = match op.part() {
        Some((param, what)) => {
            let raw = params.get(param).cloned().unwrap_or_default();
            (format!("{what}:{raw}"), Some((raw, what)))
        }
        None => (format!("dossier:{case}"), None),
    };
    let form_id = op.form_id(part.as_ref().map_or("", |(raw, _)| raw.as_str()));
    let outcome = match &part {
        Some((raw, what)) => match Id::parse(raw) {
            Ok(id) => Ok(Some(id)),
            Err(_) => Err(CoreError::not_found(format!("{what} {raw}"))),
        },
        None => Ok(None),
    };
    let outcome = match outcome {
        Ok(part) => perform(console.portaal(), &console.base.url, op, &case, part, &form).await,
        Err(e) => Err(e),
    };
    let action = op.audit_action();
    match outcome {
        Ok(outcome) => {
            console
                .audit(signed_in, &case, action, object, AuditResult::Success)
                .await;
            match outcome {
                Outcome::Done(done) => console
                    .page()
                    .see_console(&console.dossier_url(&case, Some(done)), Vec::new()),
                Outcome::Download(url) => super::see_other(&url, Vec::new()),
            }
        }
        Err(e) => {
            let problem = console.problem(e, &form_id);
            let result = AuditResult::of_status(problem.status);
            console
                .audit(signed_in, &case, action, object, result)
                .await;
            let kept = if op == Op::NewRequest {
                form.request
            } else {
                RequestValues::default()
            };
            console
                .dossier(signed_in, &case, None, None, Some(problem), &kept)
                .await
        }
    }
}

/// The publish form's announcement of its file (sent by the console's script).
#[derive(Default, Deserialize)]
struct StageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    filename: String,
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    size: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    message: String,
}

/// `POST /staff/dossiers/{case_id}/publications`: announces a document to publish, as the
/// API's `POST …/publications` does, and answers `201 {id, document_id, upload}`: the script
/// PUTs the file to `upload.url`, then posts the publish form. A script reads the answer, so
/// a refusal is problem+json (`401` without a session), never a redirect or a page.
async fn stage_publication(
    console: Console,
    Path(case): Path<String>,
    form: Result<Form<StageForm>, FormRejection>,
) -> Response {
    use axum::response::IntoResponse;
    let form = match form {
        Ok(Form(f)) => f,
        Err(e) => {
            return crate::problem::problem_response(StatusCode::BAD_REQUEST, e.body_text());
        }
    };
    let signed_in = match console.scripted(Role::Handler, &form.csrf).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let Ok(case) = CaseId::parse(&case) else {
        let d = console.lang.dossier_texts();
        let case: String = case.chars().take(64).collect();
        return crate::problem::problem_response(
            StatusCode::NOT_FOUND,
            crate::page::texts::fill(d.not_found_detail, &[("case", &case)]),
        );
    };
    let staged = async {
        let size = form.size.trim().parse::<u64>().map_err(|_| {
            CoreError::invalid("size must be the file's size in bytes, a whole number")
        })?;
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let input = PublicationInput {
            file: UploadInput {
                filename: form.filename.clone(),
                content_type: form.content_type.trim().to_owned(),
                size,
                sha256: given(&form.sha256),
            },
            request_id: given(&form.request_id),
            message: form.message.replace("\r\n", "\n"),
        };
        console.portaal().create_publication(&case, &input).await
    }
    .await;
    match staged {
        Ok(draft) => {
            console
                .audit(
                    &signed_in,
                    &case,
                    "publication.create",
                    format!("publication:{}", draft.id),
                    AuditResult::Success,
                )
                .await;
            let answer = serde_json::json!({
                "id": draft.id,
                "document_id": draft.document_id,
                "upload": draft.upload,
            });
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        Err(e) => {
            let error = ApiError::Core(e);
            let result = AuditResult::of_status(error.status().as_u16());
            let object = format!("dossier:{case}");
            console
                .audit(&signed_in, &case, "publication.create", object, result)
                .await;
            error.into_response()
        }
    }
}

/// `GET /staff/dossiers/new`: the registration form.
async fn register_form(staff: Staff<Handler>) -> Response {
    let (console, signed_in) = (&staff.console, &staff.signed_in);
    let page = console.page();
    let case_types = console.case_types().await;
    page.html(
        StatusCode::OK,
        register_page(
            &RegisterValues::default(),
            &case_types,
            None,
            console.bar(signed_in),
            console.lang,
            &console.base.path,
            page.org(),
        ),
    )
}

#[derive(Deserialize)]
struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    values: RegisterValues,
}

impl CsrfField for RegisterForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn dossier_input(v: &RegisterValues) -> DossierInput {
    let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let decided = [
        &v.decision_reference,
        &v.decision_date,
        &v.decision_subject,
        &v.decision_department,
    ]
    .iter()
    .any(|f| !f.trim().is_empty());
    DossierInput {
        case_type: v.case_type.trim().to_owned(),
        title: v.title.trim().to_owned(),
        remarks: v.remarks.trim().to_owned(),
        submitter: SubmitterInput {
            name: v.submitter_name.trim().to_owned(),
            email: given(&v.submitter_email),
            address: None,
        },
        decision: decided.then(|| DecisionInput {
            reference: v.decision_reference.trim().to_owned(),
            date: v.decision_date.trim().to_owned(),
            subject: v.decision_subject.trim().to_owned(),
            department: v.decision_department.trim().to_owned(),
        }),
        handler: PersonInput {
            name: v.handler_name.trim().to_owned(),
            email: v.handler_email.trim().to_owned(),
        },
    }
}

/// `POST /staff/dossiers`: registers a dossier by hand, as `PUT /api/v1/dossiers/{case_id}`
/// does; an existing case number is refused here (the form registers, it does not overwrite).
async fn register(StaffForm { staff, form }: StaffForm<Handler, RegisterForm>) -> Response {
    let (console, signed_in) = (&staff.console, &staff.signed_in);
    let values = form.values;
    let page = console.page();
    let d = console.lang.dossier_texts();
    let portaal = console.portaal();
    let registered = async {
        let case = CaseId::parse(values.case_id.trim())?;
        // One item read: whether the case number is taken.
        match portaal.dossier(&case).await {
            Ok(_) => {
                return Err(CoreError::conflict(crate::page::texts::fill(
                    d.already_registered,
                    &[("case", case.as_str())],
                )));
            }
            Err(CoreError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let outcome = portaal.put_dossier(&case, &dossier_input(&values)).await;
        Ok((case, outcome))
    }
    .await;
    let problem = match registered {
        Ok((case, Ok(_))) => {
            console
                .audit(
                    signed_in,
                    &case,
                    "dossier.register",
                    format!("dossier:{case}"),
                    AuditResult::Success,
                )
                .await;
            return page.see_console(
                &console.dossier_url(&case, Some(Done::Registered)),
                Vec::new(),
            );
        }
        // Not registered: nothing to file the refusal under but the log.
        Ok((_, Err(e))) | Err(e) => console.problem(e, "register"),
    };
    portaal.log_unfiled_call(
        "dossier.register",
        &format!(
            "dossier:{}",
            values.case_id.chars().take(64).collect::<String>()
        ),
        AuditResult::of_status(problem.status),
        &signed_in.session.user.actor(),
        &console.ip.origin(),
    );
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
    let case_types = console.case_types().await;
    page.html(
        status,
        register_page(
            &values,
            &case_types,
            Some(problem),
            console.bar(signed_in),
            console.lang,
            &console.base.path,
            page.org(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_route_names_one_action_and_its_part() {
        for (route, op) in Op::ROUTES {
            assert_eq!(Op::of(route), Some(op));
            if let Some((param, _)) = op.part() {
                assert!(route.contains(&format!("{{{param}}}")), "{route}");
            }
        }
        assert_eq!(Op::of("/staff/dossiers/{case_id}"), None);
    }
}
