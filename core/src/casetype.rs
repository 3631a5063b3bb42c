//! Case types (zaaktypen) and their mail templates: data, with Dutch defaults for the seed's five.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::CaseTypeKey;
use crate::error::Error;
use crate::model::{MailKind, Record};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Template {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UploadRules {
    pub max_file_bytes: u64,
    pub max_files: usize,
    /// Allowed content types; empty allows any.
    pub allowed_types: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseType {
    pub key: CaseTypeKey,
    pub name: String,
    /// Default term of a request in days, when the case system gives no due date.
    pub request_days: u32,
    /// Reminder steps in days relative to the due date (negative: before).
    pub reminder_days: Vec<i32>,
    /// Days after closing when the link stops and the dossier is destroyed.
    pub close_after_days: u32,
    /// Whether the department sees the submitter's details.
    pub show_submitter: bool,
    pub upload: UploadRules,
    pub templates: BTreeMap<MailKind, Template>,
}
impl Record for CaseType {}

impl CaseType {
    pub fn template(&self, kind: MailKind) -> Template {
        self.templates
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| default_template(kind))
    }

    pub fn validate(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name is required"));
        }
        if self.request_days == 0 || self.request_days > 3650 {
            return Err(Error::invalid("request_days must be 1 to 3650"));
        }
        if self.close_after_days > 36500 {
            return Err(Error::invalid(
                "close_after_days must be at most 36500 (100 years)",
            ));
        }
        if self.reminder_days.iter().any(|d| d.abs() > 365) {
            return Err(Error::invalid(
                "reminder_days must lie within a year of the due date",
            ));
        }
        if self.upload.max_files == 0 || self.upload.max_files > MAX_FILES_PER_DELIVERY {
            return Err(Error::invalid(format!(
                "upload.max_files must be 1 to {MAX_FILES_PER_DELIVERY}"
            )));
        }
        Ok(())
    }
}

/// A delivery is one transaction: its files plus the delivery, request, event and two mails.
pub const MAX_FILES_PER_DELIVERY: usize = 90;

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
        ("bezwaar", "Bezwaar", 14, 365),
        ("beroep", "Beroep", 14, 365),
        ("voorlopige-voorziening", "Voorlopige voorziening", 5, 365),
        ("woo-verzoek", "Woo-verzoek", 10, 365),
        ("klacht", "Klacht", 14, 365),
    ]
    .into_iter()
    .map(|(key, name, request_days, close_after_days)| CaseType {
        key: CaseTypeKey::parse(key).expect("valid default key"),
        name: name.to_owned(),
        request_days,
        reminder_days: vec![-2, 1],
        close_after_days,
        show_submitter: key != "woo-verzoek",
        upload: UploadRules {
            max_file_bytes: 100 * 1024 * 1024,
            max_files: 50,
            allowed_types: DEFAULT_ALLOWED_TYPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        },
        templates: BTreeMap::new(),
    })
    .collect()
}

pub fn default_for(key: &str) -> Option<CaseType> {
    defaults().into_iter().find(|c| c.key.as_str() == key)
}

/// Dutch default texts. Placeholders: `{{name}}`; see [`crate::mailtext`].
pub fn default_template(kind: MailKind) -> Template {
    let (subject, body): (&str, &str) = match kind {
        MailKind::Request => (
            "Verzoek om stukken: {{case_type}} {{case_id}} (besluit {{decision_reference}})",
            "Beste collega's van {{department}},\n\n\
             Tegen het besluit {{decision_reference}} van {{decision_date}} ({{decision_subject}}) is {{case_type_lower}} ingediend. \
             Wij vragen u de onderliggende stukken bij dit besluit uiterlijk {{due}} aan te leveren via het portaal:\n\n\
             {{portal_url}}\n\n\
             {{message}}\n\n\
             {{remarks_block}}\n\n\
             De link is persoonlijk voor uw afdeling; stuur hem niet buiten de organisatie door. \
             U kunt later via dezelfde link stukken nazenden.\n\n\
             Met vriendelijke groet,\n{{handler_name}}\nJuridische zaken",
        ),
        MailKind::ReminderBefore => (
            "Herinnering: stukken voor {{case_id}} uiterlijk {{due}}",
            "Beste collega's van {{department}},\n\n\
             Wij hebben de stukken bij besluit {{decision_reference}} nog niet ontvangen. \
             De termijn verloopt op {{due}}. U kunt de stukken aanleveren via:\n\n{{portal_url}}\n\n\
             Met vriendelijke groet,\n{{handler_name}}\nJuridische zaken",
        ),
        MailKind::ReminderOverdue => (
            "Rappel: stukken voor {{case_id}} waren uiterlijk {{due}} verwacht",
            "Beste collega's van {{department}},\n\n\
             De termijn voor het aanleveren van de stukken bij besluit {{decision_reference}} is op {{due}} verstreken. \
             Wilt u de stukken zo spoedig mogelijk aanleveren via:\n\n{{portal_url}}\n\n\
             Met vriendelijke groet,\n{{handler_name}}\nJuridische zaken",
        ),
        MailKind::DeliveryReceived => (
            "Stukken ontvangen voor {{case_id}} van {{department}}",
            "Beste {{handler_name}},\n\n\
             {{submitted_by}} ({{department}}) heeft stukken aangeleverd voor {{case_id}} ({{title}}).\n\n\
             {{files}}\n\nOpmerking: {{comment}}\n\n\
             Beoordeel de aanlevering in het zaaksysteem; pas na akkoord worden de stukken aan het dossier toegevoegd.",
        ),
        MailKind::Receipt => (
            "Ontvangstbevestiging: stukken voor {{case_id}}",
            "Beste {{submitted_by}},\n\n\
             Wij hebben op {{submitted_at}} de volgende stukken voor {{case_id}} ontvangen:\n\n{{files}}\n\n\
             Opmerking: {{comment}}\n\n\
             De SHA-256 achter elk bestand is de vingerafdruk van wat wij ontvingen. \
             Vergeten stukken kunt u nazenden via dezelfde link.\n\n\
             Met vriendelijke groet,\nJuridische zaken",
        ),
        MailKind::Publication => (
            "Nieuw document voor {{case_id}}: {{filename}}",
            "Beste collega's van {{department}},\n\n\
             Juridische zaken heeft een document voor {{case_id}} ({{title}}) voor u gepubliceerd: {{filename}}.\n\n\
             {{message}}\n\nU kunt het document inzien via:\n\n{{portal_url}}\n\n\
             Met vriendelijke groet,\n{{handler_name}}\nJuridische zaken",
        ),
        MailKind::Quarantined => (
            "Bestand geweigerd: malware gevonden in {{filename}} ({{case_id}})",
            "Beste {{handler_name}},\n\n\
             De virusscanner heeft in het bestand {{filename}} uit de aanlevering van {{department}} \
             voor {{case_id}} malware gevonden ({{threat}}). Het bestand staat in quarantaine: het kan \
             niet worden gedownload en de aanlevering kan niet worden goedgekeurd. De afdeling ziet \
             in het portaal dat het bestand is geweigerd.\n\n\
             Wijs de aanlevering af met een reden; de afdeling kan dan via dezelfde link een schoon \
             bestand aanleveren.\n\n\
             Portaal",
        ),
        MailKind::MailFailed => (
            "Mail niet bezorgd: {{mail_kind}} voor {{case_id}} aan {{recipient}}",
            "Beste {{handler_name}},\n\n\
             Een mail van het portaal voor {{case_id}} kon na herhaalde pogingen niet worden \
             bezorgd.\n\n\
             Soort: {{mail_kind}}\nAan: {{recipient}}\nReden: {{reason}}\n\n\
             Controleer het adres en verstuur zo nodig de link opnieuw (nieuwe link met \
             verzending) of neem op een andere manier contact op met de afdeling.\n\n\
             Portaal",
        ),
        MailKind::Rejected => (
            "Aanlevering voor {{case_id}} afgewezen",
            "Beste {{submitted_by}},\n\n\
             De aanlevering van {{submitted_at}} voor {{case_id}} is afgewezen. Reden:\n\n{{reason}}\n\n\
             De aangeleverde bestanden zijn vernietigd. U kunt via dezelfde link opnieuw aanleveren:\n\n{{portal_url}}\n\n\
             Met vriendelijke groet,\n{{handler_name}}\nJuridische zaken",
        ),
    };
    Template {
        subject: subject.to_owned(),
        text: body.to_owned(),
        html: String::new(),
    }
}
