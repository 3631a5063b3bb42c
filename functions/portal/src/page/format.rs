//! Formatting for the templates: dates and times, sizes, upload rules, URL path segments, links
//! in mail text, and the HTML escaper the templates use (`askama.toml`).

use std::fmt;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use portaal_core::casetype::UploadRules;
use portaal_core::localtime::amsterdam;
use serde::Serialize;

use super::Lang;
use super::texts::fill;

/// Escapes `&`, `<`, `>`, `"` and `'` with the same entities as the mail templates
/// (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`). Every `{{ value }}` in a template goes
/// through it; the templates use no `|safe` but for the page's data block, whose JSON
/// [`super::data::DataBlock`] escapes itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct HtmlEntities;

impl askama::filters::Escaper for HtmlEntities {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, s: &str) -> fmt::Result {
        let mut done = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&s[done..i])?;
            dest.write_str(entity)?;
            done = i + 1;
        }
        dest.write_str(&s[done..])
    }
}

// ---------------------------------------------------------------- dates and sizes

pub fn date_text(d: NaiveDate, lang: Lang) -> String {
    let language = match lang {
        Lang::Nl => portaal_core::mailtext::Language::Nl,
        Lang::En => portaal_core::mailtext::Language::En,
    };
    portaal_core::localtime::mail_date(d, language)
}

/// Date and time in Amsterdam: "1 juli 2026, 12:30".
pub fn datetime_text(at: DateTime<Utc>, lang: Lang) -> String {
    let local = amsterdam(at);
    format!(
        "{}, {:02}:{:02}",
        date_text(local.date(), lang),
        local.hour(),
        local.minute()
    )
}

/// What a `<time>` element shows (`text`) and its machine-readable value (`datetime`).
#[derive(Clone, Debug)]
pub struct TimeTag {
    pub datetime: String,
    pub text: String,
}

impl TimeTag {
    /// An instant: UTC for machines, Amsterdam time for people.
    pub fn at(at: DateTime<Utc>, lang: Lang) -> TimeTag {
        TimeTag {
            datetime: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: datetime_text(at, lang),
        }
    }

    pub fn date(d: NaiveDate, lang: Lang) -> TimeTag {
        TimeTag {
            datetime: d.format("%Y-%m-%d").to_string(),
            text: date_text(d, lang),
        }
    }
}

/// Bytes in binary units, one decimal, with a decimal comma in Dutch.
pub fn human_size(bytes: u64, lang: Lang) -> String {
    if bytes < 1024 {
        return if bytes == 1 {
            "1 byte".to_owned()
        } else {
            format!("{bytes} bytes")
        };
    }
    let units = ["kB", "MB", "GB", "TB"];
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let mut s = if value >= 100.0 || (value.fract() < 0.05 && value >= 10.0) {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    };
    if s.ends_with(".0") {
        s.truncate(s.len() - 2);
    }
    if lang == Lang::Nl {
        s = s.replace('.', ",");
    }
    format!("{s} {}", units[unit])
}

// ---------------------------------------------------------------- upload rules

/// A content type the portal knows: its short name and the extensions of its files.
#[derive(Debug, Serialize)]
pub struct KnownType {
    #[serde(rename = "type")]
    pub content_type: &'static str,
    pub label: &'static str,
    pub extensions: &'static [&'static str],
}

const fn known(
    content_type: &'static str,
    label: &'static str,
    extensions: &'static [&'static str],
) -> KnownType {
    KnownType {
        content_type,
        label,
        extensions,
    }
}

/// The content types case types may allow: the only copy, also sent to the page's script (which
/// picks a type by extension where the browser gives none).
pub const KNOWN_TYPES: &[KnownType] = &[
    known("application/pdf", "PDF", &[".pdf"]),
    known("application/msword", "DOC", &[".doc"]),
    known(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "DOCX",
        &[".docx"],
    ),
    known("application/vnd.ms-excel", "XLS", &[".xls"]),
    known(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "XLSX",
        &[".xlsx"],
    ),
    known("application/vnd.oasis.opendocument.text", "ODT", &[".odt"]),
    known(
        "application/vnd.oasis.opendocument.spreadsheet",
        "ODS",
        &[".ods"],
    ),
    known("application/vnd.ms-outlook", "MSG", &[".msg"]),
    known("message/rfc822", "EML", &[".eml"]),
    known("text/plain", "TXT", &[".txt"]),
    known("text/csv", "CSV", &[".csv"]),
    known("image/png", "PNG", &[".png"]),
    known("image/jpeg", "JPG", &[".jpg", ".jpeg"]),
    known("image/tiff", "TIFF", &[".tif", ".tiff"]),
];

fn type_info(content_type: &str) -> Option<&'static KnownType> {
    KNOWN_TYPES.iter().find(|k| k.content_type == content_type)
}

/// "Allowed: PDF, JPG. At most 100 MB per file and 50 files at a time."
pub fn rules_text(rules: &UploadRules, lang: Lang) -> String {
    let t = lang.texts();
    let types = if rules.allowed_types.is_empty() {
        t.rules_any.to_owned()
    } else {
        let names: Vec<&str> = rules
            .allowed_types
            .iter()
            .map(|ct| type_info(ct).map_or(ct.as_str(), |k| k.label))
            .collect();
        fill(t.rules_types, &[("types", &names.join(", "))])
    };
    let limits = fill(
        t.rules_limits,
        &[
            ("size", &human_size(rules.max_file_bytes, lang)),
            ("count", &rules.max_files.to_string()),
        ],
    );
    format!("{types} {limits}")
}

/// The file input's `accept` value: extensions and content types; `None` accepts anything.
pub fn accept_list(rules: &UploadRules) -> Option<String> {
    if rules.allowed_types.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for ct in &rules.allowed_types {
        if let Some(known) = type_info(ct) {
            parts.extend(known.extensions.iter().map(|e| (*e).to_owned()));
        }
        parts.push(ct.clone());
    }
    Some(parts.join(","))
}

// ---------------------------------------------------------------- links

/// Percent-encodes a path segment (ids are ULIDs, but never trust a caller with a path).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A piece of mail text: plain text, or an http(s) URL to show as a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Splits text at every http(s) URL in it, so the template can make the URLs links.
pub fn linkify(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let next = [rest.find("https://"), rest.find("http://")]
            .into_iter()
            .flatten()
            .min();
        let Some(start) = next else {
            out.push(Piece::Text(rest));
            break;
        };
        out.push(Piece::Text(&rest[..start]));
        let tail = &rest[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`'))
            .unwrap_or(tail.len());
        // Punctuation that ends a sentence is not part of the URL.
        while end > 0 && tail[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', ']']) {
            end -= 1;
        }
        let url = &tail[..end];
        if url.len() <= "https://".len() {
            out.push(Piece::Text(&tail[..end.max(1)]));
            rest = &tail[end.max(1)..];
            continue;
        }
        out.push(Piece::Link(url));
        rest = &tail[end..];
    }
    out.retain(|p| *p != Piece::Text(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::filters::Escaper;

    #[test]
    fn escapes_like_the_mail_templates() {
        let mut out = String::new();
        HtmlEntities
            .write_escaped_str(&mut out, "a<b>&\"c'd\u{e9}")
            .unwrap();
        assert_eq!(out, "a&lt;b&gt;&amp;&quot;c&#39;d\u{e9}");
        assert_eq!(out, portaal_core::mailtext::escape_html("a<b>&\"c'd\u{e9}"));
    }

    #[test]
    fn urls_become_links() {
        assert_eq!(
            linkify("see https://x.nl/a?b=1. or http:// (http://y.nl)"),
            vec![
                Piece::Text("see "),
                Piece::Link("https://x.nl/a?b=1"),
                Piece::Text(". or "),
                Piece::Text("http://"),
                Piece::Text(" ("),
                Piece::Link("http://y.nl"),
                Piece::Text(")"),
            ]
        );
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }
}
