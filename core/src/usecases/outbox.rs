//! Sends queued mail items. Each send is claimed first (a conditional write), so two senders
//! never send the same mail at once and a crashed send is taken over after its claim lapses.

use std::sync::Arc;

use chrono::Duration;

use crate::domain::Id;
use crate::error::Result;
use crate::events::EventType;
use crate::model::{LINK_PLACEHOLDER, Mail, MailKind, MailState, Record};
use crate::ports::{Clock, Index, MailError, Mailer, OutgoingMail, Store, StoreError, Write};
use crate::sealing::LinkKey;
use crate::usecases::feed::{id_value, pending_event};

/// How long a claim protects a send in progress.
const CLAIM_SECONDS: i64 = 120;
/// After this many failed attempts a mail is marked failed and left for a human.
pub const MAX_ATTEMPTS: u32 = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// Already sent or failed, or gone.
    Skipped,
    /// Another sender holds a live claim on it: ask again after the claim lapses.
    Busy,
    /// Transport failed; the mail stays queued for a later attempt.
    Retry(String),
    /// The transport refused it for good, or it ran out of attempts.
    Failed(String),
}

#[derive(Clone)]
pub struct Outbox {
    store: Arc<dyn Store>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    /// Opens the sealed links of queued mails.
    link_key: Option<LinkKey>,
}

impl Outbox {
    pub fn new(store: Arc<dyn Store>, mailer: Arc<dyn Mailer>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            mailer,
            clock,
            link_key: None,
        }
    }

    /// Sends mails with their link filled in from its sealed form (`PORTAAL_LINK_KEY`).
    pub fn with_link_key(mut self, key: Option<LinkKey>) -> Self {
        self.link_key = key;
        self
    }

    /// The mail as it goes out: the placeholder replaced by the opened link.
    fn outgoing(&self, mail: &Mail) -> OutgoingMail {
        let link = mail.link.as_ref().map(|l| {
            match self
                .link_key
                .as_ref()
                .and_then(|k| k.open(&l.sealed, &l.request_id))
            {
                Some(token) => format!("{}/p/{}", l.base, token.expose()),
                None => {
                    tracing::error!("a queued mail's link cannot be opened (PORTAAL_LINK_KEY missing or changed)");
                    "(de link kon niet worden ingevuld; vraag Juridische zaken om een nieuwe link)"
                        .to_owned()
                }
            }
        });
        let fill = |s: &str| match &link {
            Some(l) => s.replace(LINK_PLACEHOLDER, l),
            None => s.to_owned(),
        };
        OutgoingMail {
            id: mail.id.clone(),
            to: mail.to.clone(),
            subject: fill(&mail.subject),
            text: fill(&mail.text),
            html: fill(&mail.html),
        }
    }

    /// Sends the mail item with this key once.
    #[tracing::instrument(skip(self))]
    pub async fn send(&self, pk: &str, sk: &str) -> Result<SendOutcome> {
        let Some(item) = self.store.get(pk, sk).await? else {
            return Ok(SendOutcome::Skipped);
        };
        let mail = Mail::from_item(&item)?;
        let now = self.clock.now();
        match mail.state {
            MailState::Sent | MailState::Failed => return Ok(SendOutcome::Skipped),
            MailState::Sending if mail.claimed_until.is_some_and(|t| t > now) => {
                return Ok(SendOutcome::Busy);
            }
            MailState::Queued | MailState::Sending => {}
        }
        let claimed = Mail {
            state: MailState::Sending,
            attempts: mail.attempts + 1,
            claimed_until: Some(now + Duration::seconds(CLAIM_SECONDS)),
            ..mail.clone()
        };
        match self
            .store
            .transact(vec![Write::replace_if(
                claimed.to_item(pk.into(), sk.into()),
                "attempts",
                mail.attempts,
            )])
            .await
        {
            Err(StoreError::ConditionFailed { .. }) => return Ok(SendOutcome::Skipped),
            other => other?,
        }
        let outgoing = self.outgoing(&mail);
        let (next, outcome) = match self.mailer.send(&outgoing).await {
            Ok(message_id) => (
                Mail {
                    state: MailState::Sent,
                    sent_at: Some(self.clock.now()),
                    message_id: Some(message_id),
                    claimed_until: None,
                    last_error: None,
                    // Sent: the bodies (which may hold a link) need not stay in the table.
                    text: String::new(),
                    html: String::new(),
                    ..claimed.clone()
                },
                SendOutcome::Sent,
            ),
            Err(MailError::Rejected(why)) => (
                Mail {
                    state: MailState::Failed,
                    claimed_until: None,
                    last_error: Some(why.clone()),
                    ..claimed.clone()
                },
                SendOutcome::Failed(why),
            ),
            Err(MailError::Backend(why)) if claimed.attempts >= MAX_ATTEMPTS => (
                Mail {
                    state: MailState::Failed,
                    claimed_until: None,
                    last_error: Some(why.clone()),
                    ..claimed.clone()
                },
                SendOutcome::Failed(why),
            ),
            Err(MailError::Backend(why)) => (
                Mail {
                    state: MailState::Queued,
                    claimed_until: None,
                    last_error: Some(why.clone()),
                    ..claimed.clone()
                },
                SendOutcome::Retry(why),
            ),
        };
        let mut writes = vec![Write::replace_if(
            next.to_item(pk.into(), sk.into()),
            "attempts",
            claimed.attempts,
        )];
        match &outcome {
            SendOutcome::Sent => writes.extend(self.sent_event(&mail)),
            SendOutcome::Failed(_) => writes.push(self.failed_event(&mail)),
            _ => {}
        }
        self.store.transact(writes).await?;
        match &outcome {
            SendOutcome::Sent => tracing::info!(kind = ?mail.kind, "mail sent"),
            SendOutcome::Failed(why) => {
                tracing::error!(kind = ?mail.kind, error = %why, "mail failed for good")
            }
            SendOutcome::Retry(why) => {
                tracing::warn!(kind = ?mail.kind, error = %why, "mail send failed; will retry")
            }
            SendOutcome::Skipped | SendOutcome::Busy => {}
        }
        Ok(outcome)
    }

    /// `request.sent` / `reminder.sent`, in the transaction that marks the mail sent.
    fn sent_event(&self, mail: &Mail) -> Option<Write> {
        let kind = match mail.kind {
            MailKind::Request => EventType::RequestSent,
            MailKind::ReminderBefore | MailKind::ReminderOverdue => EventType::ReminderSent,
            _ => return None,
        };
        Some(self.mail_event(kind, mail))
    }

    /// `mail.failed`, in the transaction that marks the mail failed for good.
    fn failed_event(&self, mail: &Mail) -> Write {
        self.mail_event(EventType::MailFailed, mail)
    }

    /// An event about a mail: its case, request (when it has one), id and kind.
    fn mail_event(&self, kind: EventType, mail: &Mail) -> Write {
        let now = self.clock.now();
        pending_event(
            Id::new_at(now),
            kind,
            now,
            &mail.case_id,
            &[
                ("request_id", id_value(&mail.request_id)),
                ("mail_id", mail.id.to_string().into()),
                ("kind", serde_json::to_value(mail.kind).unwrap_or_default()),
            ],
        )
    }

    /// Sends every queued mail (oldest first), at most `limit`. Answers how many were sent.
    pub async fn sweep(&self, limit: usize) -> Result<usize> {
        let queued = self
            .store
            .query_index(Index::Outbox, "OUTBOX", None, limit)
            .await?;
        let mut sent = 0;
        for item in queued {
            if self.send(&item.pk, &item.sk).await? == SendOutcome::Sent {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
