//! Configuration read once from the environment (see SPEC.md, "Running").

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Which database engine a `DATABASE_URL` points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A validated database location.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// For SQLite the file path; for PostgreSQL the full URL (which may hold a password).
    pub target: String,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_string(),
            });
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() {
            return Err("the SQLite path is empty".into());
        }
        if path.contains("://") {
            return Err(
                "unsupported scheme: use a file path, sqlite://path or postgres://…".into(),
            );
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_string(),
        })
    }
}

impl fmt::Debug for DatabaseUrl {
    // A PostgreSQL URL may carry a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite:{}", self.target),
            Backend::Postgres => f.write_str("postgres://…"),
        }
    }
}

/// A secret that is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Allowed cross-origin callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    None,
    Any,
    List(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    /// `None`: a random secret is generated once and kept in the database.
    pub jwt_secret: Option<Secret>,
    /// The secret before a rotation: still verifies tokens (never signs) until
    /// `jwt_previous_until` (unix seconds), if set.
    pub jwt_previous_secret: Option<Secret>,
    pub jwt_previous_until: Option<i64>,
    pub token_ttl: Duration,
    pub cors_origins: CorsOrigins,
    pub public_url: Option<String>,
    pub db_pool_size: u32,
    pub login_max_failures: u32,
    /// Comments one client may post per `comment_window_secs`; 0 disables the limit.
    pub comment_rate: u32,
    /// The window of `comment_rate`, in seconds.
    pub comment_window_secs: u64,
    /// Whether `X-Forwarded-For` is read at all (behind a proxy that appends to it).
    pub trust_proxy: bool,
    /// The proxies whose `X-Forwarded-For` entries are believed: the client is the right-most
    /// address that is not one of them. Defaults to the loopback and private ranges.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Failed logins one client address may make (across usernames) within `LOGIN_WINDOW`.
    pub login_max_failures_per_address: u32,
    /// Whether webhook targets may resolve to loopback, link-local, private or other
    /// non-global addresses (off by default: a webhook must not reach the internal network).
    pub webhook_allow_private: bool,
    /// A comment with more links than this is filed as spam.
    pub spam_max_links: u32,
    /// A comment containing one of these words or phrases is filed as spam.
    pub spam_keywords: Vec<String>,
    /// Approve a comment at once when its e-mail already has an approved comment.
    pub comment_auto_approve: bool,
    /// `max-age` of public GET responses, in seconds.
    pub cache_max_age: u32,
    /// How often the webhook worker looks for due deliveries, in milliseconds.
    pub webhook_poll_ms: u64,
    /// The first retry of a failed delivery waits this long; each next one twice as long.
    pub webhook_retry_base_ms: u64,
    /// Attempts before a delivery is marked failed.
    pub webhook_max_attempts: u32,
    /// HTTP worker threads; `None` lets actix pick one per core.
    pub workers: Option<usize>,
}

/// A bad environment value: names the variable so the operator knows what to fix.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let database_url = match get("DATABASE_URL") {
            Some(raw) => DatabaseUrl::parse(&raw).map_err(|message| ConfigError {
                variable: "DATABASE_URL",
                message,
            })?,
            None => DatabaseUrl {
                backend: Backend::Sqlite,
                target: "masthead.db".into(),
            },
        };
        let bind = match get("MASTHEAD_BIND") {
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
                variable: "MASTHEAD_BIND",
                message: format!("{raw:?} is not an address like 127.0.0.1:8080"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let jwt_secret = match get("MASTHEAD_JWT_SECRET") {
            Some(raw) if raw.len() < 32 => {
                return Err(ConfigError {
                    variable: "MASTHEAD_JWT_SECRET",
                    message: "must be at least 32 bytes long".into(),
                })
            }
            Some(raw) => Some(Secret::new(raw)),
            None => None,
        };
        let jwt_previous_secret = match get("MASTHEAD_JWT_PREVIOUS_SECRET") {
            Some(raw) if raw.len() < 32 => {
                return Err(ConfigError {
                    variable: "MASTHEAD_JWT_PREVIOUS_SECRET",
                    message: "must be at least 32 bytes long".into(),
                })
            }
            Some(raw) => Some(Secret::new(raw)),
            None => None,
        };
        let jwt_previous_until = match get("MASTHEAD_JWT_PREVIOUS_UNTIL") {
            None => None,
            Some(raw) => Some(
                chrono::DateTime::parse_from_rfc3339(raw.trim())
                    .map_err(|_| ConfigError {
                        variable: "MASTHEAD_JWT_PREVIOUS_UNTIL",
                        message: format!("{raw:?} is not an RFC 3339 time"),
                    })?
                    .timestamp(),
            ),
        };
        let token_ttl_secs = number(&get, "MASTHEAD_TOKEN_TTL_SECS", 3600, 60, 31 * 24 * 3600)?;
        let cors_origins = match get("MASTHEAD_CORS_ORIGINS") {
            None => CorsOrigins::None,
            Some(raw) => parse_origins(&raw).map_err(|message| ConfigError {
                variable: "MASTHEAD_CORS_ORIGINS",
                message,
            })?,
        };
        let public_url = match get("MASTHEAD_PUBLIC_URL") {
            None => None,
            Some(raw) => {
                let url = raw.trim().trim_end_matches('/').to_string();
                if !(url.starts_with("http://") || url.starts_with("https://"))
                    || url.contains(char::is_whitespace)
                {
                    return Err(ConfigError {
                        variable: "MASTHEAD_PUBLIC_URL",
                        message: format!("{raw:?} is not an http(s) URL"),
                    });
                }
                Some(url)
            }
        };
        let db_pool_size = number(&get, "MASTHEAD_DB_POOL_SIZE", 16, 1, 1024)?;
        let login_max_failures = number(&get, "MASTHEAD_LOGIN_MAX_FAILURES", 5, 1, 1_000_000)?;
        let comment_rate = number(&get, "MASTHEAD_COMMENT_RATE", 10, 0, 1_000_000)?;
        let comment_window_secs = number(&get, "MASTHEAD_COMMENT_WINDOW_SECS", 60, 1, 86_400)?;
        let trust_proxy = boolean(&get, "MASTHEAD_TRUST_PROXY")?;
        let trusted_proxies = match get("MASTHEAD_TRUSTED_PROXIES") {
            None => default_trusted_proxies(),
            Some(raw) => parse_nets(&raw).map_err(|message| ConfigError {
                variable: "MASTHEAD_TRUSTED_PROXIES",
                message,
            })?,
        };
        let login_max_failures_per_address = number(
            &get,
            "MASTHEAD_LOGIN_MAX_FAILURES_PER_ADDRESS",
            50,
            1,
            1_000_000,
        )?;
        let webhook_allow_private = boolean(&get, "MASTHEAD_WEBHOOK_ALLOW_PRIVATE")?;
        let spam_max_links = number(&get, "MASTHEAD_SPAM_MAX_LINKS", 3, 0, 1_000)?;
        let spam_keywords = get("MASTHEAD_SPAM_KEYWORDS")
            .map(|raw| {
                raw.split(',')
                    .map(|k| k.trim().to_lowercase())
                    .filter(|k| !k.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let comment_auto_approve = boolean(&get, "MASTHEAD_COMMENT_AUTO_APPROVE")?;
        let cache_max_age = number(&get, "MASTHEAD_CACHE_MAX_AGE", 60, 0, 31_536_000)?;
        let webhook_poll_ms = number(&get, "MASTHEAD_WEBHOOK_POLL_MS", 1000, 10, 3_600_000)?;
        let webhook_retry_base_ms =
            number(&get, "MASTHEAD_WEBHOOK_RETRY_BASE_MS", 2000, 10, 3_600_000)?;
        let webhook_max_attempts = number(&get, "MASTHEAD_WEBHOOK_MAX_ATTEMPTS", 10, 1, 100)?;
        let workers = match get("MASTHEAD_WORKERS") {
            None => None,
            Some(_) => Some(number(&get, "MASTHEAD_WORKERS", 1, 1, 1024)? as usize),
        };

        Ok(Self {
            database_url,
            bind,
            jwt_secret,
            jwt_previous_secret,
            jwt_previous_until,
            token_ttl: Duration::from_secs(token_ttl_secs.into()),
            cors_origins,
            public_url,
            db_pool_size,
            login_max_failures,
            comment_rate,
            comment_window_secs: comment_window_secs.into(),
            trust_proxy,
            trusted_proxies,
            login_max_failures_per_address,
            webhook_allow_private,
            spam_max_links,
            spam_keywords,
            comment_auto_approve,
            cache_max_age,
            webhook_poll_ms: webhook_poll_ms.into(),
            webhook_retry_base_ms: webhook_retry_base_ms.into(),
            webhook_max_attempts,
            workers,
        })
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`); absent is false.
fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<bool, ConfigError> {
    match get(variable)
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(ConfigError {
            variable,
            message: format!("{other:?} is not true or false"),
        }),
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    let Some(raw) = get(variable) else {
        return Ok(default);
    };
    match raw.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            variable,
            message: format!("{raw:?} is not a whole number from {min} to {max}"),
        }),
    }
}

/// Loopback, RFC 1918 and IPv6 unique-local ranges: where a reverse proxy in front of Masthead
/// normally sits. Not CGNAT (100.64.0.0/10) or link-local: clients, not proxies, have those.
pub fn default_trusted_proxies() -> Vec<ipnet::IpNet> {
    [
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "fc00::/7",
    ]
    .iter()
    .filter_map(|net| net.parse().ok())
    .collect()
}

/// A comma list of CIDR blocks or single addresses.
fn parse_nets(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{item:?} is not an address or CIDR block"))
        })
        .collect()
}

fn parse_origins(raw: &str) -> Result<CorsOrigins, String> {
    let items: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if items.contains(&"*") {
        return Ok(CorsOrigins::Any);
    }
    let mut origins = Vec::with_capacity(items.len());
    for item in items {
        let origin = item.trim_end_matches('/');
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or_else(|| format!("{item:?} is not an http(s) origin"))?;
        if rest.is_empty() || rest.contains('/') {
            return Err(format!("{item:?} is not an origin (scheme://host[:port])"));
        }
        origins.push(origin.to_string());
    }
    if origins.is_empty() {
        return Ok(CorsOrigins::None);
    }
    Ok(CorsOrigins::List(origins))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_setup() {
        let c = config(&[]).unwrap();
        assert_eq!(c.database_url.backend, Backend::Sqlite);
        assert_eq!(c.database_url.target, "masthead.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert_eq!(c.login_max_failures, 5);
        assert_eq!(c.comment_rate, 10);
        assert!(c.jwt_secret.is_none());
        assert_eq!(c.cors_origins, CorsOrigins::None);
        assert!(!c.webhook_allow_private);
        assert!(!c.trust_proxy);
        assert!(c.trusted_proxies.contains(&"10.0.0.0/8".parse().unwrap()));
    }

    #[test]
    fn trusted_proxies_parse_blocks_and_addresses() {
        let c = config(&[("MASTHEAD_TRUSTED_PROXIES", "203.0.113.0/24, 2001:db8::1")]).unwrap();
        assert_eq!(
            c.trusted_proxies,
            vec![
                "203.0.113.0/24".parse::<ipnet::IpNet>().unwrap(),
                "2001:db8::1/128".parse().unwrap()
            ]
        );
    }

    #[test]
    fn database_urls_pick_the_backend() {
        let cases = [
            ("data/x.db", Backend::Sqlite, "data/x.db"),
            ("sqlite://x.db", Backend::Sqlite, "x.db"),
            ("sqlite:x.db", Backend::Sqlite, "x.db"),
            ("postgres://u@h/db", Backend::Postgres, "postgres://u@h/db"),
            (
                "postgresql://u@h/db",
                Backend::Postgres,
                "postgresql://u@h/db",
            ),
        ];
        for (raw, backend, target) in cases {
            let url = DatabaseUrl::parse(raw).unwrap();
            assert_eq!(
                (url.backend, url.target.as_str()),
                (backend, target),
                "{raw}"
            );
        }
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("MASTHEAD_BIND", "nowhere"),
            ("MASTHEAD_TOKEN_TTL_SECS", "-5"),
            ("MASTHEAD_TOKEN_TTL_SECS", "10"),
            ("MASTHEAD_DB_POOL_SIZE", "0"),
            ("MASTHEAD_LOGIN_MAX_FAILURES", "many"),
            ("MASTHEAD_COMMENT_RATE", "1.5"),
            ("MASTHEAD_CORS_ORIGINS", "example.com"),
            ("MASTHEAD_PUBLIC_URL", "ftp://x"),
            ("MASTHEAD_JWT_SECRET", "short"),
            ("MASTHEAD_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
            ("MASTHEAD_WEBHOOK_ALLOW_PRIVATE", "maybe"),
            ("MASTHEAD_LOGIN_MAX_FAILURES_PER_ADDRESS", "0"),
            ("DATABASE_URL", "mysql://db"),
        ];
        for (var, value) in cases {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
            assert!(err.to_string().starts_with(&format!("invalid {var}: ")));
        }
    }

    #[test]
    fn cors_origins_parse() {
        let c = config(&[(
            "MASTHEAD_CORS_ORIGINS",
            "https://a.example, http://b.example:3000/",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            CorsOrigins::List(vec![
                "https://a.example".into(),
                "http://b.example:3000".into()
            ])
        );
        let c = config(&[("MASTHEAD_CORS_ORIGINS", "*")]).unwrap();
        assert_eq!(c.cors_origins, CorsOrigins::Any);
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        let c = config(&[
            (
                "MASTHEAD_JWT_SECRET",
                "0123456789abcdef0123456789abcdef-secret",
            ),
            ("DATABASE_URL", "postgres://user:hunter2@db/masthead"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("0123456789abcdef"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
