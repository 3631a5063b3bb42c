//! Validated domain values: parse once at the edge, trust them inside.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256 as Sha256Hasher};

use crate::error::Error;

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// The case system's case number; also part of every key of the dossier.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId(String);
string_newtype!(CaseId);

impl CaseId {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !raw.starts_with('.');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(
                "case_id must be 1 to 64 characters: letters, digits, '-', '_' or '.' (not leading)",
            ))
        }
    }
}

/// Key of a case type: `bezwaar`, `beroep`, `voorlopige-voorziening`, `woo-verzoek`, `klacht`, or custom.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CaseTypeKey(String);
string_newtype!(CaseTypeKey);

impl CaseTypeKey {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let ok = (1..=40).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::invalid(
                "case_type must be 1 to 40 characters: lowercase letters, digits or '-'",
            ))
        }
    }
}

/// A ULID-based identifier of a request, delivery, document, publication, event or mail.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(String);
string_newtype!(Id);

impl Id {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        ulid::Ulid::from_string(raw)
            .map(|u| Self(u.to_string()))
            .map_err(|_| Error::invalid(format!("'{}' is not a valid id", truncate(raw, 40))))
    }
    pub fn from_ulid(u: ulid::Ulid) -> Self {
        Self(u.to_string())
    }

    /// A new id that sorts by `at` (ULID).
    pub fn new_at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self::from_ulid(ulid::Ulid::from_datetime(at.into()))
    }
}

/// An e-mail address, checked for a plausible shape (the mail system does the rest).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);
string_newtype!(Email);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let raw = raw.trim();
        let bad = || Error::invalid(format!("'{}' is not an e-mail address", truncate(raw, 80)));
        if raw.len() > 254
            || raw.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
            })
        {
            return Err(bad());
        }
        let (local, domain) = raw.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || local.contains('@')
        {
            return Err(bad());
        }
        Ok(Self(raw.to_owned()))
    }
}

/// Lower-case hex SHA-256 of a file's bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sha256(String);
string_newtype!(Sha256);

impl Sha256 {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let lower = raw.trim().to_ascii_lowercase();
        if lower.len() == 64 && lower.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(lower))
        } else {
            Err(Error::invalid("sha256 must be 64 hexadecimal characters"))
        }
    }
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256Hasher::digest(bytes)))
    }
    pub fn from_digest(digest: &[u8]) -> Self {
        Self(hex::encode(digest))
    }
    /// Base64 of the raw digest, the form S3's `x-amz-checksum-sha256` uses.
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        let raw = hex::decode(&self.0).expect("validated hex");
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
    pub fn from_base64(b64: &str) -> Result<Self, Error> {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| Error::invalid("checksum is not base64"))?;
        if raw.len() != 32 {
            return Err(Error::invalid("checksum is not a SHA-256"));
        }
        Ok(Self(hex::encode(raw)))
    }
}

/// A file name as shown and as offered for download: no path, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Filename(String);
string_newtype!(Filename);

impl Filename {
    /// Sanitises rather than refuses: browsers send what the user's file system allows.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let cleaned: String = base
            .chars()
            .filter(|c| !c.is_control() && !is_invisible_format(*c))
            .map(|c| {
                if matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*') {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
        if cleaned.is_empty() {
            return Err(Error::invalid("filename is empty"));
        }
        if cleaned.len() > 200 {
            return Err(Error::invalid("filename is longer than 200 bytes"));
        }
        Ok(Self(cleaned))
    }
}

/// Unicode format characters that make a name read otherwise than it is (a right-to-left
/// override makes `factuur<RLO>fdp.exe` read as `factuurexe.pdf`), zero-width characters, and
/// line and paragraph separators.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// A MIME type such as `application/pdf` (parameters dropped, lower case).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentType(String);
string_newtype!(ContentType);

impl ContentType {
    /// The media type without parameters, lower case: `Text/Plain; charset=x` → `text/plain`.
    pub fn essence(raw: &str) -> String {
        raw.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    pub fn parse(raw: &str) -> Result<Self, Error> {
        let essence = Self::essence(raw);
        let valid_part = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.' | '_'))
        };
        match essence.split_once('/') {
            Some((t, s)) if valid_part(t) && valid_part(s) && essence.len() <= 100 => {
                Ok(Self(essence))
            }
            _ => Err(Error::invalid(format!(
                "'{}' is not a content type like application/pdf",
                truncate(raw, 60)
            ))),
        }
    }
    /// Types a browser may show inline without running anything.
    pub fn is_inline_safe(&self) -> bool {
        matches!(
            self.0.as_str(),
            "application/pdf" | "image/png" | "image/jpeg" | "image/gif" | "text/plain"
        )
    }
}

/// A calendar date `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

impl Date {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(Self)
            .map_err(|_| {
                Error::invalid(format!("'{}' is not a date YYYY-MM-DD", truncate(raw, 30)))
            })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}
impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Date::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The secret in a portal link. Never logged: `Debug` is redacted and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    /// 256 bits from the operating system's CSPRNG, base64url without padding (43 characters).
    pub fn generate() -> Self {
        use base64::Engine;
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
    /// Accepts only the shape `generate` makes, so junk never reaches the store.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.len() == 43
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Error::UnknownLink)
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256Hasher::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken(<redacted>)")
    }
}

/// SHA-256 of a link token: what the store keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// A required, trimmed, bounded piece of text.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(Error::invalid(format!("{field} is required")));
    }
    optional_text(field, t, max)
}

/// Optional text: trimmed and bounded, control characters other than newlines refused.
pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let t = raw.trim();
    if t.chars().count() > max {
        return Err(Error::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if t.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Error::invalid(format!(
            "{field} contains control characters"
        )));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_id_refuses_path_characters() {
        assert!(CaseId::parse("BZ-2026-001").is_ok());
        assert!(CaseId::parse("../etc").is_err());
        assert!(CaseId::parse("a/b").is_err());
        assert!(CaseId::parse("").is_err());
    }

    #[test]
    fn filename_strips_directories_and_control_characters() {
        assert_eq!(
            Filename::parse("C:\\x\\besluit.pdf").unwrap().as_str(),
            "besluit.pdf"
        );
        assert_eq!(
            Filename::parse("../../a\u{0}b.txt").unwrap().as_str(),
            "ab.txt"
        );
        assert!(Filename::parse("///").is_err());
    }

    #[test]
    fn filename_loses_bidi_overrides_zero_width_and_separators() {
        // Shown as "factuurexe.pdf" with the override; it is an executable.
        assert_eq!(
            Filename::parse("factuur\u{202E}fdp.exe").unwrap().as_str(),
            "factuurfdp.exe"
        );
        assert_eq!(
            Filename::parse("be\u{200B}sluit\u{2066}\u{FEFF}.pdf\u{2028}\u{2029}")
                .unwrap()
                .as_str(),
            "besluit.pdf"
        );
        assert_eq!(
            Filename::parse("café – €.pdf").unwrap().as_str(),
            "café – €.pdf"
        );
        assert!(Filename::parse("\u{202E}\u{200B}").is_err());
    }

    #[test]
    fn link_token_debug_hides_the_secret() {
        let t = LinkToken::generate();
        assert_eq!(t.expose().len(), 43);
        assert!(!format!("{t:?}").contains(t.expose()));
        assert!(LinkToken::parse(t.expose()).is_ok());
        assert!(LinkToken::parse("short").is_err());
    }

    #[test]
    fn sha256_round_trips_through_base64() {
        let s = Sha256::of(b"abc");
        assert_eq!(Sha256::from_base64(&s.to_base64()).unwrap(), s);
    }

    #[test]
    fn email_needs_a_domain() {
        assert!(Email::parse("a@b.nl").is_ok());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a b@c.nl").is_err());
    }

    #[test]
    fn content_type_drops_parameters() {
        assert_eq!(
            ContentType::parse("text/plain; charset=utf-8")
                .unwrap()
                .as_str(),
            "text/plain"
        );
        assert!(ContentType::parse("nonsense").is_err());
    }
}

/// The language of the mails to a department (per request) and of a case type's texts.
#[derive(
    Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Nl,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Nl, Language::En];

    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "nl" => Ok(Self::Nl),
            "en" => Ok(Self::En),
            other => Err(Error::invalid(format!(
                "language must be \"nl\" or \"en\", not \"{other}\""
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nl => "nl",
            Self::En => "en",
        }
    }
}

/// What a link may upload: the rules of its case type, fixed on the request when it is made.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UploadRules {
    pub max_file_bytes: u64,
    pub max_files: usize,
    /// Allowed content types; empty allows any.
    pub allowed_types: Vec<String>,
}
