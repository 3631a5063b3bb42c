//! Every outgoing message is built here, with lettre: `From` with the organisation's display
//! name, `Reply-To` the handler on mail to a department, `Auto-Submitted: auto-generated` (so
//! out-of-office replies stay away), a `Message-ID` in the sender's domain, and the text with its
//! HTML alternative. The SMTP transport and the `.eml` outbox send exactly these bytes.

pub mod smtp;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart};
use portaal_core::domain::Id;
use portaal_core::ports::{MailError, OutgoingMail};

/// Who sends: the address (`PORTAAL_MAIL_FROM`), its display name (`PORTAAL_MAIL_FROM_NAME`).
#[derive(Clone, Debug)]
pub struct Sender {
    mailbox: Mailbox,
    domain: String,
}

impl Sender {
    pub fn new(address: &str, display_name: Option<&str>) -> Result<Self, String> {
        let address: lettre::Address = address
            .trim()
            .parse()
            .map_err(|e| format!("'{address}' is not a mail address: {e}"))?;
        Ok(Self {
            domain: address.domain().to_owned(),
            mailbox: Mailbox::new(
                display_name
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
                address,
            ),
        })
    }

    /// `From` as SES takes it: `Name <address>`, a non-ASCII name as an RFC 2047 encoded word.
    pub fn header_value(&self) -> String {
        use base64::Engine;
        let address = &self.mailbox.email;
        match self.mailbox.name.as_deref() {
            None => address.to_string(),
            Some(name) if name.is_ascii() && !name.contains(['"', '\\', '\r', '\n']) => {
                format!("\"{name}\" <{address}>")
            }
            Some(name) => format!(
                "=?utf-8?B?{}?= <{address}>",
                base64::engine::general_purpose::STANDARD.encode(name.replace(['\r', '\n'], " "))
            ),
        }
    }

    /// A Message-ID in the sender's own domain, stable per mail item (a resend is recognisable).
    pub fn message_id(&self, mail: &Id) -> String {
        format!("<{mail}@{}>", self.domain)
    }

    /// The message for `mail`, as every transport sends it.
    pub fn message(&self, mail: &OutgoingMail) -> Result<Message, MailError> {
        let mut builder = Message::builder()
            .from(self.mailbox.clone())
            .subject(mail.subject.clone())
            .message_id(Some(self.message_id(&mail.id)))
            .header(AutoSubmitted);
        for to in &mail.to {
            builder = builder.to(mailbox(to.as_str())?);
        }
        if let Some(reply_to) = &mail.reply_to {
            builder = builder.reply_to(mailbox(reply_to.as_str())?);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| MailError::Rejected(format!("the message cannot be built: {e}")))
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .parse()
        .map_err(|e| MailError::Rejected(format!("'{address}' is not a mail address: {e}")))
}

/// `Auto-Submitted: auto-generated` (RFC 3834): no out-of-office replies to the portal. Every
/// transport sets it, SES through its own header list.
pub(crate) const AUTO_SUBMITTED: (&str, &str) = ("Auto-Submitted", "auto-generated");

#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str(AUTO_SUBMITTED.0)
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), AUTO_SUBMITTED.1.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portaal_core::domain::Email;

    #[test]
    fn the_message_carries_the_headers_users_expect() {
        let sender = Sender::new(
            "portaal@gemeente.example.nl",
            Some("Gemeente Voorbeeld – Juridische zaken"),
        )
        .unwrap();
        let id = Id::from_ulid(ulid::Ulid::nil());
        let mail = OutgoingMail {
            id: id.clone(),
            case_id: portaal_core::domain::CaseId::parse("BZ-2026-0042").unwrap(),
            to: vec![Email::parse("vergunningen@gemeente.example.nl").unwrap()],
            reply_to: Some(Email::parse("m.jansen@gemeente.example.nl").unwrap()),
            subject: "Verzoek om stukken: BZ-1".into(),
            text: "Beste collega's,\n\nzie de link.".into(),
            html: "<p>Beste collega's,</p>".into(),
        };
        let raw = String::from_utf8(sender.message(&mail).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("From: =?utf-8?"),
            "an encoded display name: {raw}"
        );
        assert!(raw.contains("<portaal@gemeente.example.nl>"));
        assert!(raw.contains("Reply-To: m.jansen@gemeente.example.nl"));
        assert!(raw.contains("Auto-Submitted: auto-generated"));
        assert!(raw.contains(&format!("Message-ID: <{id}@gemeente.example.nl>")));
        assert!(raw.contains("multipart/alternative"));
    }
}
