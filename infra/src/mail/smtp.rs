//! The `Mailer` port over SMTP (`PORTAAL_SMTP_URL`): `smtp://user:pass@relay:587` needs STARTTLS
//! (plain text only to a loopback relay, e.g. `smtp://127.0.0.1:2525` in tests), `smtps://…`
//! speaks TLS from the start. A 5xx answer is permanent (the mail fails for good); anything else
//! (4xx, a refused connection, a timeout) is temporary and retried by the outbox.

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percent_encoding::percent_decode_str;
use portaal_core::ports::{MailError, Mailer, OutgoingMail};

use super::Sender;

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    sender: Sender,
}

impl std::fmt::Debug for SmtpMailer {
    // The transport holds the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpMailer")
    }
}

impl SmtpMailer {
    pub fn new(url: &str, sender: Sender) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let loopback = portaal_core::events::is_loopback_name(&host);
        let builder = match parsed.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)
                .map_err(|e| format!("TLS to {host}: {e}"))?
                .port(parsed.port().unwrap_or(465)),
            "smtp" if loopback => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(parsed.port().unwrap_or(25)),
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
                .map_err(|e| format!("STARTTLS to {host}: {e}"))?
                .port(parsed.port().unwrap_or(587)),
            other => return Err(format!("'{other}://' is neither smtp:// nor smtps://")),
        };
        let builder = if parsed.username().is_empty() {
            builder
        } else {
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            builder.credentials(Credentials::new(
                decode(parsed.username()),
                decode(parsed.password().unwrap_or_default()),
            ))
        };
        Ok(Self {
            transport: builder.timeout(Some(TIMEOUT)).build(),
            sender,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        let message = self.sender.message(mail)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(self.sender.message_id(&mail.id)),
            Err(e) if e.is_permanent() => Err(MailError::Rejected(format!("SMTP: {e}"))),
            Err(e) => Err(MailError::Backend(format!("SMTP: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender::new("portaal@example.nl", None).unwrap()
    }

    #[tokio::test]
    async fn urls_are_checked() {
        assert!(SmtpMailer::new("smtp://127.0.0.1:2525", sender()).is_ok());
        assert!(SmtpMailer::new("smtp://user:p%40ss@relay.example.nl:587", sender()).is_ok());
        assert!(SmtpMailer::new("smtps://relay.example.nl", sender()).is_ok());
        assert!(SmtpMailer::new("http://relay.example.nl", sender()).is_err());
        assert!(SmtpMailer::new("relay.example.nl", sender()).is_err());
    }
}
