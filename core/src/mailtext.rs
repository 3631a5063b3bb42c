//! Renders a template with case data: `{{name}}` placeholders; values HTML-escaped in the HTML part.

use std::collections::BTreeMap;

use crate::casetype::Template;

#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub type Vars = BTreeMap<&'static str, String>;

pub fn render(template: &Template, vars: &Vars) -> Rendered {
    let subject = fill(&template.subject, vars, |s| s.replace(['\r', '\n'], " "));
    let text = collapse_blank_lines(&fill(&template.text, vars, str::to_owned));
    let html = if template.html.trim().is_empty() {
        text_to_html(&subject, &template.text, vars)
    } else {
        fill(&template.html, vars, escape_html)
    };
    Rendered {
        subject,
        text,
        html,
    }
}

/// An empty placeholder on its own line leaves no gap of several empty lines.
fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut newlines = 0;
    for c in text.chars() {
        if c == '\n' {
            newlines += 1;
            if newlines > 2 {
                continue;
            }
        } else {
            newlines = 0;
        }
        out.push(c);
    }
    out.trim_end().to_owned()
}

fn fill(template: &str, vars: &Vars, encode: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match vars.get(name) {
                    Some(v) => out.push_str(&encode(v)),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The HTML alternative of a text template: paragraphs, escaped values, the link clickable.
fn text_to_html(subject: &str, text_template: &str, vars: &Vars) -> String {
    let mut body = String::new();
    for para in text_template.split("\n\n") {
        let filled = fill(para.trim(), vars, escape_html);
        if filled.trim().is_empty() {
            continue;
        }
        let filled = linkify(&filled).replace('\n', "<br>\n");
        body.push_str("<p>");
        body.push_str(&filled);
        body.push_str("</p>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family:sans-serif;line-height:1.5\">\n{}</body></html>\n",
        escape_html(subject),
        body
    )
}

/// Makes a paragraph that is only a URL into a link.
fn linkify(escaped: &str) -> String {
    let t = escaped.trim();
    if (t.starts_with("http://") || t.starts_with("https://")) && !t.contains(char::is_whitespace) {
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

    #[test]
    fn placeholders_are_filled_and_escaped_in_html_only() {
        let t = Template {
            subject: "Zaak {{case_id}}".into(),
            text: "Van {{name}}\n\n{{url}}".into(),
            html: String::new(),
        };
        let mut vars = Vars::new();
        vars.insert("case_id", "Z-1".into());
        vars.insert("name", "<b>Jan</b>".into());
        vars.insert("url", "https://x.nl/p/abc".into());
        let r = render(&t, &vars);
        assert_eq!(r.subject, "Zaak Z-1");
        assert!(r.text.contains("<b>Jan</b>"));
        assert!(r.html.contains("&lt;b&gt;Jan&lt;/b&gt;"));
        assert!(r.html.contains("<a href=\"https://x.nl/p/abc\">"));
    }

    #[test]
    fn unknown_placeholders_stay_visible() {
        let t = Template {
            subject: "{{nope}}".into(),
            text: "{{".into(),
            html: String::new(),
        };
        let r = render(&t, &Vars::new());
        assert_eq!(r.subject, "{{nope}}");
        assert_eq!(r.text, "{{");
    }
}
