//! Typed settings from `PORTAAL_*` environment variables (documented in the README).

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, files, `.eml` outbox, timer: the whole system on one machine.
    Embedded,
    /// DynamoDB, S3, SES v2, EventBridge Scheduler (endpoints from the SDK's `AWS_ENDPOINT_URL*`).
    Aws,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub backend: Backend,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// How link holders reach the portal; defaults to `http://{addr}`.
    pub public_url: String,
    /// `PORTAAL_API_KEY`: the case system's bearer key on the local server.
    pub api_key: Option<Secret>,
    /// `PORTAAL_ADMIN_KEY`: when set, only this key changes case types (the API key reads them).
    pub admin_key: Option<Secret>,
    /// `PORTAAL_ORG_NAME`: the organisation's name in the page header and footer and in mails.
    pub org_name: String,
    pub mail_from: String,
    /// `PORTAAL_MAIL_FROM_NAME`: the display name of `From`, e.g. "Gemeente Voorbeeld – Juridische zaken".
    pub mail_from_name: Option<String>,
    /// `PORTAAL_SMTP_URL`: send through this relay (embedded backend); unset: the `.eml` outbox.
    pub smtp_url: Option<Secret>,
    pub table: String,
    pub bucket: String,
    pub schedule_group: String,
    pub scheduler_role_arn: String,
    pub reminder_arn: String,
    pub purge_arn: String,
    pub ses_configuration_set: Option<String>,
    /// Where Scheduler sends jobs it could not deliver (SQS queue ARN).
    pub schedule_dead_letter_arn: Option<String>,
    /// How often the local server's timer sends queued mail and runs due schedules.
    pub tick: std::time::Duration,
    /// How long an upload URL stays valid.
    pub upload_ttl: std::time::Duration,
    /// Whether `/dev/mail` (the outbox, with every link in it) is served: by default only when
    /// the server listens on a loopback address.
    pub dev_routes: bool,
    /// Secret that seals link tokens for later mails (`PORTAAL_LINK_KEY`; embedded: generated).
    pub link_key: Option<Secret>,
    /// Keys destruction records' `case_ref` (`PORTAAL_RECORDS_KEY`; embedded: generated; else
    /// derived from the link key). Back it up: without it no record is found by case number.
    pub records_key: Option<Secret>,
    /// Whether the local server sends mail and runs schedules itself (`PORTAAL_WORKER=off` when
    /// something else does, or a test wants to drive it).
    pub worker: bool,
    /// `PORTAAL_WEBHOOK_ALLOW_HTTP=on`: plain-http receivers beyond loopback.
    pub webhook_allow_http: bool,
    /// `PORTAAL_WEBHOOK_RETRY_SCHEDULE`: seconds between webhook attempts.
    pub webhook_retry: Vec<u64>,
    /// `PORTAAL_MAIL_RETRY_SCHEDULE`: seconds between attempts to send a mail.
    pub mail_retry: Vec<u64>,
    /// `PORTAAL_WEBHOOK_CA_FILE`: PEM roots of an internal CA that receivers' certificates
    /// may chain to, besides the system's roots.
    pub webhook_ca_file: Option<PathBuf>,
    /// `PORTAAL_WEBHOOK_QUEUE_URL` (aws): the SQS queue webhook attempts wait in.
    pub webhook_queue_url: Option<String>,
    /// `PORTAAL_EVENT_RETENTION_DAYS`: how long feed events are kept.
    pub event_retention_days: u32,
    /// `PORTAAL_ORG_MAIL_DOMAINS`: where receipts to a link holder's own address may go.
    pub org_mail_domains: Vec<String>,
    /// `PORTAAL_SCANNER` (`none|clamd|guardduty`; `clamd` implied by `PORTAAL_CLAMD_URL`).
    pub scanner: ScannerChoice,
    /// `PORTAAL_REQUIRE_SCAN`: no approval or download while a scan is pending or failed.
    pub require_scan: bool,
    /// The edge's limits (timeouts, connections, rates).
    pub limits: Limits,
    /// `PORTAAL_OIDC_*`: the staff console's identity provider; none: the console says how to
    /// configure it.
    pub oidc: Option<OidcConfig>,
    /// Started with `--demo` (never from the environment): with the server on loopback the
    /// console offers a developer sign-in with a chosen role (see [`Config::staff_dev_login`]).
    pub demo: bool,
}

/// The staff console's OpenID Connect client (`PORTAAL_OIDC_*`).
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// `PORTAAL_OIDC_ISSUER`: discovery reads `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// `PORTAAL_OIDC_CLIENT_SECRET`; none for a public client (PKCE only).
    pub client_secret: Option<Secret>,
    /// Besides `openid email profile`.
    pub extra_scopes: Vec<String>,
    /// `PORTAAL_OIDC_ROLES_CLAIM` (default `roles`): the ID token's claim with the user's roles.
    pub roles_claim: String,
    /// `PORTAAL_OIDC_ROLE_MAP`.
    pub role_map: portaal_core::staff::RoleMap,
}

impl OidcConfig {
    /// The redirect URI registered at the provider.
    pub fn redirect_uri(public_url: &str) -> String {
        format!("{}/staff/auth/callback", public_url.trim_end_matches('/'))
    }
}

impl Config {
    /// `/staff/dev-login` exists only for `--demo` on a server nobody else can reach: bound to
    /// loopback, with a loopback public URL, on the embedded backend.
    pub fn staff_dev_login(&self) -> bool {
        self.demo
            && self.backend == Backend::Embedded
            && self.addr.ip().is_loopback()
            && url_is_loopback(&self.public_url)
    }
}

/// `PORTAAL_OIDC_*`: all or nothing beyond the issuer.
fn oidc(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<OidcConfig>, ConfigError> {
    let Some(issuer) = lookup("PORTAAL_OIDC_ISSUER") else {
        for name in ["PORTAAL_OIDC_CLIENT_ID", "PORTAAL_OIDC_CLIENT_SECRET"] {
            if lookup(name).is_some() {
                return Err(ConfigError {
                    name: "PORTAAL_OIDC_ISSUER",
                    problem: format!("{name} is set without it"),
                });
            }
        }
        return Ok(None);
    };
    let issuer = issuer.trim().trim_end_matches('/').to_owned();
    let loopback_http = issuer.starts_with("http://") && url_is_loopback(&issuer);
    if !(issuer.starts_with("https://") || loopback_http) {
        return Err(ConfigError {
            name: "PORTAAL_OIDC_ISSUER",
            problem: "must be an https:// URL (http:// only on a loopback address)".into(),
        });
    }
    let client_id = lookup("PORTAAL_OIDC_CLIENT_ID").ok_or_else(|| ConfigError {
        name: "PORTAAL_OIDC_CLIENT_ID",
        problem: "required with PORTAAL_OIDC_ISSUER".into(),
    })?;
    let role_map =
        portaal_core::staff::RoleMap::parse(&lookup("PORTAAL_OIDC_ROLE_MAP").unwrap_or_default())
            .map_err(|problem| ConfigError {
            name: "PORTAAL_OIDC_ROLE_MAP",
            problem,
        })?;
    Ok(Some(OidcConfig {
        issuer,
        client_id: client_id.trim().to_owned(),
        client_secret: lookup("PORTAAL_OIDC_CLIENT_SECRET").map(Secret::new),
        extra_scopes: lookup("PORTAAL_OIDC_EXTRA_SCOPES")
            .unwrap_or_default()
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty() && !matches!(*s, "openid" | "email" | "profile"))
            .map(str::to_owned)
            .collect(),
        roles_claim: lookup("PORTAAL_OIDC_ROLES_CLAIM")
            .map(|c| c.trim().to_owned())
            .unwrap_or_else(|| "roles".to_owned()),
        role_map,
    }))
}

impl Config {
    /// Who mail comes from (`PORTAAL_MAIL_FROM`, `PORTAAL_MAIL_FROM_NAME`; without a name, the
    /// organisation's legal department when `PORTAAL_ORG_NAME` is set).
    pub fn sender(&self) -> Result<crate::mail::Sender, ConfigError> {
        let from_org = (!self.org_name.is_empty())
            .then(|| format!("{} \u{2013} Juridische zaken", self.org_name));
        let name = self.mail_from_name.clone().or(from_org);
        crate::mail::Sender::new(&self.mail_from, name.as_deref()).map_err(|problem| ConfigError {
            name: "PORTAAL_MAIL_FROM",
            problem,
        })
    }

    /// The use cases' settings these imply.
    pub fn settings(&self) -> portaal_core::Settings {
        let mut settings = portaal_core::Settings::new(&self.public_url);
        settings.upload_ttl = self.upload_ttl;
        settings.link_key = self
            .link_key
            .as_ref()
            .map(|k| portaal_core::sealing::LinkKey::from_secret(k.expose()));
        // Cursors must verify on every instance: derived from the link key where there is one.
        if let Some(key) = &settings.link_key {
            settings.cursor_key = portaal_core::events::CursorKey::new(key.derive("cursor"));
        }
        settings.records_key = match (&self.records_key, &settings.link_key) {
            (Some(secret), _) => portaal_core::sealing::RecordsKey::from_secret(secret.expose()),
            (None, Some(link)) => portaal_core::sealing::RecordsKey::derived_from(link),
            (None, None) => portaal_core::sealing::RecordsKey::random(),
        };
        settings.event_retention = chrono::Duration::days(self.event_retention_days.into());
        settings.webhook_allow_http = self.webhook_allow_http;
        settings.webhook_retry = self.webhook_retry.clone();
        settings.org_mail_domains = self.org_mail_domains.clone();
        settings.scanning = self.scanner != ScannerChoice::None;
        settings.require_scan = self.require_scan;
        settings.stage_limit_per_hour = self.limits.stage_per_hour;
        settings.delivery_limit_per_hour = self.limits.delivery_per_hour;
        settings.part_threshold = self.limits.part_threshold;
        settings.part_size = self.limits.part_size;
        settings.org_name = self.org_name.clone();
        settings
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

impl Config {
    /// Retries must end while their event is still kept, or the retention would delete them.
    fn check_retries_fit_retention(self) -> Result<Self, ConfigError> {
        let total: u64 = self.webhook_retry.iter().sum();
        let kept = u64::from(self.event_retention_days) * 24 * 3600;
        if total >= kept {
            return Err(ConfigError {
                name: "PORTAAL_WEBHOOK_RETRY_SCHEDULE",
                problem: format!(
                    "the retries span {total} s, but events are kept only {} days (PORTAAL_EVENT_RETENTION_DAYS)",
                    self.event_retention_days
                ),
            });
        }
        Ok(self)
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let or = |name: &str, default: &str| lookup(name).unwrap_or_else(|| default.to_owned());
        let backend = match or("PORTAAL_BACKEND", "embedded").as_str() {
            "embedded" => Backend::Embedded,
            "aws" => Backend::Aws,
            other => {
                return Err(ConfigError {
                    name: "PORTAAL_BACKEND",
                    problem: format!("'{other}' is neither 'embedded' nor 'aws'"),
                });
            }
        };
        let addr: SocketAddr =
            or("PORTAAL_ADDR", "127.0.0.1:8080")
                .parse()
                .map_err(|e| ConfigError {
                    name: "PORTAAL_ADDR",
                    problem: format!("not a socket address: {e}"),
                })?;
        let public_url = lookup("PORTAAL_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError {
                name: "PORTAAL_PUBLIC_URL",
                problem: "must start with http:// or https://".into(),
            });
        }
        let upload_ttl: u64 = or("PORTAAL_UPLOAD_TTL_SECONDS", "1800")
            .parse()
            .map_err(|_| ConfigError {
                name: "PORTAAL_UPLOAD_TTL_SECONDS",
                problem: "must be a number of seconds".into(),
            })?;
        let tick_ms: u64 = or("PORTAAL_TICK_MS", "1000")
            .parse()
            .map_err(|_| ConfigError {
                name: "PORTAAL_TICK_MS",
                problem: "must be a number of milliseconds".into(),
            })?;
        let scanner = scanner_choice(&lookup)?;
        let limits = limits(&lookup)?;
        let require_scan = on_off(
            "PORTAAL_REQUIRE_SCAN",
            lookup("PORTAAL_REQUIRE_SCAN"),
            scanner != ScannerChoice::None,
        )?;
        let (api_key, admin_key) = bearer_keys(&lookup)?;
        let oidc = oidc(&lookup)?;
        if backend == Backend::Aws && lookup("PORTAAL_SMTP_URL").is_some() {
            return Err(ConfigError {
                name: "PORTAAL_SMTP_URL",
                problem: "applies to the embedded backend; on AWS mail goes through SES".into(),
            });
        }
        // On AWS the schedules' targets and role must be the stack's own: no default that
        // would point them at some other account.
        let required_on_aws = |name: &'static str| -> Result<String, ConfigError> {
            match (lookup(name), backend) {
                (Some(v), _) if !v.trim().is_empty() => Ok(v),
                (_, Backend::Aws) => Err(ConfigError {
                    name,
                    problem: "required with PORTAAL_BACKEND=aws (the template sets it)".into(),
                }),
                (_, Backend::Embedded) => Ok(String::new()),
            }
        };
        let scheduler_role_arn = required_on_aws("PORTAAL_SCHEDULER_ROLE_ARN")?;
        let reminder_arn = required_on_aws("PORTAAL_REMINDER_ARN")?;
        let purge_arn = required_on_aws("PORTAAL_PURGE_ARN")?;
        Self {
            backend,
            addr,
            data_dir: PathBuf::from(or("PORTAAL_DATA_DIR", "portaal-data")),
            public_url: public_url.trim_end_matches('/').to_owned(),
            api_key: api_key.map(Secret::new),
            mail_from: or("PORTAAL_MAIL_FROM", "portaal@example.nl"),
            mail_from_name: lookup("PORTAAL_MAIL_FROM_NAME"),
            admin_key: admin_key.map(Secret::new),
            org_name: lookup("PORTAAL_ORG_NAME")
                .map(|n| n.trim().to_owned())
                .unwrap_or_default(),
            smtp_url: lookup("PORTAAL_SMTP_URL").map(Secret::new),
            table: or("PORTAAL_TABLE", "portaal"),
            bucket: or("PORTAAL_BUCKET", "portaal-docs"),
            schedule_group: or("PORTAAL_SCHEDULE_GROUP", "portaal"),
            scheduler_role_arn,
            reminder_arn,
            purge_arn,
            ses_configuration_set: lookup("PORTAAL_SES_CONFIGURATION_SET"),
            schedule_dead_letter_arn: lookup("PORTAAL_SCHEDULE_DLQ_ARN"),
            tick: std::time::Duration::from_millis(tick_ms.max(50)),
            upload_ttl: std::time::Duration::from_secs(upload_ttl.clamp(1, 7 * 24 * 3600)),
            link_key: lookup("PORTAAL_LINK_KEY").map(Secret::new),
            records_key: lookup("PORTAAL_RECORDS_KEY").map(Secret::new),
            // `/dev/mail` shows every mailed link: only for a server nobody else can reach, and
            // not behind a reverse proxy (whose public URL is not loopback).
            dev_routes: on_off(
                "PORTAAL_DEV_ROUTES",
                lookup("PORTAAL_DEV_ROUTES"),
                addr.ip().is_loopback() && url_is_loopback(&public_url),
            )?,
            worker: on_off("PORTAAL_WORKER", lookup("PORTAAL_WORKER"), true)?,
            webhook_allow_http: on_off(
                "PORTAAL_WEBHOOK_ALLOW_HTTP",
                lookup("PORTAAL_WEBHOOK_ALLOW_HTTP"),
                false,
            )?,
            webhook_retry: retry_schedule(
                "PORTAAL_WEBHOOK_RETRY_SCHEDULE",
                lookup("PORTAAL_WEBHOOK_RETRY_SCHEDULE"),
                &portaal_core::service::DEFAULT_WEBHOOK_RETRY,
            )?,
            mail_retry: retry_schedule(
                "PORTAAL_MAIL_RETRY_SCHEDULE",
                lookup("PORTAAL_MAIL_RETRY_SCHEDULE"),
                &portaal_core::service::DEFAULT_MAIL_RETRY,
            )?,
            webhook_ca_file: lookup("PORTAAL_WEBHOOK_CA_FILE").map(PathBuf::from),
            webhook_queue_url: lookup("PORTAAL_WEBHOOK_QUEUE_URL"),
            org_mail_domains: lookup("PORTAAL_ORG_MAIL_DOMAINS")
                .map(|raw| {
                    raw.split(',')
                        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                        .filter(|d| !d.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            scanner,
            require_scan,
            limits,
            oidc,
            demo: false,
            event_retention_days: match lookup("PORTAAL_EVENT_RETENTION_DAYS") {
                None => 30,
                Some(raw) => raw
                    .parse::<u32>()
                    .ok()
                    .filter(|d| (1..=3650).contains(d))
                    .ok_or_else(|| ConfigError {
                        name: "PORTAAL_EVENT_RETENTION_DAYS",
                        problem: "must be a number of days from 1 to 3650".into(),
                    })?,
            },
        }
        .check_retries_fit_retention()
    }
}

/// `PORTAAL_SCANNER` and `PORTAAL_CLAMD_URL`: clamd when a URL is given, unless told otherwise.
fn scanner_choice(lookup: &impl Fn(&str) -> Option<String>) -> Result<ScannerChoice, ConfigError> {
    let clamd_url = lookup("PORTAAL_CLAMD_URL");
    let choice = match (lookup("PORTAAL_SCANNER").as_deref(), clamd_url) {
        (None | Some("clamd"), Some(url)) => {
            ScannerChoice::Clamd(crate::clamd::ClamdAddress::parse(&url).map_err(|problem| {
                ConfigError {
                    name: "PORTAAL_CLAMD_URL",
                    problem,
                }
            })?)
        }
        (Some("clamd"), None) => {
            return Err(ConfigError {
                name: "PORTAAL_CLAMD_URL",
                problem: "PORTAAL_SCANNER=clamd needs it (tcp://host:port or unix:///path)".into(),
            });
        }
        (None | Some("none"), _) => ScannerChoice::None,
        (Some("guardduty"), _) => ScannerChoice::GuardDuty,
        (Some(other), _) => {
            return Err(ConfigError {
                name: "PORTAAL_SCANNER",
                problem: format!("'{other}' is none of 'none', 'clamd', 'guardduty'"),
            });
        }
    };
    Ok(choice)
}

/// The limits against abuse and slow clients.
fn limits(lookup: &impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
    Ok(Limits {
        stage_per_hour: number(
            "PORTAAL_STAGE_LIMIT_PER_HOUR",
            lookup("PORTAAL_STAGE_LIMIT_PER_HOUR"),
            500,
        )?,
        delivery_per_hour: number(
            "PORTAAL_DELIVERY_LIMIT_PER_HOUR",
            lookup("PORTAAL_DELIVERY_LIMIT_PER_HOUR"),
            30,
        )?,
        auth_failures: number(
            "PORTAAL_AUTH_FAILURE_LIMIT",
            lookup("PORTAAL_AUTH_FAILURE_LIMIT"),
            20,
        )?,
        connections_per_ip: number(
            "PORTAAL_MAX_CONNECTIONS_PER_IP",
            lookup("PORTAAL_MAX_CONNECTIONS_PER_IP"),
            64,
        )?,
        trusted_proxies: match lookup("PORTAAL_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    Cidr::parse(s).ok_or_else(|| ConfigError {
                        name: "PORTAAL_TRUSTED_PROXIES",
                        problem: format!("'{}' is not an address or CIDR range", s.trim()),
                    })
                })
                .collect::<Result<_, _>>()?,
        },
        header_timeout: std::time::Duration::from_secs(
            number(
                "PORTAAL_HEADER_TIMEOUT_SECONDS",
                lookup("PORTAAL_HEADER_TIMEOUT_SECONDS"),
                10,
            )?
            .into(),
        ),
        upload_idle: std::time::Duration::from_secs(
            number(
                "PORTAAL_UPLOAD_IDLE_SECONDS",
                lookup("PORTAAL_UPLOAD_IDLE_SECONDS"),
                30,
            )?
            .into(),
        ),
        part_threshold: bytes(
            "PORTAAL_PART_THRESHOLD_BYTES",
            lookup("PORTAAL_PART_THRESHOLD_BYTES"),
            portaal_core::service::DEFAULT_PART_THRESHOLD,
            portaal_core::service::PART_SIZE_RANGE,
        )?,
        part_size: bytes(
            "PORTAAL_PART_SIZE_BYTES",
            lookup("PORTAAL_PART_SIZE_BYTES"),
            portaal_core::service::DEFAULT_PART_SIZE,
            portaal_core::service::PART_SIZE_RANGE,
        )?,
    })
}

/// The case system's and the administrator's bearer keys, never the same one.
fn bearer_keys(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(Option<String>, Option<String>), ConfigError> {
    let api_key = bearer_key("PORTAAL_API_KEY", lookup("PORTAAL_API_KEY"))?;
    let admin_key = bearer_key("PORTAAL_ADMIN_KEY", lookup("PORTAAL_ADMIN_KEY"))?;
    if admin_key.is_some() && admin_key == api_key {
        return Err(ConfigError {
            name: "PORTAAL_ADMIN_KEY",
            problem: "is the same as PORTAAL_API_KEY; the administrator's key must be its own"
                .into(),
        });
    }
    Ok((api_key, admin_key))
}

mod values;
pub use values::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one = Cidr::parse("2001:db8::1").unwrap();
        assert!(one.contains("2001:db8::1".parse().unwrap()));
        assert!(!one.contains("2001:db8::2".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("proxy").is_none());
    }

    #[test]
    fn dev_routes_stay_off_behind_a_reverse_proxy() {
        let config = |public: Option<&str>| {
            Config::from_lookup(|name| match name {
                "PORTAAL_PUBLIC_URL" => public.map(str::to_owned),
                _ => None,
            })
            .unwrap()
            .dev_routes
        };
        assert!(config(None));
        assert!(config(Some("http://localhost:8080")));
        assert!(config(Some("http://[::1]:8080")));
        assert!(!config(Some("https://portaal.gemeente.nl")));
    }

    #[test]
    fn defaults_give_the_embedded_system_on_localhost() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(c.backend, Backend::Embedded);
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn the_outbox_is_served_only_on_loopback_unless_asked() {
        let on_network =
            Config::from_lookup(|n| (n == "PORTAAL_ADDR").then(|| "0.0.0.0:8080".to_owned()))
                .unwrap();
        assert!(!on_network.dev_routes);
        assert!(Config::from_lookup(|_| None).unwrap().dev_routes);
        let asked = Config::from_lookup(|n| match n {
            "PORTAAL_ADDR" => Some("0.0.0.0:8080".to_owned()),
            "PORTAAL_DEV_ROUTES" => Some("on".to_owned()),
            _ => None,
        })
        .unwrap();
        assert!(asked.dev_routes);
    }

    #[test]
    fn webhook_settings_are_read_and_checked() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(
            c.webhook_retry,
            vec![10, 60, 300, 1800, 7200, 21600, 43200, 86400]
        );
        assert_eq!(c.event_retention_days, 30);
        let c = Config::from_lookup(|n| match n {
            "PORTAAL_WEBHOOK_RETRY_SCHEDULE" => Some("1, 2,3".into()),
            "PORTAAL_WEBHOOK_ALLOW_HTTP" => Some("on".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.webhook_retry, vec![1, 2, 3]);
        assert!(c.webhook_allow_http);
        let err = Config::from_lookup(|n| {
            (n == "PORTAAL_WEBHOOK_RETRY_SCHEDULE").then(|| "10,soon".to_owned())
        })
        .unwrap_err();
        assert_eq!(err.name, "PORTAAL_WEBHOOK_RETRY_SCHEDULE");
        let err =
            Config::from_lookup(|n| (n == "PORTAAL_EVENT_RETENTION_DAYS").then(|| "1".to_owned()))
                .unwrap_err();
        assert!(err.problem.contains("kept only 1 days"), "{err}");
    }

    #[test]
    fn a_short_api_key_is_refused_by_name() {
        let err = Config::from_lookup(|n| (n == "PORTAAL_API_KEY").then(|| "geheim".to_owned()))
            .unwrap_err();
        assert_eq!(err.name, "PORTAAL_API_KEY");
        assert!(err.problem.contains("6 characters"), "{err}");
        assert!(
            !err.to_string().contains("geheim"),
            "the key is not repeated"
        );
        let ok = Config::from_lookup(|n| (n == "PORTAAL_API_KEY").then(|| "k".repeat(32))).unwrap();
        assert_eq!(
            ok.api_key.as_ref().map(Secret::expose),
            Some("k".repeat(32).as_str())
        );
        assert!(
            !format!("{ok:?}").contains(&"k".repeat(32)),
            "the configuration prints no key"
        );
    }

    #[test]
    fn the_admin_key_must_be_its_own_and_smtp_is_not_for_aws() {
        let key = "k".repeat(32);
        let same = Config::from_lookup(|n| {
            matches!(n, "PORTAAL_API_KEY" | "PORTAAL_ADMIN_KEY").then(|| key.clone())
        })
        .unwrap_err();
        assert_eq!(same.name, "PORTAAL_ADMIN_KEY");
        let smtp = Config::from_lookup(|n| match n {
            "PORTAAL_BACKEND" => Some("aws".to_owned()),
            "PORTAAL_SMTP_URL" => Some("smtp://127.0.0.1:2525".to_owned()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(smtp.name, "PORTAAL_SMTP_URL");
    }

    #[test]
    fn oidc_settings_are_read_and_checked() {
        let settings = |pairs: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(move |n| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == n)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert!(settings(&[]).unwrap().oidc.is_none());
        let c = settings(&[
            ("PORTAAL_OIDC_ISSUER", "https://login.example.nl/realms/jz/"),
            ("PORTAAL_OIDC_CLIENT_ID", "portaal"),
            ("PORTAAL_OIDC_CLIENT_SECRET", "s3cr3t-value"),
            ("PORTAAL_OIDC_EXTRA_SCOPES", "roles groups"),
            ("PORTAAL_OIDC_ROLE_MAP", "handler=JZ-Behandelaar"),
        ])
        .unwrap();
        let oidc = c.oidc.as_ref().unwrap();
        assert_eq!(oidc.issuer, "https://login.example.nl/realms/jz");
        assert_eq!(oidc.extra_scopes, vec!["roles", "groups"]);
        assert_eq!(oidc.roles_claim, "roles");
        assert!(
            !format!("{c:?}").contains("s3cr3t-value"),
            "no secret printed"
        );
        assert_eq!(
            settings(&[("PORTAAL_OIDC_CLIENT_ID", "x")])
                .unwrap_err()
                .name,
            "PORTAAL_OIDC_ISSUER"
        );
        assert_eq!(
            settings(&[("PORTAAL_OIDC_ISSUER", "https://idp")])
                .unwrap_err()
                .name,
            "PORTAAL_OIDC_CLIENT_ID"
        );
        assert_eq!(
            settings(&[
                ("PORTAAL_OIDC_ISSUER", "http://idp.example.nl"),
                ("PORTAAL_OIDC_CLIENT_ID", "x")
            ])
            .unwrap_err()
            .name,
            "PORTAAL_OIDC_ISSUER",
            "plain http only on loopback"
        );
        assert_eq!(
            settings(&[
                ("PORTAAL_OIDC_ISSUER", "https://idp"),
                ("PORTAAL_OIDC_CLIENT_ID", "x"),
                ("PORTAAL_OIDC_ROLE_MAP", "chef=x")
            ])
            .unwrap_err()
            .name,
            "PORTAAL_OIDC_ROLE_MAP"
        );
    }

    #[test]
    fn the_developer_sign_in_needs_demo_and_loopback() {
        let mut c = Config::from_lookup(|_| None).unwrap();
        assert!(!c.staff_dev_login(), "not without --demo");
        c.demo = true;
        assert!(c.staff_dev_login());
        c.public_url = "https://portaal.gemeente.nl".into();
        assert!(!c.staff_dev_login(), "not behind a proxy");
        let mut open =
            Config::from_lookup(|n| (n == "PORTAAL_ADDR").then(|| "0.0.0.0:8080".to_owned()))
                .unwrap();
        open.demo = true;
        open.public_url = "http://127.0.0.1:8080".into();
        assert!(!open.staff_dev_login(), "not on the network");
    }

    #[test]
    fn an_unknown_backend_is_refused_by_name() {
        let err = Config::from_lookup(|n| (n == "PORTAAL_BACKEND").then(|| "gcp".to_owned()))
            .unwrap_err();
        assert_eq!(err.name, "PORTAAL_BACKEND");
    }
}
