//! Typed configuration: defaults, then environment variables (`DATABASE_URL`, `LEPTOS_SITE_ADDR`
//! and `ZHUNONG_*`). Documented in the README.

use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://path` or `postgres://…`; the scheme chooses the backend.
    pub database_url: SecretString,
    pub site_addr: SocketAddr,
    /// Load the demo data when the database is empty (`ZHUNONG_SEED_DEMO`, default on for `serve`).
    pub seed_demo_if_empty: bool,
    /// Mark cookies `Secure` always (`ZHUNONG_SECURE_COOKIES=1`); otherwise only when the request
    /// arrived over https (`X-Forwarded-Proto: https` from the proxy in front).
    pub secure_cookies: bool,
    pub session_days: i64,
    /// Failed log-ins allowed per account, and per client address, in `login_window_secs`.
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_ip: u32,
    pub login_window_secs: i64,
    /// Shared secret of the payment provider's webhook (`ZHUNONG_PAYMENT_WEBHOOK_SECRET`); the
    /// endpoint answers 503 until it is set.
    pub payment_webhook_secret: Option<SecretString>,
    /// Where listing photos and their thumbnails are stored (`ZHUNONG_UPLOAD_DIR`).
    pub upload_dir: PathBuf,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/zhunong.db";
pub const DEFAULT_UPLOAD_DIR: &str = "data/uploads";

#[derive(Debug, thiserror::Error)]
#[error("invalid value for {name}: {value:?} ({why})")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    why: &'static str,
}

fn env_or<T: std::str::FromStr>(
    name: &'static str,
    default: T,
    why: &'static str,
) -> Result<T, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| ConfigError {
            name,
            value: v,
            why,
        }),
        _ => Ok(default),
    }
}

fn env_bool(name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match std::env::var(name) {
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "" => Ok(default),
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(ConfigError {
                name,
                value: v,
                why: "expected 1/0, true/false, yes/no or on/off",
            }),
        },
        Err(_) => Ok(default),
    }
}

impl Settings {
    pub fn from_env() -> Result<Settings, ConfigError> {
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        Ok(Settings {
            database_url: SecretString::from(database_url),
            site_addr: env_or(
                "LEPTOS_SITE_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3000)),
                "expected host:port",
            )?,
            seed_demo_if_empty: env_bool("ZHUNONG_SEED_DEMO", true)?,
            secure_cookies: env_bool("ZHUNONG_SECURE_COOKIES", false)?,
            session_days: env_or(
                "ZHUNONG_SESSION_DAYS",
                30,
                "expected a whole number of days",
            )?,
            login_max_failures_per_account: env_or(
                "ZHUNONG_LOGIN_MAX_FAILURES",
                5,
                "expected a whole number",
            )?,
            login_max_failures_per_ip: env_or(
                "ZHUNONG_LOGIN_MAX_FAILURES_PER_IP",
                20,
                "expected a whole number",
            )?,
            login_window_secs: env_or("ZHUNONG_LOGIN_WINDOW_SECS", 15 * 60, "expected seconds")?,
            payment_webhook_secret: std::env::var("ZHUNONG_PAYMENT_WEBHOOK_SECRET")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(SecretString::from),
            upload_dir: std::env::var_os("ZHUNONG_UPLOAD_DIR")
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(DEFAULT_UPLOAD_DIR), PathBuf::from),
        })
    }

    /// Settings for tests and tools: everything default but the database.
    pub fn for_database(url: &str) -> Settings {
        Settings {
            database_url: SecretString::from(url.to_owned()),
            site_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed_demo_if_empty: false,
            secure_cookies: false,
            session_days: 30,
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 20,
            login_window_secs: 15 * 60,
            payment_webhook_secret: None,
            upload_dir: PathBuf::from(DEFAULT_UPLOAD_DIR),
        }
    }
}
