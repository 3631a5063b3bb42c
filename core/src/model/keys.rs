use crate::domain::{CaseId, Id, TokenHash};

pub const META: &str = "META";
pub const REQUEST: &str = "REQUEST#";
pub const DELIVERY: &str = "DELIVERY#";
pub const DOC: &str = "DOC#";
pub const PUB: &str = "PUB#";
/// A held dossier's entry in the holds index (see `HeldDossier`).
pub const HOLD: &str = "HOLD";
/// History: what the dossier's page read never fetches. Every sort key under it sorts after
/// the dossier's own items (`~` follows the capitals), so the page read is one range, below it.
pub const HISTORY: &str = "~";
/// Timeline events, read a page at a time, newest first.
pub const EVENT: &str = "~EVENT#";
/// Events the page read fetches with the dossier's items: mail failures (shown per request)
/// and every event written before the timeline was paged (issue 11).
pub const PAGE_EVENT: &str = "EVENT#";
/// Queued and sent mail (bodies included): history, never part of a page.
pub const MAIL: &str = "~MAIL#";
/// Mail queued before mail moved under [`HISTORY`] (issue 11).
pub const LEGACY_MAIL: &str = "MAIL#";
/// A sent document whose SHA-256 storage has yet to confirm (see `usecases::verify`).
pub const VERIFY: &str = "VERIFY#";
/// Who changed the configuration (case types), one item per change.
pub const CONFIG_AUDIT: &str = "AUDIT#CONFIG";

pub fn dossier(case: &CaseId) -> String {
    format!("DOSSIER#{case}")
}
/// The case of a dossier partition key.
pub fn case_of(pk: &str) -> Option<CaseId> {
    CaseId::parse(pk.strip_prefix("DOSSIER#")?).ok()
}
/// The case and document of a kept blob's key (`dossiers/{case}/{id}[-{copy}]`).
pub fn parse_blob(key: &str) -> Option<(CaseId, Id)> {
    let (case, name) = key.strip_prefix("dossiers/")?.rsplit_once('/')?;
    let id = name.split_once('-').map_or(name, |(id, _)| id);
    Some((CaseId::parse(case).ok()?, Id::parse(id).ok()?))
}
/// The case and document of a staged upload's key (`staged/{case}/{id}`).
pub fn parse_staged_blob(key: &str) -> Option<(CaseId, Id)> {
    parse_under("staged/", key)
}
/// The case and document of a file joined from parts (`joined/{case}/{id}`).
pub fn parse_joined_blob(key: &str) -> Option<(CaseId, Id)> {
    parse_under("joined/", key)
}
fn parse_under(prefix: &str, key: &str) -> Option<(CaseId, Id)> {
    let (case, id) = key.strip_prefix(prefix)?.rsplit_once('/')?;
    Some((CaseId::parse(case).ok()?, Id::parse(id).ok()?))
}
pub fn request(id: &Id) -> String {
    format!("{REQUEST}{id}")
}
pub fn delivery(request: &Id, id: &Id) -> String {
    format!("{DELIVERY}{request}#{id}")
}
pub fn publication(id: &Id) -> String {
    format!("{PUB}{id}")
}
pub fn doc(id: &Id) -> String {
    format!("{DOC}{id}")
}
/// Where an event is kept: a mail failure with the dossier's items (the page shows it per
/// request however old it is), any other event in the paged history, newest first.
pub fn event(event: &crate::model::Event) -> String {
    if event.kind == crate::model::EventKind::MailFailed {
        format!("{PAGE_EVENT}{}", event.id)
    } else {
        history_event(&event.id)
    }
}
/// An event's key in the history: its id with every character counted down from the end of
/// the ULID alphabet, so that ascending sort keys run newest first and a page read that takes
/// the dossier's items in one range meets the newest events right after them.
pub fn history_event(id: &Id) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let newest_first: String = id
        .as_str()
        .bytes()
        .map(|c| {
            let at = ALPHABET
                .iter()
                .position(|a| *a == c.to_ascii_uppercase())
                .unwrap_or(0);
            ALPHABET[ALPHABET.len() - 1 - at] as char
        })
        .collect();
    format!("{EVENT}{newest_first}")
}
/// Just above every history event's key: the end of a read that takes the dossier's items and
/// its history, but no mail.
pub const EVENT_END: &str = "~EVENT$";
pub fn verify(doc: &Id) -> String {
    format!("{VERIFY}{doc}")
}
pub fn mail(id: &Id) -> String {
    format!("{MAIL}{id}")
}
/// Where a mail queued before issue 11 is kept.
pub fn legacy_mail(id: &Id) -> String {
    format!("{LEGACY_MAIL}{id}")
}
/// Whether a dossier item is a mail (in either place).
pub fn is_mail(sk: &str) -> bool {
    sk.starts_with(MAIL) || sk.starts_with(LEGACY_MAIL)
}
pub fn token(hash: &TokenHash) -> (String, String) {
    (format!("TOKEN#{}", hash.as_str()), "TOKEN".to_owned())
}
pub fn case_type(key: &str) -> (String, String) {
    ("CONFIG".to_owned(), format!("CASETYPE#{key}"))
}
pub fn destruction(case_ref: &str) -> (String, String) {
    ("DESTRUCTION".to_owned(), format!("DESTRUCTION#{case_ref}"))
}
/// A dossier's audit trail: its own partition, so reading the dossier never reads it and
/// destruction removes it with the rest.
pub fn audit(case: &CaseId) -> String {
    format!("AUDIT#DOSSIER#{case}")
}
/// A dossier's kept files: the prefix malware scanning watches (GuardDuty scans every new
/// object under `dossiers/`).
pub fn blob_prefix(case: &CaseId) -> String {
    format!("dossiers/{case}/")
}
/// Every prefix a dossier's files live under (kept, staged, joined), so destruction is one
/// prefix delete each.
pub fn file_prefixes(case: &CaseId) -> [String; 3] {
    [blob_prefix(case), staged_prefix(case), joined_prefix(case)]
}
pub fn blob(case: &CaseId, doc: &Id) -> String {
    format!("dossiers/{case}/{doc}")
}
/// One confirm's copy of a document (`copy` unique per attempt): confirms racing for the same
/// files never write, read or delete each other's copy; the winner's is the document's.
pub fn blob_copy(case: &CaseId, doc: &Id, copy: &Id) -> String {
    format!("dossiers/{case}/{doc}-{copy}")
}
/// Uploads land here until they are confirmed (or published) and copied under the dossier;
/// S3 lifecycle expires what stays behind.
pub fn staged_blob(case: &CaseId, doc: &Id) -> String {
    format!("staged/{case}/{doc}")
}
pub fn staged_prefix(case: &CaseId) -> String {
    format!("staged/{case}/")
}
/// A file sent in parts is joined here, outside the scanned `dossiers/`, so it is scanned once:
/// as the copy under the dossier that has its SHA-256 measured (see `usecases::verify`). Not
/// under `staged/`: its expiry would take the file of a document whose check is late.
pub fn joined_blob(case: &CaseId, doc: &Id) -> String {
    format!("joined/{case}/{doc}")
}
pub fn joined_prefix(case: &CaseId) -> String {
    format!("joined/{case}/")
}

/// A fixed-width UTC timestamp, so that text order is time order.
pub fn time_key(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_joined_file_is_named_by_its_key_but_is_no_kept_blob() {
        let case = CaseId::parse("BZ-2026-0042").unwrap();
        let doc = Id::parse("01JDXQ6Y3V8M5R2K9T4W7Z1B0F").unwrap();
        let joined = joined_blob(&case, &doc);
        assert!(joined.starts_with(&joined_prefix(&case)));
        assert_eq!(
            parse_joined_blob(&joined),
            Some((case.clone(), doc.clone()))
        );
        // Outside the scanned prefix: a verdict on it names no document.
        assert_eq!(parse_blob(&joined), None);
        assert_eq!(parse_staged_blob(&joined), None);
        assert!(file_prefixes(&case).contains(&joined_prefix(&case)));
    }
}
