//! The case handler's dossier pages: the list with its search, one dossier with its requests,
//! deliveries, publications and timeline and a POST form (with the session's CSRF token) per
//! action, and the form that registers a dossier by hand. A failed action shows its problem at
//! the top of the page (announced, linked to its form, the form's fields marked invalid).

use askama::Template;
use portaal_core::model::{DeliveryState, DossierStatus, Event, RequestState};
use portaal_core::usecases::lists::DossierSummary;
use portaal_core::views::{DocumentView, DossierView};
use serde::Deserialize;

use super::super::format::{TimeTag, human_size, path_segment};
use super::super::texts::{Texts, fill};
use super::super::{Frame, Lang, render};
use super::dossier_texts::{DossierTexts, EN, NL};
use super::{StaffBar, frame, lang_query};
use crate::page::staff_texts::StaffTexts;

impl Lang {
    pub fn dossier_texts(self) -> &'static DossierTexts {
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }
}

/// What an action did, for the message after its redirect (`?done=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    Approved,
    Rejected,
    RequestSent,
    DueChanged,
    Withdrawn,
    Rotated,
    Closed,
    Reopened,
    HoldSet,
    HoldLifted,
    Registered,
    Published,
}

impl Done {
    const ALL: [Done; 12] = [
        Done::Approved,
        Done::Rejected,
        Done::RequestSent,
        Done::DueChanged,
        Done::Withdrawn,
        Done::Rotated,
        Done::Closed,
        Done::Reopened,
        Done::HoldSet,
        Done::HoldLifted,
        Done::Registered,
        Done::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Done::Approved => "approved",
            Done::Rejected => "rejected",
            Done::RequestSent => "request-sent",
            Done::DueChanged => "due-changed",
            Done::Withdrawn => "withdrawn",
            Done::Rotated => "rotated",
            Done::Closed => "closed",
            Done::Reopened => "reopened",
            Done::HoldSet => "hold-set",
            Done::HoldLifted => "hold-lifted",
            Done::Registered => "registered",
            Done::Published => "published",
        }
    }

    pub fn parse(raw: &str) -> Option<Done> {
        Done::ALL.into_iter().find(|d| d.as_str() == raw)
    }

    fn text(self, d: &DossierTexts) -> &'static str {
        match self {
            Done::Approved => d.done_approved,
            Done::Rejected => d.done_rejected,
            Done::RequestSent => d.done_request_sent,
            Done::DueChanged => d.done_due_changed,
            Done::Withdrawn => d.done_withdrawn,
            Done::Rotated => d.done_rotated,
            Done::Closed => d.done_closed,
            Done::Reopened => d.done_reopened,
            Done::HoldSet => d.done_hold_set,
            Done::HoldLifted => d.done_hold_lifted,
            Done::Registered => d.done_registered,
            Done::Published => d.done_published,
        }
    }
}

/// A refused or failed action: its status, what went wrong, and the form (its `id`) it concerns.
pub struct Problem {
    pub status: u16,
    pub detail: String,
    pub form: String,
}

/// What the problem block shows.
struct ProblemBox {
    heading: String,
    detail: String,
    /// The form's anchor, when the problem concerns a form with fields.
    form: Option<String>,
}

impl ProblemBox {
    fn of(problem: Option<&Problem>, d: &DossierTexts) -> Option<ProblemBox> {
        problem.map(|p| ProblemBox {
            heading: fill(d.problem_heading, &[("code", &p.status.to_string())]),
            detail: p.detail.clone(),
            form: (!p.form.is_empty()).then(|| p.form.clone()),
        })
    }
}

fn failed(problem: Option<&Problem>, form: &str) -> bool {
    problem.is_some_and(|p| p.form == form)
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The list's search (`?q=&status=&case_type=`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListFilter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub case_type: String,
}

struct Row {
    case_id: String,
    href: String,
    title: String,
    status: &'static str,
    closed: bool,
    hold: bool,
    updated: TimeTag,
}

#[derive(Template)]
#[template(path = "staff/dossiers.html")]
struct ListPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    d: &'static DossierTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    filter: &'a ListFilter,
    statuses: Vec<Choice>,
    case_types: Vec<Choice>,
    rows: Vec<Row>,
    next: Option<String>,
    problem: Option<ProblemBox>,
}

fn status_text(status: DossierStatus, d: &DossierTexts) -> &'static str {
    match status {
        DossierStatus::Open => d.status_open,
        DossierStatus::Closed => d.status_closed,
    }
}

/// Where the console shows dossier `case`, under `base`.
pub fn dossier_path(base: &str, case: &str) -> String {
    format!("{base}/staff/dossiers/{}", path_segment(case))
}

/// What a query value keeps unencoded: letters, digits and `-_.~` (RFC 3986's unreserved).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A query string (`?k=v&…`) of the pairs with a value.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string();
    let joined: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!("?{}", joined.join("&"))
    }
}

/// What the list page shows: a page of dossiers and the cursor of the next.
pub struct Listing<'a> {
    pub rows: &'a [DossierSummary],
    pub next: Option<String>,
    pub filter: &'a ListFilter,
    /// Every case type: key and name.
    pub case_types: &'a [(String, String)],
    pub problem: Option<Problem>,
}

/// `/staff/dossiers`: search and list.
pub fn dossiers_page(
    listing: Listing<'_>,
    bar: StaffBar,
    lang: Lang,
    base: &str,
    org: &str,
) -> String {
    let d = lang.dossier_texts();
    let filter = listing.filter;
    let statuses = [
        ("", d.status_any),
        ("open", d.status_open),
        ("closed", d.status_closed),
    ]
    .into_iter()
    .map(|(value, label)| Choice {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: filter.status == value,
    })
    .collect();
    let mut case_types = vec![Choice {
        value: String::new(),
        label: d.case_type_any.to_owned(),
        selected: filter.case_type.is_empty(),
    }];
    case_types.extend(listing.case_types.iter().map(|(key, name)| Choice {
        value: key.clone(),
        label: format!("{name} ({key})"),
        selected: &filter.case_type == key,
    }));
    let next = listing.next.as_deref().map(|cursor| {
        query_string(&[
            ("q", &filter.q),
            ("status", &filter.status),
            ("case_type", &filter.case_type),
            ("cursor", cursor),
            ("lang", if lang == Lang::En { "en" } else { "" }),
        ])
    });
    render(&ListPage {
        t: lang.texts(),
        s: lang.staff_texts(),
        d,
        frame: frame(lang, base, org, d.list_title, "page-staff"),
        bar,
        q: lang_query(lang),
        filter,
        statuses,
        case_types,
        rows: listing
            .rows
            .iter()
            .map(|r| Row {
                case_id: r.case_id.to_string(),
                href: dossier_path(base, r.case_id.as_str()),
                title: r.title.clone(),
                status: status_text(r.status, d),
                closed: r.status == DossierStatus::Closed,
                hold: r.on_hold,
                updated: TimeTag::at(r.updated_at, lang),
            })
            .collect(),
        next,
        problem: ProblemBox::of(listing.problem.as_ref(), d),
    })
}

struct Fact {
    label: &'static str,
    value: String,
}

struct RequestItem {
    id: String,
    department: String,
    to: String,
    due: TimeTag,
    due_value: String,
    state: &'static str,
    overdue: bool,
    open: bool,
    message: String,
    due_invalid: bool,
}

struct DocItem {
    id: String,
    name: String,
    size: String,
    downloadable: bool,
}

impl DocItem {
    fn of(doc: &DocumentView, lang: Lang) -> Self {
        use portaal_core::model::DocumentState as S;
        Self {
            id: doc.id.to_string(),
            name: doc.filename.to_string(),
            size: human_size(doc.size, lang),
            downloadable: !matches!(doc.state, S::Rejected | S::Staged),
        }
    }
}

struct DeliveryItem {
    id: String,
    state: &'static str,
    badge: &'static str,
    pending: bool,
    submitted_by: String,
    submitted: TimeTag,
    comment: String,
    reason: String,
    documents: Vec<DocItem>,
    reject_invalid: bool,
}

struct PublicationItem {
    document: DocItem,
    message: String,
    published: Option<TimeTag>,
}

struct EventItem {
    at: TimeTag,
    label: &'static str,
    summary: String,
}

/// The new-request form's values, kept when sending it failed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RequestValues {
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub due: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub language: String,
}

#[derive(Template)]
#[template(path = "staff/dossier.html")]
struct DossierPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    d: &'static DossierTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    case_id: String,
    title: String,
    /// The dossier's console path (forms post below it).
    path: String,
    facts: Vec<Fact>,
    remarks: String,
    open: bool,
    on_hold: bool,
    requests: Vec<RequestItem>,
    deliveries: Vec<DeliveryItem>,
    publications: Vec<PublicationItem>,
    events: Vec<EventItem>,
    older: Option<String>,
    paged_back: bool,
    flash: Option<&'static str>,
    problem: Option<ProblemBox>,
    new_request: &'a RequestValues,
    new_request_en: bool,
    new_request_invalid: bool,
    close_invalid: bool,
    hold_invalid: bool,
    publish_invalid: bool,
    /// Who a publication is for: every request, or one open request.
    audiences: Vec<Choice>,
}

/// What the dossier page shows besides the dossier itself.
pub struct DossierExtras<'a> {
    /// An older page of the timeline (`?before=`) instead of the view's newest, and its next.
    pub timeline: Option<(&'a [Event], Option<&'a str>)>,
    pub done: Option<Done>,
    pub problem: Option<Problem>,
    pub new_request: &'a RequestValues,
}

/// `/staff/dossiers/{case_id}`.
pub fn dossier_page(
    view: &DossierView,
    extras: DossierExtras<'_>,
    bar: StaffBar,
    lang: Lang,
    base: &str,
    org: &str,
) -> String {
    let t = lang.texts();
    let d = lang.dossier_texts();
    let problem = extras.problem.as_ref();
    let case = view.case_id.to_string();
    let path = dossier_path(base, &case);
    let mut facts = vec![
        Fact {
            label: d.fact_case_type,
            value: format!("{} ({})", view.case_type_name, view.case_type),
        },
        Fact {
            label: d.fact_status,
            value: status_text(view.status, d).to_owned(),
        },
        Fact {
            label: d.fact_submitter,
            value: match &view.submitter.email {
                Some(email) => format!("{} <{email}>", view.submitter.name),
                None => view.submitter.name.clone(),
            },
        },
        Fact {
            label: d.fact_handler,
            value: format!("{} <{}>", view.handler.name, view.handler.email),
        },
    ];
    if let Some(decision) = &view.decision {
        let mut value = format!(
            "{} ({}), {}",
            decision.reference, decision.date, decision.department
        );
        if !decision.subject.is_empty() {
            value = format!("{value}: {}", decision.subject);
        }
        facts.push(Fact {
            label: d.fact_decision,
            value,
        });
    }
    facts.push(Fact {
        label: d.fact_created,
        value: TimeTag::at(view.created_at, lang).text,
    });
    let optional = [
        (d.fact_closed, view.closed_at),
        (d.fact_closes, view.closes_at),
        (d.fact_destroys, view.destroys_at),
    ];
    for (label, at) in optional {
        if let Some(at) = at {
            facts.push(Fact {
                label,
                value: TimeTag::at(at, lang).text,
            });
        }
    }
    if let Some(result) = view.result.as_deref().filter(|r| !r.is_empty()) {
        facts.push(Fact {
            label: d.fact_result,
            value: result.to_owned(),
        });
    }
    if let Some(hold) = &view.hold {
        facts.push(Fact {
            label: d.fact_hold,
            value: format!("{} ({})", hold.reason, TimeTag::at(hold.since, lang).text),
        });
    }
    let requests = view
        .requests
        .iter()
        .map(|r| {
            let id = r.id.to_string();
            RequestItem {
                due_invalid: failed(problem, &format!("due-{id}")),
                id,
                department: r.department.clone(),
                to: r
                    .to
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                due: TimeTag::date(r.due.0, lang),
                due_value: r.due.0.format("%Y-%m-%d").to_string(),
                state: t.request_state(r.state),
                overdue: r.overdue,
                open: r.state == RequestState::Open,
                message: r.message.clone(),
            }
        })
        .collect();
    let deliveries = view
        .deliveries
        .iter()
        .map(|del| {
            let id = del.id.to_string();
            let (state, badge) = match del.state {
                DeliveryState::Submitted => (d.delivery_submitted, "badge-submitted"),
                DeliveryState::Approved => (d.delivery_approved, "badge-approved"),
                DeliveryState::Rejected => (d.delivery_rejected, "badge-rejected"),
            };
            DeliveryItem {
                reject_invalid: failed(problem, &format!("reject-{id}")),
                id,
                state,
                badge,
                pending: del.state == DeliveryState::Submitted,
                submitted_by: format!("{} <{}>", del.submitted_by.name, del.submitted_by.email),
                submitted: TimeTag::at(del.submitted_at, lang),
                comment: del.comment.clone(),
                reason: del.reason.clone().unwrap_or_default(),
                documents: del
                    .documents
                    .iter()
                    .map(|doc| DocItem::of(doc, lang))
                    .collect(),
            }
        })
        .collect();
    let publications = view
        .publications
        .iter()
        .map(|p| PublicationItem {
            document: DocItem::of(&p.document, lang),
            message: p.message.clone(),
            published: p.published_at.map(|at| TimeTag::at(at, lang)),
        })
        .collect();
    let (events, next) = match extras.timeline {
        Some((events, next)) => (events, next),
        None => (view.timeline.as_slice(), view.timeline_next.as_deref()),
    };
    let older = next.map(|cursor| {
        query_string(&[
            ("before", cursor),
            ("lang", if lang == Lang::En { "en" } else { "" }),
        ])
    });
    render(&DossierPage {
        t,
        s: lang.staff_texts(),
        d,
        frame: frame(
            lang,
            base,
            org,
            &format!("{} {case}", d.list_title),
            "page-staff",
        ),
        bar,
        q: lang_query(lang),
        title: view.title.clone(),
        case_id: case,
        path,
        facts,
        remarks: view.remarks.clone(),
        open: view.status == DossierStatus::Open,
        on_hold: view.hold.is_some(),
        requests,
        deliveries,
        publications,
        events: events
            .iter()
            .map(|e| EventItem {
                at: TimeTag::at(e.at, lang),
                label: t.event(e.kind),
                summary: e.summary.clone(),
            })
            .collect(),
        older,
        paged_back: extras.timeline.is_some(),
        flash: extras.done.map(|done| done.text(d)),
        problem: ProblemBox::of(problem, d),
        new_request: extras.new_request,
        new_request_en: extras.new_request.language == "en",
        new_request_invalid: failed(problem, "new-request"),
        close_invalid: failed(problem, "close"),
        hold_invalid: failed(problem, "hold"),
        publish_invalid: failed(problem, "publish"),
        audiences: std::iter::once(Choice {
            value: String::new(),
            label: d.publish_audience_all.to_owned(),
            selected: true,
        })
        .chain(
            view.requests
                .iter()
                .filter(|r| r.state == RequestState::Open)
                .map(|r| Choice {
                    value: r.id.to_string(),
                    label: format!(
                        "{} ({})",
                        r.department,
                        r.to.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    selected: false,
                }),
        )
        .collect(),
    })
}

/// The registration form's fields, kept when registering failed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RegisterValues {
    #[serde(default)]
    pub case_id: String,
    #[serde(default)]
    pub case_type: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub remarks: String,
    #[serde(default)]
    pub submitter_name: String,
    #[serde(default)]
    pub submitter_email: String,
    #[serde(default)]
    pub decision_reference: String,
    #[serde(default)]
    pub decision_date: String,
    #[serde(default)]
    pub decision_subject: String,
    #[serde(default)]
    pub decision_department: String,
    #[serde(default)]
    pub handler_name: String,
    #[serde(default)]
    pub handler_email: String,
}

#[derive(Template)]
#[template(path = "staff/dossier_new.html")]
struct RegisterPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    d: &'static DossierTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    values: &'a RegisterValues,
    case_types: Vec<Choice>,
    problem: Option<ProblemBox>,
    invalid: bool,
}

/// `/staff/dossiers/new`: register a dossier by hand.
pub fn register_page(
    values: &RegisterValues,
    case_types: &[(String, String)],
    problem: Option<Problem>,
    bar: StaffBar,
    lang: Lang,
    base: &str,
    org: &str,
) -> String {
    let d = lang.dossier_texts();
    render(&RegisterPage {
        t: lang.texts(),
        s: lang.staff_texts(),
        d,
        frame: frame(lang, base, org, d.register_title, "page-staff"),
        bar,
        q: lang_query(lang),
        values,
        case_types: case_types
            .iter()
            .map(|(key, name)| Choice {
                value: key.clone(),
                label: format!("{name} ({key})"),
                selected: &values.case_type == key,
            })
            .collect(),
        invalid: failed(problem.as_ref(), "register"),
        problem: ProblemBox::of(problem.as_ref(), d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_done_parses_back() {
        for done in Done::ALL {
            assert_eq!(Done::parse(done.as_str()), Some(done));
        }
        assert_eq!(Done::parse("<script>"), None);
    }

    #[test]
    fn query_strings_encode_and_skip_empty_values() {
        assert_eq!(query_string(&[("q", ""), ("lang", "")]), "");
        assert_eq!(
            query_string(&[("q", "a b&c"), ("done", "due-changed"), ("lang", "en")]),
            "?q=a%20b%26c&done=due-changed&lang=en"
        );
    }
}
