//! The other pages: errors, the landing page, and the embedded-mode outbox.

use askama::Template;

use super::format::{Piece, linkify, path_segment};
use super::texts::{NL, Texts, fill};
use super::{Frame, Lang, MailRow};

#[derive(Template)]
#[template(path = "error.html")]
pub(super) struct ErrorPage<'a> {
    pub t: &'static Texts,
    pub frame: Frame<'a>,
    pub title: &'a str,
    pub detail: Option<&'a str>,
    pub hint: Option<&'static str>,
    /// "Error code 404".
    pub code: String,
    /// Keeps the language on the way home.
    pub home_query: &'static str,
}

impl<'a> ErrorPage<'a> {
    pub(super) fn new(
        status: u16,
        title: &'a str,
        detail: &'a str,
        hint: Option<&str>,
        lang: Lang,
        base: &'a str,
        org: &'a str,
    ) -> Self {
        let t = lang.texts();
        let detail = Some(detail).filter(|d| !d.trim().is_empty());
        ErrorPage {
            t,
            frame: Frame {
                lang,
                base,
                title: format!("{status} {title} \u{2013} Portaal"),
                switch: true,
                footer: t.footer,
                body_class: "page-error",
                org,
            },
            title,
            detail,
            // The caller's detail usually says what to do; the closed-dossier hint adds the
            // retention rule.
            hint: hint
                .filter(|_| status == 410 || detail.is_none())
                .and_then(|key| t.hint(key)),
            code: fill(t.error_code, &[("code", &status.to_string())]),
            home_query: if lang == Lang::En { "?lang=en" } else { "" },
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub(super) struct HomePage<'a> {
    pub t: &'static Texts,
    pub frame: Frame<'a>,
    /// (label, href) for developers.
    pub dev_links: Option<&'a [(&'a str, &'a str)]>,
}

impl<'a> HomePage<'a> {
    pub(super) fn new(
        lang: Lang,
        dev_links: Option<&'a [(&'a str, &'a str)]>,
        base: &'a str,
        org: &'a str,
    ) -> Self {
        let t = lang.texts();
        HomePage {
            t,
            frame: Frame {
                lang,
                base,
                title: format!("{} \u{2013} Portaal", t.home_title),
                switch: true,
                footer: t.footer,
                body_class: "page-home",
                org,
            },
            dev_links,
        }
    }
}

// ---------------------------------------------------------------- embedded-mode outbox

const DEV_FOOTER: &str =
    "Alleen in de lokale ontwikkelomgeving: deze pagina's bestaan niet in productie.";

const NO_SUBJECT: &str = "(geen onderwerp)";

/// The frame of the outbox pages: Dutch, no language switch.
fn dev_frame(title: String) -> Frame<'static> {
    Frame {
        lang: Lang::Nl,
        base: "",
        title,
        switch: false,
        footer: DEV_FOOTER,
        body_class: "page-dev",
        org: "",
    }
}

fn subject_text(subject: &str) -> &str {
    if subject.trim().is_empty() {
        NO_SUBJECT
    } else {
        subject
    }
}

#[derive(Template)]
#[template(path = "dev/mail_list.html")]
pub(super) struct MailListPage<'a> {
    pub t: &'static Texts,
    pub frame: Frame<'static>,
    pub rows: Vec<MailLine<'a>>,
}

pub(super) struct MailLine<'a> {
    pub sent_at: &'a str,
    pub to: String,
    pub segment: String,
    pub subject: &'a str,
}

impl<'a> MailListPage<'a> {
    pub(super) fn new(rows: &'a [MailRow<'a>]) -> Self {
        MailListPage {
            t: &NL,
            frame: dev_frame("Verstuurde e-mail \u{2013} Portaal".to_owned()),
            rows: rows
                .iter()
                .map(|r| MailLine {
                    sent_at: r.sent_at,
                    to: r.to.join(", "),
                    segment: path_segment(r.id),
                    subject: subject_text(r.subject),
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "dev/mail.html")]
pub(super) struct MailPage<'a> {
    pub t: &'static Texts,
    pub frame: Frame<'static>,
    pub subject: &'a str,
    pub to: String,
    pub sent_at: &'a str,
    pub segment: String,
    pub body: Vec<Piece<'a>>,
}

impl<'a> MailPage<'a> {
    pub(super) fn new(
        id: &str,
        to: &[String],
        subject: &'a str,
        sent_at: &'a str,
        text: &'a str,
    ) -> Self {
        let subject = subject_text(subject);
        MailPage {
            t: &NL,
            frame: dev_frame(format!("{subject} \u{2013} Verstuurde e-mail")),
            subject,
            to: to.join(", "),
            sent_at,
            segment: path_segment(id),
            body: linkify(text),
        }
    }
}
