//! How a downloaded file is named to the browser: one `Content-Disposition` for S3's presigned
//! URLs and the local server's signed blob route.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// `attr-char` of RFC 8187 may stay as it is; everything else is percent-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (or `inline`).
pub fn content_disposition(filename: &str, inline: bool) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}; filename=\"{fallback}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        utf8_percent_encode(filename, ATTR_CHAR)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_encodes_the_name() {
        assert_eq!(
            content_disposition("besluit 1 €.pdf", false),
            "attachment; filename=\"besluit 1 _.pdf\"; filename*=UTF-8''besluit%201%20%E2%82%AC.pdf"
        );
        assert!(content_disposition("a\"b.pdf", true).starts_with("inline; filename=\"a_b.pdf\""));
    }
}
