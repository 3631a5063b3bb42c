//! Mail texts as minijinja templates: strict about variables (an unknown name is refused when
//! saved, never mailed as braces), values HTML-escaped in the HTML part, every default per case
//! type and language in `defaults/`.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};

pub use crate::domain::Language;
use crate::error::FieldError;
use crate::model::{LINK_PLACEHOLDER, MailKind};

mod defaults;
mod sample;

/// A mail text: minijinja templates (see this module). An empty `html` is made from
/// the text.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Template {
    pub subject: String,
    pub text: String,
    #[serde(default)]
    pub html: String,
}

pub use defaults::default_template;
pub use sample::sample_vars;

impl Language {
    /// Where a text of `kind` in this language stands in the case type, e.g. `templates.request`.
    pub fn template_field(self, kind: MailKind) -> String {
        format!("{}.{}", self.templates_field(), kind.as_str())
    }

    /// The case type's field holding the texts of this language.
    pub fn templates_field(self) -> &'static str {
        match self {
            Self::Nl => "templates",
            Self::En => "templates_en",
        }
    }
}

pub use crate::model::Rendered;

/// Values by variable name.
pub type Vars = BTreeMap<&'static str, String>;

/// The variables of every mail: the dossier and the sender.
const DOSSIER_VARIABLES: &[&str] = &[
    "org_name",
    "case_id",
    "case_type",
    "case_type_lower",
    "title",
    "remarks",
    "remarks_block",
    "decision_reference",
    "decision_date",
    "decision_subject",
    "handler_name",
    "handler_email",
];

fn kind_variables(kind: MailKind) -> &'static [&'static str] {
    match kind {
        MailKind::Request | MailKind::ReminderBefore | MailKind::ReminderOverdue => {
            &["department", "due", "message", "portal_url"]
        }
        MailKind::DueChanged => &["department", "due", "old_due", "message", "portal_url"],
        MailKind::Withdrawn => &["department", "due", "message"],
        MailKind::DeliveryReceived => &[
            "department",
            "submitted_by",
            "submitted_at",
            "files",
            "comment",
        ],
        MailKind::Receipt => &[
            "department",
            "submitted_by",
            "submitted_at",
            "files",
            "comment",
            "portal_url",
        ],
        MailKind::Publication => &["department", "filename", "message", "portal_url"],
        MailKind::Rejected => &[
            "department",
            "submitted_by",
            "submitted_at",
            "reason",
            "portal_url",
        ],
        MailKind::Quarantined => &["department", "filename", "threat"],
        MailKind::MailFailed => &["mail_kind", "recipient", "reason"],
    }
}

/// The variables a template of `kind` may use, in a stable order.
pub fn variables(kind: MailKind) -> Vec<&'static str> {
    DOSSIER_VARIABLES
        .iter()
        .chain(kind_variables(kind))
        .copied()
        .collect()
}

/// Mail that exists to carry the link: a text without it would leave the department stranded.
pub fn requires_link(kind: MailKind) -> bool {
    matches!(
        kind,
        MailKind::Request | MailKind::ReminderBefore | MailKind::ReminderOverdue
    )
}

/// minijinja's global functions, which a template may call without them being variables.
const GLOBALS: &[&str] = &["range", "dict", "namespace", "debug"];

/// Bounds the work one render may do, so an administrator's loop cannot stall a sender.
const FUEL: u64 = 100_000;

const HTML_PART: &str = "html";

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name == HTML_PART {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_fuel(Some(FUEL));
    env
}

fn render_part(
    env: &Environment<'_>,
    part: &str,
    source: &str,
    vars: &Vars,
) -> Result<String, minijinja::Error> {
    env.template_from_named_str(part, source)?.render(vars)
}

/// Renders a template. Variables of `kind` the caller did not give render empty (a missing
/// value must not cost the mail); names outside the kind's list fail, as saving refuses them.
pub fn render(
    kind: MailKind,
    language: Language,
    template: &Template,
    vars: &Vars,
) -> Result<Rendered, minijinja::Error> {
    let mut vars = vars.clone();
    for name in variables(kind) {
        vars.entry(name).or_default();
    }
    let env = environment();
    let subject = render_part(&env, "subject", &template.subject, &vars)?
        .replace(['\r', '\n'], " ")
        .trim()
        .to_owned();
    let text = collapse_blank_lines(&render_part(&env, "text", &template.text, &vars)?);
    let html = if template.html.trim().is_empty() {
        text_to_html(&subject, &text, language)
    } else {
        render_part(&env, HTML_PART, &template.html, &vars)?
    };
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

/// Everything wrong with a template of `kind`, each at its place; `field` names the template in
/// the case type, e.g. `templates.request`.
pub fn validate(kind: MailKind, template: &Template, field: &str) -> Vec<FieldError> {
    let sample = sample_vars(kind, "bezwaar", "Bezwaar", true, Language::Nl);
    match preview(kind, Language::Nl, template, field, &sample) {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    }
}

/// The template rendered with `sample`, or everything wrong with it: what reading it shows
/// (empty parts, syntax, unknown variables, a missing link), else what rendering shows (a filter
/// on the wrong type, a loop out of fuel).
pub fn preview(
    kind: MailKind,
    language: Language,
    template: &Template,
    field: &str,
    sample: &Vars,
) -> Result<Rendered, Vec<FieldError>> {
    let env = environment();
    let allowed = variables(kind);
    let mut errors = Vec::new();
    for (part, source) in [
        ("subject", &template.subject),
        ("text", &template.text),
        ("html", &template.html),
    ] {
        let field = format!("{field}.{part}");
        if source.trim().is_empty() {
            if part != "html" {
                errors.push(FieldError::new(
                    &field,
                    format!("the {part} must not be empty"),
                ));
            }
            continue;
        }
        let names: BTreeSet<String> = match env.template_from_named_str(part, source) {
            Err(e) => {
                errors.push(syntax_error(&field, source, &e));
                continue;
            }
            Ok(compiled) => compiled.undeclared_variables(false).into_iter().collect(),
        };
        for name in &names {
            if allowed.contains(&name.as_str()) || GLOBALS.contains(&name.as_str()) {
                continue;
            }
            let (line, column) = locate(source, name).map(|at| position(source, at)).unzip();
            errors.push(FieldError {
                field: field.clone(),
                line,
                column,
                detail: format!(
                    "unknown variable '{name}'; a {} mail knows: {}",
                    kind.as_str(),
                    allowed.join(", ")
                ),
            });
        }
        if part != "subject" && requires_link(kind) && !names.contains("portal_url") {
            errors.push(FieldError::new(
                &field,
                format!(
                    "a {} mail must contain {{{{ portal_url }}}}: without it the department cannot reach the portal",
                    kind.as_str()
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    render(kind, language, template, sample).map_err(|e| {
        let part = e.name().unwrap_or("text").to_owned();
        let source = match part.as_str() {
            "subject" => &template.subject,
            "html" => &template.html,
            _ => &template.text,
        };
        vec![syntax_error(&format!("{field}.{part}"), source, &e)]
    })
}

fn syntax_error(field: &str, source: &str, e: &minijinja::Error) -> FieldError {
    let (line, column) = match e.range() {
        Some(range) => {
            let (l, c) = position(source, range.start);
            (Some(l), Some(c))
        }
        None => (e.line(), None),
    };
    FieldError {
        field: field.to_owned(),
        line,
        column,
        detail: e
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| e.kind().to_string()),
    }
}

/// Line and column (1-based, in characters) of a byte offset.
fn position(source: &str, at: usize) -> (usize, usize) {
    let before = &source[..at.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Where `name` first stands as a name inside a `{{ }}` or `{% %}` tag.
fn locate(source: &str, name: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(open) = source[from..].find(['{']).map(|i| from + i) {
        let rest = &source[open..];
        let close = if rest.starts_with("{{") {
            "}}"
        } else if rest.starts_with("{%") {
            "%}"
        } else {
            from = open + 1;
            continue;
        };
        let end = rest.find(close).map_or(source.len(), |i| open + i);
        let tag = &source[open..end];
        let mut search = 0;
        while let Some(i) = tag[search..].find(name).map(|i| search + i) {
            let before = tag[..i].chars().next_back();
            let after = tag[i + name.len()..].chars().next();
            if !before.is_some_and(|c| is_ident(c) || c == '.') && !after.is_some_and(is_ident) {
                return Some(open + i);
            }
            search = i + name.len();
        }
        from = end;
    }
    None
}

/// An empty optional part leaves no gap of several empty lines, nor trailing spaces.
fn collapse_blank_lines(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.dedup_by(|a, b| a.is_empty() && b.is_empty());
    lines.join("\n").trim().to_owned()
}

/// The HTML alternative of a plain text: paragraphs, everything escaped, a link on its own line
/// clickable.
fn text_to_html(subject: &str, text: &str, language: Language) -> String {
    let mut body = String::new();
    for paragraph in text.split("\n\n") {
        if paragraph.trim().is_empty() {
            continue;
        }
        let lines: Vec<String> = paragraph
            .lines()
            .map(|line| linkify(&escape_html(line.trim_end())))
            .collect();
        body.push_str("<p>");
        body.push_str(&lines.join("<br>\n"));
        body.push_str("</p>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family:sans-serif;line-height:1.5\">\n{}</body></html>\n",
        language.as_str(),
        escape_html(subject),
        body
    )
}

/// Makes a line that is only a URL (or the link a sender fills in) into a link.
fn linkify(escaped: &str) -> String {
    let t = escaped.trim();
    let is_url = (t.starts_with("http://") || t.starts_with("https://") || t == LINK_PLACEHOLDER)
        && !t.contains(char::is_whitespace);
    if is_url {
        format!("<a href=\"{t}\">{t}</a>")
    } else {
        escaped.to_owned()
    }
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(subject: &str, text: &str, html: &str) -> Template {
        Template {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let t = template(
            "Zaak {{ case_id }}",
            "Van {{ title }}\n\n{{ portal_url }}",
            "",
        );
        let mut vars = Vars::new();
        vars.insert("case_id", "Z-1".into());
        vars.insert("title", "<b>Jan</b>".into());
        vars.insert("portal_url", "https://x.nl/p/abc".into());
        let r = render(MailKind::Request, Language::Nl, &t, &vars).unwrap();
        assert_eq!(r.subject, "Zaak Z-1");
        assert!(r.text.contains("<b>Jan</b>"));
        assert!(r.html.contains("&lt;b&gt;Jan&lt;/b&gt;"));
        assert!(r.html.contains("<a href=\"https://x.nl/p/abc\">"));

        let own_html = template("x", "{{ portal_url }}", "<p>{{ title }}</p>");
        let r = render(MailKind::Request, Language::Nl, &own_html, &vars).unwrap();
        assert!(r.html.starts_with("<p>&lt;b&gt;Jan&lt;"), "{}", r.html);
    }

    #[test]
    fn an_unknown_variable_is_refused_at_its_place() {
        let t = template(
            "Zaak",
            "Beste,\n\nzie {{ zaaknummer }} en {{ portal_url }}",
            "",
        );
        let errors = validate(MailKind::Request, &t, "templates.request");
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(e.field, "templates.request.text");
        assert_eq!((e.line, e.column), (Some(3), Some(8)));
        assert!(e.detail.contains("zaaknummer"), "{}", e.detail);
    }

    #[test]
    fn a_request_without_the_link_is_refused_in_text_and_html() {
        let t = template("Zaak", "geen link", "<p>{{ case_id }}</p>");
        let errors = validate(
            MailKind::ReminderOverdue,
            &t,
            "templates_en.reminder_overdue",
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "templates_en.reminder_overdue.text",
                "templates_en.reminder_overdue.html"
            ]
        );
        // Mail to the handler carries no link and needs none.
        assert!(validate(MailKind::DeliveryReceived, &template("x", "y", ""), "t").is_empty());
    }

    #[test]
    fn a_syntax_error_names_line_and_column() {
        let t = template("Zaak", "regel 1\n{{ portal_url }}\n{% if title %}open", "");
        let errors = validate(MailKind::Request, &t, "templates.request");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "templates.request.text");
        assert_eq!(errors[0].line, Some(3));
    }

    #[test]
    fn a_runaway_loop_is_refused_not_run_forever() {
        let t = template(
            "x",
            "{% for i in range(10000) %}{% for j in range(10000) %}.{% endfor %}{% endfor %}{{ portal_url }}",
            "",
        );
        let errors = validate(MailKind::Request, &t, "templates.request");
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    #[test]
    fn empty_optional_parts_leave_no_gaps() {
        let t = template(
            "x",
            "a\n\n{% if message %}{{ message }}{% endif %}\n\n\n\nb  \n",
            "",
        );
        let r = render(MailKind::Request, Language::Nl, &t, &Vars::new()).unwrap();
        assert_eq!(r.text, "a\n\nb");
        // Windows line ends and indented empty lines alike.
        let crlf = template(
            "x",
            "a\r\n\r\n{% if message %}x{% endif %}\r\n \r\n\r\n  b",
            "",
        );
        let r = render(MailKind::Request, Language::Nl, &crlf, &Vars::new()).unwrap();
        assert_eq!(r.text, "a\n\n  b");
    }
}
