//! Configuration: environment variables and command-line flags become one
//! typed [`Config`]. Secrets are held in types whose `Debug` hides them, so a
//! logged `Config` never shows the session key or a database password.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Flags shared by every subcommand; each can also come from the
/// environment variable named beside it.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "ROSTER_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Database URL: `sqlite://PATH` (the default, under the data directory)
    /// or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded SQLite database and the generated secret key.
    #[arg(long, env = "ROSTER_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Public address people use to reach Roster (used in links in emails).
    /// Defaults to http:// plus the bind address.
    #[arg(long, env = "ROSTER_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Session key: 64 bytes, base64-encoded. When absent, one is generated
    /// once into DATA_DIR/secret.key (mode 0600) and reused.
    #[arg(long, env = "ROSTER_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Mark the session cookie Secure and send HSTS. Defaults to on when
    /// the base URL is https.
    #[arg(long, env = "ROSTER_SECURE_COOKIES", global = true)]
    pub secure_cookies: Option<bool>,

    /// Minutes without a request after which a session ends.
    #[arg(
        long,
        env = "ROSTER_IDLE_TIMEOUT_MINUTES",
        default_value_t = 60,
        global = true
    )]
    pub idle_timeout_minutes: u64,

    /// Hours after sign-in after which a session ends, active or not.
    #[arg(
        long,
        env = "ROSTER_SESSION_LIFETIME_HOURS",
        default_value_t = 12,
        global = true
    )]
    pub session_lifetime_hours: u64,

    /// Take the client address from X-Forwarded-For / Forwarded (only behind
    /// a reverse proxy that sets them).
    #[arg(
        long,
        env = "ROSTER_TRUST_PROXY",
        default_value_t = false,
        global = true
    )]
    pub trust_proxy: bool,

    /// Requests one signed-in person may have running at once on this
    /// instance (at least 1); more are answered 429 with Retry-After.
    #[arg(
        long,
        env = "ROSTER_REQUESTS_PER_PERSON",
        default_value_t = crate::web::in_flight::PER_PERSON,
        global = true
    )]
    pub requests_per_person: usize,

    /// SMTP server for outgoing mail. Without it, mail stays in the outbox
    /// and Owners and Admins read their organization's invitations on the
    /// Mailbox page.
    #[arg(long, env = "ROSTER_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,
    /// SMTP port; defaults to 587 (starttls), 465 (tls) or 25 (none).
    #[arg(long, env = "ROSTER_SMTP_PORT", global = true)]
    pub smtp_port: Option<u16>,
    /// How to secure the SMTP connection: starttls, tls or none.
    #[arg(
        long,
        env = "ROSTER_SMTP_TLS",
        default_value = "starttls",
        global = true
    )]
    pub smtp_tls: String,
    /// SMTP user name, when the server wants one.
    #[arg(long, env = "ROSTER_SMTP_USER", global = true)]
    pub smtp_user: Option<String>,
    /// SMTP password.
    #[arg(
        long,
        env = "ROSTER_SMTP_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub smtp_password: Option<String>,
    /// The From address of Roster's mail.
    #[arg(
        long,
        env = "ROSTER_MAIL_FROM",
        default_value = "Roster <roster@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// Invitations (first sends and resends) one organization may send in
    /// 24 hours, so a compromised or hostile account cannot use Roster to
    /// send mail in bulk.
    #[arg(
        long,
        env = "ROSTER_INVITATIONS_PER_DAY",
        default_value_t = 500,
        global = true
    )]
    pub invitations_per_day: u64,
    /// Requests one API key may make in a minute (counted in the database,
    /// so shared by every instance); more get 429 with Retry-After.
    #[arg(
        long,
        env = "ROSTER_API_REQUESTS_PER_MINUTE",
        default_value_t = 600,
        global = true
    )]
    pub api_requests_per_minute: u64,
    /// The DNS server that answers the TXT lookups proving an organization
    /// controls an auto-join domain, as IP:PORT (asked over UDP, and TCP
    /// for long answers). Defaults to the system's resolvers
    /// (/etc/resolv.conf).
    #[arg(long, env = "ROSTER_DNS_SERVER", global = true)]
    pub dns_server: Option<SocketAddr>,
    /// Seconds to wait for a DNS answer (each lookup tries twice).
    #[arg(
        long,
        env = "ROSTER_DNS_TIMEOUT_SECONDS",
        default_value_t = 5,
        global = true
    )]
    pub dns_timeout_seconds: u64,
    /// The seat limit of each new organization (members and pending
    /// invitations); unset for none. `roster org seats ORG N` changes one
    /// organization's limit.
    #[arg(long, env = "ROSTER_DEFAULT_SEAT_LIMIT", global = true)]
    pub default_seat_limit: Option<u64>,
}

/// Where Roster asks DNS questions.
#[derive(Clone, Debug)]
pub struct DnsConfig {
    /// `None`: the system's resolvers (resolv.conf).
    pub server: Option<SocketAddr>,
    /// How long to wait for one answer.
    pub timeout: Duration,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or network.
    None,
}

impl SmtpTls {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// A password whose `Debug` hides it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where and how Roster sends mail.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

/// A 64-byte key for signing and encrypting session cookies.
#[derive(Clone)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    pub const LEN: usize = 64;

    pub fn from_bytes(bytes: Vec<u8>) -> anyhow::Result<Self> {
        if bytes.len() < Self::LEN {
            bail!(
                "the secret key must be at least {} bytes, got {}",
                Self::LEN,
                bytes.len()
            );
        }
        Ok(Self(bytes))
    }

    pub fn from_base64(text: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD
            .decode(text.trim())
            .context("the secret key is not valid base64")?;
        Self::from_bytes(bytes)
    }

    pub fn generate() -> Self {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut bytes = vec![0u8; Self::LEN];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// A database URL whose `Debug` and `Display` hide any password.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }

    /// The URL with everything between `://` and `@` replaced.
    pub fn redacted(&self) -> String {
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                format!("{}://[redacted]{}", &self.0[..scheme_end], &self.0[at..])
            }
            _ => self.0.clone(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Everything the application needs to start, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: DatabaseUrl,
    pub base_url: String,
    pub secret_key: SecretKey,
    pub secure_cookies: bool,
    pub idle_timeout: Duration,
    pub session_lifetime: Duration,
    pub trust_proxy: bool,
    /// Requests one signed-in person may have running at once.
    pub requests_per_person: usize,
    /// `None`: mail stays in the outbox (the Mailbox page shows it).
    pub smtp: Option<SmtpConfig>,
    /// The From header of Roster's mail, e.g. `Roster <roster@example.com>`.
    pub mail_from: String,
    /// Invitations one organization may send in 24 hours.
    pub invitations_per_day: u64,
    /// Requests one API key may make in a minute.
    pub api_requests_per_minute: u64,
    /// The resolver for domain-verification lookups.
    pub dns: DnsConfig,
    /// The seat limit of each new organization; `None` for none.
    pub default_seat_limit: Option<u64>,
}

impl Config {
    /// Resolves defaults, creating the data directory and the secret key
    /// file when they are missing.
    pub fn from_args(args: ConfigArgs) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&args.data_dir).with_context(|| {
            format!(
                "failed to create the data directory {}",
                args.data_dir.display()
            )
        })?;
        let database_url = match args.database_url {
            Some(url) => DatabaseUrl::new(url),
            None => DatabaseUrl::new(format!(
                "sqlite://{}?mode=rwc",
                args.data_dir.join("roster.db").display()
            )),
        };
        let secret_key = match args.secret_key {
            Some(text) => SecretKey::from_base64(&text).context("ROSTER_SECRET_KEY is invalid")?,
            None => load_or_create_key(&args.data_dir.join("secret.key"))?,
        };
        let base_url = args
            .base_url
            .unwrap_or_else(|| format!("http://{}", args.bind))
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            bail!("ROSTER_BASE_URL must start with http:// or https://, got {base_url}");
        }
        let secure_cookies = args
            .secure_cookies
            .unwrap_or_else(|| base_url.starts_with("https://"));
        if args.idle_timeout_minutes == 0 || args.session_lifetime_hours == 0 {
            bail!("session timeouts must be at least one minute and one hour");
        }
        let tls = SmtpTls::parse(&args.smtp_tls).with_context(|| {
            format!(
                "ROSTER_SMTP_TLS must be starttls, tls or none, got {}",
                args.smtp_tls
            )
        })?;
        let smtp = args
            .smtp_host
            .filter(|host| !host.trim().is_empty())
            .map(|host| SmtpConfig {
                host: host.trim().to_string(),
                port: args.smtp_port.unwrap_or_else(|| tls.default_port()),
                tls,
                user: args.smtp_user.filter(|u| !u.is_empty()),
                password: args.smtp_password.map(Secret::new),
            });
        if args.invitations_per_day == 0 {
            bail!("ROSTER_INVITATIONS_PER_DAY must be at least 1");
        }
        if args.api_requests_per_minute == 0 {
            bail!("ROSTER_API_REQUESTS_PER_MINUTE must be at least 1");
        }
        if args.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            bail!(
                "ROSTER_MAIL_FROM must be an address such as \"Roster <roster@example.com>\", got {}",
                args.mail_from
            );
        }
        if args.default_seat_limit == Some(0) {
            bail!("ROSTER_DEFAULT_SEAT_LIMIT must be at least 1 (leave it unset for no limit)");
        }
        if args.dns_timeout_seconds == 0 || args.dns_timeout_seconds > 60 {
            bail!(
                "ROSTER_DNS_TIMEOUT_SECONDS must be between 1 and 60, got {}",
                args.dns_timeout_seconds
            );
        }
        Ok(Self {
            bind: args.bind,
            database_url,
            base_url,
            secret_key,
            secure_cookies,
            idle_timeout: Duration::from_secs(args.idle_timeout_minutes * 60),
            session_lifetime: Duration::from_secs(args.session_lifetime_hours * 3600),
            trust_proxy: args.trust_proxy,
            requests_per_person: args.requests_per_person,
            smtp,
            mail_from: args.mail_from,
            invitations_per_day: args.invitations_per_day,
            api_requests_per_minute: args.api_requests_per_minute,
            dns: DnsConfig {
                server: args.dns_server,
                timeout: Duration::from_secs(args.dns_timeout_seconds),
            },
            default_seat_limit: args.default_seat_limit,
        })
    }
}

/// Reads the key file, or writes a new random key to it with mode 0600.
fn load_or_create_key(path: &Path) -> anyhow::Result<SecretKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => SecretKey::from_base64(&text)
            .with_context(|| format!("the key in {} is invalid", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            write_private(path, key.to_base64().as_bytes())
                .with_context(|| format!("failed to write {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a new session key");
            Ok(key)
        }
        Err(err) => Err(err).with_context(|| format!("failed to read {}", path.display())),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_hides_password() {
        let url = DatabaseUrl::new("postgres://roster:hunter2@db.example/roster");
        assert_eq!(url.to_string(), "postgres://[redacted]@db.example/roster");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn secret_key_debug_hides_bytes() {
        let key = SecretKey::generate();
        assert_eq!(format!("{key:?}"), "SecretKey([redacted])");
    }

    fn args(data_dir: &Path) -> ConfigArgs {
        ConfigArgs {
            bind: "127.0.0.1:8080".parse().unwrap(),
            database_url: None,
            data_dir: data_dir.to_path_buf(),
            base_url: None,
            secret_key: None,
            secure_cookies: None,
            idle_timeout_minutes: 60,
            session_lifetime_hours: 12,
            trust_proxy: false,
            requests_per_person: 4,
            smtp_host: None,
            smtp_port: None,
            smtp_tls: "starttls".into(),
            smtp_user: None,
            smtp_password: None,
            mail_from: "Roster <roster@localhost>".into(),
            invitations_per_day: 500,
            api_requests_per_minute: 600,
            dns_server: None,
            dns_timeout_seconds: 5,
            default_seat_limit: None,
        }
    }

    #[test]
    fn the_key_is_generated_once_with_mode_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let first = Config::from_args(args(dir.path())).unwrap();
        let path = dir.path().join("secret.key");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = Config::from_args(args(dir.path())).unwrap();
        assert_eq!(first.secret_key.as_bytes(), second.secret_key.as_bytes());
        assert_eq!(first.secret_key.as_bytes().len(), 64);
        assert!(first.database_url.is_sqlite());
        assert_eq!(first.base_url, "http://127.0.0.1:8080");
        assert!(!first.secure_cookies);
    }

    #[test]
    fn https_base_url_turns_on_secure_cookies() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        a.base_url = Some("https://roster.example/".into());
        let config = Config::from_args(a).unwrap();
        assert!(config.secure_cookies);
        assert_eq!(config.base_url, "https://roster.example");
    }

    #[test]
    fn smtp_settings_pick_the_port_from_the_tls_mode_and_hide_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        assert!(Config::from_args(a.clone()).unwrap().smtp.is_none());
        a.smtp_host = Some("mail.example".into());
        a.smtp_tls = "tls".into();
        a.smtp_password = Some("hunter2".into());
        let smtp = Config::from_args(a.clone()).unwrap().smtp.unwrap();
        assert_eq!((smtp.port, smtp.tls), (465, SmtpTls::Tls));
        assert!(!format!("{smtp:?}").contains("hunter2"));
        a.smtp_tls = "ssl3".into();
        assert!(Config::from_args(a.clone()).is_err());
        a.smtp_tls = "none".into();
        a.mail_from = "not an address".into();
        assert!(Config::from_args(a).is_err());
    }

    #[test]
    fn the_dns_server_defaults_to_the_system_and_the_timeout_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = args(dir.path());
        let config = Config::from_args(a.clone()).unwrap();
        assert!(config.dns.server.is_none());
        assert_eq!(config.dns.timeout, Duration::from_secs(5));
        a.dns_server = Some("127.0.0.1:5353".parse().unwrap());
        let config = Config::from_args(a.clone()).unwrap();
        assert_eq!(config.dns.server, Some("127.0.0.1:5353".parse().unwrap()));
        a.dns_timeout_seconds = 0;
        assert!(Config::from_args(a).is_err());
    }

    #[test]
    fn short_secret_key_is_refused() {
        assert!(SecretKey::from_bytes(vec![0; 32]).is_err());
    }
}
