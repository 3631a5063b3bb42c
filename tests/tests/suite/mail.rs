//! Mail through a real SMTP server (aiosmtpd, started by the tests): what arrives, with which
//! headers, once per recipient, and after an outage of the relay. SMTP is the embedded backend's
//! transport (AWS sends through SES), so these apps are embedded whatever the environment says.

use portaal_tests::smtp::SmtpSink;
use portaal_tests::{case_id, spawn_with_settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let head = message.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n")
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim())
}

/// The display name of an address header, decoded from its RFC 2047 encoded words.
fn display_name(value: &str) -> String {
    use base64::Engine;
    let name = value.split('<').next().unwrap_or_default().trim();
    name.split_whitespace()
        .map(|word| {
            match word
                .strip_prefix("=?utf-8?b?")
                .and_then(|w| w.strip_suffix("?="))
            {
                Some(encoded) => String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .unwrap(),
                )
                .unwrap(),
                None => word.to_owned(),
            }
        })
        .collect()
}

#[tokio::test]
async fn mail_arrives_over_smtp_once_per_recipient_with_the_headers_users_expect() {
    let sink = SmtpSink::start();
    let app = spawn_with_settings(&[
        ("PORTAAL_BACKEND", "embedded"),
        ("PORTAAL_SMTP_URL", &sink.url()),
        ("PORTAAL_MAIL_FROM", "portaal@gemeente-voorbeeld.nl"),
        (
            "PORTAAL_MAIL_FROM_NAME",
            "Gemeente Voorbeeld – Juridische zaken",
        ),
    ])
    .await;
    let case = case_id("SMTP");
    let request = app
        .dossier_with_request_to(
            &case,
            &[
                "vergunningen@example.nl",
                "refused@example.nl",
                "archief@example.nl",
            ],
        )
        .await;
    let link = request["portal_url"].as_str().unwrap();
    // Two request mails and the handler's notice about the refused address.
    sink.wait_for(&case, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (arrived, to_handler): (Vec<String>, Vec<String>) = sink
        .messages()
        .into_iter()
        .filter(|m| m.contains(&case))
        .partition(|m| header(m, "X-Envelope-To") != Some("m.jansen@example.nl"));
    assert_eq!(
        arrived.len(),
        2,
        "one message per accepted recipient, each once"
    );
    assert_eq!(
        to_handler.len(),
        1,
        "the handler hears of the refused address once"
    );
    assert!(
        header(&to_handler[0], "Subject")
            .unwrap()
            .contains("niet bezorgd")
    );
    assert!(to_handler[0].contains("refused@example.nl"));
    assert_eq!(
        header(&to_handler[0], "Reply-To"),
        None,
        "the handler's own mail"
    );
    for message in &arrived {
        assert!(
            header(message, "Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        let from = header(message, "From").unwrap();
        assert!(
            from.starts_with("=?utf-8?") && from.ends_with("<portaal@gemeente-voorbeeld.nl>"),
            "{from}"
        );
        assert_eq!(header(message, "Reply-To"), Some("m.jansen@example.nl"));
        assert_eq!(header(message, "Auto-Submitted"), Some("auto-generated"));
        let message_id = header(message, "Message-ID").unwrap();
        assert!(
            message_id.ends_with("@gemeente-voorbeeld.nl>"),
            "{message_id}"
        );
        let to = header(message, "X-Envelope-To").unwrap();
        assert_eq!(
            header(message, "To"),
            Some(to),
            "each message has its one recipient"
        );
    }
    let token = link.rsplit('/').next().unwrap();
    assert!(
        arrived
            .iter()
            .all(|m| m.replace("=\r\n", "").contains(token)),
        "the link is filled in as the mail is sent"
    );

    // The refused address fails for good, and says so; the others were not held up.
    let dossier = app.get_dossier(&case).await;
    let failed: Vec<&Value> = dossier["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "mail_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{}", dossier["timeline"]);
    assert!(
        failed[0]["summary"]
            .as_str()
            .unwrap()
            .contains("refused@example.nl")
    );
    let shown = &dossier["requests"][0]["mail_failures"];
    assert_eq!(
        shown.as_array().unwrap().len(),
        1,
        "the request shows it: {shown}"
    );
    assert!(
        shown[0]["detail"]
            .as_str()
            .unwrap()
            .contains("refused@example.nl")
    );
}

#[tokio::test]
async fn a_relay_outage_longer_than_the_first_retry_loses_no_mail_and_sends_it_once() {
    let mut sink = SmtpSink::start();
    let app = spawn_with_settings(&[
        ("PORTAAL_BACKEND", "embedded"),
        ("PORTAAL_SMTP_URL", &sink.url()),
        ("PORTAAL_MAIL_RETRY_SCHEDULE", "1,1,1,1,1,1"),
    ])
    .await;
    sink.stop();
    let case = case_id("OUTAGE");
    app.dossier_with_request_to(&case, &["vergunningen@example.nl"])
        .await;
    // Longer than the first retry interval: at least two attempts fail.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(sink.messages().is_empty());
    sink.resume();
    sink.wait_for(&case, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        sink.messages()
            .into_iter()
            .filter(|m| m.contains(&case))
            .count(),
        1,
        "exactly once"
    );
    let dossier = app.get_dossier(&case).await;
    assert!(
        dossier["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] != "mail_failed"),
        "a temporary failure is no failure"
    );
}

/// A request in English, its due date moved, then withdrawn: the department hears each, in its
/// language, signed with the organisation's name; nothing twice.
#[tokio::test]
async fn the_department_hears_of_a_new_due_date_and_a_withdrawal_in_its_language() {
    let sink = SmtpSink::start();
    let app = spawn_with_settings(&[
        ("PORTAAL_BACKEND", "embedded"),
        ("PORTAAL_SMTP_URL", &sink.url()),
        ("PORTAAL_ORG_NAME", "Gemeente Voorbeeld"),
    ])
    .await;
    let case = case_id("LANG");
    assert_eq!(app.put_dossier(&case).await.status(), StatusCode::CREATED);
    let request = portaal_tests::json_answer(
        app.api(Method::POST, &format!("/dossiers/{case}/requests"))
            .json(&json!({"department": "Permits", "to": ["permits@example.nl"], "due": "2099-12-01", "language": "en"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(request["language"], "en");
    let id = request["id"].as_str().unwrap();
    let first = sink.wait_for(&case, 1).await;
    assert!(
        header(&first[0], "Subject")
            .unwrap()
            .starts_with("Request for documents: objection")
    );
    assert!(first[0].contains("1 December 2099") && first[0].contains("Gemeente Voorbeeld"));
    assert!(
        first[0].contains("lang=3D\"en\""),
        "the HTML part says its language"
    );
    assert!(
        display_name(header(&first[0], "From").unwrap()).contains("Gemeente Voorbeeld"),
        "without PORTAAL_MAIL_FROM_NAME the organisation's name is the sender's"
    );

    let res = app
        .patch_request(&case, id, json!({"due": "2099-12-15"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let two = sink.wait_for(&case, 2).await;
    let moved = two
        .iter()
        .find(|m| header(m, "Subject").unwrap().starts_with("New deadline"))
        .expect("due_changed mail");
    assert!(
        moved.contains("15 December 2099") && moved.contains("1 December 2099"),
        "{moved}"
    );
    assert!(
        moved.contains(request["portal_url"].as_str().unwrap()),
        "the link again"
    );

    let res = app
        .patch_request(&case, id, json!({"state": "withdrawn"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let three = sink.wait_for(&case, 3).await;
    let withdrawn = three
        .iter()
        .find(|m| {
            !std::ptr::eq(*m, moved)
                && header(m, "Subject")
                    .unwrap()
                    .to_lowercase()
                    .contains("withdrawn")
        })
        .expect("withdrawn mail");
    assert!(
        !withdrawn.contains(request["portal_url"].as_str().unwrap()),
        "no dead link"
    );
    portaal_tests::settle(&app, std::time::Duration::from_millis(500)).await;
    assert_eq!(
        sink.messages().iter().filter(|m| m.contains(&case)).count(),
        3,
        "each once"
    );
}
