//! SES's bounce and complaint events (EventBridge: "Email Bounced", "Email Complaint Received")
//! about a mail the portal sent, found by the tags the SES mailer gave it.

use portaal_core::domain::{CaseId, Id};
use portaal_infra::System;
use portaal_infra::aws::ses::{CASE_TAG, MAIL_ID_TAG};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct MailEvent {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: MailEventDetail,
}

#[derive(Debug, Deserialize)]
pub struct MailEventDetail {
    #[serde(rename = "eventType")]
    pub event_type: String,
    #[serde(default)]
    pub bounce: Option<Bounce>,
    pub mail: SesMail,
}

#[derive(Debug, Deserialize)]
pub struct Bounce {
    #[serde(rename = "bounceType")]
    pub bounce_type: String,
    #[serde(rename = "bouncedRecipients", default)]
    pub recipients: Vec<BouncedRecipient>,
}

#[derive(Debug, Deserialize)]
pub struct BouncedRecipient {
    #[serde(rename = "emailAddress", default)]
    pub address: String,
    #[serde(rename = "diagnosticCode", default)]
    pub diagnostic: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SesMail {
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, Vec<String>>,
}

impl MailEvent {
    /// The mail item it is about (from the tags), and why it failed for good; None for a
    /// transient bounce (SES retried it itself) or a mail that is not the portal's.
    pub fn failure(&self) -> Option<(CaseId, Id, String)> {
        let why = match (self.detail.event_type.as_str(), &self.detail.bounce) {
            ("Bounce", Some(b)) if b.bounce_type == "Permanent" => {
                let detail = b
                    .recipients
                    .iter()
                    .map(|r| match &r.diagnostic {
                        Some(d) => format!("{} ({d})", r.address),
                        None => r.address.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("bounced for good: {detail}")
            }
            ("Complaint", _) => "the recipient marked it as spam (complaint)".to_owned(),
            _ => return None,
        };
        let tag = |name: &str| self.detail.mail.tags.get(name)?.first().cloned();
        let case = hex::decode(tag(CASE_TAG)?).ok()?;
        let case = CaseId::parse(std::str::from_utf8(&case).ok()?).ok()?;
        let id = Id::parse(&tag(MAIL_ID_TAG)?).ok()?;
        Some((case, id, why))
    }
}

/// Marks the mail failed for good (once), or ignores the event.
pub async fn fail_mail(system: &System, event: MailEvent) -> Result<Value, portaal_core::Error> {
    match event.failure() {
        Some((case, id, why)) => {
            let recorded = system.outbox.fail_delivered(&case, &id, &why).await?;
            Ok(serde_json::json!({"failed": recorded}))
        }
        None => Ok(serde_json::json!({"ignored": event.detail_type})),
    }
}
