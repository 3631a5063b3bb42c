//! HTML pages: the portal page for link holders, error and landing pages, and the embedded-mode
//! outbox. Each page and partial is an askama template in `functions/portal/templates`, checked
//! against its Rust struct at compile time; every `{{ value }}` is escaped by the templates
//! (see [`format::HtmlEntities`]). The UI strings are typed per language ([`texts`]).
//!
//! The CSP forbids inline script and style, so pages only link `/assets/portal.css` and the
//! module `/assets/js/main.js` (which imports the others of [`SCRIPTS`]) and carry data in
//! `data-*` attributes and, on the portal page, a JSON data block the script reads (its texts
//! and the known content types: [`data`]). The portal page holds no link token: the script
//! builds every URL from `location.pathname`.

use askama::Template;
use portaal_core::views::PortalView;

pub mod admin_texts;
mod data;
pub mod dutch;
mod format;
mod other;
mod portal;
pub mod staff;
pub mod staff_admin;
pub mod staff_texts;
pub mod texts;

#[cfg(test)]
mod tests;

use texts::Texts;

pub const PORTAL_CSS: &str = include_str!("../../assets/portal.css");

/// The page's script: ES modules served at `/assets/js/{name}`, `main.js` the entry point.
pub const SCRIPTS: &[(&str, &str)] = &[
    ("api.js", include_str!("../../assets/js/api.js")),
    ("data.js", include_str!("../../assets/js/data.js")),
    ("deliver.js", include_str!("../../assets/js/deliver.js")),
    ("dom.js", include_str!("../../assets/js/dom.js")),
    ("files.js", include_str!("../../assets/js/files.js")),
    ("hash.js", include_str!("../../assets/js/hash.js")),
    ("links.js", include_str!("../../assets/js/links.js")),
    ("main.js", include_str!("../../assets/js/main.js")),
    ("parts.js", include_str!("../../assets/js/parts.js")),
    ("picker.js", include_str!("../../assets/js/picker.js")),
    ("refresh.js", include_str!("../../assets/js/refresh.js")),
    ("rows.js", include_str!("../../assets/js/rows.js")),
    ("send.js", include_str!("../../assets/js/send.js")),
    ("sha256.js", include_str!("../../assets/js/sha256.js")),
    ("staff.js", include_str!("../../assets/js/staff.js")),
    ("texts.js", include_str!("../../assets/js/texts.js")),
    ("types.js", include_str!("../../assets/js/types.js")),
    ("upload.js", include_str!("../../assets/js/upload.js")),
    ("validate.js", include_str!("../../assets/js/validate.js")),
];

/// The module of [`SCRIPTS`] called `name`.
pub fn script(name: &str) -> Option<&'static str> {
    SCRIPTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, body)| *body)
}

// ---------------------------------------------------------------- language

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    /// `Some("en")` (the `lang` parameter's value) or a whole query string holding `lang=en`
    /// gives English; anything else Dutch.
    pub fn from_query(q: Option<&str>) -> Lang {
        let Some(q) = q else { return Lang::Nl };
        let q = q.trim().trim_start_matches('?');
        if q.eq_ignore_ascii_case("en") {
            return Lang::En;
        }
        let en = q.split('&').any(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            k == "lang" && v.eq_ignore_ascii_case("en")
        });
        if en { Lang::En } else { Lang::Nl }
    }

    /// A message of the core as this language's pages show it (see [`dutch`]).
    pub fn message(self, message: &str) -> String {
        match self {
            Lang::Nl => dutch::in_dutch(message),
            Lang::En => message.to_owned(),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// The UI strings in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Nl => &texts::NL,
            Lang::En => &texts::EN,
        }
    }

    /// The language the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::Nl => Lang::En,
            Lang::En => Lang::Nl,
        }
    }

    /// The language's name, in itself.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Nl => "Nederlands",
            Lang::En => "English",
        }
    }
}

// ---------------------------------------------------------------- page frame

/// What `templates/frame.html` shows around every page.
struct Frame<'a> {
    lang: Lang,
    /// Path prefix the portal is served under (API Gateway stage), "" at the root.
    base: &'a str,
    title: String,
    /// Show the language switch (links keep the path, set or unset `?lang=en`).
    switch: bool,
    footer: &'a str,
    body_class: &'static str,
    /// The organisation's name (`PORTAAL_ORG_NAME`), "" when not set.
    org: &'a str,
}

/// Renders a page. Templates write into a String and format only strings and numbers, so this
/// cannot fail.
fn render(page: &impl Template) -> String {
    page.render().expect("a page renders into a String")
}

// ---------------------------------------------------------------- pages

/// The portal page for a link holder. Contains no token: scripts use location.pathname.
/// `base`: the path prefix the portal is served under (the API Gateway stage), "" at the root.
/// The portal page; `paged_back`: its timeline is an older page (`?before=`).
pub fn portal_page(view: &PortalView, lang: Lang, base: &str, paged_back: bool) -> String {
    render(&portal::PortalPage::new(view, lang, base, paged_back))
}

/// The advice an error page adds for a status (404 unknown link, 410 closed, 429 too many
/// tries, 500).
pub fn hint_for(status: u16) -> Option<&'static str> {
    match status {
        404 => Some("hint_404"),
        410 => Some("hint_410"),
        429 => Some("hint_429"),
        500..=599 => Some("hint_500"),
        _ => None,
    }
}

/// Error page for browsers, with the advice `hint` names (see [`hint_for`]).
pub fn error_page(
    status: u16,
    title: &str,
    detail: &str,
    hint: Option<&str>,
    lang: Lang,
    base: &str,
    org: &str,
) -> String {
    render(&other::ErrorPage::new(
        status, title, detail, hint, lang, base, org,
    ))
}

/// Landing page at "/": what this is; tells people to open the link from their e-mail.
/// `dev_links`: when Some, a list of (label, href) for developers (outbox, API description).
pub fn home_page(lang: Lang, dev_links: Option<&[(&str, &str)]>, base: &str, org: &str) -> String {
    render(&other::HomePage::new(lang, dev_links, base, org))
}

/// Embedded-mode outbox list (/dev/mail) and one mail (/dev/mail/{id}).
pub struct MailRow<'a> {
    pub id: &'a str,
    pub to: &'a [String],
    pub subject: &'a str,
    pub sent_at: &'a str,
}

pub fn mail_list_page(rows: &[MailRow]) -> String {
    render(&other::MailListPage::new(rows))
}

/// Shows the text part in `<pre>`, a link to the raw message, and URLs in the text as links.
pub fn mail_page(id: &str, to: &[String], subject: &str, sent_at: &str, text: &str) -> String {
    render(&other::MailPage::new(id, to, subject, sent_at, text))
}
