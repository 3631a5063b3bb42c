//! From a pending event to a receiver that acknowledged it.
//!
//! 1. **Sequencing** gives each pending event the next feed number under a conditional counter,
//!    moves it into the feed and creates one message per interested subscription, all in one
//!    transaction: so feed order is the order events become visible, and a fan-out happens
//!    exactly once. (AWS: the stream consumer, on each new pending item; locally: the timer.)
//! 2. **Attempts** claim a message (conditional on its attempt count), POST it signed per the
//!    Standard Webhooks specification, and record the answer: delivered, retried after the next
//!    delay of the schedule, or failed for good. A `410` disables the subscription.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::Id;
use crate::error::Result;
use crate::events::{
    self, FeedEvent, HookMessage, MessageState, Subscription, keys, retained_until,
};
use crate::model::Record;
use crate::ports::{
    Clock, Condition, HookAnswer, HookKey, HookQueue, HookSender, Index, IndexQuery, Item,
    PageQuery, Store, StoreError, Write,
};

/// An attempt in progress keeps its message for this long (more than the 10-second timeout).
const CLAIM_SECONDS: i64 = 30;
/// Why a message waits: its subscription's receiver answered `410 Gone`.
const DISABLED: &str = "not sent: the subscription is disabled (its receiver answered 410 Gone)";
/// A queue may hand a message over slightly before its time.
const EARLY_TOLERANCE_MS: i64 = 2000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Delivered,
    /// Not acknowledged; tried again after this many seconds.
    Retry(u64),
    /// Not acknowledged, and no retries left (or the receiver answered `410`).
    Failed,
    /// Nothing to do: already delivered or failed, not due yet, claimed by another sender,
    /// or its subscription is gone.
    Skipped,
}

/// Every subscription (one partition, one read).
pub(crate) async fn subscriptions(store: &dyn Store) -> Result<Vec<Subscription>> {
    store
        .query(keys::SUBSCRIPTIONS, "SUB#")
        .await?
        .iter()
        .map(Subscription::from_item)
        .collect()
}

#[derive(Clone)]
pub struct Webhooks {
    store: Arc<dyn Store>,
    sender: Arc<dyn HookSender>,
    queue: Arc<dyn HookQueue>,
    clock: Arc<dyn Clock>,
    retention: chrono::Duration,
    retry: Vec<u64>,
}

impl Webhooks {
    /// The same sender on another clock (tests that move time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn new(
        store: Arc<dyn Store>,
        sender: Arc<dyn HookSender>,
        queue: Arc<dyn HookQueue>,
        clock: Arc<dyn Clock>,
        settings: &crate::Settings,
    ) -> Self {
        Self {
            store,
            sender,
            queue,
            clock,
            retention: settings.event_retention,
            retry: settings.webhook_retry.clone(),
        }
    }

    // ------------------------------------------------------------ sequencing

    /// Sequences every pending event (oldest first), at most `limit`; answers the messages made.
    pub async fn sequence_pending(&self, limit: usize) -> Result<Vec<HookKey>> {
        let pending = self
            .store
            .query_index(IndexQuery {
                index: Index::Outbox,
                pk: keys::PENDING_INDEX,
                upto: None,
                limit,
            })
            .await?;
        // One read of the subscriptions serves the whole sweep.
        let mut subscriptions = None;
        let mut made = Vec::new();
        for item in pending {
            made.extend(
                self.sequence_with(&item.pk, &item.sk, &mut subscriptions)
                    .await?,
            );
        }
        Ok(made)
    }

    /// Gives one pending event its feed number and fans it out, then hands the new messages to
    /// the queue. Answers nothing when another sequencer already did it.
    #[tracing::instrument(skip(self))]
    pub async fn sequence(&self, pk: &str, sk: &str) -> Result<Vec<HookKey>> {
        self.sequence_with(pk, sk, &mut None).await
    }

    /// [`Self::sequence`] with the subscriptions, read when first needed and kept across calls.
    async fn sequence_with(
        &self,
        pk: &str,
        sk: &str,
        subscriptions: &mut Option<Vec<Subscription>>,
    ) -> Result<Vec<HookKey>> {
        let mut conflicts = 0;
        loop {
            match self.try_sequence(pk, sk, subscriptions).await {
                Err(crate::Error::Store(StoreError::ConditionFailed { .. })) if conflicts < 50 => {
                    // Another sequencer took this number (or this event): read again.
                    conflicts += 1;
                }
                Ok(made) => {
                    for key in &made {
                        if let Err(e) = self.queue.enqueue(key, Duration::ZERO).await {
                            // The index still holds it: the sweep sends it.
                            tracing::warn!(error = %e, "webhook message not queued; the sweep sends it");
                        }
                    }
                    return Ok(made);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_sequence(
        &self,
        pk: &str,
        sk: &str,
        subscriptions: &mut Option<Vec<Subscription>>,
    ) -> Result<Vec<HookKey>> {
        let Some(item) = self.store.get(pk, sk).await? else {
            return Ok(Vec::new());
        };
        let mut event = FeedEvent::from_item(&item)?;
        let (cpk, csk) = keys::COUNTER;
        let counter = self.store.get(cpk, csk).await?;
        let last = counter
            .as_ref()
            .and_then(|c| c.attrs.get("seq"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let seq = last + 1;
        event.seq = Some(seq);
        let mut counter_attrs = serde_json::Map::new();
        counter_attrs.insert("seq".into(), seq.into());
        let counter_write = Write::Put {
            item: Item::new(cpk, csk, counter_attrs),
            condition: match counter {
                Some(_) => Condition::Equals("seq".into(), last.into()),
                None => Condition::NotExists,
            },
        };
        let now = self.clock.now();
        // Kept from when it entered the feed: expiry then follows feed order, so the feed only
        // ever loses its oldest end (which is what readers' cursors rely on).
        let mut sequenced = event.to_item(keys::FEED.into(), keys::seq(seq));
        let (ttl, until) = retained_until(now, self.retention);
        sequenced.attrs.insert(ttl.into(), until.clone());

        if subscriptions.is_none() {
            *subscriptions = Some(self.subscriptions().await?);
        }
        let subscriptions = subscriptions.as_deref().unwrap_or_default();
        let body = event.body();
        let mut writes = vec![
            counter_write,
            Write::create(sequenced),
            Write::Delete {
                pk: pk.into(),
                sk: sk.into(),
                condition: Condition::Exists,
            },
        ];
        let mut made = Vec::new();
        for s in subscriptions
            .iter()
            .filter(|s| s.created_at <= event.timestamp && s.wants(event.kind))
        {
            // A disabled subscription keeps its events as failed: a redelivery sends them.
            let disabled = s.disabled_at.is_some();
            let message = HookMessage {
                subscription_id: s.id.clone(),
                event_id: event.id.clone(),
                seq,
                event_type: event.kind,
                event_at: event.timestamp,
                body: body.clone(),
                state: if disabled {
                    MessageState::Failed
                } else {
                    MessageState::Pending
                },
                attempts: 0,
                next_at: now,
                last_status: None,
                last_error: disabled.then(|| DISABLED.to_owned()),
                delivered_at: None,
            };
            let (mpk, msk) = keys::message(&s.id, seq);
            writes.push(Write::create(self.message_item(&message, &mpk, &msk)));
            if !disabled {
                made.push(HookKey {
                    subscription_id: s.id.clone(),
                    seq,
                });
            }
        }
        self.store.transact(writes).await?;
        tracing::debug!(
            seq,
            kind = event.kind.as_str(),
            messages = made.len(),
            "event sequenced"
        );
        Ok(made)
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        subscriptions(self.store.as_ref()).await
    }

    // ------------------------------------------------------------ attempts

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
        let (pk, sk) = keys::message(&key.subscription_id, key.seq);
        let Some(item) = self.store.get(&pk, &sk).await? else {
            return Ok(AttemptOutcome::Skipped);
        };
        let message = HookMessage::from_item(&item)?;
        let now = self.clock.now();
        if message.state != MessageState::Pending
            || (message.next_at - now).num_milliseconds() > EARLY_TOLERANCE_MS
        {
            return Ok(AttemptOutcome::Skipped);
        }
        let (spk, ssk) = keys::subscription(&key.subscription_id);
        let subscription = match self.store.get(&spk, &ssk).await? {
            Some(s) => Subscription::from_item(&s)?,
            None => {
                // Deleted: nothing more goes to it.
                self.store
                    .transact(vec![Write::Delete {
                        pk,
                        sk,
                        condition: Condition::None,
                    }])
                    .await?;
                return Ok(AttemptOutcome::Skipped);
            }
        };
        if subscription.disabled_at.is_some() {
            // Out of the due index (it would hold up the others), kept for a redelivery.
            let parked = HookMessage {
                state: MessageState::Failed,
                last_error: Some(DISABLED.to_owned()),
                ..message.clone()
            };
            match self
                .store
                .transact(vec![Write::replace_if(
                    self.message_item(&parked, &pk, &sk),
                    "attempts",
                    message.attempts,
                )])
                .await
            {
                Err(StoreError::ConditionFailed { .. }) | Ok(()) => {}
                Err(e) => return Err(e.into()),
            }
            return Ok(AttemptOutcome::Skipped);
        }
        let claimed = HookMessage {
            attempts: message.attempts + 1,
            next_at: now + chrono::Duration::seconds(CLAIM_SECONDS),
            ..message.clone()
        };
        if let Err(e) = self
            .store
            .transact(vec![Write::replace_if(
                self.message_item(&claimed, &pk, &sk),
                "attempts",
                message.attempts,
            )])
            .await
        {
            return match e {
                StoreError::ConditionFailed { .. } => Ok(AttemptOutcome::Skipped),
                other => Err(other.into()),
            };
        }

        let timestamp = self.clock.now().timestamp();
        let id = message.event_id.to_string();
        let signature = events::signature_header(
            &subscription.signing_secrets(self.clock.now()),
            &id,
            timestamp,
            &message.body,
        );
        let headers = [
            ("webhook-id", id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        let answer = self
            .sender
            .post(&subscription.url, &headers, &message.body)
            .await;
        let done = self.clock.now();
        let (next, outcome, error) = match &answer {
            HookAnswer::Status(s) if (200..300).contains(s) => (
                HookMessage {
                    state: MessageState::Delivered,
                    last_status: Some(*s),
                    last_error: None,
                    delivered_at: Some(done),
                    next_at: done,
                    ..claimed.clone()
                },
                AttemptOutcome::Delivered,
                None,
            ),
            HookAnswer::Status(410) => (
                HookMessage {
                    state: MessageState::Failed,
                    last_status: Some(410),
                    last_error: Some("the receiver answered 410 Gone".into()),
                    next_at: done,
                    ..claimed.clone()
                },
                AttemptOutcome::Failed,
                Some("the receiver answered 410 Gone: subscription disabled".to_owned()),
            ),
            other => {
                let (status, why) = match other {
                    HookAnswer::Status(s) if (300..400).contains(s) => {
                        (Some(*s), format!("HTTP {s} (redirects are not followed)"))
                    }
                    HookAnswer::Status(s) => (Some(*s), format!("HTTP {s}")),
                    HookAnswer::NoAnswer(why) => (None, format!("no answer: {why}")),
                };
                let retry_after = self.retry.get(claimed.attempts as usize - 1).copied();
                match retry_after {
                    Some(delay) => (
                        HookMessage {
                            state: MessageState::Pending,
                            last_status: status,
                            last_error: Some(why.clone()),
                            next_at: done + chrono::Duration::seconds(delay as i64),
                            ..claimed.clone()
                        },
                        AttemptOutcome::Retry(delay),
                        Some(why),
                    ),
                    None => (
                        HookMessage {
                            state: MessageState::Failed,
                            last_status: status,
                            last_error: Some(why.clone()),
                            next_at: done,
                            ..claimed.clone()
                        },
                        AttemptOutcome::Failed,
                        Some(why),
                    ),
                }
            }
        };
        match self
            .store
            .transact(vec![Write::replace_if(
                self.message_item(&next, &pk, &sk),
                "attempts",
                claimed.attempts,
            )])
            .await
        {
            // A redelivery reset it meanwhile: that one counts.
            Err(StoreError::ConditionFailed { .. }) => return Ok(AttemptOutcome::Skipped),
            other => other?,
        }
        let gone = answer == HookAnswer::Status(410);
        self.record_on_subscription(&subscription.id, &outcome, error.as_deref(), gone, done)
            .await?;
        let url = events::redact_url(&subscription.url);
        match &outcome {
            AttemptOutcome::Delivered => {
                tracing::info!(event = %id, attempt = next.attempts, "webhook delivered")
            }
            AttemptOutcome::Retry(delay) => {
                tracing::warn!(event = %id, %url, attempt = next.attempts, error = error.as_deref().unwrap_or(""), retry_in_s = delay, "webhook not acknowledged; will retry");
                if let Err(e) = self.queue.enqueue(key, Duration::from_secs(*delay)).await {
                    tracing::warn!(error = %e, "webhook retry not queued; the sweep sends it");
                }
            }
            AttemptOutcome::Failed => {
                tracing::error!(event = %id, %url, attempts = next.attempts, error = error.as_deref().unwrap_or(""), "webhook failed for good")
            }
            AttemptOutcome::Skipped => {}
        }
        Ok(outcome)
    }

    fn message_item(&self, message: &HookMessage, pk: &str, sk: &str) -> Item {
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

    // ------------------------------------------------------------ retention

    /// Deletes feed events (and their messages) whose retention ended, oldest first, at most
    /// `limit`: what DynamoDB's TTL does on AWS (the embedded store has no TTL).
    pub async fn expire(&self, limit: usize) -> Result<usize> {
        let now = self.clock.now().timestamp();
        let items = self
            .store
            .page(PageQuery {
                index: None,
                pk: keys::FEED,
                after: None,
                descending: false,
                limit,
            })
            .await?;
        let subscriptions = self.subscriptions().await?;
        let mut removed = 0;
        for item in items {
            let event = FeedEvent::from_item(&item)?;
            let until = item
                .attrs
                .get(crate::ports::TTL_ATTR)
                .and_then(serde_json::Value::as_i64);
            if until.is_none_or(|t| t > now) {
                break;
            }
            let mut writes = vec![Write::Delete {
                pk: item.pk.clone(),
                sk: item.sk.clone(),
                condition: Condition::None,
            }];
            for s in &subscriptions {
                let (pk, sk) = keys::message(&s.id, event.seq.unwrap_or_default());
                writes.push(Write::Delete {
                    pk,
                    sk,
                    condition: Condition::None,
                });
            }
            self.store.transact(writes).await?;
            removed += 1;
        }
        Ok(removed)
    }
}
