//! The staff console's state in the store, so it works across Lambda instances and restarts:
//! pending sign-ins (state, nonce, PKCE verifier) and sessions. Both are keyed by a hash of the
//! secret the browser holds (the `state` parameter, the session cookie): reading the table gives
//! nothing to sign in with. Both carry the TTL attribute, and are checked for age on every read
//! (a store need not have deleted an expired item yet).

use base64::Engine;
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};

use crate::model::{Record, index_keys, keys};
use crate::ports::{Condition, Index, IndexQuery, StoreError, TTL_ATTR, Write};
use crate::service::Portaal;
use crate::staff::{
    IdentityProvider, PendingSignIn, RoleMap, SignInError, StaffSession, StaffUser,
};
use crate::usecases::lists::{DeliveryFilter, DeliverySummary};
use crate::usecases::request::Overview;
use crate::views::RequestView;

const SESSION: &str = "STAFFSESSION#";
const SIGN_IN: &str = "STAFFSIGNIN#";
const META: &str = "META";

/// Requests due within this many days (and overdue ones) are on the work queue.
pub const DUE_SOON_DAYS: i64 = 3;

/// The TTL and the expiry index entry of an item that ends at `ends`.
fn ending_at(ends: DateTime<Utc>) -> Vec<(&'static str, Value)> {
    vec![
        (TTL_ATTR, Value::from(ends.timestamp())),
        (
            Index::Outbox.pk_attr(),
            Value::from(index_keys::STAFF_EXPIRY),
        ),
        (Index::Outbox.sk_attr(), Value::from(keys::time_key(ends))),
    ]
}

impl Record for StaffSession {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        ending_at(self.ends_at())
    }
}

impl Record for PendingSignIn {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        ending_at(self.created_at + crate::staff::PENDING_SIGN_IN_TTL)
    }
}

/// Ended sessions and sign-ins deleted per read of the sweep.
const SWEEP_READ: usize = 100;

/// A new secret for the browser: 32 random bytes, base64url.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hashed(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn session_key(cookie: &str) -> String {
    format!("{SESSION}{}", hashed(cookie))
}

/// Why a sign-in's answer from the provider is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No pending sign-in has this `state`: tampered, used already, or older than 10 minutes.
    #[error("unknown or expired sign-in state")]
    UnknownState,
    #[error(transparent)]
    Provider(#[from] SignInError),
    #[error(transparent)]
    Core(#[from] Error),
}

/// What a case handler looks at first.
#[derive(Clone, Debug)]
pub struct WorkQueue {
    /// Deliveries awaiting review, newest first.
    pub awaiting_review: Vec<DeliverySummary>,
    /// Open requests overdue or due within [`DUE_SOON_DAYS`] days, soonest due first.
    pub due_soon: Vec<RequestView>,
    /// More deliveries await review than are shown.
    pub more_awaiting: bool,
}

impl Portaal {
    /// Starts a sign-in at `provider` and keeps what the callback needs; answers the URL to send
    /// the browser to and the `state` it carries.
    pub async fn start_staff_sign_in(
        &self,
        provider: &dyn IdentityProvider,
        return_to: &str,
    ) -> std::result::Result<(String, String), CallbackError> {
        let start = provider.start().await?;
        let pending = PendingSignIn {
            state: start.state.clone(),
            nonce: start.nonce,
            pkce_verifier: start.pkce_verifier,
            return_to: crate::staff::safe_return_path(Some(return_to)),
            created_at: self.now(),
        };
        let key = format!("{SIGN_IN}{}", hashed(&start.state));
        self.store
            .transact(vec![Write::create(pending.to_item(key, META.to_owned()))])
            .await
            .map_err(Error::from)?;
        Ok((start.url, start.state))
    }

    /// The provider's answer: the pending sign-in named by `state` is used up (once, even when
    /// two answers race), the code redeemed and the ID token checked; then a session starts.
    /// Answers the session cookie's value and the session.
    pub async fn finish_staff_sign_in(
        &self,
        provider: &dyn IdentityProvider,
        role_map: &RoleMap,
        state: &str,
        code: &str,
    ) -> std::result::Result<(String, StaffSession, String), CallbackError> {
        let pending = self
            .take_pending_sign_in(state)
            .await?
            .ok_or(CallbackError::UnknownState)?;
        let identity = provider.finish(code, &pending).await?;
        let user = StaffUser::from_identity(&identity, role_map);
        let (cookie, session) = self.open_staff_session(user, identity.id_token).await?;
        Ok((cookie, session, pending.return_to))
    }

    /// Uses up the pending sign-in named by `state` (after a refusal at the provider, too): it
    /// answers at most once.
    pub async fn take_pending_sign_in(&self, state: &str) -> Result<Option<PendingSignIn>> {
        if state.is_empty() || state.len() > 512 {
            return Ok(None);
        }
        let key = format!("{SIGN_IN}{}", hashed(state));
        let Some(item) = self.store.get(&key, META).await? else {
            return Ok(None);
        };
        let mut pending = PendingSignIn::from_item(&item)?;
        pending.state = state.to_owned();
        let taken = self
            .store
            .transact(vec![Write::Delete {
                pk: key,
                sk: META.to_owned(),
                condition: Condition::Exists,
            }])
            .await;
        match taken {
            Ok(()) if pending.is_live(self.now()) => Ok(Some(pending)),
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts a session for `user`; answers the cookie's value (shown to no one else) and the
    /// session.
    pub async fn open_staff_session(
        &self,
        user: StaffUser,
        id_token: Option<String>,
    ) -> Result<(String, StaffSession)> {
        let cookie = random_secret();
        let now = self.now();
        let session = StaffSession {
            user,
            created_at: now,
            last_seen: now,
            csrf: random_secret(),
            id_token,
        };
        self.store
            .transact(vec![Write::create(
                session.to_item(session_key(&cookie), META.to_owned()),
            )])
            .await?;
        tracing::info!(
            target: "portaal::audit",
            action = "staff.sign_in",
            actor = %session.user.actor(),
            roles = ?session.user.roles,
            result = "success",
            "audit"
        );
        Ok((cookie, session))
    }

    /// The live session the cookie names, its last use written when due; `None` when unknown,
    /// ended or expired.
    pub async fn staff_session(&self, cookie: &str) -> Result<Option<StaffSession>> {
        if cookie.is_empty() || cookie.len() > 128 {
            return Ok(None);
        }
        let key = session_key(cookie);
        let Some(item) = self.store.get(&key, META).await? else {
            return Ok(None);
        };
        let mut session = StaffSession::from_item(&item)?;
        let now = self.now();
        if !session.is_live(now) {
            return Ok(None);
        }
        if session.needs_touch(now) {
            let seen = item.attrs.get("last_seen").cloned().unwrap_or(Value::Null);
            session.last_seen = now;
            // Only while it is still there as read: a logout in between stays a logout.
            let touched = self
                .store
                .transact(vec![Write::Put {
                    item: session.to_item(key, META.to_owned()),
                    condition: Condition::Equals("last_seen".to_owned(), seen),
                }])
                .await;
            match touched {
                Ok(()) => {}
                Err(StoreError::ConditionFailed { .. }) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Some(session))
    }

    /// Deletes the sessions and pending sign-ins that have ended (where the store has no TTL
    /// of its own: the local server runs this on its timer); answers how many. Each read takes
    /// the oldest ended ones, so what one round deletes the next does not read again.
    pub async fn sweep_staff_sessions(&self) -> Result<usize> {
        let until = keys::time_key(self.now());
        let mut swept = 0;
        loop {
            let ended = self
                .store
                .query_index(IndexQuery {
                    index: Index::Outbox,
                    pk: index_keys::STAFF_EXPIRY,
                    upto: Some(&until),
                    limit: SWEEP_READ,
                })
                .await?;
            let read = ended.len();
            // Only while it still ends when it did: a session used again in between lives on.
            let ends = Index::Outbox.sk_attr();
            for item in ended {
                let end = item.attrs.get(ends).cloned().unwrap_or(Value::Null);
                let removed = self
                    .store
                    .transact(vec![Write::Delete {
                        pk: item.pk,
                        sk: item.sk,
                        condition: Condition::Equals(ends.to_owned(), end),
                    }])
                    .await;
                match removed {
                    Ok(()) => swept += 1,
                    Err(StoreError::ConditionFailed { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if read < SWEEP_READ {
                return Ok(swept);
            }
        }
    }

    /// Ends the session the cookie names; answers it when there was one.
    pub async fn end_staff_session(&self, cookie: &str) -> Result<Option<StaffSession>> {
        let Some(session) = self.staff_session(cookie).await? else {
            return Ok(None);
        };
        self.store
            .transact(vec![Write::delete(session_key(cookie), META)])
            .await?;
        tracing::info!(
            target: "portaal::audit",
            action = "staff.sign_out",
            actor = %session.user.actor(),
            result = "success",
            "audit"
        );
        Ok(Some(session))
    }

    /// The case handler's work queue: deliveries awaiting review (newest first, at most `limit`)
    /// and open requests overdue or due within [`DUE_SOON_DAYS`] days (soonest first), from the
    /// same use cases as `GET /api/v1/deliveries` and `GET /api/v1/requests`.
    pub async fn work_queue(&self, limit: usize) -> Result<WorkQueue> {
        let deliveries = self
            .list_deliveries(&DeliveryFilter {
                state: Some("submitted".to_owned()),
                limit: Some(limit),
                cursor: None,
            })
            .await?;
        // `due_before` is exclusive: the day after the last day counted.
        let before = self.today() + chrono::Duration::days(DUE_SOON_DAYS + 1);
        let due_soon = self
            .deadline_overview(Overview::Open, Some(crate::domain::Date(before)))
            .await?;
        Ok(WorkQueue {
            more_awaiting: deliveries.next.is_some(),
            awaiting_review: deliveries.items,
            due_soon,
        })
    }
}
