//! Typed configuration: defaults, then environment variables (`DATABASE_URL`, `LEPTOS_SITE_ADDR`
//! and `ZHUNONG_*`). Documented in the README.

use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://path` or `postgres://…`; the scheme chooses the backend.
    pub database_url: SecretString,
    /// A PostgreSQL hot standby for the catalogue, the public pages and the officials' reports
    /// (`DATABASE_READ_URL`); unset: every read goes to `database_url`.
    pub database_read_url: Option<SecretString>,
    pub site_addr: SocketAddr,
    /// `ZHUNONG_ENV=production`: refuse to start while demo accounts exist.
    pub production: bool,
    /// Mark cookies `Secure` always (`ZHUNONG_SECURE_COOKIES=1`), and send HSTS; otherwise only
    /// when a trusted proxy says the request arrived over https (`X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed
    /// (`ZHUNONG_TRUSTED_PROXIES`, comma-separated addresses).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The site's own origin (`ZHUNONG_PUBLIC_ORIGIN`, e.g. `https://zhunong.example.cn`): a
    /// state-changing request from a page of any other origin is refused. Unset: the request's
    /// own `Host`.
    pub public_origin: Option<String>,
    /// Password hashes (19 MiB each) computed at once (`ZHUNONG_HASH_WORKERS`, default: cores)
    /// and waiting (`ZHUNONG_HASH_QUEUE`); past both, 503.
    pub hash_workers: usize,
    pub hash_queue: usize,
    /// Photo decodes at once (`ZHUNONG_IMAGE_WORKERS`, default 2) and waiting (`ZHUNONG_IMAGE_QUEUE`).
    pub image_workers: usize,
    pub image_queue: usize,
    /// Requests served at once (`ZHUNONG_MAX_CONCURRENT_REQUESTS`); past it, 503 at once.
    pub max_concurrent_requests: usize,
    /// Requests in flight from one client address (an IPv6 client's /64).
    pub max_requests_per_address: usize,
    /// Livestream event streams (server-sent events) one client address may hold at once.
    pub live_streams_per_address: usize,
    /// How long an unpaid order holds its stock.
    pub order_hold_minutes: i64,
    /// Unpaid checkouts one buyer may hold at once.
    pub max_unpaid_checkouts: i64,
    /// A manual income record beyond this many times the monitoring line needs a note and a
    /// confirmation.
    pub large_record_lines: i64,
    /// Receipt of a shipped order is confirmed automatically this many days after shipping.
    pub auto_receive_days: i64,
    /// Early warning: a paired household's rolling income within this many percent above the
    /// line (or below it) raises a visit task.
    pub warning_margin_percent: i64,
    /// A request that takes longer answers 503 (`ZHUNONG_REQUEST_TIMEOUT_SECS`; uploads get 10×).
    pub request_timeout_secs: u64,
    /// Registrations (and requests for codes) per client address per hour, and in all per hour.
    pub register_per_ip_per_hour: u32,
    pub register_global_per_hour: u32,
    /// Where the notification sender writes messages (one file each) for a gateway to pick up
    /// (`ZHUNONG_NOTIFY_DIR`). Unset: development logs them; production keeps them queued.
    pub notify_dir: Option<PathBuf>,
    /// An SMS or mail gateway's HTTP endpoint (`ZHUNONG_NOTIFY_URL`, http or https): each
    /// message is posted to it as JSON; any 2xx answer is delivery. Preferred to the directory.
    pub notify_url: Option<String>,
    pub session_days: i64,
    /// Failed log-ins allowed per account, and per client address, in `login_window_secs`.
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_ip: u32,
    pub login_window_secs: i64,
    /// WeChat Pay, Alipay, the transfer account, or the fake provider (`ZHUNONG_FAKE_PAYMENTS`).
    pub payments: crate::payments::server::PaymentSettings,
    /// Where listing photos and their thumbnails are stored (`ZHUNONG_UPLOAD_DIR`).
    pub upload_dir: PathBuf,
    /// How long an anonymous visitor's public page is kept (`ZHUNONG_PAGE_CACHE_MS`; 0: off).
    pub page_cache_ms: u64,
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

/// A number from the environment that must lie in `range` (a clear error names the variable).
fn env_range<T>(
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + Copy,
{
    let v = env_or(name, default, "expected a whole number")?;
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(ConfigError {
            name,
            value: std::env::var(name).unwrap_or_default(),
            why: "out of the allowed range (see the README's configuration table)",
        })
    }
}

/// The machine's cores, the default number of hashing workers.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
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
    /// Reads and checks the configuration. `ZHUNONG_SEED_DEMO`, which made `serve` load the demo
    /// into an empty database, is refused: the demo is loaded only by `zhunong seed --demo`.
    pub fn from_env() -> Result<Settings, ConfigError> {
        if let Ok(v) = std::env::var("ZHUNONG_SEED_DEMO") {
            return Err(ConfigError {
                name: "ZHUNONG_SEED_DEMO",
                value: v,
                why: "no longer read: `zhunong serve` never loads demo data; run `zhunong seed --demo` to load it",
            });
        }
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        Ok(Settings {
            database_url: SecretString::from(database_url),
            database_read_url: std::env::var("DATABASE_READ_URL")
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
            site_addr: env_or(
                "LEPTOS_SITE_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3000)),
                "expected host:port",
            )?,
            production: match std::env::var("ZHUNONG_ENV").as_deref().map(str::trim) {
                Ok("production") => true,
                Ok("development") | Ok("") | Err(_) => false,
                Ok(v) => {
                    return Err(ConfigError {
                        name: "ZHUNONG_ENV",
                        value: v.to_owned(),
                        why: "expected production or development",
                    })
                }
            },
            secure_cookies: env_bool("ZHUNONG_SECURE_COOKIES", false)?,
            trusted_proxies: match std::env::var("ZHUNONG_TRUSTED_PROXIES") {
                Ok(v) => v
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(|a| {
                        a.parse().map_err(|_| ConfigError {
                            name: "ZHUNONG_TRUSTED_PROXIES",
                            value: a.to_owned(),
                            why: "expected comma-separated IP addresses",
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Err(_) => Vec::new(),
            },
            public_origin: match std::env::var("ZHUNONG_PUBLIC_ORIGIN") {
                Ok(v) if !v.trim().is_empty() => {
                    let o = v.trim().trim_end_matches('/').to_owned();
                    let host = o
                        .strip_prefix("https://")
                        .or_else(|| o.strip_prefix("http://"));
                    if !host.is_some_and(|h| !h.is_empty() && !h.contains('/')) {
                        return Err(ConfigError {
                            name: "ZHUNONG_PUBLIC_ORIGIN",
                            value: v,
                            why: "expected https://host[:port] with no path",
                        });
                    }
                    Some(o)
                }
                _ => None,
            },
            hash_workers: env_range("ZHUNONG_HASH_WORKERS", cores(), 1..=256)?,
            hash_queue: env_range("ZHUNONG_HASH_QUEUE", 64, 0..=100_000)?,
            image_workers: env_range("ZHUNONG_IMAGE_WORKERS", cores().min(2), 1..=64)?,
            image_queue: env_range("ZHUNONG_IMAGE_QUEUE", 8, 0..=10_000)?,
            max_concurrent_requests: env_range(
                "ZHUNONG_MAX_CONCURRENT_REQUESTS",
                1024,
                1..=1_000_000,
            )?,
            max_requests_per_address: env_range(
                "ZHUNONG_MAX_REQUESTS_PER_ADDRESS",
                64,
                1..=1_000_000,
            )?,
            live_streams_per_address: env_range(
                "ZHUNONG_LIVE_STREAMS_PER_ADDRESS",
                crate::live::stream::MAX_VIEWERS_PER_ADDRESS,
                1..=crate::live::stream::MAX_VIEWERS,
            )?,
            request_timeout_secs: env_range("ZHUNONG_REQUEST_TIMEOUT_SECS", 30, 5..=3600)?,
            page_cache_ms: env_range("ZHUNONG_PAGE_CACHE_MS", 2000, 0..=10_000)?,
            order_hold_minutes: env_range("ZHUNONG_ORDER_HOLD_MINUTES", 30, 1..=7 * 24 * 60)?,
            max_unpaid_checkouts: env_range("ZHUNONG_MAX_UNPAID_CHECKOUTS", 3, 1..=1_000_000)?,
            large_record_lines: env_range("ZHUNONG_LARGE_RECORD_LINES", 1, 1..=1000)?,
            auto_receive_days: env_range("ZHUNONG_AUTO_RECEIVE_DAYS", 10, 1..=60)?,
            warning_margin_percent: env_range("ZHUNONG_WARNING_MARGIN_PERCENT", 10, 0..=100)?,
            register_per_ip_per_hour: env_range(
                "ZHUNONG_REGISTER_PER_IP_PER_HOUR",
                10,
                1..=1_000_000,
            )?,
            register_global_per_hour: env_range("ZHUNONG_REGISTER_PER_HOUR", 2000, 1..=10_000_000)?,
            notify_url: match env_text("ZHUNONG_NOTIFY_URL") {
                None => None,
                Some(u)
                    if (u.starts_with("http://") || u.starts_with("https://"))
                        && u.len() <= 2000 =>
                {
                    Some(u)
                }
                Some(u) => {
                    return Err(ConfigError {
                        name: "ZHUNONG_NOTIFY_URL",
                        value: u,
                        why: "must be an http:// or https:// address",
                    })
                }
            },
            notify_dir: std::env::var_os("ZHUNONG_NOTIFY_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            session_days: env_range("ZHUNONG_SESSION_DAYS", 30, 1..=365)?,
            login_max_failures_per_account: env_range("ZHUNONG_LOGIN_MAX_FAILURES", 5, 1..=1000)?,
            login_max_failures_per_ip: env_range(
                "ZHUNONG_LOGIN_MAX_FAILURES_PER_IP",
                20,
                1..=1_000_000,
            )?,
            login_window_secs: env_range("ZHUNONG_LOGIN_WINDOW_SECS", 15 * 60, 1..=86_400)?,
            payments: payment_settings(
                std::env::var("ZHUNONG_ENV").as_deref().map(str::trim) == Ok("production"),
            )?,
            upload_dir: std::env::var_os("ZHUNONG_UPLOAD_DIR")
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(DEFAULT_UPLOAD_DIR), PathBuf::from),
        })
    }

    /// Settings for tests and tools: everything default but the database.
    pub fn for_database(url: &str) -> Settings {
        Settings {
            database_url: SecretString::from(url.to_owned()),
            database_read_url: None,
            site_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            production: false,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            public_origin: None,
            hash_workers: cores(),
            hash_queue: 64,
            image_workers: cores().min(2),
            image_queue: 8,
            max_concurrent_requests: 1024,
            max_requests_per_address: 64,
            live_streams_per_address: crate::live::stream::MAX_VIEWERS_PER_ADDRESS,
            request_timeout_secs: 30,
            order_hold_minutes: 30,
            max_unpaid_checkouts: 3,
            large_record_lines: 1,
            auto_receive_days: 10,
            warning_margin_percent: 10,
            register_per_ip_per_hour: 10,
            register_global_per_hour: 2000,
            notify_dir: None,
            notify_url: None,
            session_days: 30,
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 20,
            login_window_secs: 15 * 60,
            payments: Default::default(),
            upload_dir: PathBuf::from(DEFAULT_UPLOAD_DIR),
            // Off, so a test sees its own writes at once; tests of the cache turn it on.
            page_cache_ms: 0,
        }
    }
}

/// A file named by a variable, read whole (keys, certificates).
fn env_file(name: &'static str) -> Result<Option<(String, String)>, ConfigError> {
    match std::env::var(name) {
        Ok(path) if !path.trim().is_empty() => match std::fs::read_to_string(path.trim()) {
            Ok(text) => Ok(Some((path, text))),
            Err(_) => Err(ConfigError {
                name,
                value: path,
                why: "cannot read this file",
            }),
        },
        _ => Ok(None),
    }
}

fn env_text(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The payment providers: WeChat Pay when all of its `ZHUNONG_WECHATPAY_*` are set, Alipay when
/// all of its `ZHUNONG_ALIPAY_*` are, the transfer account, or the fake provider (never in
/// production). A provider half configured stops the server, naming what is missing.
fn payment_settings(
    production: bool,
) -> Result<crate::payments::server::PaymentSettings, ConfigError> {
    use crate::payments::{alipay::Alipay, crypto, server::TransferAccount, wechat::WeChatPay};
    let mut p = crate::payments::server::PaymentSettings {
        fake: env_or("ZHUNONG_FAKE_PAYMENTS", 0u8, "expected 0 or 1")? == 1,
        ..Default::default()
    };
    if p.fake && production {
        return Err(ConfigError {
            name: "ZHUNONG_FAKE_PAYMENTS",
            value: "1".into(),
            why: "the fake payment provider is for tests and the demo, never with ZHUNONG_ENV=production",
        });
    }
    if let Some(mchid) = env_text("ZHUNONG_WECHATPAY_MCHID") {
        let need = |name: &'static str| {
            env_text(name).ok_or(ConfigError {
                name,
                value: String::new(),
                why: "needed with ZHUNONG_WECHATPAY_MCHID",
            })
        };
        let (key_path, key) =
            env_file("ZHUNONG_WECHATPAY_PRIVATE_KEY_FILE")?.ok_or(ConfigError {
                name: "ZHUNONG_WECHATPAY_PRIVATE_KEY_FILE",
                value: String::new(),
                why: "needed with ZHUNONG_WECHATPAY_MCHID",
            })?;
        let (pub_path, public) =
            env_file("ZHUNONG_WECHATPAY_PLATFORM_PUBLIC_KEY_FILE")?.ok_or(ConfigError {
                name: "ZHUNONG_WECHATPAY_PLATFORM_PUBLIC_KEY_FILE",
                value: String::new(),
                why: "needed with ZHUNONG_WECHATPAY_MCHID",
            })?;
        let apiv3 = need("ZHUNONG_WECHATPAY_APIV3_KEY")?;
        let apiv3_key: [u8; 32] = apiv3.as_bytes().try_into().map_err(|_| ConfigError {
            name: "ZHUNONG_WECHATPAY_APIV3_KEY",
            value: "(hidden)".into(),
            why: "expected the 32-character APIv3 key",
        })?;
        p.wechat = Some(WeChatPay {
            base_url: env_text("ZHUNONG_WECHATPAY_BASE_URL")
                .unwrap_or_else(|| "https://api.mch.weixin.qq.com".into()),
            mchid,
            appid: need("ZHUNONG_WECHATPAY_APPID")?,
            serial_no: need("ZHUNONG_WECHATPAY_SERIAL_NO")?,
            merchant_key: crypto::private_key_pem(&key).map_err(|_| ConfigError {
                name: "ZHUNONG_WECHATPAY_PRIVATE_KEY_FILE",
                value: key_path,
                why: "expected the merchant's PKCS#8 RSA private key (apiclient_key.pem)",
            })?,
            platform_serial: need("ZHUNONG_WECHATPAY_PLATFORM_SERIAL")?,
            platform_key: crypto::public_key_pem(&public).map_err(|_| ConfigError {
                name: "ZHUNONG_WECHATPAY_PLATFORM_PUBLIC_KEY_FILE",
                value: pub_path,
                why: "expected WeChat Pay's platform public key in PEM",
            })?,
            apiv3_key,
        });
    }
    if let Some(app_id) = env_text("ZHUNONG_ALIPAY_APP_ID") {
        let (key_path, key) = env_file("ZHUNONG_ALIPAY_PRIVATE_KEY_FILE")?.ok_or(ConfigError {
            name: "ZHUNONG_ALIPAY_PRIVATE_KEY_FILE",
            value: String::new(),
            why: "needed with ZHUNONG_ALIPAY_APP_ID",
        })?;
        let (pub_path, public) =
            env_file("ZHUNONG_ALIPAY_PUBLIC_KEY_FILE")?.ok_or(ConfigError {
                name: "ZHUNONG_ALIPAY_PUBLIC_KEY_FILE",
                value: String::new(),
                why: "needed with ZHUNONG_ALIPAY_APP_ID",
            })?;
        p.alipay = Some(Alipay {
            gateway: env_text("ZHUNONG_ALIPAY_GATEWAY")
                .unwrap_or_else(|| "https://openapi.alipay.com/gateway.do".into()),
            app_id,
            app_key: crypto::private_key_text(&key).map_err(|_| ConfigError {
                name: "ZHUNONG_ALIPAY_PRIVATE_KEY_FILE",
                value: key_path,
                why: "expected the app's PKCS#8 RSA private key (PEM or base64)",
            })?,
            alipay_key: crypto::public_key_pem(&public).map_err(|_| ConfigError {
                name: "ZHUNONG_ALIPAY_PUBLIC_KEY_FILE",
                value: pub_path,
                why: "expected Alipay's public key (PEM or base64)",
            })?,
        });
    }
    if let Some(v) = env_text("ZHUNONG_TRANSFER_ACCOUNT") {
        let parts: Vec<&str> = v.split('|').map(str::trim).collect();
        match parts.as_slice() {
            [name, bank, no] if !name.is_empty() && !bank.is_empty() && !no.is_empty() => {
                p.transfer = Some(TransferAccount {
                    account_name: (*name).to_owned(),
                    bank: (*bank).to_owned(),
                    account_no: (*no).to_owned(),
                });
            }
            _ => {
                return Err(ConfigError {
                    name: "ZHUNONG_TRANSFER_ACCOUNT",
                    value: v,
                    why: "expected 户名|开户行|账号 (account name|bank|account number)",
                })
            }
        }
    }
    let https_origin = env_text("ZHUNONG_PUBLIC_ORIGIN").is_some_and(|o| o.starts_with("https://"));
    if (p.wechat.is_some() || p.alipay.is_some()) && !https_origin {
        return Err(ConfigError {
            name: "ZHUNONG_PUBLIC_ORIGIN",
            value: env_text("ZHUNONG_PUBLIC_ORIGIN").unwrap_or_default(),
            why: "WeChat Pay and Alipay send their notifications to the site's public https origin: set it",
        });
    }
    if p.fake && (p.wechat.is_some() || p.alipay.is_some() || https_origin) {
        return Err(ConfigError {
            name: "ZHUNONG_FAKE_PAYMENTS",
            value: "1".into(),
            why: "the fake provider is for tests and the demo: not beside a real provider or on a public https site",
        });
    }
    if std::env::var("ZHUNONG_PAYMENT_WEBHOOK_SECRET").is_ok() {
        return Err(ConfigError {
            name: "ZHUNONG_PAYMENT_WEBHOOK_SECRET",
            value: "(hidden)".into(),
            why: "no longer read: payments come through WeChat Pay (ZHUNONG_WECHATPAY_*), Alipay (ZHUNONG_ALIPAY_*) or the fake provider (ZHUNONG_FAKE_PAYMENTS=1)",
        });
    }
    Ok(p)
}
