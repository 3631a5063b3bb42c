//! Does a file's content match the type it was announced with? Decided from at most its first
//! [`HEAD_BYTES`] and last [`TAIL_BYTES`] (a zip's central directory sits at its end), so storage
//! only ever hands over those two ranges. Detection uses the `infer` crate plus the rules it
//! lacks: OOXML and ODF members, any OLE2 container, text encodings, mail headers, and markup.

/// Bytes read from the start of a file.
pub const HEAD_BYTES: u64 = 8 * 1024;
/// Bytes read from the end of a file.
pub const TAIL_BYTES: u64 = 64 * 1024;

const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ZIP_LOCAL: &[u8] = b"PK\x03\x04";
const ZIP_CENTRAL: &[u8] = b"PK\x01\x02";

/// The parts of a file the check reads: `head` is its first bytes; `tail` its last bytes when the
/// file is longer than the head (empty otherwise).
pub struct Sample<'a> {
    pub head: &'a [u8],
    pub tail: &'a [u8],
}

/// Content that runs: never accepted, whatever it is announced as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Active {
    Executable,
    Script,
    Markup,
}

/// Why content was refused, in words for the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The bytes are a program, markup that runs (HTML, SVG) or a script.
    Active(Active),
    /// The bytes are not what the announced type's rule requires.
    NotThatType,
}

impl Mismatch {
    pub fn english(&self) -> &'static str {
        match self {
            Mismatch::Active(Active::Executable) => "it is an executable program",
            Mismatch::Active(Active::Script) => "it is a script",
            Mismatch::Active(Active::Markup) => "it is HTML or SVG",
            Mismatch::NotThatType => "its content is something else",
        }
    }
    pub fn dutch(&self) -> &'static str {
        match self {
            Mismatch::Active(Active::Executable) => "het is een uitvoerbaar programma",
            Mismatch::Active(Active::Script) => "het is een script",
            Mismatch::Active(Active::Markup) => "het is een webpagina of SVG (HTML/SVG)",
            Mismatch::NotThatType => "de inhoud is iets anders",
        }
    }
}

/// Checks `sample` against the announced content type (its essence, lower case).
pub fn check(content_type: &str, sample: &Sample<'_>) -> Result<(), Mismatch> {
    if let Some(active) = active_content(sample.head) {
        // Text may legitimately hold markup or a script; it is served as text and never run.
        if !is_text_type(content_type) {
            return Err(Mismatch::Active(active));
        }
    }
    let ok = match content_type {
        "application/pdf" => find(&sample.head[..sample.head.len().min(1024)], b"%PDF-").is_some(),
        "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.ms-outlook" => sample.head.starts_with(OLE2_MAGIC),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            ooxml(sample, "word/")
        }
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => ooxml(sample, "xl/"),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            ooxml(sample, "ppt/")
        }
        t if t.starts_with("application/vnd.oasis.opendocument.") => odf(sample.head, t),
        "application/zip" => sample.head.starts_with(ZIP_LOCAL),
        "message/rfc822" => starts_with_header_lines(sample.head),
        t if is_text_type(t) => is_plain_text(sample.head) && is_plain_text(sample.tail),
        t if t.starts_with("image/") || t.starts_with("audio/") || t.starts_with("video/") => {
            match infer::get(sample.head) {
                Some(found) => same_type(found.mime_type(), t),
                // A media type `infer` does not know: no rule, so only active content is refused.
                None => !infer::is_mime_supported(t),
            }
        }
        // No rule for this type: only active content (refused above) is refused.
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(Mismatch::NotThatType)
    }
}

fn is_text_type(t: &str) -> bool {
    matches!(t, "text/plain" | "text/csv" | "text/tab-separated-values")
}

/// `infer` names some types by an older alias.
fn same_type(found: &str, announced: &str) -> bool {
    found == announced || matches!((found, announced), ("image/jpeg", "image/jpg"))
}

/// An executable, a script, or markup a browser would run.
fn active_content(head: &[u8]) -> Option<Active> {
    if infer::is_app(head) && !infer::is_mime(head, "application/x-x509-ca-cert") {
        return Some(Active::Executable);
    }
    if head.starts_with(b"#!") {
        return Some(Active::Script);
    }
    let start = skip_bom_and_space(head);
    let lower: Vec<u8> = start
        .iter()
        .take(1024)
        .map(u8::to_ascii_lowercase)
        .collect();
    const MARKUP: [&[u8]; 8] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<script",
        b"<svg",
        b"<iframe",
        b"<!doctype svg",
    ];
    if MARKUP.iter().any(|m| lower.starts_with(m))
        || (lower.starts_with(b"<?xml") && find(&lower, b"<svg").is_some())
    {
        return Some(Active::Markup);
    }
    None
}

fn skip_bom_and_space(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[first..]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An OOXML package: a zip with `[Content_Types].xml` and members under `dir` (`word/`, `xl/`,
/// `ppt/`), as its central directory (read from the tail) or its first entries (head) list them.
fn ooxml(sample: &Sample<'_>, dir: &str) -> bool {
    if !sample.head.starts_with(ZIP_LOCAL) {
        return false;
    }
    let names = zip_member_names(sample);
    names.iter().any(|n| n == "[Content_Types].xml") && names.iter().any(|n| n.starts_with(dir))
}

/// Member names from central-directory records in the tail and local headers in the head. A
/// directory larger than the tail still shows its last records; `[Content_Types].xml` is usually
/// the first local entry.
fn zip_member_names(sample: &Sample<'_>) -> Vec<String> {
    let mut names = Vec::new();
    let region = if sample.tail.is_empty() {
        sample.head
    } else {
        sample.tail
    };
    let mut at = 0;
    while let Some(found) = find(&region[at..], ZIP_CENTRAL) {
        let record = &region[at + found..];
        if let Some(name) = length_prefixed_name(record, 28, 46) {
            names.push(name);
        }
        at += found + ZIP_CENTRAL.len();
    }
    at = 0;
    while let Some(found) = find(&sample.head[at..], ZIP_LOCAL) {
        let record = &sample.head[at + found..];
        if let Some(name) = length_prefixed_name(record, 26, 30) {
            names.push(name);
        }
        at += found + ZIP_LOCAL.len();
    }
    names
}

/// The name of a zip record whose little-endian name length sits at `len_at` and name at `name_at`.
fn length_prefixed_name(record: &[u8], len_at: usize, name_at: usize) -> Option<String> {
    let len = u16::from_le_bytes([*record.get(len_at)?, *record.get(len_at + 1)?]) as usize;
    let name = record.get(name_at..name_at + len)?;
    String::from_utf8(name.to_vec()).ok()
}

/// An ODF package starts with an uncompressed `mimetype` member holding its media type.
fn odf(head: &[u8], content_type: &str) -> bool {
    head.starts_with(ZIP_LOCAL)
        && head.get(30..38) == Some(b"mimetype".as_slice())
        && head
            .get(38..)
            .is_some_and(|rest| rest.starts_with(content_type.as_bytes()))
}

/// UTF-8 or Windows-1252 text without NUL or control characters other than TAB, LF, FF and CR.
/// A multi-byte UTF-8 character cut at either end of the sample still counts as UTF-8.
fn is_plain_text(bytes: &[u8]) -> bool {
    let allowed_control = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r');
    if bytes
        .iter()
        .any(|&b| (b < 0x20 && !allowed_control(b)) || b == 0x7F)
    {
        return false;
    }
    if is_utf8_allowing_cut_ends(bytes) {
        // C1 controls (U+0080–U+009F) are control characters too.
        return !String::from_utf8_lossy(bytes)
            .chars()
            .any(|c| ('\u{80}'..='\u{9F}').contains(&c));
    }
    // Windows-1252 leaves these five bytes undefined.
    !bytes
        .iter()
        .any(|b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
}

fn is_utf8_allowing_cut_ends(bytes: &[u8]) -> bool {
    // Drop continuation bytes at the start (a character cut by the range).
    let start = bytes
        .iter()
        .take(3)
        .take_while(|b| (**b & 0xC0) == 0x80)
        .count();
    match std::str::from_utf8(&bytes[start..]) {
        Ok(_) => true,
        // Only an incomplete character at the very end is forgiven.
        Err(e) => e.error_len().is_none() && bytes.len() - start - e.valid_up_to() < 4,
    }
}

/// A mail message (RFC 5322) begins with header fields: `Name: value`, possibly folded.
fn starts_with_header_lines(head: &[u8]) -> bool {
    let Some(first) = head.split(|&b| b == b'\n').next() else {
        return false;
    };
    let is_field = |line: &[u8]| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.iter().position(|&b| b == b':') {
            Some(colon) if colon > 0 => line[..colon].iter().all(|&b| (33..=126).contains(&b)),
            _ => false,
        }
    };
    is_field(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_whole(ct: &str, bytes: &[u8]) -> Result<(), Mismatch> {
        let head = &bytes[..bytes.len().min(HEAD_BYTES as usize)];
        let tail = if bytes.len() > HEAD_BYTES as usize {
            &bytes[bytes.len().saturating_sub(TAIL_BYTES as usize)..]
        } else {
            &[][..]
        };
        check(ct, &Sample { head, tail })
    }

    /// A stored (uncompressed) zip with these members, built by hand so the test needs no crate.
    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data) in members {
            let offset = out.len() as u32;
            let mut local = Vec::new();
            local.extend_from_slice(ZIP_LOCAL);
            local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            local.extend_from_slice(&[0; 4]); // crc (not checked here)
            local.extend_from_slice(&(data.len() as u32).to_le_bytes());
            local.extend_from_slice(&(data.len() as u32).to_le_bytes());
            local.extend_from_slice(&(name.len() as u16).to_le_bytes());
            local.extend_from_slice(&[0, 0]);
            local.extend_from_slice(name.as_bytes());
            local.extend_from_slice(data);
            out.extend_from_slice(&local);
            central.extend_from_slice(ZIP_CENTRAL);
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&[0; 4]);
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    const ODT: &str = "application/vnd.oasis.opendocument.text";

    #[test]
    fn disguised_executables_and_markup_are_refused() {
        let mz = [
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF".as_slice(),
            &[0; 100],
        ]
        .concat();
        assert_eq!(
            check_whole("application/pdf", &mz),
            Err(Mismatch::Active(Active::Executable))
        );
        let elf = [b"\x7FELF\x02\x01\x01".as_slice(), &[0; 60]].concat();
        assert!(check_whole("application/x-unknown", &elf).is_err());
        assert_eq!(
            check_whole("image/png", b"  <!DOCTYPE html><html><script>x</script>"),
            Err(Mismatch::Active(Active::Markup))
        );
        assert!(check_whole("application/x-unknown", b"<?xml version=\"1.0\"?><svg/>").is_err());
        assert!(check_whole("application/x-unknown", b"#!/bin/sh\nrm -rf /").is_err());
        // Types without a rule pass otherwise.
        assert!(check_whole("application/x-unknown", b"just some bytes").is_ok());
    }

    #[test]
    fn pdf_png_jpeg_by_signature() {
        assert!(check_whole("application/pdf", b"%PDF-1.7\n%\xE2\xE3\n1 0 obj").is_ok());
        assert!(check_whole("application/pdf", b"hello").is_err());
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert!(check_whole("image/png", png).is_ok());
        assert!(check_whole("image/jpeg", png).is_err());
        assert!(check_whole("image/jpeg", b"\xFF\xD8\xFF\xE0\0\x10JFIF\0").is_ok());
    }

    #[test]
    fn any_ole2_file_matches_every_ole2_type() {
        let ole = [OLE2_MAGIC, &[0; 504]].concat();
        for t in [
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-outlook",
        ] {
            assert!(check_whole(t, &ole).is_ok(), "{t}");
        }
        assert!(check_whole("application/msword", b"%PDF-1.4").is_err());
    }

    #[test]
    fn ooxml_needs_its_members_also_when_the_directory_is_only_in_the_tail() {
        let docx = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<w:document/>"),
        ]);
        assert!(check_whole(DOCX, &docx).is_ok());
        assert_eq!(check_whole(XLSX, &docx), Err(Mismatch::NotThatType));
        let plain_zip = zip(&[("readme.txt", b"hi")]);
        assert!(check_whole(DOCX, &plain_zip).is_err());
        // A large package: the directory lies beyond the head, within the tail.
        let filler = vec![b'x'; 200_000];
        let big = zip(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/media/image1.bin", &filler),
            ("xl/workbook.xml", b"<workbook/>"),
        ]);
        assert!(check_whole(XLSX, &big).is_ok());
        assert!(check_whole(DOCX, &big).is_err());
    }

    #[test]
    fn odf_by_its_mimetype_member() {
        let odt = zip(&[("mimetype", ODT.as_bytes()), ("content.xml", b"<x/>")]);
        assert!(check_whole(ODT, &odt).is_ok());
        assert!(check_whole("application/vnd.oasis.opendocument.spreadsheet", &odt).is_err());
    }

    #[test]
    fn text_is_utf8_or_windows_1252_without_control_characters() {
        assert!(check_whole("text/plain", "Zaak één\r\n\tregel\x0C".as_bytes()).is_ok());
        assert!(check_whole("text/csv", b"naam;bedrag\ncaf\xE9;\x80 12\n").is_ok());
        assert!(check_whole("text/plain", b"binary\0data").is_err());
        assert!(check_whole("text/plain", b"escape \x1b[31m").is_err());
        assert!(check_whole("text/csv", b"undefined \x81 byte").is_err());
        // A character cut by the tail range is still UTF-8.
        let mut long = vec![b'a'; 100_001];
        long.extend_from_slice("é".repeat(40_000).as_bytes());
        long.push(b'.');
        let cut_at = long.len() - TAIL_BYTES as usize;
        assert_eq!(long[cut_at] & 0xC0, 0x80, "the range starts mid-character");
        assert!(check_whole("text/plain", &long).is_ok());
    }

    #[test]
    fn mail_starts_with_header_lines() {
        assert!(check_whole("message/rfc822", b"From: a@b.nl\r\nSubject: x\r\n\r\nbody").is_ok());
        assert!(check_whole("message/rfc822", b"Return-Path: <a@b.nl>\nTo: c").is_ok());
        assert!(check_whole("message/rfc822", b"Hello there\nThis is no mail").is_err());
        assert!(check_whole("message/rfc822", b": empty name").is_err());
    }

    #[test]
    fn both_languages_name_the_reason() {
        let m = Mismatch::Active(Active::Executable);
        assert!(m.dutch().contains("uitvoerbaar programma"));
        assert!(m.english().contains("executable"));
    }
}
