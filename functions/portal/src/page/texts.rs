//! The UI strings, one field per string, in one constant per language ([`NL`], [`EN`]): a
//! string missing from a language does not compile. Values are plain text; the templates
//! escape them. A `{name}` in a value is a slot: [`fill`] puts plain text in it (escaped with
//! the rest), [`Texts::around`] gives the parts around a slot for markup such as `<time>`.

use portaal_core::model::{EventKind, RequestState};
use serde::Serialize;

mod en;
mod nl;

pub use en::EN;
pub use nl::NL;

/// Every string of the pages for link holders, in one language.
pub struct Texts {
    /// After the brand name in the header.
    pub brand_sub: &'static str,
    /// The skip link to the main content.
    pub skip: &'static str,
    /// Label of the language switch.
    pub lang_nav: &'static str,
    /// Footer of the portal page.
    pub footer_portal: &'static str,
    /// Footer of the other pages.
    pub footer: &'static str,
    pub request_heading: &'static str,
    /// What the department is asked, per case type.
    pub intro_bezwaar: &'static str,
    pub intro_beroep: &'static str,
    pub intro_voorlopige_voorziening: &'static str,
    pub intro_woo_verzoek: &'static str,
    pub intro_klacht: &'static str,
    pub intro_other: &'static str,
    pub jump_form: &'static str,
    pub remarks: &'static str,
    pub remarks_case: &'static str,
    /// `{name}`: the case handler.
    pub remarks_message: &'static str,
    pub remarks_none: &'static str,
    pub case_details: &'static str,
    pub case_type: &'static str,
    pub case_id: &'static str,
    pub case_title: &'static str,
    pub submitter: &'static str,
    pub handler: &'static str,
    pub decision: &'static str,
    pub decision_reference: &'static str,
    pub decision_date: &'static str,
    pub decision_subject: &'static str,
    pub department: &'static str,
    pub request: &'static str,
    pub due: &'static str,
    /// `{date}`: a `<time>` element (markup slot, see [`Texts::around`]).
    pub due_by: &'static str,
    pub overdue: &'static str,
    pub request_state: &'static str,
    pub state_open: &'static str,
    pub state_delivered: &'static str,
    pub state_withdrawn: &'static str,
    pub deliveries: &'static str,
    pub deliveries_none: &'static str,
    pub delivery_first: &'static str,
    pub delivery_next: &'static str,
    /// `{name}`: who delivered.
    pub delivery_by: &'static str,
    pub comment: &'static str,
    pub reason: &'static str,
    pub badge_submitted: &'static str,
    pub badge_approved: &'static str,
    pub badge_rejected: &'static str,
    pub destroyed: &'static str,
    pub quarantined: &'static str,
    pub scan_pending: &'static str,
    pub documents: &'static str,
    pub no_documents: &'static str,
    pub publications: &'static str,
    pub publications_none: &'static str,
    /// `{date}`: a `<time>` element (markup slot).
    pub published_on: &'static str,
    pub history: &'static str,
    pub history_none: &'static str,
    /// A link to the page of events before the ones shown.
    pub history_older: &'static str,
    /// A link back to the newest events, from an older page.
    pub history_newest: &'static str,
    pub see_delivery: &'static str,
    pub see_publication: &'static str,
    pub noscript_docs: &'static str,
    pub sha_unknown: &'static str,
    pub deliver: &'static str,
    pub deliver_intro: &'static str,
    pub deliver_intro_more: &'static str,
    pub noscript_form: &'static str,
    pub dropzone: &'static str,
    pub choose_files: &'static str,
    pub file_input: &'static str,
    /// `{types}`: short names of the allowed types.
    pub rules_types: &'static str,
    pub rules_any: &'static str,
    /// `{size}`: the largest file; `{count}`: the most files at once.
    pub rules_limits: &'static str,
    pub files: &'static str,
    pub files_none: &'static str,
    pub file_ready: &'static str,
    /// A file sent in parts that stopped half-way (a lost connection, a reload).
    pub file_incomplete: &'static str,
    pub remove: &'static str,
    pub optional: &'static str,
    pub your_name: &'static str,
    pub your_email: &'static str,
    pub email_hint: &'static str,
    pub confirm: &'static str,
    pub notice_withdrawn: &'static str,
    pub notice_closed: &'static str,
    /// `{date}`: until when the case can be read.
    pub notice_handled: &'static str,
    /// `{name}`: the case handler.
    pub notice_contact: &'static str,
    /// `{code}`: the HTTP status.
    pub error_code: &'static str,
    /// Advice on error pages (see `hint_for`).
    pub hint_404: &'static str,
    pub hint_410: &'static str,
    pub hint_429: &'static str,
    pub hint_500: &'static str,
    pub to_home: &'static str,
    /// The landing page.
    pub home_title: &'static str,
    pub home_intro: &'static str,
    pub home_how: &'static str,
    pub home_step1: &'static str,
    pub home_step2: &'static str,
    pub home_step3: &'static str,
    pub home_no_link: &'static str,
    pub home_dev: &'static str,
    pub events: EventLabels,
    /// What the page's script says; the page hands it over in its data block.
    pub script: ScriptTexts,
}

/// What the history calls each kind of event.
pub struct EventLabels {
    pub dossier_registered: &'static str,
    pub dossier_updated: &'static str,
    pub request_sent: &'static str,
    pub request_updated: &'static str,
    pub request_withdrawn: &'static str,
    pub link_rotated: &'static str,
    pub delivery_submitted: &'static str,
    pub delivery_approved: &'static str,
    pub delivery_rejected: &'static str,
    pub reminder_sent: &'static str,
    pub publication_published: &'static str,
    pub dossier_closed: &'static str,
    pub dossier_reopened: &'static str,
    pub hold_set: &'static str,
    pub hold_lifted: &'static str,
    pub document_quarantined: &'static str,
    pub mail_failed: &'static str,
}

/// The strings of the page's script (`assets/js`), sent in the portal page's data block (see
/// `page::data`). The script also says [`Texts::file_ready`] and [`Texts::remove`].
#[derive(Serialize)]
pub struct ScriptTexts {
    pub hashing: &'static str,
    pub announcing: &'static str,
    pub waiting: &'static str,
    pub uploading: &'static str,
    /// `{name}`: the file.
    pub progress: &'static str,
    pub removing: &'static str,
    /// `{name}`: the file.
    pub removed: &'static str,
    /// `{name}`: the file.
    pub start_upload: &'static str,
    /// `{name}`: the file.
    pub uploaded: &'static str,
    /// `{name}`: the file; `{detail}`: what went wrong.
    pub failed: &'static str,
    /// `{max}`: the largest file.
    pub too_large: &'static str,
    pub empty: &'static str,
    pub type_not_allowed: &'static str,
    /// `{max}`: the most files at once.
    pub too_many: &'static str,
    pub network: &'static str,
    /// `{status}`: the HTTP status.
    pub http_error: &'static str,
    /// `{status}`: the storage's HTTP status.
    pub storage_error: &'static str,
    pub need_file: &'static str,
    pub still_uploading: &'static str,
    pub need_name: &'static str,
    pub need_email: &'static str,
    pub bad_email: &'static str,
    pub check_fields: &'static str,
    pub sending: &'static str,
    pub sent_title: &'static str,
    pub sent_text: &'static str,
    pub sent_once: &'static str,
    pub unknown_sha: &'static str,
    /// Asked before leaving the page while files upload.
    pub leave: &'static str,
    /// A file sent in parts picks up where it stopped.
    pub resuming: &'static str,
    /// `{done}`, `{total}`: parts sent of all.
    pub parts_progress: &'static str,
}

impl Texts {
    /// What the department is asked, in the words of the case type.
    pub fn intro(&self, case_type: &str) -> &'static str {
        match case_type {
            "bezwaar" => self.intro_bezwaar,
            "beroep" => self.intro_beroep,
            "voorlopige-voorziening" => self.intro_voorlopige_voorziening,
            "woo-verzoek" => self.intro_woo_verzoek,
            "klacht" => self.intro_klacht,
            _ => self.intro_other,
        }
    }

    pub fn request_state(&self, state: RequestState) -> &'static str {
        match state {
            RequestState::Open => self.state_open,
            RequestState::Delivered => self.state_delivered,
            RequestState::Withdrawn => self.state_withdrawn,
        }
    }

    /// The advice [`super::hint_for`] names, if it names one.
    pub fn hint(&self, key: &str) -> Option<&'static str> {
        match key {
            "hint_404" => Some(self.hint_404),
            "hint_410" => Some(self.hint_410),
            "hint_429" => Some(self.hint_429),
            "hint_500" => Some(self.hint_500),
            _ => None,
        }
    }

    pub fn event(&self, kind: EventKind) -> &'static str {
        let e = &self.events;
        match kind {
            EventKind::DossierRegistered => e.dossier_registered,
            EventKind::DossierUpdated => e.dossier_updated,
            EventKind::RequestSent => e.request_sent,
            EventKind::RequestUpdated => e.request_updated,
            EventKind::RequestWithdrawn => e.request_withdrawn,
            EventKind::LinkRotated => e.link_rotated,
            EventKind::DeliverySubmitted => e.delivery_submitted,
            EventKind::DeliveryApproved => e.delivery_approved,
            EventKind::DeliveryRejected => e.delivery_rejected,
            EventKind::ReminderSent => e.reminder_sent,
            EventKind::PublicationPublished => e.publication_published,
            EventKind::DossierClosed => e.dossier_closed,
            EventKind::DossierReopened => e.dossier_reopened,
            EventKind::HoldSet => e.hold_set,
            EventKind::HoldLifted => e.hold_lifted,
            EventKind::DocumentQuarantined => e.document_quarantined,
            EventKind::MailFailed => e.mail_failed,
        }
    }

    /// The text before and after the (one) slot of `text`, for a slot that takes markup.
    pub fn around(text: &'static str) -> Around {
        match (text.find('{'), text.find('}')) {
            (Some(open), Some(close)) if open < close => Around {
                before: &text[..open],
                after: &text[close + 1..],
            },
            _ => Around {
                before: text,
                after: "",
            },
        }
    }
}

/// The parts of a text around its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Around {
    pub before: &'static str,
    pub after: &'static str,
}

/// `text` with each `{name}` replaced by its plain-text value. The result is plain text.
pub fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').expect("closed slot") + open;
            out.push(&rest[open + 1..close]);
            rest = &rest[close + 1..];
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn both_languages_have_the_same_slots() {
        let pairs = [
            (NL.remarks_message, EN.remarks_message, vec!["name"]),
            (NL.due_by, EN.due_by, vec!["date"]),
            (NL.delivery_by, EN.delivery_by, vec!["name"]),
            (NL.published_on, EN.published_on, vec!["date"]),
            (NL.rules_types, EN.rules_types, vec!["types"]),
            (NL.rules_limits, EN.rules_limits, vec!["count", "size"]),
            (NL.notice_handled, EN.notice_handled, vec!["date"]),
            (NL.notice_contact, EN.notice_contact, vec!["name"]),
            (NL.error_code, EN.error_code, vec!["code"]),
            (NL.script.progress, EN.script.progress, vec!["name"]),
            (NL.script.removed, EN.script.removed, vec!["name"]),
            (NL.script.start_upload, EN.script.start_upload, vec!["name"]),
            (NL.script.uploaded, EN.script.uploaded, vec!["name"]),
            (NL.script.failed, EN.script.failed, vec!["detail", "name"]),
            (NL.script.too_large, EN.script.too_large, vec!["max"]),
            (NL.script.too_many, EN.script.too_many, vec!["max"]),
            (NL.script.http_error, EN.script.http_error, vec!["status"]),
            (
                NL.script.storage_error,
                EN.script.storage_error,
                vec!["status"],
            ),
        ];
        for (nl, en, want) in pairs {
            assert_eq!(slots(nl), want, "{nl}");
            assert_eq!(slots(en), want, "{en}");
        }
    }

    #[test]
    fn slots_are_filled_and_split() {
        assert_eq!(fill(NL.delivery_by, &[("name", "<Piet>")]), "Door <Piet>");
        assert_eq!(
            Texts::around(EN.due_by),
            Around {
                before: "by ",
                after: ""
            }
        );
        assert_eq!(Texts::around("no slot").before, "no slot");
    }
}
