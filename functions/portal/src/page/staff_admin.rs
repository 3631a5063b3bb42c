//! The console pages of the functional administrator (case types with their mail texts and a
//! preview, webhook subscriptions) and of the records manager (destructions, dossiers due for
//! destruction, legal holds). Same frame, stylesheet and CSP as the other console pages; every
//! form carries the session's CSRF token. The handlers (`crate::staff::admin`,
//! `crate::staff::records`) fill the view models below.

use askama::Template;

use super::admin_texts::{AdminTexts, EN, NL};
pub use super::format::TimeTag;
use super::staff::{StaffBar, and_lang, frame, lang_query};
use super::staff_texts::StaffTexts;
use super::texts::Texts;
use super::{Frame, Lang, render};

impl Lang {
    pub fn admin_texts(self) -> &'static AdminTexts {
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }
}

/// What every page here needs around its content.
pub struct Chrome<'a> {
    pub bar: StaffBar,
    pub lang: Lang,
    pub base: &'a str,
    pub org: &'a str,
    /// A status message after a POST-redirect-GET.
    pub status: Option<String>,
}

/// A form value as typed, with what is wrong with it.
#[derive(Default)]
pub struct Input {
    pub value: String,
    pub error: Option<String>,
}

impl Input {
    pub fn of(value: impl ToString) -> Self {
        Self {
            value: value.to_string(),
            error: None,
        }
    }
}

// ---------------------------------------------------------------- case types

pub struct CaseTypeRow {
    pub key: String,
    pub name: String,
    pub request_days: u32,
    pub destroy_days: u32,
    pub changed: Option<TimeTag>,
    pub changed_by: String,
    pub texts: String,
}

#[derive(Template)]
#[template(path = "staff/case_types.html")]
struct CaseTypesPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    a: &'static AdminTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    status: Option<String>,
    rows: Vec<CaseTypeRow>,
}

/// `/staff/case-types`.
pub fn case_types_page(rows: Vec<CaseTypeRow>, c: Chrome<'_>) -> String {
    let a = c.lang.admin_texts();
    render(&CaseTypesPage {
        t: c.lang.texts(),
        s: c.lang.staff_texts(),
        a,
        frame: frame(c.lang, c.base, c.org, a.case_types_title, "page-staff"),
        bar: c.bar,
        q: lang_query(c.lang),
        status: c.status,
        rows,
    })
}

/// The settings form's fields, as typed.
#[derive(Default)]
pub struct Settings {
    pub name: Input,
    pub request_days: Input,
    pub reminder_days: Input,
    pub close_after_days: Input,
    pub destroy_after_days: Input,
    pub decision_required: bool,
    pub show_submitter: bool,
    pub max_files: Input,
    pub max_file_mib: Input,
    pub allowed_types: Input,
    /// A mistake that belongs to no one field.
    pub error: Option<String>,
}

impl Settings {
    pub fn has_errors(&self) -> bool {
        self.error.is_some()
            || [
                &self.name,
                &self.request_days,
                &self.reminder_days,
                &self.close_after_days,
                &self.destroy_after_days,
                &self.max_files,
                &self.max_file_mib,
                &self.allowed_types,
            ]
            .iter()
            .any(|i| i.error.is_some())
    }
}

/// One mail text in the list of texts.
pub struct TextRow {
    pub label: &'static str,
    pub language: &'static str,
    pub changed: bool,
    pub href: String,
    pub current: bool,
}

/// One part of the text being edited (subject, text or HTML) with its mistakes.
pub struct EditorPart {
    pub part: &'static str,
    pub label: &'static str,
    pub hint: Option<&'static str>,
    pub value: String,
    pub multiline: bool,
    pub errors: Vec<String>,
}

pub struct Editor {
    pub kind: &'static str,
    pub language: &'static str,
    pub heading: String,
    pub parts: Vec<EditorPart>,
    pub variables: String,
    /// A mistake that belongs to no part.
    pub error: Option<String>,
}

impl Editor {
    pub fn has_errors(&self) -> bool {
        self.error.is_some() || self.parts.iter().any(|p| !p.errors.is_empty())
    }
}

pub struct Preview {
    pub subject: String,
    pub text: String,
}

pub struct CaseTypeForm {
    pub key: String,
    pub name: String,
    pub changed: Option<String>,
    pub settings: Settings,
    pub texts: Vec<TextRow>,
    pub editor: Editor,
    pub preview: Option<Preview>,
    /// The editor holds changes that are not saved (the HTML frame shows the saved text).
    pub unsaved: bool,
}

#[derive(Template)]
#[template(path = "staff/case_type.html")]
struct CaseTypePage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    a: &'static AdminTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    status: Option<String>,
    /// `&lang=en` on English pages, for URLs with a query.
    and_lang: &'static str,
    f: CaseTypeForm,
}

/// `/staff/case-types/{key}`: the settings, the list of texts, the editor of one text and its
/// preview.
pub fn case_type_page(f: CaseTypeForm, c: Chrome<'_>) -> String {
    let a = c.lang.admin_texts();
    let title = format!("{} \u{2013} {}", f.name, a.case_types_title);
    render(&CaseTypePage {
        t: c.lang.texts(),
        s: c.lang.staff_texts(),
        a,
        frame: frame(c.lang, c.base, c.org, &title, "page-staff"),
        bar: c.bar,
        q: lang_query(c.lang),
        status: c.status,
        and_lang: and_lang(c.lang),
        f,
    })
}

// ---------------------------------------------------------------- webhooks

pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub description: String,
    pub created: TimeTag,
    pub active: bool,
    pub failing: Option<String>,
}

/// A secret to show once: after adding a subscription or rotating its secret.
pub struct NewSecret {
    pub url: String,
    pub secret: String,
    pub previous_until: Option<String>,
}

pub struct EventChoice {
    pub value: &'static str,
    pub checked: bool,
}

/// The form to add a subscription, as typed.
pub struct WebhookForm {
    pub url: Input,
    pub description: Input,
    pub all: bool,
    pub events: Vec<EventChoice>,
    pub events_error: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/webhooks.html")]
struct WebhooksPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    a: &'static AdminTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    status: Option<String>,
    rows: Vec<WebhookRow>,
    secret: Option<NewSecret>,
    form: WebhookForm,
}

/// `/staff/webhooks`: the subscriptions, a new secret once, and the form to add one.
pub fn webhooks_page(
    rows: Vec<WebhookRow>,
    secret: Option<NewSecret>,
    form: WebhookForm,
    c: Chrome<'_>,
) -> String {
    let a = c.lang.admin_texts();
    render(&WebhooksPage {
        t: c.lang.texts(),
        s: c.lang.staff_texts(),
        a,
        frame: frame(c.lang, c.base, c.org, a.webhooks_title, "page-staff"),
        bar: c.bar,
        q: lang_query(c.lang),
        status: c.status,
        rows,
        secret,
        form,
    })
}

// ---------------------------------------------------------------- destructions

pub struct DestroyedRow {
    pub case_ref: String,
    pub case_type: String,
    pub closed: Option<TimeTag>,
    pub destroy_due: Option<TimeTag>,
    pub destroyed: TimeTag,
    pub documents: u64,
}

pub struct DueRow {
    pub case_id: String,
    pub title: String,
    pub case_type: String,
    pub destroys: Option<TimeTag>,
    pub on_hold: bool,
}

pub struct HoldRow {
    pub case_id: String,
    pub title: String,
    pub reason: String,
    pub since: TimeTag,
}

pub struct DestructionsView {
    pub from: Input,
    pub to: Input,
    /// The period's query string for the CSV link ("" or "?from=…&to=…", with `lang`).
    pub csv_query: String,
    pub destroyed: Vec<DestroyedRow>,
    pub destroyed_more: bool,
    pub upcoming: Vec<DueRow>,
    pub holds: Vec<HoldRow>,
    pub holds_more: bool,
}

#[derive(Template)]
#[template(path = "staff/destructions.html")]
struct DestructionsPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    a: &'static AdminTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    status: Option<String>,
    v: DestructionsView,
    lang_en: bool,
}

/// `/staff/destructions`: the records manager's page.
pub fn destructions_page(v: DestructionsView, c: Chrome<'_>) -> String {
    let a = c.lang.admin_texts();
    render(&DestructionsPage {
        t: c.lang.texts(),
        s: c.lang.staff_texts(),
        a,
        frame: frame(c.lang, c.base, c.org, a.destructions_title, "page-staff"),
        bar: c.bar,
        q: lang_query(c.lang),
        status: c.status,
        v,
        lang_en: c.lang == Lang::En,
    })
}
