//! From a pending event to a receiver that acknowledged it.
//!
//! 1. **Sequencing** gives each pending event the next feed number under a conditional counter,
//!    moves it into the feed and creates one message per interested subscription, all in one
//!    transaction: so feed order is the order events become visible, and a fan-out happens
//!    exactly once. (AWS: the stream consumer, on each new pending item; locally: the timer.)
//! 2. **Attempts** claim a message (conditional on its attempt count), POST it signed per the
//!    Standard Webhooks specification, and record the answer: delivered, retried after the next
//!    delay of the schedule, or failed for good. A `410` disables the subscription.

mod attempt;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::error::Result;
use crate::events::{FeedEvent, HookMessage, MessageState, Subscription, keys, retained_until};
use crate::model::Record;
use crate::ports::{
    Clock, Condition, HookKey, HookQueue, HookSender, Index, IndexQuery, Item, PageQuery, Store,
    StoreError, Write,
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

    // ------------------------------------------------------------ retention

    /// Deletes feed events (and their messages) whose retention ended, oldest first, at most
    /// `limit`: what DynamoDB's TTL does on AWS (the embedded store has no TTL).
    pub async fn expire(&self, limit: usize) -> Result<usize> {
        let now = self.clock.now().timestamp();
        let items = self
            .store
            .page(PageQuery {
                prefix: None,
                index: None,
                pk: keys::FEED,
                after: None,
                until: None,
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
            let mut writes = vec![Write::delete(&item.pk, &item.sk)];
            for s in &subscriptions {
                let (pk, sk) = keys::message(&s.id, event.seq.unwrap_or_default());
                writes.push(Write::delete(pk, sk));
            }
            self.store.transact(writes).await?;
            removed += 1;
        }
        Ok(removed)
    }
}
