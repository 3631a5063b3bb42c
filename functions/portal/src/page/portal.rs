//! The portal page for a link holder (`templates/portal.html` and `templates/portal/*.html`):
//! what each template shows, built from a [`PortalView`]. Values are plain text; the templates
//! escape them.

use askama::Template;
use portaal_core::model::{
    DeliveryState, DocumentState, Event, EventKind, RequestState, ScanState,
};
use portaal_core::views::{DeliveryView, DocumentView, PortalView, PublicationView};

use super::data::DataBlock;
use super::format::{TimeTag, accept_list, datetime_text, human_size, rules_text};
use super::texts::{Texts, fill};
use super::{Frame, Lang};

#[derive(Template)]
#[template(path = "portal.html")]
pub(super) struct PortalPage<'a> {
    t: &'static Texts,
    frame: Frame<'a>,
    intro: &'static str,
    accepting: bool,
    remarks: Remarks<'a>,
    case: CasePanel<'a>,
    history: History<'a>,
    deliver: Deliver<'a>,
    data: DataBlock,
}

impl<'a> PortalPage<'a> {
    pub(super) fn new(view: &'a PortalView, lang: Lang, base: &'a str, paged_back: bool) -> Self {
        let t = lang.texts();
        let d = &view.dossier;
        PortalPage {
            t,
            frame: Frame {
                lang,
                base,
                title: format!("{} {} \u{2013} Portaal", t.request_heading, d.case_id),
                switch: true,
                footer: t.footer_portal,
                body_class: "page-portal",
                org: &view.org_name,
            },
            intro: t.intro(d.case_type.as_str()),
            accepting: view.accepting,
            remarks: Remarks::new(view, t),
            case: CasePanel::new(view, lang),
            history: History::new(view, lang, paged_back),
            deliver: Deliver::new(view, lang),
            data: DataBlock::portal(lang),
        }
    }
}

/// Text that is not blank, trimmed.
fn given(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

/// A text with a `<time>` in its slot ("uiterlijk <time>12 december 2026</time>").
pub(super) struct TimeInText {
    before: &'static str,
    time: TimeTag,
    after: &'static str,
}

impl TimeInText {
    fn new(text: &'static str, time: TimeTag) -> Self {
        let around = Texts::around(text);
        TimeInText {
            before: around.before,
            time,
            after: around.after,
        }
    }
}

// ---------------------------------------------------------------- remarks and case details

/// `portal/remarks.html`: the case's remarks and the message with the request.
pub(super) struct Remarks<'a> {
    case: Option<&'a str>,
    message: Option<&'a str>,
    /// "Message from {handler}".
    from: String,
}

impl<'a> Remarks<'a> {
    fn new(view: &'a PortalView, t: &Texts) -> Self {
        Remarks {
            case: given(&view.dossier.remarks),
            message: given(&view.request.message),
            from: fill(t.remarks_message, &[("name", &view.dossier.handler_name)]),
        }
    }
}

/// `portal/case.html`: case, decision and request facts.
pub(super) struct CasePanel<'a> {
    case_type_name: &'a str,
    case_id: &'a str,
    title: &'a str,
    submitter: Option<SubmitterFacts<'a>>,
    handler: Option<&'a str>,
    decision: Option<DecisionFacts<'a>>,
    department: &'a str,
    due: TimeInText,
    overdue: bool,
    state: &'static str,
}

pub(super) struct SubmitterFacts<'a> {
    name: &'a str,
    address: Option<&'a str>,
    email: Option<&'a str>,
}

pub(super) struct DecisionFacts<'a> {
    reference: &'a str,
    date: TimeTag,
    subject: Option<&'a str>,
    department: &'a str,
}

impl<'a> CasePanel<'a> {
    fn new(view: &'a PortalView, lang: Lang) -> Self {
        let t = lang.texts();
        let d = &view.dossier;
        let r = &view.request;
        CasePanel {
            case_type_name: &d.case_type_name,
            case_id: d.case_id.as_str(),
            title: &d.title,
            submitter: d.submitter.as_ref().map(|s| SubmitterFacts {
                name: &s.name,
                address: s.address.as_deref().and_then(given),
                email: s.email.as_ref().map(|e| e.as_str()),
            }),
            handler: Some(d.handler_name.as_str()).filter(|h| !h.trim().is_empty()),
            // A Woo-verzoek or klacht need not concern a decision: then there is no panel for one.
            decision: d.decision.as_ref().map(|dec| DecisionFacts {
                reference: &dec.reference,
                date: TimeTag::date(dec.date.0, lang),
                subject: Some(dec.subject.as_str()).filter(|s| !s.trim().is_empty()),
                department: &dec.department,
            }),
            department: &r.department,
            due: TimeInText::new(t.due_by, TimeTag::date(r.due.0, lang)),
            overdue: r.overdue,
            state: t.request_state(r.state),
        }
    }
}

// ---------------------------------------------------------------- history column

/// `portal/history.html`: earlier deliveries, publications and the timeline.
pub(super) struct History<'a> {
    deliveries: Vec<DeliveryArticle<'a>>,
    publications: Vec<DocItem<'a>>,
    events: Vec<EventItem<'a>>,
    /// The link to the events before these (`?before=`), when there are any.
    older: Option<String>,
    /// The link back to the newest events, on an older page.
    newest: Option<String>,
}

impl<'a> History<'a> {
    fn new(view: &'a PortalView, lang: Lang, paged_back: bool) -> Self {
        // Oldest first: the first is the delivery, later ones follow-ups.
        let mut deliveries: Vec<&DeliveryView> = view.deliveries.iter().collect();
        deliveries.sort_by_key(|d| d.submitted_at);
        let mut publications: Vec<&PublicationView> = view.publications.iter().collect();
        publications.sort_by_key(|p| p.published_at);
        let mut events: Vec<&Event> = view.timeline.iter().collect();
        events.sort_by_key(|e| e.at);
        History {
            deliveries: deliveries
                .into_iter()
                .enumerate()
                .map(|(i, del)| DeliveryArticle::new(del, i == 0, lang))
                .collect(),
            publications: publications
                .into_iter()
                .map(|p| DocItem::publication(p, lang))
                .collect(),
            events: events
                .into_iter()
                .map(|e| EventItem::new(e, view, lang))
                .collect(),
            older: view
                .timeline_next
                .as_ref()
                .map(|cursor| format!("?before={cursor}&lang={}", lang.code())),
            newest: paged_back.then(|| format!("?lang={}", lang.code())),
        }
    }
}

/// `portal/delivery.html`: one delivery with its documents.
pub(super) struct DeliveryArticle<'a> {
    id: &'a str,
    /// "Delivery" for the first, "Follow-up delivery" for later ones.
    kind: &'static str,
    at: TimeTag,
    badge_class: &'static str,
    badge: &'static str,
    by: String,
    /// Why it was rejected (only for a rejected delivery).
    reason: Option<&'a str>,
    comment: Option<&'a str>,
    docs: Vec<DocItem<'a>>,
}

impl<'a> DeliveryArticle<'a> {
    fn new(del: &'a DeliveryView, first: bool, lang: Lang) -> Self {
        let t = lang.texts();
        let (badge_class, badge) = match del.state {
            DeliveryState::Submitted => ("badge-submitted", t.badge_submitted),
            DeliveryState::Approved => ("badge-approved", t.badge_approved),
            DeliveryState::Rejected => ("badge-rejected", t.badge_rejected),
        };
        DeliveryArticle {
            id: del.id.as_str(),
            kind: if first {
                t.delivery_first
            } else {
                t.delivery_next
            },
            at: TimeTag::at(del.submitted_at, lang),
            badge_class,
            badge,
            by: fill(t.delivery_by, &[("name", &del.submitted_by.name)]),
            reason: del
                .reason
                .as_deref()
                .filter(|_| del.state == DeliveryState::Rejected)
                .and_then(given),
            comment: given(&del.comment),
            docs: del
                .documents
                .iter()
                .map(|doc| DocItem::new(doc, lang))
                .collect(),
        }
    }
}

/// `portal/document.html`: a document line; the script sets the link's href
/// (`location.pathname + '/documents/' + id`).
pub(super) struct DocItem<'a> {
    /// `id` of the item: the target of the history's "view document" link.
    anchor: Option<String>,
    name: &'a str,
    shown: Shown<'a>,
    size: String,
    published: Option<TimeInText>,
    scan_pending: bool,
    sha: Option<Sha<'a>>,
    /// The case handler's note with a publication.
    note: Option<&'a str>,
}

/// How a document's name is shown.
pub(super) enum Shown<'a> {
    /// A link to the document with this id.
    Link(&'a str),
    /// Malware found: refused, not passed on.
    Refused,
    /// In a rejected delivery: destroyed.
    Destroyed,
}

pub(super) struct Sha<'a> {
    full: &'a str,
    short: &'a str,
}

impl<'a> DocItem<'a> {
    fn new(doc: &'a DocumentView, lang: Lang) -> Self {
        let shown = if doc.scan == ScanState::Infected {
            Shown::Refused
        } else if doc.state == DocumentState::Rejected {
            Shown::Destroyed
        } else {
            Shown::Link(doc.id.as_str())
        };
        DocItem {
            anchor: None,
            name: doc.filename.as_str(),
            shown,
            size: human_size(doc.size, lang),
            published: None,
            scan_pending: doc.scan == ScanState::Pending,
            sha: doc.sha256.as_ref().map(|sha| {
                let full = sha.as_str();
                let short = full
                    .char_indices()
                    .nth(12)
                    .map_or(full, |(i, _)| &full[..i]);
                Sha { full, short }
            }),
            note: None,
        }
    }

    fn publication(p: &'a PublicationView, lang: Lang) -> Self {
        let t = lang.texts();
        DocItem {
            anchor: Some(format!("publication-{}", p.id.as_str())),
            published: p
                .published_at
                .map(|at| TimeInText::new(t.published_on, TimeTag::at(at, lang))),
            note: given(&p.message),
            ..DocItem::new(&p.document, lang)
        }
    }
}

/// `portal/event.html`: one line of the timeline.
pub(super) struct EventItem<'a> {
    class: &'static str,
    at: TimeTag,
    label: &'static str,
    summary: Option<&'a str>,
    /// Summaries are written in Dutch by the server: marked so on an English page.
    summary_in_dutch: bool,
    link: Option<EventLink>,
}

pub(super) struct EventLink {
    anchor: String,
    label: &'static str,
}

impl<'a> EventItem<'a> {
    fn new(e: &'a Event, view: &PortalView, lang: Lang) -> Self {
        let t = lang.texts();
        let delivery = e
            .delivery_id
            .as_ref()
            .filter(|did| view.deliveries.iter().any(|d| &d.id == *did));
        let publication = e
            .publication_id
            .as_ref()
            .filter(|pid| view.publications.iter().any(|p| &p.id == *pid));
        let link = match (delivery, publication) {
            (Some(did), _) => Some(EventLink {
                anchor: format!("delivery-{}", did.as_str()),
                label: t.see_delivery,
            }),
            (None, Some(pid)) => Some(EventLink {
                anchor: format!("publication-{}", pid.as_str()),
                label: t.see_publication,
            }),
            (None, None) => None,
        };
        EventItem {
            class: match e.kind {
                EventKind::DeliverySubmitted
                | EventKind::DeliveryApproved
                | EventKind::DeliveryRejected => "delivery",
                EventKind::PublicationPublished => "publication",
                EventKind::ReminderSent => "reminder",
                _ => "other",
            },
            at: TimeTag::at(e.at, lang),
            label: t.event(e.kind),
            summary: given(&e.summary),
            summary_in_dutch: lang != Lang::Nl,
            link,
        }
    }
}

// ---------------------------------------------------------------- deliver section

/// `portal/deliver.html`: the delivery form, or a notice why there is none.
pub(super) struct Deliver<'a> {
    notice: Option<Notice>,
    /// There were deliveries before: a new one is a follow-up.
    follow_up: bool,
    max_bytes: u64,
    part_threshold: u64,
    max_files: usize,
    allowed_types: String,
    accept: Option<String>,
    rules: String,
    staged: Vec<StagedFile<'a>>,
}

pub(super) struct Notice {
    text: String,
    contact: Option<String>,
}

/// `portal/staged.html`: an uploaded file not yet sent.
pub(super) struct StagedFile<'a> {
    id: &'a str,
    name: &'a str,
    bytes: u64,
    size: String,
    sha: Option<&'a str>,
    /// Sent in parts and not complete: the same file chosen again resumes it.
    incomplete: bool,
}

impl<'a> Deliver<'a> {
    fn new(view: &'a PortalView, lang: Lang) -> Self {
        let t = lang.texts();
        let notice = (!view.accepting).then(|| {
            let text = match (view.request.state, view.dossier.closes_at) {
                (RequestState::Withdrawn, _) => t.notice_withdrawn.to_owned(),
                (_, Some(until)) => {
                    fill(t.notice_handled, &[("date", &datetime_text(until, lang))])
                }
                _ => t.notice_closed.to_owned(),
            };
            let handler = &view.dossier.handler_name;
            Notice {
                text,
                contact: (!handler.trim().is_empty())
                    .then(|| fill(t.notice_contact, &[("name", handler)])),
            }
        });
        let rules = &view.upload;
        Deliver {
            notice,
            follow_up: !view.deliveries.is_empty(),
            max_bytes: rules.max_file_bytes,
            part_threshold: view.part_threshold,
            max_files: rules.max_files,
            allowed_types: rules.allowed_types.join(","),
            accept: accept_list(rules),
            rules: rules_text(rules, lang),
            staged: view
                .staged
                .iter()
                .map(|doc| StagedFile {
                    id: doc.id.as_str(),
                    name: doc.filename.as_str(),
                    bytes: doc.size,
                    size: human_size(doc.size, lang),
                    sha: doc.sha256.as_ref().map(|s| s.as_str()),
                    incomplete: doc.parts.as_ref().is_some_and(|p| !p.completed),
                })
                .collect(),
        }
    }
}
