//! The staff console's rules, free of I/O: the roles a console user can hold, how an identity
//! provider's role values map onto them, and when a session or a pending sign-in ends. The use
//! cases that keep them in the store are in `usecases::staff`; the OpenID Connect client is an
//! adapter (`infra::oidc`) behind [`IdentityProvider`].

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A session ends after this long without a request …
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// … and this long after sign-in, whatever happens.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(10);
/// A sign-in started at the provider must come back within this.
pub const PENDING_SIGN_IN_TTL: Duration = Duration::minutes(10);
/// A session's last use is written at most this often (each write is a store call).
pub const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// What a console page needs of its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Case handler (*behandelaar*): the work queue and the dossiers.
    Handler,
    /// Functional administrator (*functioneel beheerder*): case types and mail texts.
    Admin,
    /// Records manager (*archivaris*): destructions and legal holds.
    Records,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Handler, Role::Admin, Role::Records];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Handler => "handler",
            Role::Admin => "admin",
            Role::Records => "records",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw.trim())
    }
}

/// `PORTAAL_OIDC_ROLE_MAP`: which values of the roles claim grant which role, e.g.
/// `handler=JZ-Behandelaar,admin=JZ-Beheer`. A role the map does not name is granted by its own
/// name (`handler`, `admin`, `records`); a role it names only by the values given for it, so an
/// unrelated group called `admin` grants nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleMap {
    entries: Vec<(Role, String)>,
}

impl RoleMap {
    /// Parses `role=value,role=value`; a role may appear more than once.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (role, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}' is not role=value"))?;
            let role = Role::parse(role).ok_or_else(|| {
                format!(
                    "'{}' is no role: use handler, admin or records",
                    role.trim()
                )
            })?;
            let value = value.trim();
            if value.is_empty() {
                return Err(format!("'{pair}' names no value"));
            }
            entries.push((role, value.to_owned()));
        }
        Ok(Self { entries })
    }

    /// The roles the claim's values grant, in [`Role::ALL`] order.
    pub fn roles(&self, values: &[String]) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|role| {
                let mut mapped = self.entries.iter().filter(|(r, _)| r == role).peekable();
                if mapped.peek().is_none() {
                    values.iter().any(|v| v == role.as_str())
                } else {
                    mapped.any(|(_, value)| values.iter().any(|v| v == value))
                }
            })
            .collect()
    }
}

/// Who the identity provider says signed in, from a verified ID token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The `sub` claim: stable per user and provider.
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// The values of the roles claim, before [`RoleMap`].
    pub role_values: Vec<String>,
    /// The raw ID token, kept for RP-initiated logout (`id_token_hint`).
    pub id_token: Option<String>,
}

/// A signed-in console user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffUser {
    pub subject: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub roles: Vec<Role>,
}

impl StaffUser {
    pub fn from_identity(identity: &Identity, map: &RoleMap) -> Self {
        Self {
            subject: identity.subject.clone(),
            email: identity.email.clone(),
            name: identity.name.clone(),
            roles: map.roles(&identity.role_values),
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The audit trail's actor: `staff:{sub}`, with the e-mail address when known.
    pub fn actor(&self) -> String {
        match &self.email {
            Some(email) => format!("staff:{} <{email}>", self.subject),
            None => format!("staff:{}", self.subject),
        }
    }

    /// How the page header names the user.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or(&self.subject)
    }
}

/// A console session as the store keeps it (under a hash of its cookie, never the cookie).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSession {
    pub user: StaffUser,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Every console form carries it; a POST without it is refused.
    pub csrf: String,
    /// For RP-initiated logout; none after a developer sign-in.
    #[serde(default)]
    pub id_token: Option<String>,
}

impl StaffSession {
    /// When the session ends unless it is used again: idle or absolute, whichever comes first.
    pub fn ends_at(&self) -> DateTime<Utc> {
        (self.last_seen + IDLE_TIMEOUT).min(self.created_at + ABSOLUTE_TIMEOUT)
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.ends_at()
    }

    /// Whether this request should write the session's last use.
    pub fn needs_touch(&self, now: DateTime<Utc>) -> bool {
        now - self.last_seen >= TOUCH_INTERVAL
    }
}

/// A sign-in sent to the provider and not back yet: what the callback checks the answer with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The `state` sent along (the store keeps only its hash as the key).
    #[serde(skip)]
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The console path to show after sign-in (always under `/staff`).
    pub return_to: String,
    pub created_at: DateTime<Utc>,
}

impl PendingSignIn {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.created_at + PENDING_SIGN_IN_TTL
    }
}

/// Where a sign-in goes: the provider's URL, and what the callback will need.
#[derive(Clone, Debug)]
pub struct SignInStart {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The provider could not be reached or answered nonsense: try again later.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider's answer did not hold up (code refused, token invalid): sign in again.
    #[error("the sign-in was refused: {0}")]
    Refused(String),
}

/// The organisation's identity provider (OpenID Connect: authorization code with PKCE).
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// A fresh authorization request: state, nonce and PKCE verifier are new each time.
    async fn start(&self) -> Result<SignInStart, SignInError>;
    /// Redeems the code with the pending sign-in's verifier and checks the ID token (signature,
    /// issuer, audience, expiry, nonce).
    async fn finish(&self, code: &str, pending: &PendingSignIn) -> Result<Identity, SignInError>;
    /// Where to end the provider's own session (RP-initiated logout), when it offers that.
    async fn logout_url(&self, id_token: Option<&str>, after: &str) -> Option<String>;
}

/// A console path to return to after sign-in: only paths under `/staff` (no open redirect).
pub fn safe_return_path(raw: Option<&str>) -> String {
    match raw {
        Some(p)
            if (p == "/staff" || p.starts_with("/staff/") || p.starts_with("/staff?"))
                && !p.contains("//")
                && !p.contains('\\')
                && !p.starts_with("/staff/auth/") =>
        {
            p.to_owned()
        }
        _ => "/staff".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn roles_are_granted_by_their_own_name_unless_mapped() {
        let plain = RoleMap::default();
        assert_eq!(
            plain.roles(&values(&["records", "handler", "other"])),
            vec![Role::Handler, Role::Records]
        );
        let map =
            RoleMap::parse("handler=JZ-Behandelaar, admin=JZ-Beheer,handler=JZ-Senior").unwrap();
        assert_eq!(map.roles(&values(&["JZ-Senior"])), vec![Role::Handler]);
        assert_eq!(
            map.roles(&values(&["handler", "admin", "records"])),
            vec![Role::Records],
            "a mapped role is not granted by its plain name"
        );
        assert_eq!(
            map.roles(&values(&["JZ-Beheer", "JZ-Behandelaar"])),
            vec![Role::Handler, Role::Admin]
        );
        assert!(map.roles(&[]).is_empty());
    }

    #[test]
    fn a_bad_role_map_is_refused_with_the_reason() {
        assert!(RoleMap::parse("boss=JZ").unwrap_err().contains("'boss'"));
        assert!(
            RoleMap::parse("handler")
                .unwrap_err()
                .contains("role=value")
        );
        assert!(RoleMap::parse("handler=").unwrap_err().contains("no value"));
        assert_eq!(RoleMap::parse(" , ").unwrap(), RoleMap::default());
    }

    #[test]
    fn a_session_ends_when_idle_or_at_its_absolute_limit() {
        let t0 = DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut session = StaffSession {
            user: StaffUser {
                subject: "s".into(),
                email: None,
                name: None,
                roles: vec![Role::Handler],
            },
            created_at: t0,
            last_seen: t0,
            csrf: "c".into(),
            id_token: None,
        };
        assert!(session.is_live(t0 + Duration::minutes(29)));
        assert!(!session.is_live(t0 + Duration::minutes(30)));
        // Used every 20 minutes, it still ends 10 hours after sign-in.
        session.last_seen = t0 + Duration::hours(9) + Duration::minutes(50);
        assert!(session.is_live(t0 + Duration::hours(9) + Duration::minutes(59)));
        assert!(!session.is_live(t0 + Duration::hours(10)));
        assert_eq!(session.ends_at(), t0 + ABSOLUTE_TIMEOUT);
        assert!(!session.needs_touch(session.last_seen + Duration::seconds(59)));
        assert!(session.needs_touch(session.last_seen + Duration::seconds(60)));
    }

    #[test]
    fn only_console_paths_are_returned_to() {
        assert_eq!(safe_return_path(Some("/staff?lang=en")), "/staff?lang=en");
        assert_eq!(safe_return_path(Some("/staff/dossiers")), "/staff/dossiers");
        for bad in [
            "https://evil.example/staff",
            "//evil.example/staff",
            "/staffing",
            "/staff//evil",
            "/staff/auth/callback",
            "/p/x",
        ] {
            assert_eq!(safe_return_path(Some(bad)), "/staff", "{bad}");
        }
        assert_eq!(safe_return_path(None), "/staff");
    }

    #[test]
    fn the_actor_names_sub_and_email() {
        let user = StaffUser {
            subject: "abc".into(),
            email: Some("m.jansen@example.nl".into()),
            name: Some("M. Jansen".into()),
            roles: vec![],
        };
        assert_eq!(user.actor(), "staff:abc <m.jansen@example.nl>");
        assert_eq!(user.display_name(), "M. Jansen");
    }
}
