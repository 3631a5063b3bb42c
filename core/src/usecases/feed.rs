//! The case system's view of what happens: the event feed it can page through, the webhook
//! subscriptions that push the same events, and the lists it needs instead of polling dossiers.
//!
//! A change writes its event as a *pending* item in the same transaction (so a crash can neither
//! lose nor invent one); the sequencer (`usecases::webhooks`) then gives it its place in the feed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::events::{
    self, EventType, FeedEvent, HookMessage, MessageState, Subscription, WebhookSecret, keys,
};
use crate::model::{Event, EventKind, Record};
use crate::ports::{Condition, MAX_TRANSACTION_WRITES, PageQuery, Write};
use crate::service::{Portaal, with_retries};
use crate::usecases::lists::page_limit;

/// At most this many subscriptions, so one event's fan-out fits one transaction.
pub const MAX_SUBSCRIPTIONS: usize = 20;
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_FEED_PAGE: usize = 500;
pub const MAX_LIST_PAGE: usize = 200;

/// The write that records an event in the same transaction as the change it reports.
pub fn pending_event(
    id: Id,
    kind: EventType,
    at: DateTime<Utc>,
    case: &CaseId,
    data: &[(&str, Value)],
) -> Write {
    let mut map = Map::new();
    map.insert("case_id".into(), Value::from(case.as_str()));
    for (k, v) in data {
        if !v.is_null() {
            map.insert((*k).to_owned(), v.clone());
        }
    }
    // Milliseconds, as webhook payloads show it: the feed and the push agree to the digit.
    use chrono::SubsecRound;
    let event = FeedEvent {
        id: id.clone(),
        kind,
        timestamp: at.trunc_subsecs(3),
        data: map,
        seq: None,
    };
    let (pk, sk) = keys::pending(&id);
    Write::create(event.to_item(pk, sk))
}

/// An optional id as a payload value (absent ids are left out of `data`).
pub(crate) fn id_value(id: &Option<Id>) -> Value {
    id.as_ref()
        .map_or(Value::Null, |i| Value::from(i.to_string()))
}

impl Portaal {
    /// The feed event a timeline event implies, if the case system is told of it at that moment.
    /// (`request.sent` and `reminder.sent` follow when the mail is sent; see the outbox.)
    pub(crate) fn feed_write(&self, case: &CaseId, event: &Event) -> Option<Write> {
        let (kind, state) = match event.kind {
            EventKind::RequestWithdrawn => (EventType::RequestWithdrawn, Some("withdrawn")),
            EventKind::DeliverySubmitted => (EventType::DeliverySubmitted, Some("submitted")),
            EventKind::DeliveryApproved => (EventType::DeliveryApproved, Some("approved")),
            EventKind::DeliveryRejected => (EventType::DeliveryRejected, Some("rejected")),
            EventKind::PublicationPublished => (EventType::PublicationCreated, None),
            EventKind::DossierClosed => (EventType::DossierClosed, Some("closed")),
            EventKind::DossierReopened => (EventType::DossierReopened, Some("open")),
            EventKind::DocumentQuarantined => (EventType::DocumentQuarantined, Some("infected")),
            _ => return None,
        };
        Some(pending_event(
            self.new_id(),
            kind,
            event.at,
            case,
            &[
                ("request_id", id_value(&event.request_id)),
                ("delivery_id", id_value(&event.delivery_id)),
                ("publication_id", id_value(&event.publication_id)),
                ("document_id", id_value(&event.document_id)),
                ("state", state.map_or(Value::Null, Value::from)),
            ],
        ))
    }

    /// The timeline write of an event, followed by its feed write where it has one.
    pub(crate) fn event_writes(&self, case: &CaseId, event: &Event) -> Vec<Write> {
        let mut writes = vec![self.event_write(case, event)];
        writes.extend(self.feed_write(case, event));
        writes
    }

    /// `GET /api/v1/events?after=&limit=`: the feed in sequence order, from the oldest retained
    /// event, or after a cursor. Numbers are given without gaps, so a gap after the cursor means
    /// events the reader never saw were removed with the retention: `410`.
    pub async fn events_page(&self, after: Option<&str>, limit: Option<usize>) -> Result<FeedPage> {
        let limit = page_limit(limit, MAX_FEED_PAGE)?;
        let after_seq = after.map(|c| FeedCursor::open(self, c)).transpose()?;
        let mut events = self.feed_after(after_seq, limit).await?;
        if let Some(after) = after_seq {
            let gone = || {
                Error::Gone(format!(
                    "events after this cursor are no longer kept (the feed keeps them {} days); start again without `after` and reconcile through GET /api/v1/dossiers and /deliveries",
                    self.settings.event_retention.num_days()
                ))
            };
            // At the end, unless the counter went on: then what followed is gone, or was
            // sequenced just after the read (read again to tell).
            if events.is_empty() && self.feed_counter().await? > after {
                events = self.feed_after(Some(after), limit).await?;
                if events.is_empty() {
                    return Err(gone());
                }
            }
            if events
                .first()
                .and_then(|e| e.seq)
                .is_some_and(|s| s > after + 1)
            {
                return Err(gone());
            }
        }
        let last_seq = match (events.last().and_then(|e| e.seq), after_seq) {
            (Some(seq), _) => seq,
            (None, Some(after)) => after,
            // Nothing retained: the end of the feed is where the counter stands.
            (None, None) => self.feed_counter().await?,
        };
        Ok(FeedPage {
            events: events.into_iter().map(FeedEntry::from).collect(),
            next: FeedCursor::seal(self, last_seq),
        })
    }

    async fn feed_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<FeedEvent>> {
        let after_key = after.map(keys::seq);
        self.store
            .page(PageQuery {
                prefix: None,
                index: None,
                pk: keys::FEED,
                after: after_key.as_deref(),
                until: None,
                descending: false,
                limit,
            })
            .await?
            .iter()
            .map(FeedEvent::from_item)
            .collect()
    }

    /// The last feed number given out.
    async fn feed_counter(&self) -> Result<u64> {
        let (pk, sk) = keys::COUNTER;
        Ok(self
            .store
            .get(pk, sk)
            .await?
            .and_then(|c| c.attrs.get("seq").and_then(serde_json::Value::as_u64))
            .unwrap_or(0))
    }

    // ------------------------------------------------------------ subscriptions

    /// `POST /api/v1/subscriptions`.
    pub async fn create_subscription(
        &self,
        input: &SubscriptionInput,
    ) -> Result<CreatedSubscription> {
        let url = events::validate_receiver_url(&input.url, self.settings.webhook_allow_http)?;
        if input.events.is_empty() {
            return Err(Error::invalid(
                "events must name at least one event type, or [\"*\"] for all",
            ));
        }
        if input.events.len() > EventType::ALL.len() + 1 {
            return Err(Error::invalid("events names too many event types"));
        }
        for e in &input.events {
            if e != "*" && EventType::parse(e).is_none() {
                return Err(Error::invalid(format!(
                    "events: unknown event type '{}'; known are {} (or \"*\")",
                    e.chars().take(60).collect::<String>(),
                    EventType::ALL.map(EventType::as_str).join(", ")
                )));
            }
        }
        let description = crate::domain::optional_text(
            "description",
            input.description.as_deref().unwrap_or_default(),
            500,
        )?;
        if crate::usecases::webhooks::subscriptions(self.store.as_ref())
            .await?
            .len()
            >= MAX_SUBSCRIPTIONS
        {
            return Err(Error::conflict(format!(
                "at most {MAX_SUBSCRIPTIONS} subscriptions can exist; delete one first"
            )));
        }
        let mut events = input.events.clone();
        events.sort();
        events.dedup();
        let subscription = Subscription {
            id: self.new_id(),
            url,
            events,
            description,
            secret: WebhookSecret::generate(),
            previous_secret: None,
            previous_until: None,
            created_at: self.now(),
            disabled_at: None,
            failing_since: None,
            last_error: None,
            failed_events: 0,
            rev: 0,
        };
        let (pk, sk) = keys::subscription(&subscription.id);
        self.store
            .transact(vec![Write::create(subscription.to_item(pk, sk))])
            .await?;
        tracing::info!(subscription = %subscription.id, url = %events::redact_url(&subscription.url), "webhook subscription created");
        Ok(CreatedSubscription {
            secret: subscription.secret.clone(),
            subscription: SubscriptionView::from(&subscription),
        })
    }

    /// `GET /api/v1/subscriptions`: no secrets.
    pub async fn subscriptions(&self) -> Result<Vec<SubscriptionView>> {
        let mut all: Vec<SubscriptionView> =
            crate::usecases::webhooks::subscriptions(self.store.as_ref())
                .await?
                .iter()
                .map(SubscriptionView::from)
                .collect();
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    /// `DELETE /api/v1/subscriptions/{id}`: nothing more is sent to it.
    pub async fn delete_subscription(&self, id: &Id) -> Result<()> {
        let (pk, sk) = keys::subscription(id);
        match self
            .store
            .transact(vec![Write::Delete {
                pk,
                sk,
                condition: Condition::Exists,
            }])
            .await
        {
            Err(crate::ports::StoreError::ConditionFailed { .. }) => {
                Err(Error::not_found(format!("subscription {id}")))
            }
            other => Ok(other?),
        }
    }

    async fn subscription(&self, id: &Id) -> Result<Subscription> {
        let (pk, sk) = keys::subscription(id);
        let item = self
            .store
            .get(&pk, &sk)
            .await?
            .ok_or_else(|| Error::not_found(format!("subscription {id}")))?;
        Subscription::from_item(&item)
    }

    /// `POST …/{id}/rotate-secret`: a new secret; the old one also signs for 24 hours.
    pub async fn rotate_subscription_secret(&self, id: &Id) -> Result<RotatedSecret> {
        with_retries(|| async {
            let current = self.subscription(id).await?;
            let until = self.now() + chrono::Duration::hours(24);
            let rotated = Subscription {
                secret: WebhookSecret::generate(),
                previous_secret: Some(current.secret.clone()),
                previous_until: Some(until),
                rev: current.rev + 1,
                ..current.clone()
            };
            let (pk, sk) = keys::subscription(id);
            self.store
                .transact(vec![Write::replace_if(
                    rotated.to_item(pk, sk),
                    "rev",
                    current.rev,
                )])
                .await?;
            Ok(RotatedSecret {
                id: id.clone(),
                secret: rotated.secret.clone(),
                previous_secret_valid_until: until,
            })
        })
        .await
    }

    /// `POST …/{id}/redeliver`: sends the events that failed for this subscription (since a
    /// time, or all retained) again, with a fresh retry schedule. Re-enables a subscription its
    /// receiver disabled with `410 Gone`.
    pub async fn redeliver(&self, id: &Id, since: Option<DateTime<Utc>>) -> Result<usize> {
        let subscription = self.subscription(id).await?;
        let pk = keys::messages_of(id);
        let now = self.now();
        let mut after: Option<String> = None;
        let mut queued = 0usize;
        loop {
            let items = self
                .store
                .page(PageQuery {
                    prefix: None,
                    index: None,
                    pk: &pk,
                    after: after.as_deref(),
                    until: None,
                    descending: false,
                    limit: 500,
                })
                .await?;
            let Some(last) = items.last() else { break };
            after = Some(last.sk.clone());
            let mut writes = Vec::new();
            for item in &items {
                let message = HookMessage::from_item(item)?;
                if message.state != MessageState::Failed
                    || since.is_some_and(|s| message.event_at < s)
                {
                    continue;
                }
                let again = HookMessage {
                    state: MessageState::Pending,
                    attempts: 0,
                    next_at: now,
                    ..message
                };
                writes.push(Write::replace_if(
                    again.to_item(item.pk.clone(), item.sk.clone()),
                    "state",
                    "failed",
                ));
            }
            // Counted down per chunk, so a redelivery cut short leaves the count right.
            for chunk in writes.chunks(MAX_TRANSACTION_WRITES) {
                self.store.transact(chunk.to_vec()).await?;
                queued += chunk.len();
                self.reenable(id, chunk.len() as u64).await?;
            }
            if items.len() < 500 {
                break;
            }
        }
        if subscription.disabled_at.is_some() {
            self.reenable(id, 0).await?;
        }
        tracing::info!(subscription = %id, queued, "webhook redelivery queued");
        Ok(queued)
    }

    /// Active again, with `redelivered` fewer failed events.
    async fn reenable(&self, id: &Id, redelivered: u64) -> Result<()> {
        with_retries(|| async {
            let current = self.subscription(id).await?;
            let updated = Subscription {
                disabled_at: None,
                failed_events: current.failed_events.saturating_sub(redelivered),
                rev: current.rev + 1,
                ..current.clone()
            };
            let (pk, sk) = keys::subscription(id);
            self.store
                .transact(vec![Write::replace_if(
                    updated.to_item(pk, sk),
                    "rev",
                    current.rev,
                )])
                .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

/// A feed position: the last sequence number read.
struct FeedCursor;

impl FeedCursor {
    const PURPOSE: &'static str = "feed";

    fn seal(p: &Portaal, seq: u64) -> String {
        p.settings.cursor_key.seal(Self::PURPOSE, &seq.to_string())
    }

    fn open(p: &Portaal, cursor: &str) -> Result<u64> {
        p.settings
            .cursor_key
            .open(Self::PURPOSE, cursor)?
            .parse()
            .map_err(|_| Error::invalid("cursor is not valid"))
    }
}

// ---------------------------------------------------------------- inputs and views

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SubscriptionView {
    pub id: Id,
    /// Credentials and query string redacted.
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub active: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub failed_events: u64,
}

impl From<&Subscription> for SubscriptionView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.clone(),
            url: events::redact_url(&s.url),
            events: s.events.clone(),
            description: s.description.clone(),
            created_at: s.created_at,
            active: s.disabled_at.is_none(),
            disabled_at: s.disabled_at,
            failing_since: s.failing_since,
            last_error: s.last_error.clone(),
            failed_events: s.failed_events,
        }
    }
}

/// The answer to a create: the only time the secret is shown.
#[derive(Clone, Debug, Serialize)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    pub secret: WebhookSecret,
}

#[derive(Clone, Debug, Serialize)]
pub struct RotatedSecret {
    pub id: Id,
    pub secret: WebhookSecret,
    pub previous_secret_valid_until: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FeedEntry {
    pub id: Id,
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(serialize_with = "millis")]
    pub timestamp: DateTime<Utc>,
    pub data: Map<String, Value>,
}

/// Written exactly as in webhook payloads (`2026-11-29T09:14:03.512Z`).
fn millis<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&events::time_key(*at))
}

impl From<FeedEvent> for FeedEntry {
    fn from(e: FeedEvent) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            timestamp: e.timestamp,
            data: e.data,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FeedPage {
    pub events: Vec<FeedEntry>,
    pub next: String,
}
