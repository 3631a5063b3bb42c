//! Case types (zaaktypen) and their mail templates: data, with defaults for the seed's five.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::CaseTypeKey;
pub use crate::domain::UploadRules;
use crate::error::{Error, FieldError};
pub use crate::mailtext::Template;
use crate::mailtext::{self, Language};
use crate::model::{MailKind, Record};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseType {
    pub key: CaseTypeKey,
    pub name: String,
    /// Default term of a request in days, when the case system gives no due date.
    pub request_days: u32,
    /// Reminder steps in days relative to the due date (negative: before).
    pub reminder_days: Vec<i32>,
    /// Days after the case is handled (closed) that the link stays readable, without new uploads.
    pub close_after_days: u32,
    /// Days after the case is handled that the dossier is destroyed (at least
    /// `close_after_days`). Absent in case types stored before it existed, whose
    /// `close_after_days` meant destruction: [`CaseType::migrated`] moves it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy_after_days: Option<u32>,
    /// Whether the department sees the submitter's details.
    pub show_submitter: bool,
    pub upload: UploadRules,
    /// Whether a dossier must name the decision it is about; unset: yes, except for a
    /// Woo-verzoek or klacht, which need not concern a decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_required: Option<bool>,
    /// Dutch texts the administrator set; a kind not here mails its default.
    #[serde(default)]
    pub templates: BTreeMap<MailKind, Template>,
    /// English texts, for requests made with `"language": "en"`.
    #[serde(default)]
    pub templates_en: BTreeMap<MailKind, Template>,
    /// Who changed it last (`admin-key`, `api-key`, or the IAM caller) and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}
impl Record for CaseType {}

/// A text as `GET /api/v1/case-types/{key}` shows it: the one in force, marked when default.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TemplateView {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub default: bool,
}

/// A case type with every text in force and the variables each mail kind allows.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CaseTypeView {
    pub key: CaseTypeKey,
    pub name: String,
    pub request_days: u32,
    pub reminder_days: Vec<i32>,
    pub close_after_days: u32,
    pub destroy_after_days: u32,
    pub show_submitter: bool,
    pub decision_required: bool,
    pub upload: UploadRules,
    pub templates: BTreeMap<MailKind, TemplateView>,
    pub templates_en: BTreeMap<MailKind, TemplateView>,
    pub variables: BTreeMap<MailKind, Vec<&'static str>>,
    pub updated_by: Option<String>,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl CaseType {
    fn overrides(&self, language: Language) -> &BTreeMap<MailKind, Template> {
        match language {
            Language::Nl => &self.templates,
            Language::En => &self.templates_en,
        }
    }

    fn overrides_mut(&mut self, language: Language) -> &mut BTreeMap<MailKind, Template> {
        match language {
            Language::Nl => &mut self.templates,
            Language::En => &mut self.templates_en,
        }
    }

    pub fn default_template(&self, kind: MailKind, language: Language) -> Template {
        mailtext::default_template(self.key.as_str(), kind, language)
    }

    /// The text in force for `kind` in `language`.
    pub fn template(&self, kind: MailKind, language: Language) -> Template {
        self.overrides(language)
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| self.default_template(kind, language))
    }

    /// The text in force for `kind` filled in with `vars` and the organisation's name. A stored
    /// text that no longer renders (saved before texts were checked) falls back to the default
    /// rather than lose the mail.
    pub fn render_mail(
        &self,
        kind: MailKind,
        language: Language,
        org_name: &str,
        vars: &mailtext::Vars,
    ) -> Result<mailtext::Rendered, minijinja::Error> {
        let mut vars = vars.clone();
        vars.insert("org_name", org_name.to_owned());
        mailtext::render(kind, language, &self.template(kind, language), &vars).or_else(|e| {
            tracing::warn!(case_type = %self.key, kind = kind.as_str(), error = %e, "mail text does not render; the default is sent");
            mailtext::render(kind, language, &self.default_template(kind, language), &vars)
        })
    }

    /// A case type stored before `destroy_after_days` existed: its `close_after_days` was the
    /// destruction term; the link now closes after at most 30 days of it.
    pub fn migrated(mut self) -> Self {
        if self.destroy_after_days.is_none() {
            self.destroy_after_days = Some(self.close_after_days);
            self.close_after_days = self.close_after_days.min(DEFAULT_CLOSE_AFTER_DAYS);
        }
        self
    }

    /// Days from handling to destruction.
    pub fn destroy_days(&self) -> u32 {
        self.destroy_after_days.unwrap_or(self.close_after_days)
    }

    pub fn requires_decision(&self) -> bool {
        self.decision_required
            .unwrap_or(!matches!(self.key.as_str(), "woo-verzoek" | "klacht"))
    }

    pub fn view(&self) -> CaseTypeView {
        let texts = |language: Language| {
            MailKind::ALL
                .iter()
                .map(|&kind| {
                    let t = self.template(kind, language);
                    let view = TemplateView {
                        default: !self.overrides(language).contains_key(&kind),
                        subject: t.subject,
                        text: t.text,
                        html: t.html,
                    };
                    (kind, view)
                })
                .collect()
        };
        CaseTypeView {
            key: self.key.clone(),
            name: self.name.clone(),
            request_days: self.request_days,
            reminder_days: self.reminder_days.clone(),
            close_after_days: self.close_after_days,
            destroy_after_days: self.destroy_days(),
            show_submitter: self.show_submitter,
            decision_required: self.requires_decision(),
            upload: self.upload.clone(),
            templates: texts(Language::Nl),
            templates_en: texts(Language::En),
            variables: MailKind::ALL
                .iter()
                .map(|&kind| (kind, mailtext::variables(kind)))
                .collect(),
            updated_by: self.updated_by.clone(),
            updated_at: self.updated_at,
        }
    }

    /// Keeps only the texts that differ from their defaults, so a default improved later reaches
    /// every case type that never changed it (and a view sent back unchanged stores nothing).
    pub fn without_defaults(mut self) -> Self {
        let key = self.key.clone();
        for language in Language::ALL {
            self.overrides_mut(language)
                .retain(|&kind, t| *t != mailtext::default_template(key.as_str(), kind, language));
        }
        self
    }

    /// `PATCH`: a JSON Merge Patch (RFC 7396) over the case type as `GET` shows it; `null`
    /// for a text (or one of its parts) restores the default.
    pub fn merge_patch(&self, patch: &Value) -> Result<CaseType, Error> {
        if !patch.is_object() {
            return Err(Error::invalid("a merge patch must be a JSON object"));
        }
        // The case type with every text in force, as the view shows them.
        let mut whole = self.clone();
        for language in Language::ALL {
            let texts = MailKind::ALL
                .iter()
                .map(|&kind| (kind, self.template(kind, language)))
                .collect();
            *whole.overrides_mut(language) = texts;
        }
        let mut target = serde_json::to_value(whole)
            .map_err(|e| Error::Corrupt(format!("case type as JSON: {e}")))?;
        merge(&mut target, patch);
        // Fill what a `null` removed from its default; `default` marks are the view's, not data.
        for language in Language::ALL {
            let Some(texts) = target
                .get_mut(language.templates_field())
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (name, text) in texts.iter_mut() {
                let Ok(kind) = serde_json::from_value::<MailKind>(Value::from(name.as_str()))
                else {
                    continue;
                };
                let default = self.default_template(kind, language);
                if let Some(t) = text.as_object_mut() {
                    t.remove("default");
                    t.entry("subject").or_insert(default.subject.into());
                    t.entry("text").or_insert(default.text.into());
                    t.entry("html").or_insert(default.html.into());
                }
            }
        }
        let patched: CaseType = serde_json::from_value(target)
            .map_err(|e| Error::invalid(format!("the patched case type is not valid: {e}")))?;
        if patched.key != self.key {
            return Err(Error::invalid("the key of a case type cannot change"));
        }
        Ok(patched.without_defaults())
    }

    /// Every mistake in the case type's texts, each at its place.
    pub fn template_errors(&self) -> Vec<FieldError> {
        Language::ALL
            .iter()
            .flat_map(|&language| {
                self.overrides(language).iter().flat_map(move |(&kind, t)| {
                    mailtext::validate(kind, t, &language.template_field(kind))
                })
            })
            .collect()
    }

    pub fn validate(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name is required"));
        }
        if self.request_days == 0 || self.request_days > 3650 {
            return Err(Error::invalid("request_days must be 1 to 3650"));
        }
        if self.destroy_days() > 36500 {
            return Err(Error::invalid(
                "destroy_after_days must be at most 36500 (100 years)",
            ));
        }
        if self.close_after_days > self.destroy_days() {
            return Err(Error::invalid(format!(
                "close_after_days ({}) cannot exceed destroy_after_days ({}): the link cannot outlive the dossier",
                self.close_after_days,
                self.destroy_days()
            )));
        }
        if self.reminder_days.iter().any(|d| d.abs() > 365) {
            return Err(Error::invalid(
                "reminder_days must lie within a year of the due date",
            ));
        }
        if self.upload.max_file_bytes == 0 || self.upload.max_file_bytes > MAX_FILE_BYTES {
            return Err(Error::invalid(format!(
                "upload.max_file_bytes must be 1 to {MAX_FILE_BYTES} (5 GiB, the largest file S3 copies in one call)"
            )));
        }
        if self.upload.max_files == 0 || self.upload.max_files > MAX_FILES_PER_DELIVERY {
            return Err(Error::invalid(format!(
                "upload.max_files must be 1 to {MAX_FILES_PER_DELIVERY}"
            )));
        }
        Error::unless_mistakes(self.template_errors())
    }
}

/// RFC 7396: objects merge member by member, `null` removes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(t) = target else { return };
    for (name, value) in members {
        if value.is_null() {
            t.remove(name);
        } else {
            merge(t.entry(name.clone()).or_insert(Value::Null), value);
        }
    }
}

/// How long the link stays readable after the case is handled, by default.
pub const DEFAULT_CLOSE_AFTER_DAYS: u32 = 30;
/// How long after handling a dossier is destroyed, by default.
pub const DEFAULT_DESTROY_AFTER_DAYS: u32 = 90;

/// A delivery is one transaction: its files plus the delivery, request, event and two mails.
pub const MAX_FILES_PER_DELIVERY: usize = 90;
/// The largest file a case type may allow, and its default: 5 GiB, sent in parts through the
/// browser (S3 copies at most this much in one call, which the SHA-256 check needs).
pub const MAX_FILE_BYTES: u64 = 5 << 30;

pub const DEFAULT_ALLOWED_TYPES: &[&str] = &[
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.ms-outlook",
    "message/rfc822",
    "text/plain",
    "text/csv",
    "image/png",
    "image/jpeg",
    "image/tiff",
];

/// The five case types of the seed, in Dutch.
pub fn defaults() -> Vec<CaseType> {
    [
        ("bezwaar", "Bezwaar", 14),
        ("beroep", "Beroep", 14),
        ("voorlopige-voorziening", "Voorlopige voorziening", 5),
        ("woo-verzoek", "Woo-verzoek", 10),
        ("klacht", "Klacht", 14),
    ]
    .into_iter()
    .map(|(key, name, request_days)| CaseType {
        key: CaseTypeKey::parse(key).expect("valid default key"),
        name: name.to_owned(),
        request_days,
        reminder_days: vec![-2, 1],
        close_after_days: DEFAULT_CLOSE_AFTER_DAYS,
        destroy_after_days: Some(DEFAULT_DESTROY_AFTER_DAYS),
        show_submitter: key != "woo-verzoek",
        upload: UploadRules {
            max_file_bytes: MAX_FILE_BYTES,
            max_files: 50,
            allowed_types: DEFAULT_ALLOWED_TYPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        },
        decision_required: None,
        templates: BTreeMap::new(),
        templates_en: BTreeMap::new(),
        updated_by: None,
        updated_at: None,
    })
    .collect()
}

pub fn default_for(key: &str) -> Option<CaseType> {
    defaults().into_iter().find(|c| c.key.as_str() == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailtext::{sample_vars, validate};

    #[test]
    fn every_default_text_validates_and_renders_for_every_case_type_and_language() {
        for case_type in defaults() {
            for language in Language::ALL {
                for kind in MailKind::ALL {
                    let t = case_type.template(kind, language);
                    let field = language.template_field(kind);
                    let errors = validate(kind, &t, &field);
                    assert!(errors.is_empty(), "{} {field}: {errors:?}", case_type.key);
                    for with_decision in [true, false] {
                        let vars = sample_vars(
                            kind,
                            case_type.key.as_str(),
                            &case_type.name,
                            with_decision,
                            language,
                        );
                        let r = mailtext::render(kind, language, &t, &vars).unwrap();
                        let all = format!("{}\n{}\n{}", r.subject, r.text, r.html);
                        assert!(
                            !all.contains("{{") && !all.contains("{%"),
                            "{} {field}: {all}",
                            case_type.key
                        );
                        assert!(!r.subject.is_empty() && !r.text.is_empty());
                        if mailtext::requires_link(kind) {
                            assert!(
                                r.text
                                    .contains("https://portaal.voorbeeld.nl/p/voorbeeld-link")
                            );
                        }
                        if !with_decision {
                            assert!(
                                !all.contains("besluit  ") && !all.contains("()"),
                                "{} {field}: {all}",
                                case_type.key
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_request_text_says_what_happened_per_case_type() {
        let says = [
            ("bezwaar", "ingediend"),
            ("beroep", "ingesteld"),
            ("voorlopige-voorziening", "gevraagd"),
            ("woo-verzoek", "ontvangen"),
            ("klacht", "ingediend"),
        ];
        let texts: Vec<String> = says
            .iter()
            .map(|(key, verb)| {
                let t = default_for(key)
                    .unwrap()
                    .template(MailKind::Request, Language::Nl);
                assert!(t.text.contains(verb), "{key}: {}", t.text);
                t.text
            })
            .collect();
        let distinct: std::collections::BTreeSet<&String> = texts.iter().collect();
        assert_eq!(distinct.len(), 5, "one text per case type");
        let woo = &texts[3];
        assert!(
            !woo.contains("tegen het besluit"),
            "a Woo-verzoek is not against a decision: {woo}"
        );
    }

    #[test]
    fn a_merge_patch_changes_one_text_and_null_restores_the_default() {
        let bezwaar = default_for("bezwaar").unwrap();
        let patched = bezwaar
            .merge_patch(&serde_json::json!({
                "request_days": 21,
                "templates": {"request": {"subject": "Stukken voor {{ case_id }}"}}
            }))
            .unwrap();
        assert_eq!(patched.request_days, 21);
        let request = &patched.templates[&MailKind::Request];
        assert_eq!(request.subject, "Stukken voor {{ case_id }}");
        assert_eq!(
            request.text,
            bezwaar
                .default_template(MailKind::Request, Language::Nl)
                .text
        );
        assert_eq!(
            patched.templates.len(),
            1,
            "only the changed text is stored"
        );
        assert!(!patched.view().templates[&MailKind::Request].default);
        assert!(patched.view().templates[&MailKind::Receipt].default);

        let restored = patched
            .merge_patch(&serde_json::json!({"templates": {"request": null}}))
            .unwrap();
        assert!(restored.templates.is_empty());
        assert_eq!(restored.request_days, 21);

        // The view sent back as it is stores no texts.
        let view = serde_json::to_value(bezwaar.view()).unwrap();
        let round: CaseType = serde_json::from_value(view).unwrap();
        assert!(round.without_defaults().templates.is_empty());
    }
}
