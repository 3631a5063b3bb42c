//! The functional administrator's console pages (role `admin`): case types with their terms,
//! upload rules and every mail text in Dutch and English (edited with a server-side preview,
//! mistakes shown at their line), and the case system's webhook subscriptions.
//!
//! Every form POSTs with the session's CSRF token; a save redirects (303) back with a status
//! message. A new webhook secret is the exception: it is shown once, in the answer to the POST
//! (`Cache-Control: no-store`), never stored to show again.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portaal_core::casetype::{CaseType, Template};
use portaal_core::domain::Id;
use portaal_core::error::{Error, FieldError};
use portaal_core::events::EventType;
use portaal_core::mailtext::Language;
use portaal_core::model::MailKind;
use portaal_core::staff::Role;
use portaal_core::usecases::audit::AuditResult;
use portaal_core::usecases::feed::SubscriptionInput;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Admin, Console, CsrfField, Page, SignedIn, Staff, StaffForm};
use crate::AppState;
use crate::page::Lang;
use crate::page::staff::{StaffBar, and_lang};
use crate::page::staff_admin::{
    CaseTypeForm, CaseTypeRow, Chrome, Editor, EditorPart, EventChoice, Input, NewSecret, Preview,
    Settings, TextRow, TimeTag, WebhookForm, WebhookRow, case_type_page, case_types_page,
    webhooks_page,
};
use crate::page::texts::fill;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/case-types", get(case_types))
        .route(
            "/staff/case-types/{key}",
            get(case_type).post(change_case_type),
        )
        .route("/staff/case-types/{key}/preview", post(live_preview))
        .route(
            "/staff/case-types/{key}/preview.html",
            get(html_preview).post(html_preview_of_form),
        )
        .route("/staff/webhooks", get(webhooks).post(add_webhook))
        .route("/staff/webhooks/{id}/rotate", post(rotate_webhook))
        .route("/staff/webhooks/{id}/delete", post(remove_webhook))
}

/// A form as its name-value pairs (a name may repeat, like the events' checkboxes).
pub(super) type Pairs = Vec<(String, String)>;

impl CsrfField for Pairs {
    fn csrf(&self) -> &str {
        field(self, "csrf").unwrap_or_default()
    }
}

pub(super) fn field<'a>(form: &'a Pairs, name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The frame's parts for a signed-in page.
pub(super) fn chrome<'a>(
    page: &Page<'a>,
    signed_in: &SignedIn,
    status: Option<String>,
) -> Chrome<'a> {
    let session = &signed_in.session;
    Chrome {
        bar: StaffBar::new(&session.user, &session.csrf, page.lang),
        lang: page.lang,
        base: &page.base.path,
        org: &page.state.system.config.org_name,
        status,
    }
}

/// The answer to a failure of the system: logged, a page without details.
pub(super) fn failed(page: &Page<'_>, what: &str, e: &Error) -> Response {
    tracing::error!(error = %e, "{what}");
    let a = page.lang.admin_texts();
    page.error(StatusCode::INTERNAL_SERVER_ERROR, a.error_title, "")
}

pub(super) fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[derive(Deserialize)]
pub(super) struct DoneQuery {
    pub done: Option<String>,
}

/// The status message a redirect after a POST asks for.
fn done_message(lang: Lang, done: Option<&str>) -> Option<String> {
    let a = lang.admin_texts();
    Some(
        match done? {
            "settings" => a.saved_settings,
            "text" => a.saved_text,
            "reset" => a.reset_done,
            "removed" => a.removed,
            _ => return None,
        }
        .to_owned(),
    )
}

// ---------------------------------------------------------------- case types

/// `GET /staff/case-types`.
async fn case_types(staff: Staff<Admin>, Query(q): Query<DoneQuery>) -> Response {
    let (page, signed_in) = (staff.page(), &staff.signed_in);
    let all = match staff.console.portaal().case_types().await {
        Ok(all) => all,
        Err(e) => return failed(&page, "listing case types failed", &e),
    };
    let a = page.lang.admin_texts();
    let rows = all
        .iter()
        .map(|ct| CaseTypeRow {
            key: ct.key.to_string(),
            name: ct.name.clone(),
            request_days: ct.request_days,
            destroy_days: ct.destroy_days(),
            changed: ct.updated_at.map(|at| TimeTag::at(at, page.lang)),
            changed_by: ct.updated_by.clone().unwrap_or_default(),
            texts: fill(
                a.texts_changed,
                &[(
                    "count",
                    &(ct.templates.len() + ct.templates_en.len()).to_string(),
                )],
            ),
        })
        .collect();
    let status = done_message(page.lang, q.done.as_deref());
    page.html(
        StatusCode::OK,
        case_types_page(rows, chrome(&page, signed_in, status)),
    )
}

#[derive(Deserialize)]
struct CaseTypeQuery {
    mail: Option<String>,
    #[serde(rename = "in")]
    language: Option<String>,
    done: Option<String>,
}

fn mail_kind(raw: Option<&str>) -> MailKind {
    raw.and_then(|r| MailKind::ALL.into_iter().find(|k| k.as_str() == r))
        .unwrap_or(MailKind::Request)
}

fn mail_language(raw: Option<&str>) -> Language {
    raw.and_then(|r| Language::parse(r).ok())
        .unwrap_or(Language::Nl)
}

fn ui_language(lang: Lang) -> Language {
    match lang {
        Lang::Nl => Language::Nl,
        Lang::En => Language::En,
    }
}

const MIB: u64 = 1 << 20;

fn settings_of(ct: &CaseType) -> Settings {
    Settings {
        name: Input::of(&ct.name),
        request_days: Input::of(ct.request_days),
        reminder_days: Input::of(
            ct.reminder_days
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        close_after_days: Input::of(ct.close_after_days),
        destroy_after_days: Input::of(ct.destroy_days()),
        decision_required: ct.requires_decision(),
        show_submitter: ct.show_submitter,
        max_files: Input::of(ct.upload.max_files),
        max_file_mib: Input::of(ct.upload.max_file_bytes / MIB),
        allowed_types: Input::of(ct.upload.allowed_types.join("\n")),
        error: None,
    }
}

/// Where each text's mistakes stand: `templates.request.text` line 3, column 5.
fn part_message(error: &FieldError, source: &str, lang: Lang) -> String {
    let a = lang.admin_texts();
    let Some(line) = error.line else {
        return lang.message(&error.detail);
    };
    let at = match error.column {
        Some(column) => fill(
            a.at_line,
            &[("line", &line.to_string()), ("column", &column.to_string())],
        ),
        None => fill(a.at_line_only, &[("line", &line.to_string())]),
    };
    let quoted = source
        .lines()
        .nth(line.saturating_sub(1))
        .map(|l| format!(" \u{201c}{}\u{201d}", l.trim()))
        .unwrap_or_default();
    format!("{at}{quoted}: {}", lang.message(&error.detail))
}

fn editor(
    kind: MailKind,
    language: Language,
    template: Template,
    errors: &[FieldError],
    lang: Lang,
) -> Editor {
    let a = lang.admin_texts();
    let prefix = language.template_field(kind);
    let language_label = match language {
        Language::Nl => a.language_nl,
        Language::En => a.language_en,
    };
    let mut placed = vec![false; errors.len()];
    let parts = [
        ("subject", a.subject, None, template.subject, false),
        ("text", a.text, None, template.text, true),
        ("html", a.html, Some(a.html_hint), template.html, true),
    ]
    .into_iter()
    .map(|(part, label, hint, value, multiline)| {
        let name = format!("{prefix}.{part}");
        let mine = errors
            .iter()
            .enumerate()
            .filter(|(_, e)| e.field == name)
            .map(|(i, e)| {
                placed[i] = true;
                part_message(e, &value, lang)
            })
            .collect();
        EditorPart {
            part,
            label,
            hint,
            value,
            multiline,
            errors: mine,
        }
    })
    .collect();
    let rest: Vec<String> = errors
        .iter()
        .zip(&placed)
        .filter(|(_, placed)| !**placed)
        .map(|(e, _)| format!("{}: {}", e.field, lang.message(&e.detail)))
        .collect();
    Editor {
        kind: kind.as_str(),
        language: language.as_str(),
        heading: fill(
            a.editor_heading,
            &[
                ("mail", kind.label(ui_language(lang))),
                ("language", language_label),
            ],
        ),
        parts,
        variables: portaal_core::mailtext::variables(kind).join(", "),
        error: (!rest.is_empty()).then(|| rest.join("; ")),
    }
}

/// What the case type page shows besides the parts a POST fills in.
struct Shown {
    settings: Option<Settings>,
    kind: MailKind,
    language: Language,
    template: Option<Template>,
    errors: Vec<FieldError>,
    text_error: Option<String>,
    preview: Option<Preview>,
    status: Option<String>,
}

async fn show_case_type(
    page: &Page<'_>,
    signed_in: &SignedIn,
    ct: &CaseType,
    shown: Shown,
    status_code: StatusCode,
) -> Response {
    let a = page.lang.admin_texts();
    let view = ct.view();
    let key = ct.key.to_string();
    let unsaved = shown.template.is_some();
    let template = shown
        .template
        .unwrap_or_else(|| ct.template(shown.kind, shown.language));
    let preview = match shown.preview {
        Some(p) => Some(p),
        None if shown.errors.is_empty() && shown.text_error.is_none() => page
            .state
            .system
            .portaal
            .preview_of(ct, shown.kind, Some(&template), shown.language)
            .ok()
            .map(|r| Preview {
                subject: r.subject,
                text: r.text,
            }),
        None => None,
    };
    let mut texts = Vec::new();
    for language in Language::ALL {
        let views = match language {
            Language::Nl => &view.templates,
            Language::En => &view.templates_en,
        };
        for kind in MailKind::ALL {
            texts.push(TextRow {
                label: kind.label(ui_language(page.lang)),
                language: match language {
                    Language::Nl => a.language_nl,
                    Language::En => a.language_en,
                },
                changed: views.get(&kind).is_some_and(|v| !v.default),
                href: format!(
                    "{}/staff/case-types/{key}?mail={}&in={}{}#editor",
                    page.base.path,
                    kind.as_str(),
                    language.as_str(),
                    and_lang(page.lang)
                ),
                current: kind == shown.kind && language == shown.language,
            });
        }
    }
    let mut editor = editor(
        shown.kind,
        shown.language,
        template,
        &shown.errors,
        page.lang,
    );
    if let Some(e) = shown.text_error {
        editor.error = Some(e);
    }
    let changed = ct.updated_at.map(|at| {
        fill(
            a.last_changed,
            &[
                ("who", ct.updated_by.as_deref().unwrap_or(a.unknown)),
                ("when", &TimeTag::at(at, page.lang).text),
            ],
        )
    });
    let form = CaseTypeForm {
        key,
        name: ct.name.clone(),
        changed,
        settings: shown.settings.unwrap_or_else(|| settings_of(ct)),
        texts,
        editor,
        preview,
        unsaved,
    };
    no_store(page.html(
        status_code,
        case_type_page(form, chrome(page, signed_in, shown.status)),
    ))
}

fn not_found(page: &Page<'_>, what: &str) -> Response {
    let a = page.lang.admin_texts();
    page.error(StatusCode::NOT_FOUND, a.not_found_title, what)
}

async fn load(page: &Page<'_>, key: &str) -> Result<CaseType, Response> {
    match page.state.system.portaal.case_type(key).await {
        Ok(ct) => Ok(ct),
        Err(Error::NotFound(what)) => Err(not_found(page, &what)),
        Err(Error::Invalid(what)) => Err(not_found(page, &what)),
        Err(e) => Err(failed(page, "reading a case type failed", &e)),
    }
}

/// `GET /staff/case-types/{key}`: settings, texts, the editor of `?mail=&in=` with its preview.
async fn case_type(
    staff: Staff<Admin>,
    Path(key): Path<String>,
    Query(q): Query<CaseTypeQuery>,
) -> Response {
    let (page, signed_in) = (staff.page(), &staff.signed_in);
    let ct = match load(&page, &key).await {
        Ok(ct) => ct,
        Err(answer) => return answer,
    };
    let shown = Shown {
        settings: None,
        kind: mail_kind(q.mail.as_deref()),
        language: mail_language(q.language.as_deref()),
        template: None,
        errors: Vec::new(),
        text_error: None,
        preview: None,
        status: done_message(page.lang, q.done.as_deref()),
    };
    show_case_type(&page, signed_in, &ct, shown, StatusCode::OK).await
}

/// `POST /staff/case-types/{key}`: `form=settings`, or `form=text` with `action` preview, save
/// or reset.
async fn change_case_type(
    Path(key): Path<String>,
    StaffForm { staff, form: pairs }: StaffForm<Admin, Pairs>,
) -> Response {
    let (page, signed_in) = (staff.page(), &staff.signed_in);
    let ct = match load(&page, &key).await {
        Ok(ct) => ct,
        Err(answer) => return answer,
    };
    let actor = staff.actor();
    let outcome = if field(&pairs, "form") == Some("settings") {
        save_settings(&page, signed_in, &ct, &pairs, &actor).await
    } else {
        change_text(&page, signed_in, &ct, &pairs, &actor).await
    };
    let result = if outcome.status().is_redirection() {
        AuditResult::Success
    } else {
        AuditResult::Refused
    };
    staff.console.portaal().log_unfiled_call(
        "casetype.change",
        &format!("key:{key}"),
        result,
        &actor,
        &staff.console.ip.origin(),
    );
    outcome
}

fn parse_number<T: std::str::FromStr>(input: &mut Input, lang: Lang) -> Option<T> {
    match input.value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => {
            input.error = Some(lang.admin_texts().not_a_number.to_owned());
            None
        }
    }
}

async fn save_settings(
    page: &Page<'_>,
    signed_in: &SignedIn,
    ct: &CaseType,
    pairs: &Pairs,
    actor: &str,
) -> Response {
    let lang = page.lang;
    let given = |name: &str| Input::of(field(pairs, name).unwrap_or_default());
    let mut s = Settings {
        name: given("name"),
        request_days: given("request_days"),
        reminder_days: given("reminder_days"),
        close_after_days: given("close_after_days"),
        destroy_after_days: given("destroy_after_days"),
        decision_required: field(pairs, "decision_required") == Some("true"),
        show_submitter: field(pairs, "show_submitter") == Some("true"),
        max_files: given("max_files"),
        max_file_mib: given("max_file_mib"),
        allowed_types: given("allowed_types"),
        error: None,
    };
    let request_days = parse_number::<u32>(&mut s.request_days, lang);
    let close = parse_number::<u32>(&mut s.close_after_days, lang);
    let destroy = parse_number::<u32>(&mut s.destroy_after_days, lang);
    let max_files = parse_number::<usize>(&mut s.max_files, lang);
    let mib = parse_number::<u64>(&mut s.max_file_mib, lang);
    let reminders: Result<Vec<i32>, _> = s
        .reminder_days
        .value
        .split([',', ';', ' '])
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim().parse::<i32>())
        .collect();
    if reminders.is_err() {
        s.reminder_days.error = Some(lang.admin_texts().not_a_number.to_owned());
    }
    let allowed: Vec<String> = s
        .allowed_types
        .value
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let (Some(request_days), Some(close), Some(destroy), Some(max_files), Some(mib), Ok(reminders)) =
        (request_days, close, destroy, max_files, mib, reminders)
    else {
        return show_settings(page, signed_in, ct, s).await;
    };
    // A size that was not a whole number of MiB stays as it was unless it is changed.
    let max_file_bytes = if mib == ct.upload.max_file_bytes / MIB {
        ct.upload.max_file_bytes
    } else {
        mib.saturating_mul(MIB)
    };
    let patch = json!({
        "name": s.name.value.trim(),
        "request_days": request_days,
        "reminder_days": reminders,
        "close_after_days": close,
        "destroy_after_days": destroy,
        "decision_required": s.decision_required,
        "show_submitter": s.show_submitter,
        "upload": {
            "max_files": max_files,
            "max_file_bytes": max_file_bytes,
            "allowed_types": allowed,
        },
    });
    let key = ct.key.to_string();
    match page
        .state
        .system
        .portaal
        .patch_case_type(&key, &patch, actor)
        .await
    {
        Ok(_) => page.see_console(
            &format!(
                "/staff/case-types/{key}?done=settings{}",
                and_lang(page.lang)
            ),
            Vec::new(),
        ),
        Err(Error::Invalid(message)) => {
            // The use case's messages start with the field they concern.
            let target = [
                ("name", &mut s.name),
                ("request_days", &mut s.request_days),
                ("reminder_days", &mut s.reminder_days),
                ("close_after_days", &mut s.close_after_days),
                ("destroy_after_days", &mut s.destroy_after_days),
                ("upload.max_files", &mut s.max_files),
                ("upload.max_file_bytes", &mut s.max_file_mib),
                ("upload.allowed_types", &mut s.allowed_types),
            ]
            .into_iter()
            .find(|(name, _)| message.starts_with(name));
            let message = page.lang.message(&message);
            match target {
                Some((_, input)) => input.error = Some(message),
                None => s.error = Some(message),
            }
            show_settings(page, signed_in, ct, s).await
        }
        Err(Error::Conflict(_)) | Err(Error::InvalidFields { .. }) => {
            s.error = Some(page.lang.admin_texts().changed_meanwhile.to_owned());
            show_settings(page, signed_in, ct, s).await
        }
        Err(e) => failed(page, "saving a case type failed", &e),
    }
}

async fn show_settings(
    page: &Page<'_>,
    signed_in: &SignedIn,
    ct: &CaseType,
    settings: Settings,
) -> Response {
    let shown = Shown {
        settings: Some(settings),
        kind: MailKind::Request,
        language: Language::Nl,
        template: None,
        errors: Vec::new(),
        text_error: None,
        preview: None,
        status: None,
    };
    show_case_type(page, signed_in, ct, shown, StatusCode::BAD_REQUEST).await
}

/// The editor form's text: which mail, in which language, and its three parts.
fn text_of(pairs: &Pairs) -> (MailKind, Language, Template) {
    let template = Template {
        subject: field(pairs, "subject").unwrap_or_default().to_owned(),
        text: field(pairs, "text")
            .unwrap_or_default()
            .replace("\r\n", "\n"),
        html: field(pairs, "html")
            .unwrap_or_default()
            .replace("\r\n", "\n"),
    };
    (
        mail_kind(field(pairs, "mail")),
        mail_language(field(pairs, "in")),
        template,
    )
}

/// `POST /staff/case-types/{key}/preview` (the editor's script, as the administrator types):
/// `{valid: true, subject, text}` rendered with sample values, or `{valid: false, parts:
/// {subject, text, html: [message]}, other}` with each mistake at its line, as the page shows
/// them. Nothing is saved; a refusal is problem+json.
async fn live_preview(
    console: Console,
    Path(key): Path<String>,
    form: Result<Form<Pairs>, FormRejection>,
) -> Response {
    let page = console.page();
    let Ok(Form(pairs)) = form else {
        let s = page.lang.staff_texts();
        return crate::problem::problem_response(StatusCode::BAD_REQUEST, s.csrf_detail.to_owned());
    };
    let csrf = field(&pairs, "csrf").unwrap_or_default();
    if let Err(answer) = console.scripted(Role::Admin, csrf).await {
        return answer;
    }
    let (kind, language, template) = text_of(&pairs);
    let portaal = console.portaal();
    match portaal
        .preview_mail(&key, kind, Some(&template), language)
        .await
    {
        Ok(r) => no_store(
            axum::Json(json!({"valid": true, "subject": r.subject, "text": r.text}))
                .into_response(),
        ),
        Err(Error::InvalidFields { errors, .. }) => {
            let editor = editor(kind, language, template, &errors, page.lang);
            let parts: serde_json::Map<String, Value> = editor
                .parts
                .iter()
                .map(|p| (p.part.to_owned(), json!(p.errors)))
                .collect();
            no_store(
                axum::Json(json!({"valid": false, "parts": parts, "other": editor.error}))
                    .into_response(),
            )
        }
        Err(e) => crate::problem::ApiError::Core(e).into_response(),
    }
}

/// The Content-Security-Policy of a rendered mail in the preview frame: its own inline styles
/// and embedded images, nothing else; sandboxed (no script, an origin of its own), framed only
/// by the console.
const MAIL_FRAME_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
     frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox";

/// The HTML part of a mail as the preview frame shows it (or why there is none).
fn mail_frame(rendered: Result<String, String>, lang: Lang) -> Response {
    let body = match rendered {
        Ok(html) => html,
        Err(why) => format!(
            "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>{}</title><p>{}</p></html>",
            lang.code(),
            portaal_core::mailtext::escape_html(lang.admin_texts().preview_html_heading),
            portaal_core::mailtext::escape_html(&why)
        ),
    };
    let mut res = (StatusCode::OK, axum::response::Html(body)).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(MAIL_FRAME_POLICY),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    no_store(res)
}

async fn render_html(
    page: &Page<'_>,
    key: &str,
    kind: MailKind,
    language: Language,
    template: Option<&Template>,
) -> Response {
    let a = page.lang.admin_texts();
    match page
        .state
        .system
        .portaal
        .preview_mail(key, kind, template, language)
        .await
    {
        Ok(r) => mail_frame(Ok(r.html), page.lang),
        Err(Error::InvalidFields { .. }) => mail_frame(Err(a.preview_failed.to_owned()), page.lang),
        Err(Error::NotFound(what)) | Err(Error::Invalid(what)) => not_found(page, &what),
        Err(e) => failed(page, "previewing a mail's HTML failed", &e),
    }
}

/// `GET /staff/case-types/{key}/preview.html?mail=&in=`: the saved text's HTML part, rendered
/// with sample values, for the editor's frame.
async fn html_preview(
    staff: Staff<Admin>,
    Path(key): Path<String>,
    Query(q): Query<CaseTypeQuery>,
) -> Response {
    let page = staff.page();
    let kind = mail_kind(q.mail.as_deref());
    let language = mail_language(q.language.as_deref());
    render_html(&page, &key, kind, language, None).await
}

/// `POST /staff/case-types/{key}/preview.html`: the editor form's HTML part, unsaved, into the
/// editor's frame (its button without script, the live preview with).
async fn html_preview_of_form(
    Path(key): Path<String>,
    StaffForm { staff, form: pairs }: StaffForm<Admin, Pairs>,
) -> Response {
    let page = staff.page();
    let (kind, language, template) = text_of(&pairs);
    render_html(&page, &key, kind, language, Some(&template)).await
}

async fn change_text(
    page: &Page<'_>,
    signed_in: &SignedIn,
    ct: &CaseType,
    pairs: &Pairs,
    actor: &str,
) -> Response {
    let (kind, language, template) = text_of(pairs);
    let key = ct.key.to_string();
    let portaal = &page.state.system.portaal;
    let mut shown = Shown {
        settings: None,
        kind,
        language,
        template: Some(template.clone()),
        errors: Vec::new(),
        text_error: None,
        preview: None,
        status: None,
    };
    let action = field(pairs, "action").unwrap_or("preview");
    if action == "preview" {
        return match portaal.preview_of(ct, kind, Some(&template), language) {
            Ok(r) => {
                shown.preview = Some(Preview {
                    subject: r.subject,
                    text: r.text,
                });
                show_case_type(page, signed_in, ct, shown, StatusCode::OK).await
            }
            Err(Error::InvalidFields { errors, .. }) => {
                shown.errors = errors;
                show_case_type(page, signed_in, ct, shown, StatusCode::BAD_REQUEST).await
            }
            Err(e) => failed(page, "previewing a mail text failed", &e),
        };
    }
    let value = if action == "reset" {
        Value::Null
    } else {
        json!({"subject": template.subject, "text": template.text, "html": template.html})
    };
    let mut texts = serde_json::Map::new();
    texts.insert(kind.as_str().to_owned(), value);
    let mut patch = serde_json::Map::new();
    patch.insert(language.templates_field().to_owned(), Value::Object(texts));
    match portaal
        .patch_case_type(&key, &Value::Object(patch), actor)
        .await
    {
        Ok(_) => page.see_console(
            &format!(
                "/staff/case-types/{key}?mail={}&in={}&done={}{}",
                kind.as_str(),
                language.as_str(),
                if action == "reset" { "reset" } else { "text" },
                and_lang(page.lang)
            ),
            Vec::new(),
        ),
        Err(Error::InvalidFields { errors, .. }) => {
            shown.errors = errors;
            show_case_type(page, signed_in, ct, shown, StatusCode::BAD_REQUEST).await
        }
        Err(Error::Invalid(message)) => {
            shown.text_error = Some(page.lang.message(&message));
            show_case_type(page, signed_in, ct, shown, StatusCode::BAD_REQUEST).await
        }
        Err(Error::Conflict(_)) => {
            shown.text_error = Some(page.lang.admin_texts().changed_meanwhile.to_owned());
            show_case_type(page, signed_in, ct, shown, StatusCode::CONFLICT).await
        }
        Err(e) => failed(page, "saving a mail text failed", &e),
    }
}

// ---------------------------------------------------------------- webhooks

fn webhook_form(url: &str, description: &str, events: &[String]) -> WebhookForm {
    WebhookForm {
        url: Input::of(url),
        description: Input::of(description),
        all: events.iter().any(|e| e == "*"),
        events: EventType::ALL
            .into_iter()
            .map(|e| EventChoice {
                value: e.as_str(),
                checked: events.iter().any(|c| c == e.as_str()),
            })
            .collect(),
        events_error: None,
    }
}

/// The webhooks page, with a new secret shown once. A rotated secret's URL (`rotated`) is
/// taken from the list the page reads anyway.
async fn show_webhooks(
    page: &Page<'_>,
    signed_in: &SignedIn,
    mut secret: Option<NewSecret>,
    rotated: Option<&Id>,
    form: WebhookForm,
    status: Option<String>,
    status_code: StatusCode,
) -> Response {
    let a = page.lang.admin_texts();
    let all = match page.state.system.portaal.subscriptions().await {
        Ok(all) => all,
        Err(e) => return failed(page, "listing subscriptions failed", &e),
    };
    if let (Some(secret), Some(id)) = (secret.as_mut(), rotated) {
        if let Some(subscription) = all.iter().find(|s| &s.id == id) {
            secret.url = subscription.url.clone();
        }
    }
    let rows = all
        .iter()
        .map(|s| WebhookRow {
            id: s.id.to_string(),
            url: s.url.clone(),
            events: s.events.join(", "),
            description: s.description.clone(),
            created: TimeTag::at(s.created_at, page.lang),
            active: s.active,
            failing: s.failing_since.map(|at| {
                fill(
                    a.failing_since,
                    &[("since", &TimeTag::at(at, page.lang).text)],
                )
            }),
        })
        .collect();
    no_store(page.html(
        status_code,
        webhooks_page(rows, secret, form, chrome(page, signed_in, status)),
    ))
}

/// `GET /staff/webhooks`.
async fn webhooks(staff: Staff<Admin>, Query(q): Query<DoneQuery>) -> Response {
    let page = staff.page();
    let status = done_message(page.lang, q.done.as_deref());
    let form = webhook_form("", "", &["*".to_owned()]);
    show_webhooks(
        &page,
        &staff.signed_in,
        None,
        None,
        form,
        status,
        StatusCode::OK,
    )
    .await
}

/// `POST /staff/webhooks`: adds a subscription and shows its secret, once.
async fn add_webhook(StaffForm { staff, form: pairs }: StaffForm<Admin, Pairs>) -> Response {
    let (page, signed_in) = (staff.page(), &staff.signed_in);
    let portaal = staff.console.portaal();
    let a = page.lang.admin_texts();
    let url = field(&pairs, "url").unwrap_or_default().trim().to_owned();
    let description = field(&pairs, "description")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mut events: Vec<String> = pairs
        .iter()
        .filter(|(n, _)| n == "events")
        .map(|(_, v)| v.clone())
        .collect();
    if events.iter().any(|e| e == "*") {
        events = vec!["*".to_owned()];
    }
    let input = SubscriptionInput {
        url: url.clone(),
        events: events.clone(),
        description: (!description.is_empty()).then(|| description.clone()),
    };
    // The form again, the mistake at the field it concerns (a taken URL at the URL).
    let refused = async |status: StatusCode, message: String| {
        let mut form = webhook_form(&url, &description, &events);
        let at_field = |name: &str| status == StatusCode::BAD_REQUEST && message.starts_with(name);
        let (events_field, description_field) = (at_field("events"), at_field("description"));
        let message = page.lang.message(&message);
        if events_field {
            form.events_error = Some(message);
        } else if description_field {
            form.description.error = Some(message);
        } else {
            form.url.error = Some(message);
        }
        show_webhooks(&page, signed_in, None, None, form, None, status).await
    };
    match portaal.create_subscription(&input).await {
        Ok(created) => {
            portaal.log_unfiled_call(
                "subscription.create",
                &format!("subscription:{}", created.subscription.id),
                AuditResult::Success,
                &staff.actor(),
                &staff.console.ip.origin(),
            );
            let secret = NewSecret {
                url: created.subscription.url.clone(),
                secret: created.secret.expose().to_owned(),
                previous_until: None,
            };
            let form = webhook_form("", "", &["*".to_owned()]);
            show_webhooks(
                &page,
                signed_in,
                Some(secret),
                None,
                form,
                Some(a.added.to_owned()),
                StatusCode::CREATED,
            )
            .await
        }
        Err(Error::Invalid(message)) => refused(StatusCode::BAD_REQUEST, message).await,
        Err(Error::Conflict(message)) => refused(StatusCode::CONFLICT, message).await,
        Err(e) => failed(&page, "adding a subscription failed", &e),
    }
}

/// `POST /staff/webhooks/{id}/rotate`: a new secret, shown once; the old one stays valid a day.
async fn rotate_webhook(
    Path(id): Path<String>,
    StaffForm { staff, .. }: StaffForm<Admin, Pairs>,
) -> Response {
    let page = staff.page();
    let Ok(id) = Id::parse(&id) else {
        return not_found(&page, &id);
    };
    let a = page.lang.admin_texts();
    let portaal = staff.console.portaal();
    let rotated = match portaal.rotate_subscription_secret(&id).await {
        Ok(r) => r,
        Err(Error::NotFound(what)) => return not_found(&page, &what),
        Err(e) => return failed(&page, "rotating a webhook secret failed", &e),
    };
    portaal.log_unfiled_call(
        "subscription.rotate_secret",
        &format!("subscription:{id}"),
        AuditResult::Success,
        &staff.actor(),
        &staff.console.ip.origin(),
    );
    let secret = NewSecret {
        url: String::new(),
        secret: rotated.secret.expose().to_owned(),
        previous_until: Some(fill(
            a.secret_previous,
            &[(
                "until",
                &TimeTag::at(rotated.previous_secret_valid_until, page.lang).text,
            )],
        )),
    };
    let form = webhook_form("", "", &["*".to_owned()]);
    show_webhooks(
        &page,
        &staff.signed_in,
        Some(secret),
        Some(&id),
        form,
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /staff/webhooks/{id}/delete`.
async fn remove_webhook(
    Path(id): Path<String>,
    StaffForm { staff, .. }: StaffForm<Admin, Pairs>,
) -> Response {
    let page = staff.page();
    let Ok(id) = Id::parse(&id) else {
        return not_found(&page, &id);
    };
    let portaal = staff.console.portaal();
    match portaal.delete_subscription(&id).await {
        Ok(()) => {}
        Err(Error::NotFound(what)) => return not_found(&page, &what),
        Err(e) => return failed(&page, "removing a subscription failed", &e),
    }
    portaal.log_unfiled_call(
        "subscription.delete",
        &format!("subscription:{id}"),
        AuditResult::Success,
        &staff.actor(),
        &staff.console.ip.origin(),
    );
    page.see_console(
        &format!("/staff/webhooks?done=removed{}", and_lang(page.lang)),
        Vec::new(),
    )
}
