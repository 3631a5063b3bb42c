//! Sends queued mail items. Each send is claimed first (a conditional write), so two senders
//! never send the same mail at once and a crashed send is taken over after its claim lapses.

use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::Duration;

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::mailtext::Language;
use crate::model::{
    Actor, Dossier, Event, EventKind, LINK_PLACEHOLDER, Mail, MailKind, MailState, Record,
    index_keys, keys,
};
use crate::ports::{
    Clock, Index, IndexQuery, MailError, Mailer, OutgoingMail, Store, StoreError, Write,
};
use crate::sealing::LinkKey;
use crate::usecases::feed::{id_value, pending_event};

/// How long a claim protects a send in progress.
const CLAIM_SECONDS: i64 = 120;

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
    /// Seconds between attempts: N values, N retries after the first; then the mail fails.
    retry: Vec<u64>,
    /// `PORTAAL_ORG_NAME`, for the handler's notice of a failed mail.
    org_name: String,
}

impl Outbox {
    pub fn new(store: Arc<dyn Store>, mailer: Arc<dyn Mailer>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            mailer,
            clock,
            link_key: None,
            retry: crate::service::DEFAULT_MAIL_RETRY.to_vec(),
            org_name: String::new(),
        }
    }

    /// The same outbox on another clock (tests that move time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Names the organisation in the notices the outbox writes itself.
    pub fn with_org_name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.org_name);
        self
    }

    /// Retries temporary failures after these many seconds (`PORTAAL_MAIL_RETRY_SCHEDULE`).
    pub fn with_retry_schedule(mut self, seconds: Vec<u64>) -> Self {
        self.retry = seconds;
        self
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
                Some(token) => crate::model::portal_link(&l.base, &token),
                None => {
                    tracing::error!("a queued mail's link cannot be opened (PORTAAL_LINK_KEY missing or changed)");
                    // The mail does not know its language: both.
                    "(de link kon niet worden ingevuld; vraag Juridische zaken om een nieuwe link / the link could not be filled in; ask the legal department for a new link)"
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
            case_id: mail.case_id.clone(),
            to: mail.to.clone(),
            reply_to: mail.reply_to.clone(),
            subject: fill(&mail.subject),
            text: fill(&mail.text),
            html: fill(&mail.html),
        }
    }

    /// Sends the mail item with this key once.
    #[tracing::instrument(skip(self))]
    pub async fn send(&self, pk: &str, sk: &str) -> Result<SendOutcome> {
        let (mail, claimed) = match self.claim(pk, sk).await? {
            ControlFlow::Continue(both) => both,
            ControlFlow::Break(not_now) => return Ok(not_now),
        };
        let sent = self.mailer.send(&self.outgoing(&mail)).await;
        let (next, outcome) = self.settle(&claimed, sent);
        let mut writes = vec![Write::replace_if(
            next.to_item(pk.into(), sk.into()),
            "attempts",
            claimed.attempts,
        )];
        match &outcome {
            SendOutcome::Sent => writes.extend(self.sent_event(&mail)),
            SendOutcome::Failed(why) => {
                writes.push(self.failed_event(&mail));
                writes.extend(self.failure_notice(&mail, why).await);
            }
            _ => {}
        }
        match self.store.transact(writes).await {
            // Another sender took the mail over after this one's claim lapsed: its record stands.
            Err(StoreError::ConditionFailed { .. }) => {
                tracing::warn!("a mail's outcome was not recorded: another sender took it over");
                return Ok(SendOutcome::Skipped);
            }
            other => other?,
        }
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

    /// The mail as read and as claimed for this send (its attempt counted), or why it is not
    /// sent now.
    async fn claim(&self, pk: &str, sk: &str) -> Result<ControlFlow<SendOutcome, (Mail, Mail)>> {
        let Some(item) = self.store.get(pk, sk).await? else {
            return Ok(ControlFlow::Break(SendOutcome::Skipped));
        };
        let mail = Mail::from_item(&item)?;
        let now = self.clock.now();
        match mail.state {
            MailState::Sent | MailState::Failed => {
                return Ok(ControlFlow::Break(SendOutcome::Skipped));
            }
            MailState::Sending if mail.claimed_until.is_some_and(|t| t > now) => {
                return Ok(ControlFlow::Break(SendOutcome::Busy));
            }
            // A retry not yet due (a sweep finds it when it is).
            MailState::Queued if mail.next_attempt_at.is_some_and(|t| t > now) => {
                return Ok(ControlFlow::Break(SendOutcome::Busy));
            }
            MailState::Queued | MailState::Sending => {}
        }
        let claimed = Mail {
            state: MailState::Sending,
            attempts: mail.attempts + 1,
            claimed_until: Some(now + Duration::seconds(CLAIM_SECONDS)),
            ..mail.clone()
        };
        let write = Write::replace_if(
            claimed.to_item(pk.into(), sk.into()),
            "attempts",
            mail.attempts,
        );
        match self.store.transact(vec![write]).await {
            Err(StoreError::ConditionFailed { .. }) => Ok(ControlFlow::Break(SendOutcome::Skipped)),
            other => other
                .map(|()| ControlFlow::Continue((mail, claimed)))
                .map_err(Into::into),
        }
    }

    /// What the transport's answer makes of a claimed mail: sent (its bodies dropped), queued
    /// for the next delay of the retry schedule, or failed for good (refused, or out of
    /// attempts).
    fn settle(
        &self,
        claimed: &Mail,
        sent: std::result::Result<String, MailError>,
    ) -> (Mail, SendOutcome) {
        let (why, retry_after) = match sent {
            Ok(message_id) => {
                let sent = Mail {
                    state: MailState::Sent,
                    sent_at: Some(self.clock.now()),
                    message_id: Some(message_id),
                    claimed_until: None,
                    last_error: None,
                    // Sent: the bodies (which may hold a link) need not stay in the table.
                    text: String::new(),
                    html: String::new(),
                    ..claimed.clone()
                };
                return (sent, SendOutcome::Sent);
            }
            Err(MailError::Rejected(why)) => (why, None),
            Err(MailError::Backend(why)) => {
                (why, self.retry.get(claimed.attempts as usize - 1).copied())
            }
        };
        let next = Mail {
            state: match retry_after {
                Some(_) => MailState::Queued,
                None => MailState::Failed,
            },
            claimed_until: None,
            last_error: Some(why.clone()),
            next_attempt_at: retry_after
                .map(|delay| {
                    self.clock.now() + Duration::seconds(delay.min(i64::MAX as u64) as i64)
                })
                .or(claimed.next_attempt_at),
            ..claimed.clone()
        };
        match retry_after {
            Some(_) => (next, SendOutcome::Retry(why)),
            None => (next, SendOutcome::Failed(why)),
        }
    }

    /// `request.sent` / `reminder.sent`, in the transaction that marks the mail sent.
    fn sent_event(&self, mail: &Mail) -> Option<Write> {
        if !mail.announces {
            return None;
        }
        let kind = match mail.kind {
            MailKind::Request => EventType::RequestSent,
            MailKind::ReminderBefore | MailKind::ReminderOverdue => EventType::ReminderSent,
            _ => return None,
        };
        Some(self.mail_event(kind, mail))
    }

    /// A mail the transport accepted but that bounced for good, or drew a complaint (SES's
    /// events on AWS): failed, with the same notices as a refusal. Repeats are no-ops.
    #[tracing::instrument(skip(self, why))]
    pub async fn fail_delivered(&self, case: &CaseId, id: &Id, why: &str) -> Result<bool> {
        let pk = keys::dossier(case);
        // A mail queued before mail moved into the history is found where it was written.
        let mut found = None;
        for sk in [keys::mail(id), keys::legacy_mail(id)] {
            if let Some(item) = self.store.get(&pk, &sk).await? {
                found = Some((sk, item));
                break;
            }
        }
        let Some((sk, item)) = found else {
            // Destroyed with its dossier meanwhile.
            return Ok(false);
        };
        let mail = Mail::from_item(&item)?;
        if mail.state == MailState::Failed {
            return Ok(false);
        }
        let failed = Mail {
            state: MailState::Failed,
            claimed_until: None,
            last_error: Some(why.to_owned()),
            ..mail.clone()
        };
        let mut writes = vec![Write::replace_if(
            failed.to_item(pk, sk),
            "attempts",
            mail.attempts,
        )];
        writes.push(self.failed_event(&mail));
        writes.extend(self.failure_notice(&mail, why).await);
        match self.store.transact(writes).await {
            // Changed meanwhile (a retry of this very event): the next delivery of it decides.
            Err(StoreError::ConditionFailed { .. }) => Err(crate::Error::conflict(
                "the mail changed while its bounce was recorded; try again",
            )),
            other => other.map(|_| true).map_err(Into::into),
        }
    }

    /// A mail that failed for good is never silent: a `mail_failed` line in the dossier's
    /// timeline (kind and recipient) and, unless the failed mail was the handler's own, a mail
    /// to the handler. Written in the transaction that marks the mail failed; a handler's mail
    /// that cannot be made (the store unreachable a moment) is logged, never a reason to leave
    /// the failure unrecorded.
    async fn failure_notice(&self, mail: &Mail, why: &str) -> Vec<Write> {
        let now = self.clock.now();
        let recipients = mail
            .to
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let event = Event {
            id: Id::new_at(now),
            at: now,
            kind: EventKind::MailFailed,
            actor: Actor::System,
            actor_name: None,
            request_id: mail.request_id.clone(),
            delivery_id: None,
            publication_id: None,
            document_id: None,
            summary: format!(
                "Mail niet bezorgd ({}) aan {recipients}: {why}",
                mail.kind.as_str()
            ),
        };
        let pk = keys::dossier(&mail.case_id);
        let mut writes = vec![Write::create(
            event.to_item(pk.clone(), keys::event(&event)),
        )];
        if mail.kind.goes_to_department() {
            match self.handler_notice(mail, &recipients, why).await {
                Ok(Some(notice)) => {
                    writes.push(Write::create(notice.to_item(pk, keys::mail(&notice.id))))
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the handler's notice of a failed mail could not be made")
                }
            }
        }
        writes
    }

    /// The handler's mail about a department's mail that failed; None once the dossier is gone.
    async fn handler_notice(
        &self,
        mail: &Mail,
        recipients: &str,
        why: &str,
    ) -> Result<Option<Mail>> {
        let Some(item) = self
            .store
            .get(&keys::dossier(&mail.case_id), keys::META)
            .await?
        else {
            return Ok(None);
        };
        let dossier = Dossier::from_item(&item)?;
        let language = Language::Nl;
        let mut vars = crate::format::dossier_vars(&dossier, language);
        vars.insert("mail_kind", mail.kind.label(language).to_owned());
        vars.insert("recipient", recipients.to_owned());
        vars.insert("reason", why.to_owned());
        let case_type = crate::usecases::casetypes::load_case_type(
            self.store.as_ref(),
            dossier.case_type.as_str(),
        )
        .await?;
        let rendered = case_type
            .render_mail(MailKind::MailFailed, language, &self.org_name, &vars)
            .map_err(|e| Error::Corrupt(format!("the mail_failed text does not render: {e}")))?;
        let now = self.clock.now();
        Ok(Some(Mail {
            request_id: mail.request_id.clone(),
            ..Mail::queued(
                Id::new_at(now),
                mail.case_id.clone(),
                MailKind::MailFailed,
                dossier.handler.email.clone(),
                rendered,
                now,
            )
        }))
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

    /// Sends every mail that is due (oldest first), at most `limit`. Answers how many were sent.
    pub async fn sweep(&self, limit: usize) -> Result<usize> {
        let due_by = index_keys::outbox_due_by(self.clock.now());
        let queued = self
            .store
            .query_index(IndexQuery {
                index: Index::Outbox,
                pk: index_keys::OUTBOX,
                upto: Some(&due_by),
                limit,
            })
            .await?;
        let mut sent = 0;
        for item in queued {
            // One mail's trouble (another sender took it over meanwhile) holds up no other.
            match self.send(&item.pk, &item.sk).await {
                Ok(SendOutcome::Sent) => sent += 1,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "a mail of the sweep could not be handled"),
            }
        }
        Ok(sent)
    }
}
