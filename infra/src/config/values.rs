//! The kinds of value settings hold, and how each is read: limits, address ranges, on/off,
//! numbers, keys and schedules; secrets that never print.

use super::ConfigError;

/// What one client may ask of the server; over a limit it gets `429` with `Retry-After`.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// `PORTAAL_STAGE_LIMIT_PER_HOUR`: files announced per link per hour.
    pub stage_per_hour: u32,
    /// `PORTAAL_DELIVERY_LIMIT_PER_HOUR`: deliveries per link per hour.
    pub delivery_per_hour: u32,
    /// `PORTAAL_AUTH_FAILURE_LIMIT`: failed API authentications per address per 10 minutes.
    pub auth_failures: u32,
    /// `PORTAAL_MAX_CONNECTIONS_PER_IP`: open connections per address (local server).
    pub connections_per_ip: u32,
    /// `PORTAAL_TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<Cidr>,
    /// `PORTAAL_HEADER_TIMEOUT_SECONDS`: a request's headers must arrive within this.
    pub header_timeout: std::time::Duration,
    /// `PORTAAL_UPLOAD_IDLE_SECONDS`: an upload body silent for this long is cut.
    pub upload_idle: std::time::Duration,
    /// `PORTAAL_PART_THRESHOLD_BYTES`: larger files are sent in parts.
    pub part_threshold: u64,
    /// `PORTAAL_PART_SIZE_BYTES`: the size of each part but the last (5 MiB to 5 GiB, S3's bounds).
    pub part_size: u64,
}

/// An address range (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether any of `ranges` holds `ip`.
    pub fn any_contains(ranges: &[Cidr], ip: std::net::IpAddr) -> bool {
        ranges.iter().any(|c| c.contains(ip))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (addr, prefix) = match raw.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (raw.trim(), None),
        };
        let network: std::net::IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A positive number setting.
pub(super) fn number(
    name: &'static str,
    raw: Option<String>,
    default: u32,
) -> Result<u32, ConfigError> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConfigError {
                name,
                problem: format!("'{raw}' is not a positive whole number"),
            }),
    }
}

/// A number of bytes within `range`, or `default` when not set.
pub(super) fn bytes(
    name: &'static str,
    raw: Option<String>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ConfigError {
                name,
                problem: format!(
                    "'{raw}' is not a number of bytes from {} to {}",
                    range.start(),
                    range.end()
                ),
            }),
    }
}

/// Which malware scanner checks sent documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScannerChoice {
    None,
    /// The application streams each document to clamd (`PORTAAL_CLAMD_URL`).
    Clamd(crate::clamd::ClamdAddress),
    /// GuardDuty Malware Protection for S3 scans on its own; verdicts arrive as events.
    GuardDuty,
}

/// A setting that holds a credential: never printed.
#[derive(Clone, PartialEq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A configured API key shorter than this is refused: it could be guessed.
pub const MIN_API_KEY_CHARS: usize = 32;

/// Parses `on`/`off` settings.
pub(super) fn on_off(
    name: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.as_deref() {
        None => Ok(default),
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            problem: format!("'{other}' is neither 'on' nor 'off'"),
        }),
    }
}

/// Whether a URL's host is `localhost` or a loopback address.
pub(super) fn url_is_loopback(url: &str) -> bool {
    url::Url::parse(url).ok().is_some_and(|u| {
        u.host()
            .is_some_and(|h| portaal_core::events::is_loopback_host(&h))
    })
}

/// A bearer key from the environment: long enough not to be guessed.
pub(super) fn bearer_key(
    name: &'static str,
    raw: Option<String>,
) -> Result<Option<String>, ConfigError> {
    match raw.map(|k| k.trim().to_owned()) {
        Some(key) if key.chars().count() < MIN_API_KEY_CHARS => Err(ConfigError {
            name,
            problem: format!(
                "is {} characters; a key must have at least {MIN_API_KEY_CHARS} (e.g. `openssl rand -hex 24`)",
                key.chars().count()
            ),
        }),
        other => Ok(other),
    }
}

/// `10,60,300`: seconds between attempts.
pub(super) fn retry_schedule(
    name: &'static str,
    raw: Option<String>,
    default: &[u64],
) -> Result<Vec<u64>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(default.to_vec());
    };
    let steps = raw
        .split(',')
        .map(|s| s.trim().parse::<u64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ConfigError {
            name,
            problem: "must be comma-separated seconds, e.g. 10,60,300".into(),
        })?;
    if steps.len() > 50 || steps.iter().any(|s| *s > 7 * 24 * 3600) {
        return Err(ConfigError {
            name,
            problem: "at most 50 retries, each at most 7 days (604800 s)".into(),
        });
    }
    Ok(steps)
}
