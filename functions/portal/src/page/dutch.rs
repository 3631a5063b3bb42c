//! The core's refusals in Dutch, for the console's Dutch pages. The core words them in English:
//! they are the `detail` of the API's problems, which case systems read and log. A Dutch page
//! shows them in Dutch; a message this table does not know is shown as it is (English) rather
//! than not at all.

/// Patterns of the core's messages: `{}` stands for a part that is carried over (a field, a
/// number, a name), in order; the Dutch text says `{0}`, `{1}`, … where each goes.
const MESSAGES: &[(&str, &str)] = &[
    // Fields (core/src/domain.rs).
    ("{} is required", "{0} is verplicht"),
    (
        "{} is longer than {} characters",
        "{0} is langer dan {1} tekens",
    ),
    ("{} contains control characters", "{0} bevat stuurtekens"),
    (
        "{} must be a date like 2026-12-31 (years 1970 to 9999), not '{}'",
        "{0} moet een datum zijn zoals 2026-12-31 (jaar 1970 tot en met 9999), niet '{1}'",
    ),
    (
        "'{}' is not a date YYYY-MM-DD",
        "'{0}' is geen datum JJJJ-MM-DD",
    ),
    ("'{}' is not an e-mail address", "'{0}' is geen e-mailadres"),
    ("{}.email: {}", "{0}: {1}"),
    (
        "case_id must be 1 to 64 characters: letters, digits, '-', '_' or '.' (not leading)",
        "Het zaaknummer moet 1 tot 64 tekens zijn: letters, cijfers, '-', '_' of '.' (niet vooraan)",
    ),
    (
        "case_type must be 1 to 40 characters: lowercase letters, digits or '-'",
        "Het zaaktype moet 1 tot 40 tekens zijn: kleine letters, cijfers of '-'",
    ),
    ("case type {}", "zaaktype {0}"),
    (
        "decision is required for a {}",
        "Een besluit is verplicht bij een {0}",
    ),
    ("decision.date: {}", "datum van het besluit: {0}"),
    // Requests and deliveries.
    (
        "due {} lies in the past",
        "De termijn {0} ligt in het verleden",
    ),
    ("due lies in the past", "De termijn ligt in het verleden"),
    ("due: {}", "termijn: {0}"),
    (
        "to must hold 1 to 10 e-mail addresses",
        "Geef 1 tot 10 e-mailadressen op",
    ),
    ("to: {}", "e-mailadressen: {0}"),
    (
        "language must be \"nl\" or \"en\", not \"{}\"",
        "De taal moet \"nl\" of \"en\" zijn, niet \"{0}\"",
    ),
    (
        "this delivery was approved; it cannot be rejected",
        "Deze levering is goedgekeurd; ze kan niet meer worden afgewezen",
    ),
    (
        "this delivery was rejected; it cannot be approved",
        "Deze levering is afgewezen; ze kan niet meer worden goedgekeurd",
    ),
    ("this request was withdrawn", "Dit verzoek is ingetrokken"),
    ("this dossier is closed", "Dit dossier is gesloten"),
    (
        "dossier {} is closed; reopen it before changing it",
        "Dossier {0} is gesloten; heropen het voordat u het wijzigt",
    ),
    ("dossier {} is closed", "Dossier {0} is gesloten"),
    (
        "destruction of dossier {} has begun",
        "De vernietiging van dossier {0} is begonnen",
    ),
    (
        "case_type of an existing dossier cannot change",
        "Het zaaktype van een bestaand dossier kan niet veranderen",
    ),
    (
        "the dossier changed while this was being saved; try again",
        "Het dossier veranderde terwijl dit werd opgeslagen; probeer het opnieuw",
    ),
    (
        "{} is quarantined (the malware scanner found a threat in it); this delivery cannot be approved: reject it",
        "{0} staat in quarantaine (de virusscanner vond er malware in); deze levering kan niet worden goedgekeurd: wijs haar af",
    ),
    // Publications and files.
    ("filename is empty", "De bestandsnaam is leeg"),
    (
        "filename is longer than 200 bytes",
        "De bestandsnaam is langer dan 200 bytes",
    ),
    (
        "'{}' is not a content type like application/pdf",
        "'{0}' is geen bestandstype zoals application/pdf",
    ),
    ("{} is empty", "{0} is leeg"),
    (
        "sha256 must be 64 hexadecimal characters",
        "Het controlegetal (SHA-256) moet 64 hexadecimale tekens zijn",
    ),
    (
        "{} has not been uploaded (completely); upload it again",
        "{0} is niet (volledig) geüpload; upload het opnieuw",
    ),
    (
        "{}: {} bytes arrived but {} were announced; upload it again",
        "{0}: er kwamen {1} bytes aan maar er waren {2} aangekondigd; upload het opnieuw",
    ),
    (
        "{}: the SHA-256 of what arrived differs from the one announced; upload it again",
        "{0}: het controlegetal van wat aankwam wijkt af van het aangekondigde; upload het opnieuw",
    ),
    (
        "{} requests would be mailed at once; publish to one request at a time (request_id)",
        "Er zouden {0} verzoeken tegelijk worden gemaild; publiceer voor één verzoek tegelijk",
    ),
    (
        "there is no (open) request whose department could see this publication",
        "Er is geen (open) verzoek waarvan de afdeling deze publicatie kan zien",
    ),
    (
        "size must be the file's size in bytes, a whole number",
        "De grootte moet de grootte van het bestand in bytes zijn, een geheel getal",
    ),
    // Case types (core/src/casetype.rs).
    (
        "request_days must be 1 to 3650",
        "De termijn moet 1 tot en met 3650 dagen zijn",
    ),
    (
        "destroy_after_days must be at most 36500 (100 years)",
        "De bewaartermijn is ten hoogste 36500 dagen (100 jaar)",
    ),
    (
        "close_after_days ({}) cannot exceed destroy_after_days ({}): the link cannot outlive the dossier",
        "De link kan niet langer open blijven ({0} dagen) dan het dossier bewaard wordt ({1} dagen)",
    ),
    (
        "reminder_days must lie within a year of the due date",
        "Herinneringen moeten binnen een jaar van de termijn liggen",
    ),
    (
        "upload.max_file_bytes must be 1 to {} (5 GiB, the largest file S3 copies in one call)",
        "De grootste bestandsgrootte moet 1 tot en met {0} bytes zijn (5 GiB, het grootste bestand dat S3 in één keer kopieert)",
    ),
    (
        "upload.max_files must be 1 to {}",
        "Het aantal bestanden moet 1 tot en met {0} zijn",
    ),
    (
        "the patched case type is not valid: {}",
        "Het gewijzigde zaaktype is niet geldig: {0}",
    ),
    // Mail texts (core/src/mailtext).
    (
        "unknown variable '{}'; a {} mail knows: {}",
        "onbekende variabele '{0}'; deze mail ({1}) kent: {2}",
    ),
    (
        "a {} mail must contain {{ portal_url }}: without it the department cannot reach the portal",
        "deze mail ({0}) moet {{ portal_url }} bevatten: zonder die link kan de afdeling het portaal niet bereiken",
    ),
    ("the {} must not be empty", "{0} mag niet leeg zijn"),
    // Webhooks.
    ("url is required", "De URL is verplicht"),
    (
        "url is longer than 2000 characters",
        "De URL is langer dan 2000 tekens",
    ),
    ("url is not a valid URL: {}", "Dit is geen geldige URL: {0}"),
    ("url {} has no host", "De URL {0} heeft geen host"),
    (
        "url {} must use https; plain http is accepted only for loopback hosts (or with PORTAAL_WEBHOOK_ALLOW_HTTP=on)",
        "De URL {0} moet https gebruiken; http mag alleen voor loopback-adressen (of met PORTAAL_WEBHOOK_ALLOW_HTTP=on)",
    ),
    (
        "url {} must use https, not {}",
        "De URL {0} moet https gebruiken, niet {1}",
    ),
    (
        "url {} points at {}; webhooks cannot be sent there",
        "De URL {0} wijst naar {1}; daarheen gaan geen webhooks",
    ),
    (
        "events names too many event types",
        "Er zijn te veel soorten gebeurtenissen gekozen",
    ),
    (
        "events must name at least one event type, or [\"*\"] for all",
        "Kies ten minste één soort gebeurtenis, of alle",
    ),
    (
        "at most {} subscriptions can exist; delete one first",
        "Er kunnen ten hoogste {0} abonnementen bestaan; verwijder er eerst een",
    ),
    // Records.
    (
        "from ({}) lies after to ({})",
        "Van ({0}) ligt na tot en met ({1})",
    ),
];

/// The field names the core puts in front of its messages, as a Dutch page names them.
const FIELDS: &[(&str, &str)] = &[
    ("reason", "De reden"),
    ("result", "Het resultaat"),
    ("title", "De titel"),
    ("remarks", "De opmerkingen"),
    ("department", "De afdeling"),
    ("message", "Het bericht"),
    ("name", "De naam"),
    ("description", "De omschrijving"),
    ("submitter.name", "De naam van de indiener"),
    ("submitter", "De indiener"),
    ("handler.name", "De naam van de behandelaar"),
    ("handler", "De behandelaar"),
    ("decision.reference", "Het kenmerk van het besluit"),
    ("decision.subject", "Het onderwerp van het besluit"),
    ("decision.department", "De afdeling van het besluit"),
    ("decision.date", "De datum van het besluit"),
    ("due", "De termijn"),
    ("from", "Van"),
    ("to", "Tot en met"),
    ("subject", "het onderwerp"),
    ("text", "de tekst"),
    ("html", "de HTML"),
];

/// `message` in Dutch when this table knows it; else `message` itself.
pub fn in_dutch(message: &str) -> String {
    for (english, dutch) in MESSAGES {
        if let Some(parts) = matched(english, message) {
            let mut out = (*dutch).to_owned();
            for (i, part) in parts.iter().enumerate() {
                out = out.replace(&format!("{{{i}}}"), &part_in_dutch(part));
            }
            return capitalised(&out);
        }
    }
    message.to_owned()
}

/// A part carried over: a field name in Dutch, a message within the message in Dutch (`to: …`),
/// anything else as it is (a number, a name, a date).
fn part_in_dutch(part: &str) -> String {
    match FIELDS.iter().find(|(field, _)| *field == part) {
        Some((_, dutch)) => (*dutch).to_owned(),
        None if part.contains(' ') => in_dutch(part),
        None => part.to_owned(),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The parts of `text` standing at the pattern's `{}`s, when `text` has the pattern's shape:
/// each literal piece in order, a part between them never empty.
fn matched<'a>(pattern: &str, text: &'a str) -> Option<Vec<&'a str>> {
    let pieces: Vec<&str> = pattern.split("{}").collect();
    let mut rest = text.strip_prefix(pieces[0])?;
    let mut parts = Vec::new();
    for (i, piece) in pieces.iter().enumerate().skip(1) {
        let last = i == pieces.len() - 1;
        let end = if last {
            if !rest.ends_with(piece) {
                return None;
            }
            rest.len() - piece.len()
        } else {
            rest.find(piece)?
        };
        if end == 0 {
            return None;
        }
        parts.push(&rest[..end]);
        rest = &rest[end + piece.len()..];
    }
    (parts.len() == pieces.len() - 1 && (pieces.len() > 1 || rest.is_empty())).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_messages_read_in_dutch_with_their_parts_carried_over() {
        assert_eq!(in_dutch("reason is required"), "De reden is verplicht");
        assert_eq!(
            in_dutch("title is longer than 300 characters"),
            "De titel is langer dan 300 tekens"
        );
        assert_eq!(
            in_dutch("request_days must be 1 to 3650"),
            "De termijn moet 1 tot en met 3650 dagen zijn"
        );
        assert_eq!(
            in_dutch(
                "close_after_days (90) cannot exceed destroy_after_days (30): the link cannot outlive the dossier"
            ),
            "De link kan niet langer open blijven (90 dagen) dan het dossier bewaard wordt (30 dagen)"
        );
        assert_eq!(
            in_dutch("unknown variable 'x'; a request mail knows: case_id, portal_url"),
            "Onbekende variabele 'x'; deze mail (request) kent: case_id, portal_url"
        );
        assert_eq!(
            in_dutch("submitter.email: 'x@' is not an e-mail address"),
            "De indiener: 'x@' is geen e-mailadres"
        );
        assert_eq!(
            in_dutch("due 2020-01-01 lies in the past"),
            "De termijn 2020-01-01 ligt in het verleden"
        );
    }

    #[test]
    fn an_unknown_message_stays_as_it_is() {
        assert_eq!(
            in_dutch("something new went wrong"),
            "something new went wrong"
        );
        // A pattern's shape, not just its start: the whole message must fit.
        assert_eq!(
            in_dutch("reason is required, and more"),
            "reason is required, and more"
        );
    }

    #[test]
    fn every_pattern_fits_a_message_of_its_own_shape() {
        for (english, dutch) in MESSAGES {
            let sample = english.replace("{}", "x1");
            let parts = matched(english, &sample).unwrap_or_else(|| panic!("{english}"));
            assert_eq!(parts.len(), english.matches("{}").count(), "{english}");
            for i in 0..parts.len() {
                assert!(
                    dutch.contains(&format!("{{{i}}}")),
                    "{dutch} drops part {i}"
                );
            }
        }
    }
}
