//! Mail through Amazon SES v2 (`SendEmail` with simple content: subject, text and HTML bodies).

use async_trait::async_trait;
use aws_sdk_sesv2::error::{DisplayErrorContext, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{
    Body, Content, Destination, EmailContent, Message, MessageHeader, MessageTag,
};
use portaal_core::ports::{MailError, Mailer, OutgoingMail};

use super::lazy::LazyClient;

const CHARSET: &str = "UTF-8";

/// The tag carrying the outbox item's id, so SES events (bounces, complaints) name their mail.
pub const MAIL_ID_TAG: &str = "mail_id";
/// The tag carrying the mail's case number, hex-encoded.
pub const CASE_TAG: &str = "case_hex";

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: LazyClient<aws_sdk_sesv2::Client>,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// `from` (`Name <address>`, see `Sender::header_value`) must be a verified identity (or of a
    /// verified domain) of the SES account. SES sets its own Message-ID; the one it answers is
    /// stored with the mail item, to match bounces.
    pub fn new(
        client: aws_sdk_sesv2::Client,
        from: impl Into<String>,
        configuration_set: Option<String>,
    ) -> Self {
        Self::lazy(LazyClient::ready(client), from, configuration_set)
    }

    /// As `new`, with the client built when the first mail is sent (the portal function never
    /// sends one).
    pub fn lazy(
        client: LazyClient<aws_sdk_sesv2::Client>,
        from: impl Into<String>,
        configuration_set: Option<String>,
    ) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set,
        }
    }
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset(CHARSET)
        .build()
        .map_err(|e| MailError::Backend(format!("SES: {e}")))
}

/// Refusals that repeat for this very mail are `Rejected` (never retried); account or
/// configuration trouble (unverified MAIL FROM domain, suspended account, paused sending,
/// missing configuration set) and throttling are `Backend`, so the outbox retries once an
/// operator has fixed it instead of dropping every mail.
fn map_error(err: SdkError<SendEmailError>) -> MailError {
    let text = DisplayErrorContext(&err).to_string();
    match err.as_service_error() {
        Some(SendEmailError::MessageRejected(_) | SendEmailError::BadRequestException(_)) => {
            MailError::Rejected(format!("SES SendEmail: {text}"))
        }
        _ => MailError::Backend(format!("SES SendEmail: {text}")),
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        let auto_submitted = MessageHeader::builder()
            .name(crate::mail::AUTO_SUBMITTED.0)
            .value(crate::mail::AUTO_SUBMITTED.1)
            .build()
            .map_err(|e| MailError::Backend(format!("SES: {e}")))?;
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .headers(auto_submitted)
            .body(
                Body::builder()
                    .text(content(&mail.text)?)
                    .html(content(&mail.html)?)
                    .build(),
            )
            .build();
        let destination = Destination::builder()
            .set_to_addresses(Some(mail.to.iter().map(|e| e.to_string()).collect()))
            .build();
        let tag = |name: &str, value: String| {
            MessageTag::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| MailError::Backend(format!("SES: {e}")))
        };
        let id_tag = tag(MAIL_ID_TAG, mail.id.to_string())?;
        // Hex: tag values allow fewer characters than case numbers.
        let case_tag = tag(CASE_TAG, hex::encode(mail.case_id.as_str()))?;
        let out = self
            .client
            .get()
            .send_email()
            .from_email_address(&self.from)
            .set_reply_to_addresses(mail.reply_to.as_ref().map(|r| vec![r.to_string()]))
            .destination(destination)
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .email_tags(id_tag)
            .email_tags(case_tag)
            .send()
            .await
            .map_err(map_error)?;
        out.message_id()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| MailError::Backend("SES SendEmail answered no message id".into()))
    }
}
