//! The embedded mailer: every mail becomes an RFC 5322 `.eml` file (plain text plus an HTML
//! alternative) in the outbox folder, with a JSON sidecar that `/dev/mail` lists.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use portaal_core::domain::Id;
use portaal_core::ports::{MailError, Mailer, OutgoingMail, SentMailCopies};

use crate::mail::Sender;
use serde::{Deserialize, Serialize};

#[derive(Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    sender: Sender,
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
    pub fn new(dir: impl Into<PathBuf>, sender: Sender) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir, sender })
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

#[async_trait]
impl SentMailCopies for OutboxMailer {
    /// Removes `{id}.eml`, `{id}.json` and any temporary file a write left (`{id}.*`).
    async fn erase(&self, mails: &[Id]) -> Result<u64, MailError> {
        if mails.is_empty() {
            return Ok(0);
        }
        let prefixes: Vec<String> = mails.iter().map(|id| format!("{id}.")).collect();
        let mut removed = 0;
        let mut entries = match tokio::fs::read_dir(&self.dir).await {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(backend(e)),
        };
        while let Some(entry) = entries.next_entry().await.map_err(backend)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !prefixes.iter().any(|p| name.starts_with(p.as_str())) {
                continue;
            }
            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(backend(e)),
            }
        }
        Ok(removed)
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, MailError> {
        let message = self.sender.message(mail)?;
        let eml = self.dir.join(format!("{}.eml", mail.id));
        // Named by the mail item's id: sending the same item again rewrites, never duplicates.
        let now = Utc::now();
        super::files::write_atomically(&eml, &message.formatted())
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
        super::files::write_atomically(&self.dir.join(format!("{}.json", mail.id)), &json)
            .await
            .map_err(backend)?;
        Ok(self.sender.message_id(&mail.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portaal_core::domain::Email;

    #[tokio::test]
    async fn the_eml_is_the_message_every_transport_sends() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("outbox");
        let mailer = OutboxMailer::new(
            &dir,
            Sender::new("portaal@example.nl", Some("Gemeente")).unwrap(),
        )
        .unwrap();
        let mail = OutgoingMail {
            id: Id::from_ulid(ulid::Ulid::nil()),
            case_id: portaal_core::domain::CaseId::parse("BZ-2026-0042").unwrap(),
            to: vec![Email::parse("a@b.nl").unwrap()],
            reply_to: None,
            subject: "Verzoek om stukken – bezwaar".into(),
            text: "tekst".into(),
            html: "<p>tekst</p>".into(),
        };
        let id = mailer.send(&mail).await.unwrap();
        assert_eq!(id, format!("<{}@example.nl>", mail.id));
        let eml = String::from_utf8(mailer.raw(mail.id.as_str()).await.unwrap()).unwrap();
        assert!(eml.contains("multipart/alternative"));
        assert!(
            eml.lines()
                .any(|l| l.starts_with("Subject: ") && l.contains("=?utf-8?")),
            "an encoded subject: {eml}"
        );
        assert!(eml.lines().all(|l| l.len() <= 998));
    }
}
