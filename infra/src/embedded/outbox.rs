//! The embedded mailer: every mail becomes an RFC 5322 `.eml` file (plain text plus an HTML
//! alternative) in the outbox folder, with a JSON sidecar that `/dev/mail` lists.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Utc};
use portaal_core::ports::{MailError, Mailer, OutgoingMail};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

#[derive(Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
}

/// A sent mail as `/dev/mail` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SentMail {
    pub id: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub sent_at: DateTime<Utc>,
}

fn backend(e: impl std::fmt::Display) -> MailError {
    MailError::Backend(e.to_string())
}

impl OutboxMailer {
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            from: from.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every sent mail, newest last.
    pub async fn list(&self) -> std::io::Result<Vec<SentMail>> {
        let mut out = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                if let Ok(mail) = serde_json::from_slice::<SentMail>(&tokio::fs::read(&path).await?)
                {
                    out.push(mail);
                }
            }
        }
        out.sort_by(|a, b| a.sent_at.cmp(&b.sent_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn safe_id(id: &str) -> Option<&str> {
        (!id.is_empty() && id.len() <= 40 && id.chars().all(|c| c.is_ascii_alphanumeric()))
            .then_some(id)
    }

    pub async fn get(&self, id: &str) -> Option<SentMail> {
        let id = Self::safe_id(id)?;
        let raw = tokio::fs::read(self.dir.join(format!("{id}.json")))
            .await
            .ok()?;
        serde_json::from_slice(&raw).ok()
    }

    pub async fn raw(&self, id: &str) -> Option<Vec<u8>> {
        let id = Self::safe_id(id)?;
        tokio::fs::read(self.dir.join(format!("{id}.eml")))
            .await
            .ok()
    }
}

/// RFC 2047 encoded-word for header text that is not plain ASCII.
fn encode_header(s: &str) -> String {
    if s.is_ascii() && !s.contains(['\r', '\n']) {
        s.to_owned()
    } else {
        format!(
            "=?utf-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(s.replace(['\r', '\n'], " "))
        )
    }
}

/// Base64 body lines of at most 76 characters (RFC 2045).
fn base64_lines(s: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    b64.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

pub fn render_eml(from: &str, mail: &OutgoingMail, date: DateTime<Utc>) -> String {
    let boundary = format!("=_portaal_{}", mail.id);
    let to = mail
        .to
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@portaal.local>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         This is a multi-part message in MIME format.\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{html}\r\n\
         --{boundary}--\r\n",
        subject = encode_header(&mail.subject),
        date = date.to_rfc2822(),
        id = mail.id,
        text = base64_lines(&mail.text),
        html = base64_lines(&mail.html),
    )
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = tokio::fs::File::create(&tmp).await?;
    f.write_all(bytes).await?;
    f.sync_all().await?;
    tokio::fs::rename(&tmp, path).await
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        let message_id = format!("<{}@portaal.local>", mail.id);
        let eml = self.dir.join(format!("{}.eml", mail.id));
        // Named by the mail item's id: sending the same item again rewrites, never duplicates.
        let now = Utc::now();
        write_atomically(&eml, render_eml(&self.from, mail, now).as_bytes())
            .await
            .map_err(backend)?;
        let sent = SentMail {
            id: mail.id.to_string(),
            to: mail.to.iter().map(|e| e.to_string()).collect(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            html: mail.html.clone(),
            sent_at: now,
        };
        let json = serde_json::to_vec_pretty(&sent).map_err(backend)?;
        write_atomically(&self.dir.join(format!("{}.json", mail.id)), &json)
            .await
            .map_err(backend)?;
        Ok(message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portaal_core::domain::{Email, Id};

    #[test]
    fn eml_has_both_alternatives_and_encoded_subject() {
        let mail = OutgoingMail {
            id: Id::from_ulid(ulid::Ulid::nil()),
            to: vec![Email::parse("a@b.nl").unwrap()],
            subject: "Verzoek om stukken – bezwaar".into(),
            text: "tekst".into(),
            html: "<p>tekst</p>".into(),
        };
        let eml = render_eml("portaal@example.nl", &mail, Utc::now());
        assert!(eml.contains("multipart/alternative"));
        assert!(eml.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(eml.contains("Content-Type: text/html; charset=utf-8"));
        assert!(eml.contains("Subject: =?utf-8?B?"));
        assert!(eml.lines().all(|l| l.len() <= 998));
    }
}
