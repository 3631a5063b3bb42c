//! What the case system is told, and how: feed events, webhook subscriptions, the per-receiver
//! delivery state, Standard Webhooks signatures and signed cursors. Payloads hold ids, states,
//! kinds and times only: no names, no addresses, no text, no link tokens.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::domain::Id;
use crate::error::{Error, Result};
use crate::model::Record;
use crate::ports::{Index, TTL_ATTR};

/// Every event type a case system can subscribe to.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    #[serde(rename = "request.sent")]
    RequestSent,
    #[serde(rename = "reminder.sent")]
    ReminderSent,
    #[serde(rename = "request.overdue")]
    RequestOverdue,
    #[serde(rename = "request.withdrawn")]
    RequestWithdrawn,
    #[serde(rename = "delivery.submitted")]
    DeliverySubmitted,
    #[serde(rename = "delivery.approved")]
    DeliveryApproved,
    #[serde(rename = "delivery.rejected")]
    DeliveryRejected,
    #[serde(rename = "publication.created")]
    PublicationCreated,
    #[serde(rename = "dossier.closed")]
    DossierClosed,
    #[serde(rename = "dossier.reopened")]
    DossierReopened,
    #[serde(rename = "dossier.destroyed")]
    DossierDestroyed,
    #[serde(rename = "mail.failed")]
    MailFailed,
    #[serde(rename = "document.quarantined")]
    DocumentQuarantined,
}

impl EventType {
    pub const ALL: [EventType; 13] = [
        EventType::RequestSent,
        EventType::ReminderSent,
        EventType::RequestOverdue,
        EventType::RequestWithdrawn,
        EventType::DeliverySubmitted,
        EventType::DeliveryApproved,
        EventType::DeliveryRejected,
        EventType::PublicationCreated,
        EventType::DossierClosed,
        EventType::DossierReopened,
        EventType::DossierDestroyed,
        EventType::MailFailed,
        EventType::DocumentQuarantined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::RequestSent => "request.sent",
            EventType::ReminderSent => "reminder.sent",
            EventType::RequestOverdue => "request.overdue",
            EventType::RequestWithdrawn => "request.withdrawn",
            EventType::DeliverySubmitted => "delivery.submitted",
            EventType::DeliveryApproved => "delivery.approved",
            EventType::DeliveryRejected => "delivery.rejected",
            EventType::PublicationCreated => "publication.created",
            EventType::DossierClosed => "dossier.closed",
            EventType::DossierReopened => "dossier.reopened",
            EventType::DossierDestroyed => "dossier.destroyed",
            EventType::MailFailed => "mail.failed",
            EventType::DocumentQuarantined => "document.quarantined",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

pub mod keys {
    use crate::domain::Id;

    /// The feed: one partition, sort key = sequence number (zero-padded, so text order is
    /// number order). Kept apart from dossiers, so it outlives their destruction.
    pub const FEED: &str = "FEED";
    /// The last sequence number given out.
    pub const COUNTER: (&str, &str) = ("FEEDSEQ", "COUNTER");
    pub const SUBSCRIPTIONS: &str = "SUBSCRIPTIONS";
    /// Index key (`gsi3`) of events written but not yet sequenced.
    pub const PENDING_INDEX: &str = "FEEDQ";
    /// Index key (`gsi2`) of webhook attempts waiting for their time.
    pub const DUE_INDEX: &str = "HOOKDUE";

    pub fn seq(seq: u64) -> String {
        format!("{seq:020}")
    }
    /// An event as its change wrote it, until the sequencer gives it its place in the feed.
    pub fn pending(id: &Id) -> (String, String) {
        (format!("FEEDQ#{id}"), "FEEDQ".to_owned())
    }
    pub fn subscription(id: &Id) -> (String, String) {
        (SUBSCRIPTIONS.to_owned(), format!("SUB#{id}"))
    }
    /// One event's delivery to one subscription.
    pub fn message(subscription: &Id, seq: u64) -> (String, String) {
        (format!("HOOK#{subscription}"), self::seq(seq))
    }
    pub fn messages_of(subscription: &Id) -> String {
        format!("HOOK#{subscription}")
    }
}

/// One thing that happened, as the feed and webhooks tell it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FeedEvent {
    /// Also the `webhook-id` of every push of this event.
    pub id: Id,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub timestamp: DateTime<Utc>,
    pub data: Map<String, Value>,
    /// Its place in the feed, given when it becomes visible there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl Record for FeedEvent {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        match self.seq {
            None => vec![
                (Index::Outbox.pk_attr(), Value::from(keys::PENDING_INDEX)),
                (Index::Outbox.sk_attr(), Value::from(self.id.to_string())),
            ],
            Some(_) => Vec::new(),
        }
    }
}

impl FeedEvent {
    /// The webhook body and feed entry: `{"type", "timestamp", "data"}` (the feed adds `id`).
    pub fn body(&self) -> String {
        /// In this order: type first reads best in a receiver's log.
        #[derive(Serialize)]
        struct Payload<'a> {
            #[serde(rename = "type")]
            kind: EventType,
            timestamp: String,
            data: &'a Map<String, Value>,
        }
        serde_json::to_string(&Payload {
            kind: self.kind,
            timestamp: self
                .timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            data: &self.data,
        })
        .expect("a payload serialises")
    }
}

/// The TTL attribute of items that live as long as the feed retains events.
pub fn retained_until(at: DateTime<Utc>, retention: chrono::Duration) -> (&'static str, Value) {
    (TTL_ATTR, Value::from((at + retention).timestamp()))
}

// ---------------------------------------------------------------- subscriptions

/// The events a subscription wants: every type (`*`), or the ones named.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Subscription {
    pub id: Id,
    /// The full URL, credentials and query included (needed to send); shown only redacted.
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub description: String,
    pub secret: WebhookSecret,
    /// After a rotation the old secret also signs, until `previous_until`.
    #[serde(default)]
    pub previous_secret: Option<WebhookSecret>,
    #[serde(default)]
    pub previous_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set when the receiver answered `410 Gone`: nothing is sent any more.
    #[serde(default)]
    pub disabled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub failed_events: u64,
    pub rev: u64,
}
impl Record for Subscription {}

impl Subscription {
    pub fn wants(&self, kind: EventType) -> bool {
        self.events.iter().any(|e| e == "*" || e == kind.as_str())
    }

    /// The secrets that sign now: the current one, and the previous one within 24 h of a rotation.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&WebhookSecret> {
        let mut secrets = vec![&self.secret];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_until)
            && until > now
        {
            secrets.push(previous);
        }
        secrets
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    Pending,
    Delivered,
    Failed,
}

/// One event on its way to one subscription. The body is copied in, so an attempt reads one item.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HookMessage {
    pub subscription_id: Id,
    pub event_id: Id,
    pub seq: u64,
    pub event_type: EventType,
    pub event_at: DateTime<Utc>,
    pub body: String,
    pub state: MessageState,
    pub attempts: u32,
    /// When the next attempt is due; while an attempt runs, when its claim lapses.
    pub next_at: DateTime<Utc>,
    #[serde(default)]
    pub last_status: Option<u16>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
}

impl Record for HookMessage {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        match self.state {
            MessageState::Pending => vec![
                (Index::Expiry.pk_attr(), Value::from(keys::DUE_INDEX)),
                (Index::Expiry.sk_attr(), Value::from(self.due_key())),
            ],
            MessageState::Delivered | MessageState::Failed => Vec::new(),
        }
    }
}

impl HookMessage {
    /// Sorts by due time; text order is time order (fixed-width UTC).
    pub fn due_key(&self) -> String {
        format!(
            "{}#{}#{}",
            time_key(self.next_at),
            self.subscription_id,
            keys::seq(self.seq)
        )
    }
}

pub use crate::model::keys::time_key;

// ---------------------------------------------------------------- signatures

/// `whsec_` + base64 of 32 random bytes (Standard Webhooks). Never printed by `Debug`.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(format!("whsec_{}", STANDARD.encode(key)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        STANDARD
            .decode(self.0.trim_start_matches("whsec_"))
            .unwrap_or_else(|_| self.0.as_bytes().to_vec())
    }

    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key()).expect("HMAC takes keys of any length");
        mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature_header(
    secrets: &[&WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &str,
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------- cursors

/// Signs cursors so a client can hand them back but not forge them.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn random() -> Self {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Self(b)
    }

    fn mac(&self, purpose: &str, payload: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"|");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes()[..16].to_vec()
    }

    /// An opaque cursor for `payload`, valid only for `purpose`.
    pub fn seal(&self, purpose: &str, payload: &str) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(self.mac(purpose, payload))
        )
    }

    /// The payload of a cursor this key sealed for `purpose`; a tampered one is refused.
    pub fn open(&self, purpose: &str, cursor: &str) -> Result<String> {
        let invalid = || Error::invalid("cursor is not valid: pass back a `next` value unchanged");
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?)
            .map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        let expected = self.mac(purpose, &payload);
        let same = tag.len() == expected.len()
            && tag
                .iter()
                .zip(&expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(invalid());
        }
        Ok(payload)
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(<redacted>)")
    }
}

// ---------------------------------------------------------------- receiver URLs

/// Hosts that answer with cloud credentials or instance data: never a receiver.
const METADATA_HOSTS: [&str; 5] = [
    "metadata.google.internal",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
];

/// Why an address may not receive webhooks, if it may not; also checked on the resolved address
/// at send time.
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_link_local() {
                Some("a link-local address (169.254.0.0/16, where cloud metadata services answer)")
            } else if v4 == Ipv4Addr::new(100, 100, 100, 200) {
                Some("a cloud metadata address")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() {
                Some("not a host address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return refused_address(IpAddr::V4(v4));
            }
            if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                Some("a link-local address (fe80::/10)")
            } else if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                Some("a cloud metadata address")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("not a host address")
            } else {
                None
            }
        }
    }
}

pub fn is_loopback_host<S: AsRef<str>>(host: &url::Host<S>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(d) => d.as_ref().eq_ignore_ascii_case("localhost"),
    }
}

/// `localhost` or a loopback address, as a host name is written (IPv6 with or without
/// brackets); for URLs whose scheme `url` parses no host of (`smtp://`).
pub fn is_loopback_name(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let written = if bare.contains(':') {
        format!("[{bare}]")
    } else {
        bare.to_owned()
    };
    url::Host::parse(&written).is_ok_and(|h| is_loopback_host(&h))
}

/// Checks a receiver URL: `https` (plain `http` only on loopback or when allowed), a host that is
/// not link-local or a metadata service. Answers the URL as given.
pub fn validate_receiver_url(raw: &str, allow_http: bool) -> Result<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::invalid("url is required"));
    }
    if raw.len() > 2000 {
        return Err(Error::invalid("url is longer than 2000 characters"));
    }
    let url =
        url::Url::parse(raw).map_err(|e| Error::invalid(format!("url is not a valid URL: {e}")))?;
    let shown = redact_url(raw);
    let host = url
        .host()
        .ok_or_else(|| Error::invalid(format!("url {shown} has no host")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback_host(&host) => {}
        "http" => {
            return Err(Error::invalid(format!(
                "url {shown} must use https; plain http is accepted only for loopback hosts (or with PORTAAL_WEBHOOK_ALLOW_HTTP=on)"
            )));
        }
        other => {
            return Err(Error::invalid(format!(
                "url {shown} must use https, not {other}"
            )));
        }
    }
    let why = match host {
        url::Host::Ipv4(ip) => refused_address(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => refused_address(IpAddr::V6(ip)),
        url::Host::Domain(d) => METADATA_HOSTS
            .iter()
            .any(|m| d.trim_end_matches('.').eq_ignore_ascii_case(m))
            .then_some("a cloud metadata host"),
    };
    if let Some(why) = why {
        return Err(Error::invalid(format!(
            "url {shown} points at {why}; webhooks cannot be sent there"
        )));
    }
    Ok(raw.to_owned())
}

/// A URL fit for answers and logs: credentials and query string replaced by `***`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            let had_credentials = !url.username().is_empty() || url.password().is_some();
            if had_credentials {
                let _ = url.set_username("***");
                let _ = url.set_password(None);
            }
            if url.query().is_some() {
                url.set_query(Some("***"));
            }
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => "(invalid URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The specification's own test vector.
        let secret = WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn generated_secrets_hold_32_random_bytes() {
        let s = WebhookSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(s.key().len(), 32);
        assert_ne!(s, WebhookSecret::generate());
        assert!(!format!("{s:?}").contains("whsec_"));
    }

    #[test]
    fn cursors_refuse_tampering_and_other_purposes() {
        let key = CursorKey::random();
        let c = key.seal("feed", "12|1700000000000");
        assert_eq!(key.open("feed", &c).unwrap(), "12|1700000000000");
        assert!(key.open("dossiers", &c).is_err());
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("99|1"),
            c.split_once('.').unwrap().1
        );
        assert!(key.open("feed", &forged).is_err());
        assert!(key.open("feed", "garbage").is_err());
        assert!(CursorKey::random().open("feed", &c).is_err());
    }

    #[test]
    fn receiver_urls_are_checked() {
        assert!(validate_receiver_url("https://zaak.example.nl/hooks", false).is_ok());
        assert!(validate_receiver_url("http://127.0.0.1:9000/h", false).is_ok());
        assert!(validate_receiver_url("http://localhost/h", false).is_ok());
        assert!(validate_receiver_url("http://[::1]:8/h", false).is_ok());
        assert!(validate_receiver_url("https://10.1.2.3/h", false).is_ok());
        let refused = |u: &str| validate_receiver_url(u, false).unwrap_err().to_string();
        assert!(refused("http://zaak.example.nl/h").contains("https"));
        assert!(validate_receiver_url("http://zaak.example.nl/h", true).is_ok());
        assert!(refused("https://169.254.169.254/latest").contains("link-local"));
        assert!(refused("https://[fe80::1]/x").contains("link-local"));
        assert!(refused("https://[fd00:ec2::254]/x").contains("metadata"));
        assert!(refused("https://metadata.google.internal/x").contains("metadata"));
        assert!(refused("ftp://x.nl/").contains("https"));
        assert!(refused("not a url").contains("valid"));
        let shown = refused("http://user:pw@zaak.example.nl/h?token=abc");
        assert!(!shown.contains("pw") && !shown.contains("abc"), "{shown}");
    }

    #[test]
    fn redaction_hides_credentials_and_queries() {
        assert_eq!(
            redact_url("https://u:p@zaak.example.nl/h?key=geheim#x"),
            "https://***@zaak.example.nl/h?***"
        );
        assert_eq!(
            redact_url("https://zaak.example.nl/h"),
            "https://zaak.example.nl/h"
        );
    }
}
