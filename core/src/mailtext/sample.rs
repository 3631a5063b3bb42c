//! Case data for previews and for checking a template before it is saved.

use chrono::{NaiveDate, TimeZone, Utc};

use super::{Language, Vars, variables};
use crate::model::MailKind;

/// Sample values for every variable of `kind`, as a mail of the case type would carry them.
pub fn sample_vars(
    kind: MailKind,
    case_type_key: &str,
    case_type_name: &str,
    with_decision: bool,
    language: Language,
) -> Vars {
    let nl = language == Language::Nl;
    let pick = |dutch: &str, english: &str| if nl { dutch } else { english }.to_owned();
    // Dates as the mails write them.
    let date = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d)
            .map(|day| crate::localtime::mail_date(day, language))
            .unwrap_or_default()
    };
    let mut vars = Vars::new();
    for name in variables(kind) {
        let value = match name {
            "org_name" => "Gemeente Voorbeeld".to_owned(),
            "case_id" => format!("{}-2026-0142", case_prefix(case_type_key)),
            "case_type" => case_type_name.to_owned(),
            "case_type_lower" => case_type_name.to_lowercase(),
            "title" => match case_type_key {
                "woo-verzoek" => pick(
                    "Documenten over de herinrichting van het Marktplein",
                    "Documents on the redevelopment of the Marktplein",
                ),
                "klacht" => pick(
                    "Bejegening aan de balie van Burgerzaken",
                    "Treatment at the Civil Affairs desk",
                ),
                _ => pick(
                    "Omgevingsvergunning Dorpsstraat 12",
                    "Environmental permit Dorpsstraat 12",
                ),
            },
            "remarks" | "remarks_block" => String::new(),
            "decision_reference" if with_decision => "OV-2026-0815".to_owned(),
            "decision_date" if with_decision => date(2026, 11, 3),
            "decision_subject" if with_decision => pick(
                "verlening omgevingsvergunning voor een dakopbouw",
                "granting an environmental permit for a roof extension",
            ),
            "decision_reference" | "decision_date" | "decision_subject" => String::new(),
            "handler_name" => "J. de Vries".to_owned(),
            "handler_email" => "j.devries@voorbeeld.nl".to_owned(),
            "department" => pick("Vergunningen", "Permits"),
            "due" => date(2026, 12, 15),
            "old_due" => date(2026, 12, 8),
            "message" => String::new(),
            "portal_url" => "https://portaal.voorbeeld.nl/p/voorbeeld-link".to_owned(),
            "submitted_by" => "A. Jansen".to_owned(),
            "submitted_at" => crate::localtime::mail_time(
                Utc.with_ymd_and_hms(2026, 12, 1, 13, 5, 0).single().unwrap_or_default(),
                language,
            ),
            "files" => "- besluit.pdf (245 kB, SHA-256 9f86d081…)\n- advies.docx (31 kB, SHA-256 2c26b46b…)"
                .to_owned(),
            "comment" => String::new(),
            "filename" => "beslissing-op-bezwaar.pdf".to_owned(),
            "reason" => pick(
                "het advies van de welstandscommissie ontbreekt",
                "the advice of the design review committee is missing",
            ),
            "threat" => "Eicar-Test-Signature".to_owned(),
            "mail_kind" => MailKind::Request.label(language).to_owned(),
            "recipient" => "vergunningen@voorbeeld.nl".to_owned(),
            _ => String::new(),
        };
        vars.insert(name, value);
    }
    vars
}

fn case_prefix(key: &str) -> &'static str {
    match key {
        "bezwaar" => "BZ",
        "beroep" => "BR",
        "voorlopige-voorziening" => "VV",
        "woo-verzoek" => "WOO",
        "klacht" => "KL",
        _ => "Z",
    }
}
