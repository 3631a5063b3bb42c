//! The default texts, one file per mail kind and language (the request mail also per case type):
//! the first line is the subject, then an empty line, then the text.

use super::Language;
use super::Template;
use crate::model::MailKind;

macro_rules! texts {
    ($lang:literal) => {
        Texts {
            request: include_str!(concat!("defaults/", $lang, "/request.txt")),
            request_per_case_type: [
                (
                    "bezwaar",
                    include_str!(concat!("defaults/", $lang, "/request.bezwaar.txt")),
                ),
                (
                    "beroep",
                    include_str!(concat!("defaults/", $lang, "/request.beroep.txt")),
                ),
                (
                    "voorlopige-voorziening",
                    include_str!(concat!(
                        "defaults/",
                        $lang,
                        "/request.voorlopige-voorziening.txt"
                    )),
                ),
                (
                    "woo-verzoek",
                    include_str!(concat!("defaults/", $lang, "/request.woo-verzoek.txt")),
                ),
                (
                    "klacht",
                    include_str!(concat!("defaults/", $lang, "/request.klacht.txt")),
                ),
            ],
            reminder_before: include_str!(concat!("defaults/", $lang, "/reminder_before.txt")),
            reminder_overdue: include_str!(concat!("defaults/", $lang, "/reminder_overdue.txt")),
            due_changed: include_str!(concat!("defaults/", $lang, "/due_changed.txt")),
            withdrawn: include_str!(concat!("defaults/", $lang, "/withdrawn.txt")),
            delivery_received: include_str!(concat!("defaults/", $lang, "/delivery_received.txt")),
            receipt: include_str!(concat!("defaults/", $lang, "/receipt.txt")),
            publication: include_str!(concat!("defaults/", $lang, "/publication.txt")),
            rejected: include_str!(concat!("defaults/", $lang, "/rejected.txt")),
            quarantined: include_str!(concat!("defaults/", $lang, "/quarantined.txt")),
            mail_failed: include_str!(concat!("defaults/", $lang, "/mail_failed.txt")),
        }
    };
}

struct Texts {
    request: &'static str,
    request_per_case_type: [(&'static str, &'static str); 5],
    reminder_before: &'static str,
    reminder_overdue: &'static str,
    due_changed: &'static str,
    withdrawn: &'static str,
    delivery_received: &'static str,
    receipt: &'static str,
    publication: &'static str,
    rejected: &'static str,
    quarantined: &'static str,
    mail_failed: &'static str,
}

const DUTCH: Texts = texts!("nl");
const ENGLISH: Texts = texts!("en");

/// The text a case type mails when its administrator set none.
pub fn default_template(case_type: &str, kind: MailKind, language: Language) -> Template {
    let texts = match language {
        Language::Nl => &DUTCH,
        Language::En => &ENGLISH,
    };
    let file = match kind {
        MailKind::Request => texts
            .request_per_case_type
            .iter()
            .find(|(key, _)| *key == case_type)
            .map_or(texts.request, |(_, text)| text),
        MailKind::ReminderBefore => texts.reminder_before,
        MailKind::ReminderOverdue => texts.reminder_overdue,
        MailKind::DueChanged => texts.due_changed,
        MailKind::Withdrawn => texts.withdrawn,
        MailKind::DeliveryReceived => texts.delivery_received,
        MailKind::Receipt => texts.receipt,
        MailKind::Publication => texts.publication,
        MailKind::Rejected => texts.rejected,
        MailKind::Quarantined => texts.quarantined,
        MailKind::MailFailed => texts.mail_failed,
    };
    let (subject, text) = file.split_once('\n').unwrap_or((file, ""));
    Template {
        subject: subject.trim().to_owned(),
        text: text.trim_start_matches(['\r', '\n']).trim_end().to_owned(),
        html: String::new(),
    }
}
