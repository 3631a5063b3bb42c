//! Attempts: claim a due message (conditional on its attempt count), POST it signed, and
//! record the answer on the message and on its subscription's health.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{AttemptOutcome, CLAIM_SECONDS, DISABLED, EARLY_TOLERANCE_MS, Webhooks};
use crate::domain::Id;
use crate::error::Result;
use crate::events::{self, HookMessage, MessageState, Subscription, keys, retained_until};
use crate::model::Record;
use crate::ports::{HookAnswer, HookKey, Index, IndexQuery, Item, StoreError, Write};

/// What an answer makes of a claimed message.
struct Verdict {
    next: HookMessage,
    outcome: AttemptOutcome,
    /// Why it was not acknowledged, for the subscription's health and the log.
    error: Option<String>,
}

impl Webhooks {
    /// Messages whose attempt is due, oldest first, at most `limit`.
    pub async fn due(&self, limit: usize) -> Result<Vec<HookKey>> {
        self.due_by(self.clock.now(), limit).await
    }

    /// Messages due at `at` or before, oldest first (the `HOOKDUE` index).
    async fn due_by(&self, at: DateTime<Utc>, limit: usize) -> Result<Vec<HookKey>> {
        let upto = format!("{}~", events::time_key(at));
        self.store
            .query_index(IndexQuery {
                index: Index::Expiry,
                pk: keys::DUE_INDEX,
                upto: Some(&upto),
                limit,
            })
            .await?
            .iter()
            .map(|i| {
                let m = HookMessage::from_item(i)?;
                Ok(HookKey {
                    subscription_id: m.subscription_id,
                    seq: m.seq,
                })
            })
            .collect()
    }

    /// Puts attempts that are due for longer than `grace` on the queue again (beyond SQS's
    /// delay, or never queued after a crash). Answers how many.
    pub async fn requeue_due(&self, grace: chrono::Duration, limit: usize) -> Result<usize> {
        let mut queued = 0;
        for key in self.due_by(self.clock.now() - grace, limit).await? {
            match self.queue.enqueue(&key, Duration::ZERO).await {
                Ok(()) => queued += 1,
                Err(e) => tracing::warn!(error = %e, "webhook attempt not queued"),
            }
        }
        Ok(queued)
    }

    /// One attempt to deliver one message, if it is due and nobody else is at it.
    #[tracing::instrument(skip(self, key), fields(subscription = %key.subscription_id, seq = key.seq))]
    pub async fn attempt(&self, key: &HookKey) -> Result<AttemptOutcome> {
        let Some((claimed, subscription)) = self.claim(key).await? else {
            return Ok(AttemptOutcome::Skipped);
        };
        let answer = self.post(&subscription, &claimed).await;
        let done = self.clock.now();
        let verdict = self.judge(&claimed, &answer, done);
        match self.replace_message(&verdict.next, claimed.attempts).await {
            // A redelivery reset it meanwhile: that one counts.
            Err(StoreError::ConditionFailed { .. }) => return Ok(AttemptOutcome::Skipped),
            other => other?,
        }
        let gone = answer == HookAnswer::Status(410);
        self.record_on_subscription(
            &subscription.id,
            &verdict.outcome,
            verdict.error.as_deref(),
            gone,
            done,
        )
        .await?;
        self.report(key, &subscription, &verdict).await;
        Ok(verdict.outcome)
    }

    /// The message (its attempt counted and its claim set) and its subscription, or `None`
    /// when there is nothing to do: not due, settled, claimed by another sender, or its
    /// subscription gone or disabled.
    async fn claim(&self, key: &HookKey) -> Result<Option<(HookMessage, Subscription)>> {
        let (pk, sk) = keys::message(&key.subscription_id, key.seq);
        let Some(item) = self.store.get(&pk, &sk).await? else {
            return Ok(None);
        };
        let message = HookMessage::from_item(&item)?;
        let now = self.clock.now();
        if message.state != MessageState::Pending
            || (message.next_at - now).num_milliseconds() > EARLY_TOLERANCE_MS
        {
            return Ok(None);
        }
        let (spk, ssk) = keys::subscription(&key.subscription_id);
        let Some(subscription) = self.store.get(&spk, &ssk).await? else {
            // Deleted: nothing more goes to it.
            self.store.transact(vec![Write::delete(pk, sk)]).await?;
            return Ok(None);
        };
        let subscription = Subscription::from_item(&subscription)?;
        if subscription.disabled_at.is_some() {
            // Out of the due index (it would hold up the others), kept for a redelivery.
            let parked = HookMessage {
                state: MessageState::Failed,
                last_error: Some(DISABLED.to_owned()),
                ..message.clone()
            };
            return match self.replace_message(&parked, message.attempts).await {
                Err(StoreError::ConditionFailed { .. }) | Ok(()) => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
        let claimed = HookMessage {
            attempts: message.attempts + 1,
            next_at: now + chrono::Duration::seconds(CLAIM_SECONDS),
            ..message.clone()
        };
        match self.replace_message(&claimed, message.attempts).await {
            Ok(()) => Ok(Some((claimed, subscription))),
            Err(StoreError::ConditionFailed { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a message if its attempt count is still `attempts` (nobody else moved it on).
    async fn replace_message(
        &self,
        next: &HookMessage,
        attempts: u32,
    ) -> std::result::Result<(), StoreError> {
        let (pk, sk) = keys::message(&next.subscription_id, next.seq);
        let item = self.message_item(next, &pk, &sk);
        let write = Write::replace_if(item, "attempts", attempts);
        self.store.transact(vec![write]).await
    }

    /// POSTs the message signed per Standard Webhooks with every secret still valid.
    async fn post(&self, subscription: &Subscription, message: &HookMessage) -> HookAnswer {
        let timestamp = self.clock.now().timestamp();
        let id = message.event_id.to_string();
        let signature = events::signature_header(
            &subscription.signing_secrets(self.clock.now()),
            &id,
            timestamp,
            &message.body,
        );
        let headers = [
            ("webhook-id", id),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        self.sender
            .post(&subscription.url, &headers, &message.body)
            .await
    }

    /// Delivered on a 2xx; failed for good on a `410` or when no retry is left; else due
    /// again after the next delay of the retry schedule.
    fn judge(&self, claimed: &HookMessage, answer: &HookAnswer, done: DateTime<Utc>) -> Verdict {
        let (status, why) = match answer {
            HookAnswer::Status(s) if (200..300).contains(s) => {
                return Verdict {
                    next: HookMessage {
                        state: MessageState::Delivered,
                        last_status: Some(*s),
                        last_error: None,
                        delivered_at: Some(done),
                        next_at: done,
                        ..claimed.clone()
                    },
                    outcome: AttemptOutcome::Delivered,
                    error: None,
                };
            }
            HookAnswer::Status(410) => {
                return Verdict {
                    next: HookMessage {
                        state: MessageState::Failed,
                        last_status: Some(410),
                        last_error: Some("the receiver answered 410 Gone".into()),
                        next_at: done,
                        ..claimed.clone()
                    },
                    outcome: AttemptOutcome::Failed,
                    error: Some("the receiver answered 410 Gone: subscription disabled".into()),
                };
            }
            HookAnswer::Status(s) if (300..400).contains(s) => {
                (Some(*s), format!("HTTP {s} (redirects are not followed)"))
            }
            HookAnswer::Status(s) => (Some(*s), format!("HTTP {s}")),
            HookAnswer::NoAnswer(why) => (None, format!("no answer: {why}")),
        };
        let retry_after = self.retry.get(claimed.attempts as usize - 1).copied();
        let (state, next_at, outcome) = match retry_after {
            Some(delay) => (
                MessageState::Pending,
                done + chrono::Duration::seconds(delay as i64),
                AttemptOutcome::Retry(delay),
            ),
            None => (MessageState::Failed, done, AttemptOutcome::Failed),
        };
        Verdict {
            next: HookMessage {
                state,
                last_status: status,
                last_error: Some(why.clone()),
                next_at,
                ..claimed.clone()
            },
            outcome,
            error: Some(why),
        }
    }

    /// Logs the outcome and queues the retry (the sweep sends it when queueing fails).
    async fn report(&self, key: &HookKey, subscription: &Subscription, verdict: &Verdict) {
        let id = verdict.next.event_id.to_string();
        let attempt = verdict.next.attempts;
        let error = verdict.error.as_deref().unwrap_or("");
        let url = events::redact_url(&subscription.url);
        match &verdict.outcome {
            AttemptOutcome::Delivered => tracing::info!(event = %id, attempt, "webhook delivered"),
            AttemptOutcome::Retry(delay) => {
                tracing::warn!(event = %id, %url, attempt, error, retry_in_s = delay, "webhook not acknowledged; will retry");
                if let Err(e) = self.queue.enqueue(key, Duration::from_secs(*delay)).await {
                    tracing::warn!(error = %e, "webhook retry not queued; the sweep sends it");
                }
            }
            AttemptOutcome::Failed => {
                tracing::error!(event = %id, %url, attempts = attempt, error, "webhook failed for good")
            }
            AttemptOutcome::Skipped => {}
        }
    }

    pub(super) fn message_item(&self, message: &HookMessage, pk: &str, sk: &str) -> Item {
        let mut item = message.to_item(pk.into(), sk.into());
        let (ttl, until) = retained_until(message.event_at, self.retention);
        item.attrs.insert(ttl.into(), until);
        item
    }
    /// Keeps the subscription's health current: failing since when, the last error, how many
    /// events failed for good; a `410` disables it. Written only when something changes.
    async fn record_on_subscription(
        &self,
        id: &Id,
        outcome: &AttemptOutcome,
        error: Option<&str>,
        gone: bool,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (pk, sk) = keys::subscription(id);
        for _ in 0..10 {
            let Some(item) = self.store.get(&pk, &sk).await? else {
                return Ok(());
            };
            let current = Subscription::from_item(&item)?;
            let mut next = current.clone();
            match outcome {
                AttemptOutcome::Delivered => {
                    next.failing_since = None;
                    next.last_error = None;
                }
                AttemptOutcome::Retry(_) => {
                    next.failing_since.get_or_insert(at);
                    next.last_error = error.map(str::to_owned);
                }
                AttemptOutcome::Failed => {
                    next.failing_since.get_or_insert(at);
                    next.last_error = error.map(str::to_owned);
                    next.failed_events += 1;
                    if gone {
                        next.disabled_at = Some(at);
                    }
                }
                AttemptOutcome::Skipped => {}
            }
            if next == current {
                return Ok(());
            }
            next.rev = current.rev + 1;
            match self
                .store
                .transact(vec![Write::replace_if(
                    next.to_item(pk.clone(), sk.clone()),
                    "rev",
                    current.rev,
                )])
                .await
            {
                Err(StoreError::ConditionFailed { .. }) => continue,
                other => return Ok(other?),
            }
        }
        Ok(())
    }
}
