//! HTML pages: the portal page for link holders, error and landing pages, and the embedded-mode
//! outbox. Built as Strings by hand; every value from outside goes through [`escape`].
//!
//! The CSP forbids inline script and style, so pages only link `/assets/portal.css` and
//! `/assets/portal.js` (defer) and carry data in `data-*` attributes. The portal page holds no
//! link token: the script builds every URL from `location.pathname`.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use portaal_core::casetype::UploadRules;
use portaal_core::domain::Sha256;
use portaal_core::mailtext::escape_html;
use portaal_core::model::{
    DeliveryState, DocumentState, Event, EventKind, RequestState, ScanState,
};
use portaal_core::views::{DeliveryView, DocumentView, PortalView, PublicationView};

pub const PORTAL_CSS: &str = include_str!("../assets/portal.css");
pub const PORTAL_JS: &str = include_str!("../assets/portal.js");

// ---------------------------------------------------------------- language

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    /// `Some("en")` (the `lang` parameter's value) or a whole query string holding `lang=en`
    /// gives English; anything else Dutch.
    pub fn from_query(q: Option<&str>) -> Lang {
        let Some(q) = q else { return Lang::Nl };
        let q = q.trim().trim_start_matches('?');
        if q.eq_ignore_ascii_case("en") {
            return Lang::En;
        }
        let en = q.split('&').any(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            k == "lang" && v.eq_ignore_ascii_case("en")
        });
        if en { Lang::En } else { Lang::Nl }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }
}

/// UI strings, Dutch first. Values are plain text (escaped where they are used).
fn t(lang: Lang, key: &str) -> &'static str {
    let (nl, en) = match key {
        "brand_sub" => ("Juridische zaken", "Legal department"),
        "skip" => ("Naar de inhoud", "Skip to content"),
        "lang_nav" => ("Taal", "Language"),
        "footer_portal" => (
            "Deze link is persoonlijk voor uw afdeling. Stuur hem niet buiten de organisatie door.",
            "This link is personal to your department. Do not forward it outside the organisation.",
        ),
        "footer" => (
            "Portaal voor het uitwisselen van stukken met Juridische zaken.",
            "Portal for exchanging documents with the legal department.",
        ),
        "request_heading" => ("Verzoek om stukken", "Request for documents"),
        "intro_bezwaar" => (
            "Tegen een besluit is bezwaar ingediend. Juridische zaken vraagt u de stukken die aan het besluit ten grondslag liggen, zodat het bezwaar zorgvuldig kan worden behandeld.",
            "An objection has been lodged against a decision. The legal department asks you for the documents on which the decision was based, so that the objection can be handled with care.",
        ),
        "intro_beroep" => (
            "Tegen een besluit is beroep ingesteld bij de rechtbank. Juridische zaken vraagt u de stukken die op de zaak betrekking hebben; de organisatie moet ze aan de rechtbank zenden.",
            "An appeal against a decision has been lodged with the court. The legal department asks you for the documents relating to the case; the organisation must send them to the court.",
        ),
        "intro_voorlopige_voorziening" => (
            "Bij de voorzieningenrechter is een voorlopige voorziening gevraagd. De termijn is kort: Juridische zaken vraagt u met spoed de stukken die op de zaak betrekking hebben.",
            "Interim relief has been requested from the court. The term is short: the legal department urgently asks you for the documents relating to the case.",
        ),
        "intro_woo_verzoek" => (
            "Er is een Woo-verzoek ontvangen. Juridische zaken vraagt u alle documenten over het onderwerp hieronder die bij uw afdeling berusten; beoordeel ze niet zelf op openbaarheid.",
            "A request under the Open Government Act (Woo) has been received. The legal department asks you for all documents on the subject below that your department holds; do not judge yourself whether they can be made public.",
        ),
        "intro_klacht" => (
            "Er is een klacht ingediend over een gedraging. Juridische zaken vraagt u de stukken die op de klacht betrekking hebben en, in de opmerking, uw reactie.",
            "A complaint has been made about conduct. The legal department asks you for the documents relating to the complaint and, in the remark, your response.",
        ),
        "intro_other" => (
            "Juridische zaken vraagt u de stukken die op deze zaak betrekking hebben.",
            "The legal department asks you for the documents relating to this case.",
        ),
        "jump_form" => (
            "Direct naar Stukken aanleveren",
            "Go straight to Deliver documents",
        ),
        "remarks" => ("Opmerkingen", "Remarks"),
        "remarks_case" => ("Bij de zaak", "With the case"),
        "remarks_message" => ("Bericht van {name}", "Message from {name}"),
        "remarks_none" => (
            "Er zijn geen opmerkingen bij deze zaak.",
            "There are no remarks with this case.",
        ),
        "case_details" => ("Zaakgegevens", "Case details"),
        "case_type" => ("Zaaktype", "Case type"),
        "case_id" => ("Zaaknummer", "Case number"),
        "case_title" => ("Omschrijving", "Description"),
        "submitter" => ("Indiener", "Submitter"),
        "handler" => ("Behandelaar", "Case handler"),
        "decision" => ("Primair besluit", "Primary decision"),
        "decision_reference" => ("Kenmerk", "Reference"),
        "decision_date" => ("Datum", "Date"),
        "decision_subject" => ("Onderwerp", "Subject"),
        "department" => ("Afdeling", "Department"),
        "request" => ("Verzoek", "Request"),
        "due" => ("Termijn", "Due date"),
        "due_by" => ("uiterlijk {date}", "by {date}"),
        "overdue" => ("termijn verstreken", "overdue"),
        "request_state" => ("Status", "Status"),
        "state_open" => ("Open", "Open"),
        "state_delivered" => ("Aangeleverd", "Delivered"),
        "state_withdrawn" => ("Ingetrokken", "Withdrawn"),
        "deliveries" => ("Eerdere aanleveringen", "Earlier deliveries"),
        "deliveries_none" => (
            "Er zijn nog geen stukken aangeleverd.",
            "No documents have been delivered yet.",
        ),
        "delivery_first" => ("Aanlevering", "Delivery"),
        "delivery_next" => ("Nazending", "Follow-up delivery"),
        "delivery_by" => ("Door {name}", "By {name}"),
        "comment" => ("Toelichting", "Comment"),
        "reason" => ("Reden", "Reason"),
        "badge_submitted" => ("ingediend", "submitted"),
        "badge_approved" => ("akkoord", "approved"),
        "badge_rejected" => ("afgewezen", "rejected"),
        "destroyed" => ("vernietigd", "destroyed"),
        "quarantined" => (
            "geweigerd: de virusscanner vond malware in dit bestand; het is niet doorgegeven. Lever een schoon bestand aan.",
            "refused: the virus scanner found malware in this file; it was not passed on. Please deliver a clean file.",
        ),
        "scan_pending" => (
            "wordt op virussen gecontroleerd",
            "being checked for viruses",
        ),
        "documents" => ("Documenten", "Documents"),
        "no_documents" => ("Geen documenten.", "No documents."),
        "publications" => ("Gepubliceerde documenten", "Published documents"),
        "publications_none" => (
            "Er zijn geen documenten voor u gepubliceerd.",
            "No documents have been published for you.",
        ),
        "published_on" => ("gepubliceerd {date}", "published {date}"),
        "history" => ("Geschiedenis", "History"),
        "history_none" => ("Nog geen gebeurtenissen.", "No events yet."),
        "see_delivery" => ("bekijk aanlevering", "view delivery"),
        "see_publication" => ("bekijk document", "view document"),
        "noscript_docs" => (
            "Schakel JavaScript in om documenten te openen.",
            "Enable JavaScript to open documents.",
        ),
        "sha_unknown" => ("SHA-256 onbekend", "SHA-256 unknown"),
        "deliver" => ("Stukken aanleveren", "Deliver documents"),
        "deliver_intro" => (
            "Voeg de onderliggende stukken toe. Controleer of alles compleet is, vul uw gegevens in en kies daarna \u{201c}Bevestigen en versturen\u{201d}. De behandelaar krijgt dan een melding; is uw e-mailadres een adres van de organisatie, dan ontvangt u ook een ontvangstbevestiging per e-mail.",
            "Add the underlying documents. Check that everything is complete, fill in your details and then choose \u{201c}Confirm and send\u{201d}. The case handler is then notified; if your e-mail address is one of the organisation's, you also receive a receipt by e-mail.",
        ),
        "deliver_intro_more" => (
            "Een stuk vergeten? Voeg het hier toe; het wordt als nazending bij dit verzoek bewaard.",
            "Forgot a document? Add it here; it is kept as a follow-up delivery with this request.",
        ),
        "noscript_form" => (
            "Voor het aanleveren van stukken is JavaScript nodig. Schakel JavaScript in en laad de pagina opnieuw.",
            "Delivering documents needs JavaScript. Enable JavaScript and reload the page.",
        ),
        "dropzone" => (
            "Sleep bestanden hierheen of kies bestanden",
            "Drag files here or choose files",
        ),
        "choose_files" => ("Kies bestanden", "Choose files"),
        "file_input" => ("Bestanden", "Files"),
        "rules_types" => ("Toegestaan: {types}.", "Allowed: {types}."),
        "rules_any" => (
            "Alle bestandstypen zijn toegestaan.",
            "All file types are allowed.",
        ),
        "rules_limits" => (
            "Maximaal {size} per bestand en {count} bestanden tegelijk.",
            "At most {size} per file and {count} files at a time.",
        ),
        "files" => ("Bestanden om te versturen", "Files to send"),
        "files_none" => ("Nog geen bestanden toegevoegd.", "No files added yet."),
        "file_ready" => ("Klaar om te versturen", "Ready to send"),
        "remove" => ("Verwijderen", "Remove"),
        "optional" => ("(optioneel)", "(optional)"),
        "your_name" => ("Uw naam", "Your name"),
        "your_email" => ("Uw e-mailadres", "Your e-mail address"),
        "email_hint" => (
            "Hier sturen wij de ontvangstbevestiging naartoe, als het een adres van de organisatie is.",
            "We send the receipt here if it is an address of the organisation.",
        ),
        "confirm" => ("Bevestigen en versturen", "Confirm and send"),
        "notice_withdrawn" => (
            "Dit verzoek is ingetrokken. U hoeft geen stukken meer aan te leveren.",
            "This request has been withdrawn. You no longer need to deliver documents.",
        ),
        "notice_closed" => (
            "Dit dossier is gesloten. Er kunnen geen stukken meer worden aangeleverd.",
            "This case is closed. Documents can no longer be delivered.",
        ),
        "notice_handled" => (
            "Deze zaak is afgehandeld. U kunt de stukken hier nog lezen tot {date}; er kunnen geen stukken meer worden aangeleverd.",
            "This case has been handled. You can still read the documents here until {date}; documents can no longer be delivered.",
        ),
        "notice_contact" => (
            "Vragen? Neem contact op met {name}, Juridische zaken.",
            "Questions? Contact {name}, legal department.",
        ),
        "error_code" => ("Foutcode {code}", "Error code {code}"),
        "hint_404" => (
            "Controleer of u de volledige link uit de e-mail heeft gebruikt. Is de link vervangen door een nieuwe, gebruik dan de link uit de nieuwste e-mail.",
            "Check that you used the complete link from the e-mail. If the link was replaced by a new one, use the link in the latest e-mail.",
        ),
        "hint_410" => (
            "Het dossier is afgehandeld en gesloten; de stukken zijn of worden vernietigd volgens de bewaartermijnen. Neem bij vragen contact op met Juridische zaken.",
            "The case has been handled and closed; its documents are or will be destroyed according to the retention periods. Contact the legal department with any questions.",
        ),
        "hint_429" => (
            "U heeft het te vaak geprobeerd. Wacht enkele minuten en probeer het dan opnieuw.",
            "Too many attempts. Wait a few minutes and try again.",
        ),
        "hint_500" => (
            "Er ging iets mis aan onze kant. Probeer het later opnieuw.",
            "Something went wrong on our side. Please try again later.",
        ),
        "to_home" => ("Naar de startpagina", "To the home page"),
        "home_title" => (
            "Portaal voor het aanleveren van stukken",
            "Portal for delivering documents",
        ),
        "home_intro" => (
            "Via dit portaal wisselen afdelingen stukken uit met Juridische zaken, bijvoorbeeld de onderliggende stukken bij een besluit waartegen bezwaar is gemaakt.",
            "Through this portal departments exchange documents with the legal department, for example the documents behind a decision someone has objected to.",
        ),
        "home_how" => ("Hoe werkt het?", "How does it work?"),
        "home_step1" => (
            "U ontvangt van Juridische zaken een e-mail met een persoonlijke link.",
            "You receive an e-mail from the legal department with a personal link.",
        ),
        "home_step2" => (
            "Open de link uit die e-mail. U hoeft niet in te loggen.",
            "Open the link in that e-mail. You do not need to log in.",
        ),
        "home_step3" => (
            "Voeg de stukken toe en kies \u{201c}Bevestigen en versturen\u{201d}. Vergeten stukken kunt u later via dezelfde link nazenden.",
            "Add the documents and choose \u{201c}Confirm and send\u{201d}. You can send forgotten documents later through the same link.",
        ),
        "home_no_link" => (
            "Kunt u de e-mail niet vinden? Neem contact op met de behandelaar bij Juridische zaken; die kan de link opnieuw versturen.",
            "Cannot find the e-mail? Contact the case handler at the legal department, who can send the link again.",
        ),
        "home_dev" => ("Voor ontwikkelaars", "For developers"),
        other => {
            debug_assert!(false, "missing UI string {other}");
            ("?", "?")
        }
    };
    match lang {
        Lang::Nl => nl,
        Lang::En => en,
    }
}

/// A UI string, escaped.
fn tx(lang: Lang, key: &str) -> String {
    escape(t(lang, key))
}

/// A UI string with `{name}` placeholders filled with escaped values.
fn tf(lang: Lang, key: &str, vars: &[(&str, &str)]) -> String {
    let mut out = escape(t(lang, key));
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), &escape(value));
    }
    out
}

pub fn escape(s: &str) -> String {
    escape_html(s)
}

// ---------------------------------------------------------------- formatting

fn date_text(d: NaiveDate, lang: Lang) -> String {
    let language = match lang {
        Lang::Nl => portaal_core::mailtext::Language::Nl,
        Lang::En => portaal_core::mailtext::Language::En,
    };
    portaal_core::service::mail_date(d, language)
}

use portaal_core::localtime::amsterdam;

fn datetime_text(at: DateTime<Utc>, lang: Lang) -> String {
    let local = amsterdam(at);
    format!(
        "{}, {:02}:{:02}",
        date_text(local.date(), lang),
        local.hour(),
        local.minute()
    )
}

/// `<time>` with the machine-readable UTC instant.
fn time_html(at: DateTime<Utc>, lang: Lang) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        escape(&datetime_text(at, lang))
    )
}

fn date_html(d: NaiveDate, lang: Lang) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        d.format("%Y-%m-%d"),
        escape(&date_text(d, lang))
    )
}

/// Bytes in binary units, one decimal, with a decimal comma in Dutch.
fn human_size(bytes: u64, lang: Lang) -> String {
    if bytes < 1024 {
        return if bytes == 1 {
            "1 byte".to_owned()
        } else {
            format!("{bytes} bytes")
        };
    }
    let units = ["kB", "MB", "GB", "TB"];
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let mut s = if value >= 100.0 || (value.fract() < 0.05 && value >= 10.0) {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    };
    if s.ends_with(".0") {
        s.truncate(s.len() - 2);
    }
    if lang == Lang::Nl {
        s = s.replace('.', ",");
    }
    format!("{s} {}", units[unit])
}

/// Percent-encodes a path segment (ids are ULIDs, but never trust a caller with a path).
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Text with line breaks kept (CSS `white-space: pre-line`).
fn text_block(s: &str) -> String {
    format!("<p class=\"prewrap\">{}</p>", escape(s.trim()))
}

// ---------------------------------------------------------------- page frame

struct Frame<'a> {
    lang: Lang,
    /// Path prefix the portal is served under (API Gateway stage), "" at the root.
    base: &'a str,
    title: &'a str,
    /// Show the language switch (links keep the path, set or unset `?lang=en`).
    switch: bool,
    footer: &'a str,
    body_class: &'a str,
    /// The organisation's name (`PORTAAL_ORG_NAME`), "" when not set.
    org: &'a str,
}

fn frame(f: Frame<'_>, main: &str) -> String {
    let lang = f.lang;
    let switch = if f.switch {
        // Relative query-only references keep the path (and with it the token) without naming it.
        let link = match lang {
            Lang::Nl => "<a href=\"?lang=en\" hreflang=\"en\" lang=\"en\">English</a>",
            Lang::En => "<a href=\"?lang=nl\" hreflang=\"nl\" lang=\"nl\">Nederlands</a>",
        };
        format!(
            "<nav class=\"lang-switch\" aria-label=\"{}\">{link}</nav>",
            tx(lang, "lang_nav")
        )
    } else {
        String::new()
    };
    format!(
        "<!DOCTYPE html>\n\
<html lang=\"{code}\">\n\
<head>\n\
<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n\
<meta name=\"robots\" content=\"noindex, nofollow\">\n\
<title>{title}</title>\n\
<link rel=\"icon\" href=\"data:,\">\n\
<link rel=\"stylesheet\" href=\"{base}/assets/portal.css\">\n\
<script src=\"{base}/assets/portal.js\" defer></script>\n\
</head>\n\
<body class=\"{body_class}\">\n\
<a class=\"skip-link\" href=\"#main\">{skip}</a>\n\
<header class=\"site-header\">\n<div class=\"wrap header-inner\">\n\
<p class=\"brand\">{org_html}<span class=\"brand-name\">Portaal</span> <span class=\"brand-sub\">{brand_sub}</span></p>\n\
{switch}\n</div>\n</header>\n\
<main id=\"main\" tabindex=\"-1\">\n<div class=\"wrap\">\n{main}</div>\n</main>\n\
<footer class=\"site-footer\">\n<div class=\"wrap\">{org_footer}<p>{footer}</p></div>\n</footer>\n\
</body>\n</html>\n",
        code = lang.code(),
        base = escape(f.base),
        title = escape(f.title),
        body_class = escape(f.body_class),
        skip = tx(lang, "skip"),
        brand_sub = tx(lang, "brand_sub"),
        footer = escape(f.footer),
        org_html = if f.org.is_empty() {
            String::new()
        } else {
            format!("<span class=\"brand-org\">{}</span> ", escape(f.org))
        },
        org_footer = if f.org.is_empty() {
            String::new()
        } else {
            format!("<p class=\"footer-org\">{}</p>", escape(f.org))
        },
    )
}

// ---------------------------------------------------------------- portal page

/// What the department is asked, in the words of the case type.
fn intro_key(case_type: &str) -> &'static str {
    match case_type {
        "bezwaar" => "intro_bezwaar",
        "beroep" => "intro_beroep",
        "voorlopige-voorziening" => "intro_voorlopige_voorziening",
        "woo-verzoek" => "intro_woo_verzoek",
        "klacht" => "intro_klacht",
        _ => "intro_other",
    }
}

/// The portal page for a link holder. Contains no token: scripts use location.pathname.
/// `base`: the path prefix the portal is served under (the API Gateway stage), "" at the root.
pub fn portal_page(view: &PortalView, lang: Lang, base: &str) -> String {
    let d = &view.dossier;
    let mut main = String::with_capacity(16 * 1024);
    main.push_str(&format!("<h1>{}</h1>\n", tx(lang, "request_heading")));
    main.push_str(&format!(
        "<p class=\"lead\"><span class=\"lead-case\">{} {}</span> <span class=\"lead-title\">{}</span></p>\n",
        escape(&d.case_type_name),
        escape(d.case_id.as_str()),
        escape(&d.title)
    ));
    main.push_str(&format!(
        "<p class=\"intro\">{}</p>\n",
        tx(lang, intro_key(d.case_type.as_str()))
    ));
    if view.accepting {
        main.push_str(&format!(
            "<p class=\"jump\"><a href=\"#aanleveren\">{}</a></p>\n",
            tx(lang, "jump_form")
        ));
    }
    main.push_str("<div class=\"top-row\">\n");
    main.push_str(&remarks_panel(view, lang));
    main.push_str(&case_panel(view, lang));
    main.push_str("</div>\n<div class=\"work\">\n");
    main.push_str(&history_column(view, lang));
    main.push_str(&deliver_section(view, lang));
    main.push_str("</div>\n");

    let title = format!(
        "{} {} \u{2013} Portaal",
        t(lang, "request_heading"),
        d.case_id
    );
    frame(
        Frame {
            base,
            lang,
            title: &title,
            switch: true,
            footer: t(lang, "footer_portal"),
            body_class: "page-portal",
            org: &view.org_name,
        },
        &main,
    )
}

fn remarks_panel(view: &PortalView, lang: Lang) -> String {
    let d = &view.dossier;
    let mut s = format!(
        "<section class=\"panel panel-remarks\" aria-labelledby=\"h-remarks\">\n<h2 id=\"h-remarks\">{}</h2>\n",
        tx(lang, "remarks")
    );
    let remarks = d.remarks.trim();
    let message = view.request.message.trim();
    if remarks.is_empty() && message.is_empty() {
        s.push_str(&format!(
            "<p class=\"muted\">{}</p>\n",
            tx(lang, "remarks_none")
        ));
    }
    if !remarks.is_empty() {
        s.push_str(&format!(
            "<div class=\"remark\"><p class=\"remark-label\">{}</p>{}</div>\n",
            tx(lang, "remarks_case"),
            text_block(remarks)
        ));
    }
    if !message.is_empty() {
        s.push_str(&format!(
            "<div class=\"remark\"><p class=\"remark-label\">{}</p>{}</div>\n",
            tf(lang, "remarks_message", &[("name", &d.handler_name)]),
            text_block(message)
        ));
    }
    s.push_str("</section>\n");
    s
}

fn fact(label: &str, value_html: &str) -> String {
    format!("<div class=\"fact\"><dt>{label}</dt><dd>{value_html}</dd></div>\n")
}

fn case_panel(view: &PortalView, lang: Lang) -> String {
    let d = &view.dossier;
    let r = &view.request;
    let mut s = format!(
        "<section class=\"panel panel-case\" id=\"zaakgegevens\" data-refresh aria-labelledby=\"h-case\">\n<h2 id=\"h-case\">{}</h2>\n<dl class=\"facts\">\n",
        tx(lang, "case_details")
    );
    s.push_str(&fact(&tx(lang, "case_type"), &escape(&d.case_type_name)));
    s.push_str(&fact(&tx(lang, "case_id"), &escape(d.case_id.as_str())));
    s.push_str(&fact(&tx(lang, "case_title"), &escape(&d.title)));
    if let Some(sub) = &d.submitter {
        let mut v = format!(
            "<span class=\"submitter-name\">{}</span>",
            escape(&sub.name)
        );
        if let Some(addr) = sub.address.as_deref().filter(|a| !a.trim().is_empty()) {
            v.push_str(&format!(
                "<span class=\"submitter-line prewrap\">{}</span>",
                escape(addr.trim())
            ));
        }
        if let Some(email) = &sub.email {
            v.push_str(&format!(
                "<span class=\"submitter-line\">{}</span>",
                escape(email.as_str())
            ));
        }
        s.push_str(&fact(&tx(lang, "submitter"), &v));
    }
    if !d.handler_name.trim().is_empty() {
        s.push_str(&fact(&tx(lang, "handler"), &escape(&d.handler_name)));
    }
    s.push_str("</dl>\n");

    // A Woo-verzoek or klacht need not concern a decision: then there is no panel for one.
    if let Some(decision) = &d.decision {
        s.push_str(&format!(
            "<h3 id=\"h-decision\">{}</h3>\n<dl class=\"facts\">\n",
            tx(lang, "decision")
        ));
        s.push_str(&fact(
            &tx(lang, "decision_reference"),
            &escape(&decision.reference),
        ));
        s.push_str(&fact(
            &tx(lang, "decision_date"),
            &date_html(decision.date.0, lang),
        ));
        if !decision.subject.trim().is_empty() {
            s.push_str(&fact(
                &tx(lang, "decision_subject"),
                &escape(&decision.subject),
            ));
        }
        s.push_str(&fact(
            &tx(lang, "department"),
            &escape(&decision.department),
        ));
        s.push_str("</dl>\n");
    }

    s.push_str(&format!(
        "<h3 id=\"h-request\">{}</h3>\n<dl class=\"facts\">\n",
        tx(lang, "request")
    ));
    s.push_str(&fact(&tx(lang, "department"), &escape(&r.department)));
    let due = t(lang, "due_by").replace("{date}", &date_html(r.due.0, lang));
    let due = if r.overdue {
        format!(
            "{due} <span class=\"badge badge-overdue\">{}</span>",
            tx(lang, "overdue")
        )
    } else {
        due
    };
    s.push_str(&fact(&tx(lang, "due"), &due));
    let state = match r.state {
        RequestState::Open => "state_open",
        RequestState::Delivered => "state_delivered",
        RequestState::Withdrawn => "state_withdrawn",
    };
    s.push_str(&fact(&tx(lang, "request_state"), &tx(lang, state)));
    s.push_str("</dl>\n</section>\n");
    s
}

fn sha_html(sha: Option<&Sha256>, lang: Lang) -> String {
    match sha {
        None => format!(
            "<span class=\"sha sha-unknown\">{}</span>",
            tx(lang, "sha_unknown")
        ),
        Some(sha) => {
            let full = escape(sha.as_str());
            let short: String = sha.as_str().chars().take(12).collect();
            format!(
                "<span class=\"sha\" title=\"SHA-256 {full}\">SHA-256 <code aria-hidden=\"true\">{}\u{2026}</code><span class=\"visually-hidden\">{full}</span></span>",
                escape(&short)
            )
        }
    }
}

/// A document line; the link's href is set by portal.js (`location.pathname + '/documents/' + id`).
fn document_item(doc: &DocumentView, lang: Lang, extra_meta: Option<String>) -> String {
    let name = if doc.scan == ScanState::Infected {
        format!(
            "<span class=\"doc-name\">{}</span> <strong class=\"refused\">({})</strong>",
            escape(doc.filename.as_str()),
            tx(lang, "quarantined")
        )
    } else if doc.state == DocumentState::Rejected {
        format!(
            "<span class=\"doc-name\">{}</span> <span class=\"muted\">({})</span>",
            escape(doc.filename.as_str()),
            tx(lang, "destroyed")
        )
    } else {
        format!(
            "<a class=\"doc-link\" data-document-id=\"{}\">{}</a>",
            escape(doc.id.as_str()),
            escape(doc.filename.as_str())
        )
    };
    let mut meta = vec![escape(&human_size(doc.size, lang))];
    if let Some(extra) = extra_meta {
        meta.push(extra);
    }
    if doc.scan == ScanState::Pending {
        meta.push(tx(lang, "scan_pending"));
    }
    meta.push(sha_html(doc.sha256.as_ref(), lang));
    format!(
        "<li class=\"doc\">{name}<span class=\"doc-meta\">{}</span></li>\n",
        meta.join("<span class=\"sep\" aria-hidden=\"true\"> \u{b7} </span>")
    )
}

fn delivery_badge(state: DeliveryState, lang: Lang) -> String {
    let (class, key) = match state {
        DeliveryState::Submitted => ("badge-submitted", "badge_submitted"),
        DeliveryState::Approved => ("badge-approved", "badge_approved"),
        DeliveryState::Rejected => ("badge-rejected", "badge_rejected"),
    };
    format!("<span class=\"badge {class}\">{}</span>", tx(lang, key))
}

fn sorted_deliveries(view: &PortalView) -> Vec<&DeliveryView> {
    let mut v: Vec<&DeliveryView> = view.deliveries.iter().collect();
    v.sort_by_key(|d| d.submitted_at);
    v
}

fn sorted_publications(view: &PortalView) -> Vec<&PublicationView> {
    let mut v: Vec<&PublicationView> = view.publications.iter().collect();
    v.sort_by_key(|p| p.published_at);
    v
}

fn delivery_article(del: &DeliveryView, first: bool, lang: Lang) -> String {
    let id = escape(del.id.as_str());
    let kind = tx(
        lang,
        if first {
            "delivery_first"
        } else {
            "delivery_next"
        },
    );
    let mut s = format!(
        "<article class=\"delivery\" id=\"delivery-{id}\" aria-labelledby=\"delivery-{id}-h\">\n\
<h3 id=\"delivery-{id}-h\">{kind} <span class=\"heading-date\">{}</span></h3>\n\
<p class=\"delivery-meta\">{} {}</p>\n",
        time_html(del.submitted_at, lang),
        delivery_badge(del.state, lang),
        tf(lang, "delivery_by", &[("name", &del.submitted_by.name)]),
    );
    let reason = del.reason.as_deref().filter(|r| !r.trim().is_empty());
    if let (DeliveryState::Rejected, Some(reason)) = (del.state, reason) {
        s.push_str(&format!(
            "<div class=\"reason\"><p class=\"remark-label\">{}</p>{}</div>\n",
            tx(lang, "reason"),
            text_block(reason)
        ));
    }
    if !del.comment.trim().is_empty() {
        s.push_str(&format!(
            "<div class=\"comment\"><p class=\"remark-label\">{}</p>{}</div>\n",
            tx(lang, "comment"),
            text_block(&del.comment)
        ));
    }
    if del.documents.is_empty() {
        s.push_str(&format!(
            "<p class=\"muted\">{}</p>\n",
            tx(lang, "no_documents")
        ));
    } else {
        s.push_str(&format!(
            "<ul class=\"doc-list\" aria-label=\"{}\">\n",
            tx(lang, "documents")
        ));
        for doc in &del.documents {
            s.push_str(&document_item(doc, lang, None));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</article>\n");
    s
}

fn event_label(kind: EventKind, lang: Lang) -> &'static str {
    let (nl, en) = match kind {
        EventKind::DossierRegistered => ("Zaak geregistreerd", "Case registered"),
        EventKind::DossierUpdated => ("Zaakgegevens bijgewerkt", "Case details updated"),
        EventKind::RequestSent => ("Verzoek om stukken verstuurd", "Request for documents sent"),
        EventKind::RequestUpdated => ("Verzoek gewijzigd", "Request changed"),
        EventKind::RequestWithdrawn => ("Verzoek ingetrokken", "Request withdrawn"),
        EventKind::LinkRotated => ("Nieuwe link verstuurd", "New link issued"),
        EventKind::DeliverySubmitted => ("Stukken aangeleverd", "Documents delivered"),
        EventKind::DeliveryApproved => ("Aanlevering akkoord", "Delivery approved"),
        EventKind::DeliveryRejected => ("Aanlevering afgewezen", "Delivery rejected"),
        EventKind::ReminderSent => ("Herinnering verstuurd", "Reminder sent"),
        EventKind::PublicationPublished => ("Document gepubliceerd", "Document published"),
        EventKind::DossierClosed => ("Zaak gesloten", "Case closed"),
        EventKind::DossierReopened => ("Zaak heropend", "Case reopened"),
        EventKind::HoldSet => ("Vernietiging opgeschort", "Destruction suspended"),
        EventKind::HoldLifted => (
            "Opschorting van vernietiging opgeheven",
            "Destruction suspension lifted",
        ),
        EventKind::DocumentQuarantined => (
            "Bestand geweigerd (malware gevonden)",
            "File refused (malware found)",
        ),
        EventKind::MailFailed => ("Mail niet bezorgd", "Mail not delivered"),
    };
    match lang {
        Lang::Nl => nl,
        Lang::En => en,
    }
}

fn timeline_item(e: &Event, view: &PortalView, lang: Lang) -> String {
    let mut s = format!(
        "<li class=\"event event-{}\">{} <span class=\"event-kind\">{}</span>",
        kind_class(e.kind),
        time_html(e.at, lang),
        escape(event_label(e.kind, lang))
    );
    if !e.summary.trim().is_empty() {
        // Summaries are written in Dutch by the server.
        let lang_attr = if lang == Lang::Nl { "" } else { " lang=\"nl\"" };
        s.push_str(&format!(
            " <span class=\"event-summary\"{lang_attr}>{}</span>",
            escape(e.summary.trim())
        ));
    }
    let delivery = e
        .delivery_id
        .as_ref()
        .filter(|did| view.deliveries.iter().any(|d| &d.id == *did));
    let publication = e
        .publication_id
        .as_ref()
        .filter(|pid| view.publications.iter().any(|p| &p.id == *pid));
    if let Some(did) = delivery {
        s.push_str(&format!(
            " <a class=\"event-link\" href=\"#delivery-{}\">{}</a>",
            escape(did.as_str()),
            tx(lang, "see_delivery")
        ));
    } else if let Some(pid) = publication {
        s.push_str(&format!(
            " <a class=\"event-link\" href=\"#publication-{}\">{}</a>",
            escape(pid.as_str()),
            tx(lang, "see_publication")
        ));
    }
    s.push_str("</li>\n");
    s
}

fn kind_class(kind: EventKind) -> &'static str {
    match kind {
        EventKind::DeliverySubmitted
        | EventKind::DeliveryApproved
        | EventKind::DeliveryRejected => "delivery",
        EventKind::PublicationPublished => "publication",
        EventKind::ReminderSent => "reminder",
        _ => "other",
    }
}

fn history_column(view: &PortalView, lang: Lang) -> String {
    let mut s =
        String::from("<div class=\"history-column\" id=\"dossier-history\" data-refresh>\n");

    // Earlier deliveries, oldest first: the first is the delivery, later ones follow-ups.
    s.push_str(&format!(
        "<section class=\"panel\" aria-labelledby=\"h-deliveries\">\n<h2 id=\"h-deliveries\">{}</h2>\n",
        tx(lang, "deliveries")
    ));
    let deliveries = sorted_deliveries(view);
    if deliveries.is_empty() {
        s.push_str(&format!(
            "<p class=\"muted\">{}</p>\n",
            tx(lang, "deliveries_none")
        ));
    }
    for (i, del) in deliveries.iter().enumerate() {
        s.push_str(&delivery_article(del, i == 0, lang));
    }
    s.push_str("</section>\n");

    s.push_str(&format!(
        "<section class=\"panel\" aria-labelledby=\"h-publications\">\n<h2 id=\"h-publications\">{}</h2>\n",
        tx(lang, "publications")
    ));
    let pubs = sorted_publications(view);
    if pubs.is_empty() {
        s.push_str(&format!(
            "<p class=\"muted\">{}</p>\n",
            tx(lang, "publications_none")
        ));
    } else {
        s.push_str("<ul class=\"doc-list\">\n");
        for p in pubs {
            let when = p
                .published_at
                .map(|at| t(lang, "published_on").replace("{date}", &time_html(at, lang)));
            let mut item = document_item(&p.document, lang, when);
            if !p.message.trim().is_empty() {
                // The case handler's note with the publication, inside the item.
                if let Some(end) = item.rfind("</li>") {
                    item.insert_str(
                        end,
                        &format!("<p class=\"prewrap\">{}</p>", escape(p.message.trim())),
                    );
                }
            }
            // Anchor for the history's "view document" link.
            s.push_str(&item.replacen(
                "<li class=\"doc\">",
                &format!(
                    "<li class=\"doc\" id=\"publication-{}\">",
                    escape(p.id.as_str())
                ),
                1,
            ));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</section>\n");

    s.push_str(&format!(
        "<section class=\"panel\" aria-labelledby=\"h-history\">\n<h2 id=\"h-history\">{}</h2>\n",
        tx(lang, "history")
    ));
    let mut events: Vec<&Event> = view.timeline.iter().collect();
    events.sort_by_key(|e| e.at);
    if events.is_empty() {
        s.push_str(&format!(
            "<p class=\"muted\">{}</p>\n",
            tx(lang, "history_none")
        ));
    } else {
        s.push_str("<ol class=\"timeline\">\n");
        for e in events {
            s.push_str(&timeline_item(e, view, lang));
        }
        s.push_str("</ol>\n");
    }
    s.push_str("</section>\n");
    s.push_str(&format!(
        "<noscript><p class=\"hint\">{}</p></noscript>\n",
        tx(lang, "noscript_docs")
    ));
    s.push_str("</div>\n");
    s
}

/// Short names and extensions of the content types the case types allow.
fn type_info(content_type: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match content_type {
        "application/pdf" => ("PDF", &[".pdf"]),
        "application/msword" => ("DOC", &[".doc"]),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            ("DOCX", &[".docx"])
        }
        "application/vnd.ms-excel" => ("XLS", &[".xls"]),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => ("XLSX", &[".xlsx"]),
        "application/vnd.oasis.opendocument.text" => ("ODT", &[".odt"]),
        "application/vnd.oasis.opendocument.spreadsheet" => ("ODS", &[".ods"]),
        "application/vnd.ms-outlook" => ("MSG", &[".msg"]),
        "message/rfc822" => ("EML", &[".eml"]),
        "text/plain" => ("TXT", &[".txt"]),
        "text/csv" => ("CSV", &[".csv"]),
        "image/png" => ("PNG", &[".png"]),
        "image/jpeg" => ("JPG", &[".jpg", ".jpeg"]),
        "image/tiff" => ("TIFF", &[".tif", ".tiff"]),
        _ => return None,
    })
}

fn rules_text(rules: &UploadRules, lang: Lang) -> String {
    let types = if rules.allowed_types.is_empty() {
        tx(lang, "rules_any")
    } else {
        let names: Vec<&str> = rules
            .allowed_types
            .iter()
            .map(|ct| type_info(ct).map(|(n, _)| n).unwrap_or(ct.as_str()))
            .collect();
        tf(lang, "rules_types", &[("types", &names.join(", "))])
    };
    let limits = tf(
        lang,
        "rules_limits",
        &[
            ("size", &human_size(rules.max_file_bytes, lang)),
            ("count", &rules.max_files.to_string()),
        ],
    );
    format!("{types} {limits}")
}

fn accept_attr(rules: &UploadRules) -> String {
    if rules.allowed_types.is_empty() {
        return String::new();
    }
    let mut parts: Vec<String> = Vec::new();
    for ct in &rules.allowed_types {
        if let Some((_, exts)) = type_info(ct) {
            parts.extend(exts.iter().map(|e| (*e).to_owned()));
        }
        parts.push(ct.clone());
    }
    format!(" accept=\"{}\"", escape(&parts.join(",")))
}

fn staged_item(doc: &DocumentView, lang: Lang) -> String {
    let name = escape(doc.filename.as_str());
    format!(
        "<li class=\"file\" data-upload-id=\"{id}\" data-filename=\"{name}\" data-size=\"{size}\"{sha}>\n\
<div class=\"file-main\"><span class=\"file-name\">{name}</span> <span class=\"file-size\">{human}</span></div>\n\
<p class=\"file-status\">{ready}</p>\n\
<button type=\"button\" class=\"button-secondary file-remove\">{remove}<span class=\"visually-hidden\"> {name}</span></button>\n\
</li>\n",
        id = escape(doc.id.as_str()),
        size = doc.size,
        sha = doc
            .sha256
            .as_ref()
            .map(|s| format!(" data-sha256=\"{}\"", escape(s.as_str())))
            .unwrap_or_default(),
        human = escape(&human_size(doc.size, lang)),
        ready = tx(lang, "file_ready"),
        remove = tx(lang, "remove"),
    )
}

fn deliver_section(view: &PortalView, lang: Lang) -> String {
    let mut s = format!(
        "<section class=\"panel panel-deliver\" id=\"aanleveren\" aria-labelledby=\"h-deliver\">\n<h2 id=\"h-deliver\">{}</h2>\n",
        tx(lang, "deliver")
    );
    if !view.accepting {
        let notice = match (view.request.state, view.dossier.closes_at) {
            (RequestState::Withdrawn, _) => tx(lang, "notice_withdrawn"),
            (_, Some(until)) => tf(
                lang,
                "notice_handled",
                &[("date", &datetime_text(until, lang))],
            ),
            _ => tx(lang, "notice_closed"),
        };
        s.push_str(&format!(
            "<div class=\"notice\" id=\"not-accepting\">\n<p>{notice}</p>\n"
        ));
        if !view.dossier.handler_name.trim().is_empty() {
            s.push_str(&format!(
                "<p>{}</p>\n",
                tf(
                    lang,
                    "notice_contact",
                    &[("name", &view.dossier.handler_name)]
                )
            ));
        }
        s.push_str("</div>\n</section>\n");
        return s;
    }
    let rules = &view.upload;
    s.push_str(&format!("<p>{}</p>\n", tx(lang, "deliver_intro")));
    if !view.deliveries.is_empty() {
        s.push_str(&format!("<p>{}</p>\n", tx(lang, "deliver_intro_more")));
    }
    s.push_str(&format!(
        "<noscript><p class=\"notice\">{}</p></noscript>\n",
        tx(lang, "noscript_form")
    ));
    s.push_str(&format!(
        "<form id=\"delivery-form\" class=\"delivery-form\" method=\"post\" novalidate \
data-max-bytes=\"{}\" data-max-files=\"{}\" data-allowed-types=\"{}\">\n",
        rules.max_file_bytes,
        rules.max_files,
        escape(&rules.allowed_types.join(","))
    ));
    // Drop zone: a real button opens the (visually hidden) file input; portal.js adds drag and drop.
    s.push_str(&format!(
        "<div class=\"dropzone\" id=\"dropzone\">\n\
<p class=\"dropzone-text\" id=\"dropzone-text\">{drop}</p>\n\
<button type=\"button\" class=\"button-secondary\" id=\"pick-files\" aria-describedby=\"dropzone-text upload-rules\">{choose}</button>\n\
<label for=\"file-input\" class=\"visually-hidden\">{files}</label>\n\
<input type=\"file\" id=\"file-input\" class=\"visually-hidden\" multiple tabindex=\"-1\"{accept}>\n\
<p class=\"hint\" id=\"upload-rules\">{rules}</p>\n\
</div>\n\
<p class=\"field-error\" id=\"files-error\" hidden></p>\n",
        drop = tx(lang, "dropzone"),
        choose = tx(lang, "choose_files"),
        files = tx(lang, "file_input"),
        accept = accept_attr(rules),
        rules = rules_text(rules, lang),
    ));
    s.push_str(&format!("<h3 id=\"h-files\">{}</h3>\n", tx(lang, "files")));
    s.push_str(&format!(
        "<p class=\"muted\" id=\"file-empty\"{}>{}</p>\n",
        if view.staged.is_empty() {
            ""
        } else {
            " hidden"
        },
        tx(lang, "files_none")
    ));
    s.push_str("<ul class=\"file-list\" id=\"file-list\" aria-labelledby=\"h-files\">\n");
    for doc in &view.staged {
        s.push_str(&staged_item(doc, lang));
    }
    s.push_str("</ul>\n");
    s.push_str("<p class=\"status-line\" id=\"upload-status\" aria-live=\"polite\"></p>\n");
    s.push_str(&format!(
        "<div class=\"field\">\n<label for=\"comment\">{} <span class=\"optional\">{}</span></label>\n\
<textarea id=\"comment\" name=\"comment\" rows=\"4\" maxlength=\"4000\"></textarea>\n</div>\n",
        tx(lang, "comment"),
        tx(lang, "optional")
    ));
    s.push_str(&format!(
        "<div class=\"field\">\n<label for=\"submitter-name\">{}</label>\n\
<input type=\"text\" id=\"submitter-name\" name=\"name\" autocomplete=\"name\" required maxlength=\"200\">\n\
<p class=\"field-error\" id=\"submitter-name-error\" hidden></p>\n</div>\n",
        tx(lang, "your_name")
    ));
    s.push_str(&format!(
        "<div class=\"field\">\n<label for=\"submitter-email\">{}</label>\n\
<p class=\"hint\" id=\"submitter-email-hint\">{}</p>\n\
<input type=\"email\" id=\"submitter-email\" name=\"email\" autocomplete=\"email\" required maxlength=\"254\" spellcheck=\"false\" aria-describedby=\"submitter-email-hint\">\n\
<p class=\"field-error\" id=\"submitter-email-error\" hidden></p>\n</div>\n",
        tx(lang, "your_email"),
        tx(lang, "email_hint")
    ));
    s.push_str("<div class=\"form-error\" id=\"form-error\" role=\"alert\"></div>\n");
    // Disabled until portal.js is running: without it the form cannot send anything.
    s.push_str(&format!(
        "<div class=\"actions\"><button type=\"submit\" class=\"button-primary\" id=\"confirm\" disabled>{}</button></div>\n",
        tx(lang, "confirm")
    ));
    s.push_str("</form>\n<div class=\"result\" id=\"delivery-result\" aria-live=\"polite\"></div>\n</section>\n");
    s
}

// ---------------------------------------------------------------- other pages

/// The advice an error page adds for a status (404 unknown link, 410 closed, 429 too many
/// tries, 500).
pub fn hint_for(status: u16) -> Option<&'static str> {
    match status {
        404 => Some("hint_404"),
        410 => Some("hint_410"),
        429 => Some("hint_429"),
        500..=599 => Some("hint_500"),
        _ => None,
    }
}

/// Error page for browsers, with the advice `hint` names (see [`hint_for`]).
pub fn error_page(
    status: u16,
    title: &str,
    detail: &str,
    hint: Option<&str>,
    lang: Lang,
    base: &str,
    org: &str,
) -> String {
    let mut main = format!(
        "<div class=\"panel panel-error\">\n<h1>{}</h1>\n",
        escape(title)
    );
    if !detail.trim().is_empty() {
        main.push_str(&format!("<p class=\"lead\">{}</p>\n", escape(detail)));
    }
    // The caller's detail usually says what to do; the closed-dossier hint adds the retention rule.
    if let Some(hint) = hint.filter(|_| status == 410 || detail.trim().is_empty()) {
        main.push_str(&format!("<p>{}</p>\n", tx(lang, hint)));
    }
    main.push_str(&format!(
        "<p class=\"muted\">{}</p>\n<p><a href=\"{}/{}\">{}</a></p>\n</div>\n",
        tf(lang, "error_code", &[("code", &status.to_string())]),
        escape(base),
        if lang == Lang::En { "?lang=en" } else { "" },
        tx(lang, "to_home")
    ));
    let page_title = format!("{status} {title} \u{2013} Portaal");
    frame(
        Frame {
            base,
            lang,
            title: &page_title,
            switch: true,
            footer: t(lang, "footer"),
            body_class: "page-error",
            org,
        },
        &main,
    )
}

/// Landing page at "/": what this is; tells people to open the link from their e-mail.
/// `dev_links`: when Some, a list of (label, href) for developers (outbox, API description).
pub fn home_page(lang: Lang, dev_links: Option<&[(&str, &str)]>, base: &str, org: &str) -> String {
    let mut main = format!(
        "<h1>{}</h1>\n<p class=\"lead\">{}</p>\n<section class=\"panel\" aria-labelledby=\"h-how\">\n<h2 id=\"h-how\">{}</h2>\n<ol class=\"steps\">\n<li>{}</li>\n<li>{}</li>\n<li>{}</li>\n</ol>\n<p>{}</p>\n</section>\n",
        tx(lang, "home_title"),
        tx(lang, "home_intro"),
        tx(lang, "home_how"),
        tx(lang, "home_step1"),
        tx(lang, "home_step2"),
        tx(lang, "home_step3"),
        tx(lang, "home_no_link"),
    );
    if let Some(links) = dev_links {
        main.push_str(&format!(
            "<section class=\"panel panel-dev\" aria-labelledby=\"h-dev\">\n<h2 id=\"h-dev\">{}</h2>\n<ul>\n",
            tx(lang, "home_dev")
        ));
        for (label, href) in links {
            main.push_str(&format!(
                "<li><a href=\"{}\">{}</a></li>\n",
                escape(href),
                escape(label)
            ));
        }
        main.push_str("</ul>\n</section>\n");
    }
    let title = format!("{} \u{2013} Portaal", t(lang, "home_title"));
    frame(
        Frame {
            base,
            lang,
            title: &title,
            switch: true,
            footer: t(lang, "footer"),
            body_class: "page-home",
            org,
        },
        &main,
    )
}

// ---------------------------------------------------------------- embedded-mode outbox

/// Embedded-mode outbox list (/dev/mail) and one mail (/dev/mail/{id}).
pub struct MailRow<'a> {
    pub id: &'a str,
    pub to: &'a [String],
    pub subject: &'a str,
    pub sent_at: &'a str,
}

const DEV_FOOTER: &str =
    "Alleen in de lokale ontwikkelomgeving: deze pagina's bestaan niet in productie.";

pub fn mail_list_page(rows: &[MailRow]) -> String {
    let mut main = String::from(
        "<h1>Verstuurde e-mail</h1>\n<p class=\"lead\">De uitgaande e-mail van deze lokale omgeving, oudste eerst.</p>\n<section class=\"panel\" aria-labelledby=\"h-outbox\">\n<h2 id=\"h-outbox\">Postvak uit</h2>\n",
    );
    if rows.is_empty() {
        main.push_str("<p class=\"muted\">Er is nog geen e-mail verstuurd.</p>\n");
    } else {
        main.push_str(
            "<div class=\"table-wrap\">\n<table class=\"mail-table\">\n<thead><tr><th scope=\"col\">Verstuurd</th><th scope=\"col\">Aan</th><th scope=\"col\">Onderwerp</th></tr></thead>\n<tbody>\n",
        );
        for r in rows {
            main.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/dev/mail/{}\">{}</a></td></tr>\n",
                escape(r.sent_at),
                escape(&r.to.join(", ")),
                path_segment(r.id),
                if r.subject.trim().is_empty() {
                    "(geen onderwerp)".to_owned()
                } else {
                    escape(r.subject)
                }
            ));
        }
        main.push_str("</tbody>\n</table>\n</div>\n");
    }
    main.push_str("</section>\n");
    frame(
        Frame {
            base: "",
            lang: Lang::Nl,
            title: "Verstuurde e-mail \u{2013} Portaal",
            switch: false,
            footer: DEV_FOOTER,
            body_class: "page-dev",
            org: "",
        },
        &main,
    )
}

/// Shows the text part in `<pre>`, a link to the raw message, and URLs in the text as links.
pub fn mail_page(id: &str, to: &[String], subject: &str, sent_at: &str, text: &str) -> String {
    let seg = path_segment(id);
    let subject_text = if subject.trim().is_empty() {
        "(geen onderwerp)"
    } else {
        subject
    };
    let main = format!(
        "<p class=\"back\"><a href=\"/dev/mail\">Terug naar verstuurde e-mail</a></p>\n\
<h1>{subject}</h1>\n\
<section class=\"panel\" aria-labelledby=\"h-mail\">\n<h2 id=\"h-mail\" class=\"visually-hidden\">Bericht</h2>\n\
<dl class=\"facts\">\n{to}{sent}</dl>\n\
<p><a href=\"/dev/mail/{seg}.eml\">Origineel bericht (.eml)</a></p>\n\
<pre class=\"mail-text\">{body}</pre>\n</section>\n",
        subject = escape(subject_text),
        to = fact("Aan", &escape(&to.join(", "))),
        sent = fact("Verstuurd", &escape(sent_at)),
        body = linkify(text),
    );
    let title = format!("{subject_text} \u{2013} Verstuurde e-mail");
    frame(
        Frame {
            base: "",
            lang: Lang::Nl,
            title: &title,
            switch: false,
            footer: DEV_FOOTER,
            body_class: "page-dev",
            org: "",
        },
        &main,
    )
}

/// Escapes text and turns every http(s) URL in it into a link.
fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    loop {
        let next = [rest.find("https://"), rest.find("http://")]
            .into_iter()
            .flatten()
            .min();
        let Some(start) = next else {
            out.push_str(&escape(rest));
            break;
        };
        out.push_str(&escape(&rest[..start]));
        let tail = &rest[start..];
        let mut end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`'))
            .unwrap_or(tail.len());
        // Punctuation that ends a sentence is not part of the URL.
        while end > 0 && tail[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', ']']) {
            end -= 1;
        }
        let url = &tail[..end];
        if url.len() <= "https://".len() {
            out.push_str(&escape(&tail[..end.max(1)]));
            rest = &tail[end.max(1)..];
            continue;
        }
        out.push_str(&format!("<a href=\"{0}\">{0}</a>", escape(url)));
        rest = &tail[end..];
    }
    out
}

// ---------------------------------------------------------------- tests

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use portaal_core::domain::{CaseId, ContentType, Date, Email, Filename, Id};
    use portaal_core::model::{Actor, Decision, Person, Submitter};
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
            staged: vec![doc(6, "advies.pdf", DocumentState::Staged)],
            upload: UploadRules {
                max_file_bytes: 100 * 1024 * 1024,
                max_files: 50,
                allowed_types: vec!["application/pdf".into(), "image/jpeg".into()],
            },
            accepting: true,
        }
    }

    fn assert_csp_clean(html: &str) {
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the external script"
        );
        assert!(html.contains("<script src=\"/assets/portal.js\" defer></script>"));
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
        let nl = portal_page(&v, Lang::Nl, "");
        assert!(nl.contains("geweigerd: de virusscanner vond malware"));
        assert!(!nl.contains(&format!("data-document-id=\"{id}\"")));
        let en = portal_page(&v, Lang::En, "");
        assert!(en.contains("refused: the virus scanner found malware"));
        assert_csp_clean(&nl);
    }

    #[test]
    fn title_is_escaped() {
        let mut v = view();
        v.dossier.title = "<script>alert(1)</script>".into();
        v.dossier.remarks = "<img src=x onerror=alert(1)>".into();
        let html = portal_page(&v, Lang::Nl, "");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img"));
        assert_csp_clean(&html);
    }

    #[test]
    fn dutch_and_english() {
        let nl = portal_page(&view(), Lang::Nl, "");
        assert!(nl.contains("<html lang=\"nl\">"));
        assert!(nl.contains("Bevestigen en versturen"));
        assert!(
            nl.contains("Opmerkingen")
                && nl.contains("Zaakgegevens")
                && nl.contains("Primair besluit")
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

        let en = portal_page(&view(), Lang::En, "");
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
        let html = portal_page(&view(), Lang::Nl, "");
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
        assert!(
            html.contains("<label for=\"comment\">") && html.contains("<label for=\"file-input\"")
        );
    }

    #[test]
    fn the_page_speaks_for_the_organisation_and_the_case_type() {
        let mut v = view();
        let bezwaar = portal_page(&v, Lang::Nl, "");
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
            let woo = portal_page(&v, lang, "");
            assert!(
                !woo.contains(decision),
                "no decision panel without a decision"
            );
            assert!(woo.contains(asked), "{lang:?}");
            assert_csp_clean(&woo);
        }
        v.org_name.clear();
        assert!(!portal_page(&v, Lang::Nl, "").contains("brand-org"));
    }

    #[test]
    fn submitter_hidden_when_absent() {
        let mut v = view();
        let with = portal_page(&v, Lang::Nl, "");
        assert!(with.contains("Indiener") && with.contains("Jan Indiener"));
        v.dossier.submitter = None;
        let without = portal_page(&v, Lang::Nl, "");
        assert!(!without.contains("Indiener"));
        assert!(!without.contains("Jan Indiener"));
    }

    #[test]
    fn notice_instead_of_form_when_not_accepting() {
        let mut v = view();
        v.accepting = false;
        v.request.state = RequestState::Withdrawn;
        let html = portal_page(&v, Lang::Nl, "");
        assert!(html.contains("id=\"not-accepting\""));
        assert!(html.contains("Dit verzoek is ingetrokken"));
        assert!(!html.contains("<form"));
        assert!(!html.contains("Bevestigen en versturen</button>"));
        v.request.state = RequestState::Open;
        let closed = portal_page(&v, Lang::En, "");
        assert!(closed.contains("This case is closed"));
        assert_csp_clean(&closed);
        v.dossier.closes_at = Some("2026-12-31T10:00:00Z".parse().unwrap());
        let handled = portal_page(&v, Lang::Nl, "");
        assert!(
            handled.contains("Deze zaak is afgehandeld") && handled.contains("31 december 2026"),
            "a handled case says until when it can be read"
        );
    }

    #[test]
    fn empty_remarks_say_so() {
        let mut v = view();
        v.dossier.remarks.clear();
        v.request.message.clear();
        assert!(portal_page(&v, Lang::Nl, "").contains("Er zijn geen opmerkingen"));
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
        assert!(PORTAL_JS.contains("X-Portaal-Client"));
        assert!(!PORTAL_JS.contains("eval("));
    }
}
