//! Tests of the pages: content, escaping, the CSP, headings and languages.

use super::format::{datetime_text, human_size};
use super::*;
use chrono::{TimeZone, Utc};
use portaal_core::casetype::UploadRules;
use portaal_core::domain::Sha256;
use portaal_core::domain::{CaseId, ContentType, Date, Email, Filename, Id};
use portaal_core::model::{Actor, Decision, Person, Submitter};
use portaal_core::model::{
    DeliveryState, DocumentState, Event, EventKind, RequestState, ScanState,
};
use portaal_core::views::{DeliveryView, DocumentView, PortalView, PublicationView};
use portaal_core::views::{PortalDossier, PortalRequest};

fn id(n: u8) -> Id {
    Id::parse(&format!("01HZX3J5K8M9N0P1Q2R3S4T5V{}", (b'0' + n) as char)).unwrap()
}

fn doc(n: u8, name: &str, state: DocumentState) -> DocumentView {
    DocumentView {
        id: id(n),
        filename: Filename::parse(name).unwrap(),
        size: 1_234_567,
        content_type: ContentType::parse("application/pdf").unwrap(),
        sha256: Some(Sha256::of(name.as_bytes())),
        state,
        scan: ScanState::NotScanned,
        sha256_verified: true,
        parts: None,
    }
}

fn view() -> PortalView {
    let at = Utc.with_ymd_and_hms(2026, 7, 1, 10, 30, 0).unwrap();
    PortalView {
        org_name: "Gemeente Voorbeeld".into(),
        dossier: PortalDossier {
            case_id: CaseId::parse("BZ-2026-001").unwrap(),
            case_type: portaal_core::domain::CaseTypeKey::parse("bezwaar").unwrap(),
            case_type_name: "Bezwaar".into(),
            title: "Bezwaar tegen parkeervergunning".into(),
            remarks: "Let op: spoed.".into(),
            submitter: Some(Submitter {
                name: "Jan Indiener".into(),
                email: None,
                address: Some("Coolsingel 40\nRotterdam".into()),
            }),
            decision: Some(Decision {
                reference: "PV-2026-123".into(),
                date: Date::parse("2026-05-04").unwrap(),
                subject: "Parkeervergunning".into(),
                department: "Stadsbeheer".into(),
            }),
            handler_name: "Mr. A. Jansen".into(),
            closes_at: None,
        },
        request: PortalRequest {
            department: "Stadsbeheer".into(),
            due: Date::parse("2026-12-12").unwrap(),
            state: RequestState::Open,
            overdue: true,
            message: "Graag ook de adviezen.".into(),
        },
        deliveries: vec![DeliveryView {
            id: id(1),
            request_id: id(9),
            state: DeliveryState::Rejected,
            comment: "Eerste set".into(),
            submitted_by: Person {
                name: "Piet".into(),
                email: Email::parse("piet@gemeente.nl").unwrap(),
            },
            submitted_at: at,
            decided_at: Some(at),
            reason: Some("Onleesbaar".into()),
            documents: vec![doc(2, "besluit.pdf", DocumentState::Rejected)],
        }],
        publications: vec![PublicationView {
            id: id(3),
            document: doc(4, "beslissing-op-bezwaar.pdf", DocumentState::Published),
            request_id: None,
            message: String::new(),
            published_at: Some(at),
        }],
        timeline: vec![Event {
            id: id(5),
            at,
            kind: EventKind::DeliverySubmitted,
            actor: Actor::Department,
            actor_name: Some("Piet".into()),
            request_id: Some(id(9)),
            delivery_id: Some(id(1)),
            publication_id: None,
            document_id: None,
            summary: "Aanlevering door Piet: 1 document".into(),
        }],
        timeline_next: None,
        staged: vec![doc(6, "advies.pdf", DocumentState::Staged)],
        upload: UploadRules {
            max_file_bytes: 100 * 1024 * 1024,
            max_files: 50,
            allowed_types: vec!["application/pdf".into(), "image/jpeg".into()],
        },
        accepting: true,
        part_threshold: 256 << 20,
    }
}

const MODULE_TAG: &str = "<script type=\"module\" src=\"/assets/js/main.js\"></script>";
const DATA_OPEN: &str = "<script type=\"application/json\" id=\"portaal-data\">";

fn assert_csp_clean(html: &str) {
    assert_eq!(html.matches(MODULE_TAG).count(), 1, "the external module");
    let data = html.matches(DATA_OPEN).count();
    assert!(data <= 1, "at most one data block");
    assert_eq!(
        html.matches("<script").count(),
        1 + data,
        "no script but the external module and the (not executed) data block"
    );
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/portal.css\">"));
    assert!(!html.contains("style="));
    assert!(!html.contains("<style"));
    assert!(!has_event_handler(html), "no inline event handlers");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("name=\"viewport\""));
    assert!(html.contains("<main id=\"main\""));
    assert!(html.contains("class=\"skip-link\" href=\"#main\""));
    assert_eq!(html.matches("<h1").count(), 1);
}

/// An attribute like ` onclick=` inside a tag.
fn has_event_handler(html: &str) -> bool {
    let mut in_tag = false;
    let b = html.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            b' ' if in_tag && html[i + 1..].starts_with("on") => {
                let name: String = html[i + 3..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                if !name.is_empty() && html[i + 3 + name.len()..].starts_with('=') {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Headings never skip a level downwards.
fn assert_heading_order(html: &str) {
    let mut last = 0;
    for (i, _) in html.match_indices("<h") {
        let Some(level) = html[i + 2..].chars().next().and_then(|c| c.to_digit(10)) else {
            continue;
        };
        assert!(level <= last + 1, "h{level} after h{last}");
        last = level;
    }
    assert!(html.contains("<h1"));
}

#[test]
fn a_quarantined_file_is_shown_refused_and_not_as_a_link() {
    let mut v = view();
    let doc = &mut v.deliveries[0].documents[0];
    doc.scan = ScanState::Infected;
    let id = doc.id.to_string();
    let nl = portal_page(&v, Lang::Nl, "", false);
    assert!(nl.contains("geweigerd: de virusscanner vond malware"));
    assert!(!nl.contains(&format!("data-document-id=\"{id}\"")));
    let en = portal_page(&v, Lang::En, "", false);
    assert!(en.contains("refused: the virus scanner found malware"));
    assert_csp_clean(&nl);
}

#[test]
fn title_is_escaped() {
    let mut v = view();
    v.dossier.title = "<script>alert(1)</script>".into();
    v.dossier.remarks = "<img src=x onerror=alert(1)>".into();
    let html = portal_page(&v, Lang::Nl, "", false);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img"));
    assert_csp_clean(&html);
}

#[test]
fn dutch_and_english() {
    let nl = portal_page(&view(), Lang::Nl, "", false);
    assert!(nl.contains("<html lang=\"nl\">"));
    assert!(nl.contains("Bevestigen en versturen"));
    assert!(
        nl.contains("Opmerkingen") && nl.contains("Zaakgegevens") && nl.contains("Primair besluit")
    );
    assert!(nl.contains("Sleep bestanden hierheen of kies bestanden"));
    assert!(nl.contains("uiterlijk <time datetime=\"2026-12-12\">12 december 2026</time>"));
    assert!(nl.contains("termijn verstreken"));
    assert!(nl.contains("href=\"?lang=en\""));
    assert!(
        nl.contains("Eerdere aanleveringen")
            && nl.contains("Gepubliceerde documenten")
            && nl.contains("Geschiedenis")
    );
    assert!(nl.contains("afgewezen") && nl.contains("Onleesbaar"));
    // 10:30 UTC in July is 12:30 in Amsterdam.
    assert!(nl.contains("1 juli 2026, 12:30"));
    assert!(nl.contains("1,2 MB"));
    assert_heading_order(&nl);

    let en = portal_page(&view(), Lang::En, "", false);
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Confirm and send"));
    assert!(!en.contains("Bevestigen en versturen"));
    assert!(en.contains("12 December 2026"));
    assert!(en.contains("href=\"?lang=nl\""));
    assert!(en.contains("1.2 MB"));
    assert_csp_clean(&en);
    assert_heading_order(&en);
}

#[test]
fn page_holds_no_token_links_and_renders_document_ids() {
    let html = portal_page(&view(), Lang::Nl, "", false);
    assert!(html.contains(&format!("data-document-id=\"{}\"", id(4))));
    assert!(!html.contains("href=\"documents/"));
    // Rejected documents are not offered.
    assert!(!html.contains(&format!("data-document-id=\"{}\"", id(2))));
    // Staged file with its remove button.
    assert!(html.contains(&format!("data-upload-id=\"{}\"", id(6))));
    assert!(html.contains("file-remove"));
    // Full SHA-256 for assistive technology, shortened for the eye.
    let sha = Sha256::of(b"beslissing-op-bezwaar.pdf");
    assert!(html.contains(&format!("<span class=\"visually-hidden\">{sha}</span>")));
    assert!(html.contains("autocomplete=\"name\"") && html.contains("autocomplete=\"email\""));
    assert!(
        html.contains("<label for=\"submitter-name\">")
            && html.contains("<label for=\"submitter-email\">")
    );
    assert!(html.contains("<label for=\"comment\">") && html.contains("<label for=\"file-input\""));
}

#[test]
fn the_page_speaks_for_the_organisation_and_the_case_type() {
    let mut v = view();
    let bezwaar = portal_page(&v, Lang::Nl, "", false);
    assert!(bezwaar.contains("<span class=\"brand-org\">Gemeente Voorbeeld</span>"));
    assert!(bezwaar.contains("<p class=\"footer-org\">Gemeente Voorbeeld</p>"));
    assert!(bezwaar.contains("bezwaar ingediend") && bezwaar.contains("Primair besluit"));

    v.dossier.case_type = portaal_core::domain::CaseTypeKey::parse("woo-verzoek").unwrap();
    v.dossier.case_type_name = "Woo-verzoek".into();
    v.dossier.decision = None;
    for (lang, decision, asked) in [
        (Lang::Nl, "Primair besluit", "Woo-verzoek ontvangen"),
        (Lang::En, "Primary decision", "Open Government Act"),
    ] {
        let woo = portal_page(&v, lang, "", false);
        assert!(
            !woo.contains(decision),
            "no decision panel without a decision"
        );
        assert!(woo.contains(asked), "{lang:?}");
        assert_csp_clean(&woo);
    }
    v.org_name.clear();
    assert!(!portal_page(&v, Lang::Nl, "", false).contains("brand-org"));
}

#[test]
fn submitter_hidden_when_absent() {
    let mut v = view();
    let with = portal_page(&v, Lang::Nl, "", false);
    assert!(with.contains("Indiener") && with.contains("Jan Indiener"));
    v.dossier.submitter = None;
    let without = portal_page(&v, Lang::Nl, "", false);
    assert!(!without.contains("Indiener"));
    assert!(!without.contains("Jan Indiener"));
}

#[test]
fn notice_instead_of_form_when_not_accepting() {
    let mut v = view();
    v.accepting = false;
    v.request.state = RequestState::Withdrawn;
    let html = portal_page(&v, Lang::Nl, "", false);
    assert!(html.contains("id=\"not-accepting\""));
    assert!(html.contains("Dit verzoek is ingetrokken"));
    assert!(!html.contains("<form"));
    assert!(!html.contains("Bevestigen en versturen</button>"));
    v.request.state = RequestState::Open;
    let closed = portal_page(&v, Lang::En, "", false);
    assert!(closed.contains("This case is closed"));
    assert_csp_clean(&closed);
    v.dossier.closes_at = Some("2026-12-31T10:00:00Z".parse().unwrap());
    let handled = portal_page(&v, Lang::Nl, "", false);
    assert!(
        handled.contains("Deze zaak is afgehandeld") && handled.contains("31 december 2026"),
        "a handled case says until when it can be read"
    );
}

#[test]
fn history_and_form_details() {
    let mut v = view();
    v.publications[0].message = " Zie <bijlage> & meer\n ".into();
    v.deliveries[0].documents[0].scan = ScanState::Pending;
    let en = portal_page(&v, Lang::En, "", false);
    // The publication: its anchor, its date in the meta line and the handler's note.
    assert!(en.contains(&format!("<li class=\"doc\" id=\"publication-{}\">", id(3))));
    assert!(en.contains(
        "<span class=\"sep\" aria-hidden=\"true\"> \u{b7} </span>published <time datetime=\"2026-07-01T10:30:00Z\">1 July 2026, 12:30</time>"
    ));
    assert!(en.contains("<p class=\"prewrap\">Zie &lt;bijlage&gt; &amp; meer</p></li>"));
    assert!(en.contains("being checked for viruses"));
    // Dutch summaries on an English page say so; events link to their delivery.
    assert!(en.contains("<span class=\"event-summary\" lang=\"nl\">Aanlevering door Piet"));
    assert!(en.contains(&format!(
        "<a class=\"event-link\" href=\"#delivery-{}\">view delivery</a>",
        id(1)
    )));
    assert!(en.contains("accept=\".pdf,application/pdf,.jpg,.jpeg,image/jpeg\""));
    assert!(en.contains("Allowed: PDF, JPG. At most 100 MB per file and 50 files at a time."));
    let nl = portal_page(&v, Lang::Nl, "", false);
    assert!(nl.contains("<span class=\"event-summary\">Aanlevering door Piet"));
    assert!(
        nl.contains("Een stuk vergeten?"),
        "a follow-up after a delivery"
    );

    v.upload.allowed_types.clear();
    v.deliveries.clear();
    v.staged.clear();
    let any = portal_page(&v, Lang::Nl, "", false);
    assert!(!any.contains("accept=") && any.contains("Alle bestandstypen zijn toegestaan."));
    assert!(!any.contains("Een stuk vergeten?"));
    assert!(any.contains("<p class=\"muted\" id=\"file-empty\">"));
    assert_csp_clean(&any);
    assert_heading_order(&any);
}

#[test]
fn empty_remarks_say_so() {
    let mut v = view();
    v.dossier.remarks.clear();
    v.request.message.clear();
    assert!(portal_page(&v, Lang::Nl, "", false).contains("Er zijn geen opmerkingen"));
}

#[test]
fn language_from_query() {
    assert_eq!(Lang::from_query(Some("en")), Lang::En);
    assert_eq!(Lang::from_query(Some("lang=en")), Lang::En);
    assert_eq!(Lang::from_query(Some("x=1&lang=EN")), Lang::En);
    assert_eq!(Lang::from_query(Some("nl")), Lang::Nl);
    assert_eq!(Lang::from_query(Some("lang=fr")), Lang::Nl);
    assert_eq!(Lang::from_query(None), Lang::Nl);
    assert_eq!(Lang::En.code(), "en");
}

#[test]
fn other_pages_are_well_formed() {
    let e = error_page(
        404,
        "Link niet gevonden",
        "<b>onbekend</b>",
        hint_for(404),
        Lang::Nl,
        "",
        "Gemeente Voorbeeld",
    );
    assert_csp_clean(&e);
    assert!(e.contains("Gemeente Voorbeeld"));
    assert!(e.contains("&lt;b&gt;onbekend"));
    assert!(e.contains("Foutcode 404"));
    let h = home_page(
        Lang::En,
        Some(&[("Outbox", "/dev/mail"), ("API", "/api/v1/openapi.json")]),
        "",
        "",
    );
    assert_csp_clean(&h);
    assert_heading_order(&h);
    assert!(h.contains("<a href=\"/dev/mail\">Outbox</a>"));
    assert!(!home_page(Lang::Nl, None, "", "").contains("ontwikkelaars"));
    let to = vec!["a@b.nl".to_owned()];
    let list = mail_list_page(&[MailRow {
        id: "01ABC",
        to: &to,
        subject: "<Zaak>",
        sent_at: "2026-07-01T10:00:00Z",
    }]);
    assert_csp_clean(&list);
    assert!(list.contains("<a href=\"/dev/mail/01ABC\">&lt;Zaak&gt;</a>"));
    let m = mail_page(
        "01ABC",
        &to,
        "Verzoek",
        "2026-07-01",
        "Open:\n\nhttps://x.nl/p/abc?x=1&y=2.\n<b>",
    );
    assert_csp_clean(&m);
    assert!(m.contains(
        "<a href=\"https://x.nl/p/abc?x=1&amp;y=2\">https://x.nl/p/abc?x=1&amp;y=2</a>."
    ));
    assert!(m.contains("&lt;b&gt;"));
    assert!(m.contains("href=\"/dev/mail/01ABC.eml\""));
}

#[test]
fn amsterdam_time_follows_summer_time() {
    let winter = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
    assert_eq!(datetime_text(winter, Lang::Nl), "15 januari 2026, 13:00");
    // 2026-03-29 is the last Sunday of March: CEST from 01:00 UTC.
    let before = Utc.with_ymd_and_hms(2026, 3, 29, 0, 59, 0).unwrap();
    let after = Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap();
    assert_eq!(datetime_text(before, Lang::Nl), "29 maart 2026, 01:59");
    assert_eq!(datetime_text(after, Lang::Nl), "29 maart 2026, 03:00");
}

#[test]
fn sizes_are_human() {
    assert_eq!(human_size(512, Lang::Nl), "512 bytes");
    assert_eq!(human_size(1536, Lang::Nl), "1,5 kB");
    assert_eq!(human_size(100 * 1024 * 1024, Lang::En), "100 MB");
}

#[test]
fn assets_are_embedded() {
    assert!(PORTAL_CSS.contains(".visually-hidden"));
    assert!(script("api.js").unwrap().contains("X-Portaal-Client"));
    for (name, body) in SCRIPTS {
        assert!(!body.contains("eval("), "{name}");
        assert!(!body.contains("innerHTML"), "{name}");
    }
    assert!(script("main.js").is_some());
    for unknown in ["portal.js", "../portal.css", "main.js/", "", "MAIN.JS"] {
        assert!(script(unknown).is_none(), "{unknown:?}");
    }
}

/// The modules each module imports (`from './x.js'`).
fn imports(body: &str) -> Vec<&str> {
    body.split("from './")
        .skip(1)
        .map(|rest| &rest[..rest.find('\'').expect("a closed import")])
        .collect()
}

#[test]
fn every_imported_module_is_served() {
    let mut reached = vec!["main.js"];
    let mut i = 0;
    while let Some(name) = reached.get(i).copied() {
        let body = script(name).unwrap_or_else(|| panic!("{name} is imported but not served"));
        for import in imports(body) {
            if !reached.contains(&import) {
                reached.push(import);
            }
        }
        i += 1;
    }
    reached.sort_unstable();
    let served: Vec<&str> = SCRIPTS.iter().map(|(n, _)| *n).collect();
    assert_eq!(reached, served, "every served module is used");
}

/// The JSON between the data block's tags.
fn data_block(html: &str) -> &str {
    let start = html.find(DATA_OPEN).expect("a data block") + DATA_OPEN.len();
    let len = html[start..].find("</script>").expect("the block ends");
    &html[start..start + len]
}

#[test]
fn the_data_block_holds_the_script_texts_and_the_types() {
    for (lang, t) in [(Lang::Nl, &texts::NL), (Lang::En, &texts::EN)] {
        let html = portal_page(&view(), lang, "/prod", false);
        assert!(html.contains("<script type=\"module\" src=\"/prod/assets/js/main.js\"></script>"));
        let block = data_block(&html);
        assert!(!block.contains('<') && !block.contains('&'), "{block}");
        let data: serde_json::Value = serde_json::from_str(block).expect("the block is JSON");
        let texts = data["texts"].as_object().unwrap();
        assert_eq!(texts["hashing"], t.script.hashing);
        assert_eq!(texts["failed"], t.script.failed);
        assert_eq!(texts["leave"], t.script.leave);
        assert_eq!(texts["ready"], t.file_ready);
        assert_eq!(texts["remove"], t.remove);
        assert!(
            texts
                .values()
                .all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        );
        let types = data["types"].as_array().unwrap();
        assert_eq!(types.len(), 14);
        let jpeg = types.iter().find(|k| k["type"] == "image/jpeg").unwrap();
        assert_eq!(jpeg["label"], "JPG");
        assert_eq!(jpeg["extensions"], serde_json::json!([".jpg", ".jpeg"]));
    }
    let nl = portal_page(&view(), Lang::Nl, "", false);
    assert!(data_block(&nl).contains("ge\u{fc}pload"), "UTF-8 as is");
    // Only the portal page carries one.
    let home = home_page(Lang::Nl, None, "", "");
    assert!(!home.contains("portaal-data"));
}

#[test]
fn a_text_cannot_end_the_data_block() {
    let hostile = "</script><script>alert(1)</script><!-- & \u{2028} </SCRIPT";
    let value = serde_json::json!({ "texts": { "x": hostile } });
    let text = data::DataBlock::of(&value).to_string();
    assert!(!text.to_ascii_lowercase().contains("</script"), "{text}");
    assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
    assert!(text.contains("\\u003c/script\\u003e"));
    let back: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, value);
}

#[test]
fn a_long_history_links_to_its_earlier_events_and_back() {
    let mut v = view();
    assert!(!portal_page(&v, Lang::Nl, "", false).contains("Eerdere gebeurtenissen"));
    v.timeline_next = Some(id(1).to_string());
    let nl = portal_page(&v, Lang::Nl, "", false);
    assert!(nl.contains(&format!(
        "<a href=\"?before={}&amp;lang=nl\">Eerdere gebeurtenissen</a>",
        id(1)
    )));
    assert!(!nl.contains("Nieuwste gebeurtenissen"));
    let older = portal_page(&v, Lang::En, "", true);
    assert!(older.contains("Earlier events"));
    assert!(older.contains("<a href=\"?lang=en\">Newest events</a>"));
}
