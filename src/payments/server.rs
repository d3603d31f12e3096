//! Payments on the server: the configured providers, starting a payment, recording verified
//! notifications, and refunds. The one place that turns a provider's word into "this order is
//! paid" (`orders::server::mark_paid`) or "refunded" (`orders::server::refund_paid`).

use super::alipay::Alipay;
use super::provider::Provider;
use super::wechat::WeChatPay;
use super::{PayAction, PayPage};
use crate::auth::server::require_user;
use crate::error::{AppError, ErrorCode};
use crate::ledger::post::Evidence;
use crate::policy::{self, Action};
use crate::server::db::Db;
use crate::server::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use std::net::SocketAddr;
use std::sync::OnceLock;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

pub fn now() -> i64 {
    crate::server::db::now()
}

/// `2026-11-29T18:30:00+08:00` (WeChat Pay's times).
pub fn rfc3339(t: i64) -> String {
    let local = t + 8 * 3600;
    let s = local.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}+08:00",
        crate::domain::calendar::date_of(t),
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// `2026-11-29 18:30:00`, China time (Alipay's times).
pub fn beijing_time(t: i64) -> String {
    let s = (t + 8 * 3600).rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        crate::domain::calendar::date_of(t),
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// What a provider needs to start a payment.
pub struct StartRequest<'a> {
    pub out_trade_no: &'a str,
    pub description: &'a str,
    pub amount_fen: i64,
    pub expires_at: i64,
    pub notify_url: &'a str,
    pub return_url: &'a str,
    pub mobile: bool,
    pub client_ip: &'a str,
}

/// What a provider needs to refund a payment in full.
pub struct RefundRequest<'a> {
    pub out_trade_no: &'a str,
    pub out_refund_no: &'a str,
    pub amount_fen: i64,
    pub reason: &'a str,
    pub notify_url: &'a str,
}

/// What the buyer does next, as the provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartAction {
    QrCode(String),
    Redirect(String),
    /// Transfer to this account (none configured: the seller gives one) with this remark.
    Transfer {
        account: Option<TransferAccount>,
        remark: String,
    },
}

/// A verified notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub event_id: String,
    pub out_trade_no: String,
    pub amount_fen: i64,
    pub kind: NoticeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    Paid { transaction_id: String },
    Refunded { refund_id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error("bad signature")]
    BadSignature,
    #[error("timestamp outside the five-minute window")]
    Stale,
    #[error("malformed notification")]
    Malformed,
    #[error("an event we do not act on")]
    Ignored,
    #[error("{0}")]
    Provider(String),
}

impl From<PayError> for AppError {
    fn from(e: PayError) -> AppError {
        match e {
            PayError::BadSignature | PayError::Stale => AppError::new(ErrorCode::BadSignature),
            PayError::Malformed | PayError::Ignored => AppError::new(ErrorCode::BadRequest),
            PayError::Provider(why) => {
                tracing::error!(%why, "payment provider failed");
                AppError::new(ErrorCode::ProviderFailed)
            }
        }
    }
}

/// The account institutions transfer to (`ZHUNONG_TRANSFER_ACCOUNT`, `户名|开户行|账号`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferAccount {
    pub account_name: String,
    pub bank: String,
    pub account_no: String,
}

/// Payment configuration, checked at start (`server::config`).
#[derive(Debug, Clone, Default)]
pub struct PaymentSettings {
    /// `ZHUNONG_FAKE_PAYMENTS=1`: the local fake provider stands in for WeChat Pay and Alipay
    /// (refused in production).
    pub fake: bool,
    pub wechat: Option<WeChatPay>,
    pub alipay: Option<Alipay>,
    pub transfer: Option<TransferAccount>,
}

/// The providers this server offers, and where their notifications come back to.
pub struct Payments {
    settings: PaymentSettings,
    public_origin: Option<String>,
    local: OnceLock<String>,
    pub client: reqwest::Client,
    /// The fake provider's trades (used only when it is enabled).
    pub fake_store: super::fake::FakeStore,
}

impl Payments {
    pub fn new(settings: PaymentSettings, public_origin: Option<String>) -> Payments {
        Payments {
            settings,
            public_origin,
            local: OnceLock::new(),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            fake_store: super::fake::FakeStore::default(),
        }
    }

    /// The address the server listens on (the origin of notification addresses when
    /// `ZHUNONG_PUBLIC_ORIGIN` is unset).
    pub fn set_local_addr(&self, addr: SocketAddr) {
        let _ = self.local.set(format!("http://{addr}"));
    }

    /// Where providers send notifications and buyers come back to.
    pub fn origin(&self) -> String {
        self.public_origin
            .clone()
            .or_else(|| self.local.get().cloned())
            .unwrap_or_else(|| "http://127.0.0.1:3000".into())
    }

    pub fn fake(&self) -> bool {
        self.settings.fake
    }

    pub fn wechat(&self) -> Option<WeChatPay> {
        if self.settings.fake {
            return Some(super::fake::wechat_merchant(&self.origin()));
        }
        self.settings.wechat.clone()
    }

    pub fn alipay(&self) -> Option<Alipay> {
        if self.settings.fake {
            return Some(super::fake::alipay_app(&self.origin()));
        }
        self.settings.alipay.clone()
    }

    /// The methods offered: the providers configured, and bank transfer always.
    pub fn methods(&self) -> Vec<String> {
        let mut m = Vec::new();
        if self.settings.fake || self.settings.wechat.is_some() {
            m.push("wechat".to_owned());
        }
        if self.settings.fake || self.settings.alipay.is_some() {
            m.push("alipay".to_owned());
        }
        m.push("transfer".to_owned());
        m
    }

    fn notify_url(&self, provider: &str) -> String {
        format!("{}/api/payments/{provider}/notify", self.origin())
    }
}

fn action_for(kind: &str, url: String) -> Result<PayAction, AppError> {
    Ok(match kind {
        "qr" => PayAction::QrCode {
            svg: crate::server::qr::svg(&url, 200)?,
            open: (url.starts_with("http://") || url.starts_with("https://")).then_some(url),
        },
        _ => PayAction::Redirect { url },
    })
}

/// Whether the request came from a phone (WeChat Pay H5 and Alipay WAP pay instead of a QR
/// code or the desktop page).
fn is_mobile(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("Mobile") || ua.contains("Android") || ua.contains("iPhone"))
}

/// The pay page: the order, the methods, and for the chosen one what to do. Starting a
/// provider payment records it first (`payments`), then asks the provider; the same method
/// asked again shows the same payment.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn pay_page(order_id: i64, method: Option<&str>) -> Result<PayPage, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let facts = policy::order_facts(&state.db, &user, order_id).await?;
    policy::require(&user, Action::Pay, &facts)?;
    let order = crate::orders::server::order_view(&state.db, order_id).await?;
    let payments = &state.payments;
    let methods = payments.methods();
    let method = match method.map(str::trim).filter(|m| !m.is_empty()) {
        None => None,
        Some(m) if methods.iter().any(|x| x == m) => Some(m.to_owned()),
        Some(_) => return Err(AppError::new(ErrorCode::BadRequest).field("method")),
    };
    let t = now();
    let payable = order.status == "placed" && order.expires_at.is_none_or(|e| e > t);
    let action = match (&method, payable) {
        (Some(m), true) => Some(start(&state, &order, m, t).await?),
        _ => None,
    };
    Ok(PayPage {
        order,
        methods,
        method,
        action,
    })
}

async fn start(
    state: &AppState,
    order: &crate::orders::api::OrderView,
    method: &str,
    t: i64,
) -> Result<PayAction, AppError> {
    let remark = format!("ZN{}", order.id);
    let payments = &state.payments;
    if method == "transfer" {
        let transfer = super::transfer::Transfer {
            account: payments.settings.transfer.as_ref(),
        };
        let req = super::StartRequest {
            out_trade_no: &remark,
            description: "",
            amount_fen: order.total_fen,
            expires_at: order.expires_at.unwrap_or(t),
            notify_url: "",
            return_url: "",
            mobile: false,
            client_ip: "",
        };
        return Ok(
            match Provider::start(&transfer, &payments.client, &req).await? {
                super::StartAction::Transfer {
                    account: Some(a),
                    remark,
                } => PayAction::Transfer {
                    account_name: a.account_name,
                    bank: a.bank,
                    account_no: a.account_no,
                    remark,
                },
                _ => PayAction::TransferBySeller { remark },
            },
        );
    }
    let headers = leptos::prelude::use_context::<http::request::Parts>()
        .map(|p| p.headers)
        .unwrap_or_default();
    let mobile = is_mobile(&headers);
    let kind = if method == "wechat" && !mobile {
        "qr"
    } else {
        "redirect"
    };
    // The same method on the same kind of device shows the payment already started.
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT pay_url FROM payments WHERE order_id = $1 AND provider = $2 AND status = 'created'
            AND pay_kind = $3 AND pay_url IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(order.id)
    .bind(method)
    .bind(kind)
    .fetch_optional(&state.db.pool)
    .await?;
    if let Some(url) = existing {
        return action_for(kind, url);
    }
    let (payment_id, out_trade_no) =
        new_payment(&state.db, order.id, method, order.total_fen, kind, t).await?;
    // WeChat Pay takes at most 127 bytes of description.
    let mut description = format!("助农集市订单 ZN{}（{}）", order.id, order.seller_name);
    while description.len() > 127 {
        description.pop();
    }
    let parts = leptos::prelude::use_context::<http::request::Parts>();
    let client_ip = parts
        .as_ref()
        .and_then(|p| {
            crate::server::client::client_ip(
                crate::server::client::peer_of(&p.extensions),
                &p.headers,
                &state.settings.trusted_proxies,
            )
        })
        .map_or_else(|| "127.0.0.1".to_owned(), |ip| ip.to_string());
    let return_url = format!(
        "{}/orders/{}/pay?method={method}",
        payments.origin(),
        order.id
    );
    let notify_url = payments.notify_url(method);
    let req = super::StartRequest {
        out_trade_no: &out_trade_no,
        description: &description,
        amount_fen: order.total_fen,
        expires_at: order.expires_at.unwrap_or(t + 1800),
        notify_url: &notify_url,
        return_url: &return_url,
        mobile,
        client_ip: &client_ip,
    };
    let answer = match method {
        "wechat" => {
            let w = payments
                .wechat()
                .ok_or_else(|| AppError::new(ErrorCode::BadRequest))?;
            Provider::start(&w, &payments.client, &req).await?
        }
        _ => {
            let a = payments
                .alipay()
                .ok_or_else(|| AppError::new(ErrorCode::BadRequest))?;
            Provider::start(&a, &payments.client, &req).await?
        }
    };
    let url = match answer {
        super::StartAction::QrCode(u) | super::StartAction::Redirect(u) => u,
        super::StartAction::Transfer { .. } => {
            return Err(AppError::internal("a provider answered with a transfer"))
        }
    };
    sqlx::query("UPDATE payments SET pay_url = $1 WHERE id = $2")
        .bind(&url)
        .bind(payment_id)
        .execute(state.db.writer())
        .await?;
    tracing::info!(order_id = order.id, payment_id, method, "payment started");
    action_for(kind, url)
}

/// Records a payment about to be started with a provider; returns its id and our trade
/// number (`ZN<order>-<random>`, what the provider's notification names).
pub async fn new_payment(
    db: &Db,
    order_id: i64,
    provider: &str,
    amount_fen: i64,
    kind: &str,
    t: i64,
) -> Result<(i64, String), AppError> {
    let out_trade_no = format!("ZN{order_id}-{}", super::crypto::nonce(10));
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO payments (order_id, provider, out_trade_no, amount_fen, status, created_at, pay_kind)
         VALUES ($1, $2, $3, $4, 'created', $5, $6) RETURNING id",
    )
    .bind(order_id)
    .bind(provider)
    .bind(&out_trade_no)
    .bind(amount_fen)
    .bind(t)
    .bind(kind)
    .fetch_one(db.writer())
    .await?;
    Ok((id, out_trade_no))
}

/// The order's status, for the pay page to follow.
pub async fn payment_status(order_id: i64) -> Result<String, AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let facts = policy::order_facts(&state.db, &user, order_id).await?;
    policy::require(&user, Action::Pay, &facts)?;
    Ok(
        sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&state.db.pool)
            .await?,
    )
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    id: i64,
    order_id: i64,
    provider: String,
    out_trade_no: String,
    amount_fen: i64,
    status: String,
    transaction_id: Option<String>,
}

const PAYMENT_SELECT: &str =
    "SELECT id, order_id, provider, out_trade_no, amount_fen, status, transaction_id FROM payments";

/// What a notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The order is paid and the households' income posted.
    Paid,
    /// The order was no longer waiting for this payment: recorded, a refund resolves it.
    RefundDue,
    Refunded,
    /// Seen before (or nothing left to do): acknowledged, nothing changed.
    Duplicate,
}

/// The evidence a provider payment gives a ledger row: `wechat:<transaction id>`.
fn provider_ref(provider: &str, id: &str) -> String {
    format!("{provider}:{id}")
}

/// Records a verified notification, once per provider event, in one transaction.
/// `t` is when it arrived.
pub async fn record_notice(
    db: &Db,
    provider: &str,
    n: &Notice,
    t: i64,
) -> Result<Outcome, AppError> {
    if n.event_id.is_empty() || n.event_id.len() > 128 || n.out_trade_no.len() > 64 {
        return Err(AppError::new(ErrorCode::BadRequest));
    }
    let mut tx = db.begin_write().await?;
    let p: PaymentRow = sqlx::query_as(&format!(
        "{PAYMENT_SELECT} WHERE out_trade_no = $1 AND provider = $2"
    ))
    .bind(&n.out_trade_no)
    .bind(provider)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let seen: Option<i64> = sqlx::query_scalar(
        "SELECT payment_id FROM payment_notifications WHERE provider = $1 AND event_id = $2",
    )
    .bind(provider)
    .bind(&n.event_id)
    .fetch_optional(&mut *tx)
    .await?;
    if seen.is_some() {
        return Ok(Outcome::Duplicate);
    }
    let outcome = match &n.kind {
        NoticeKind::Paid { transaction_id } => {
            if n.amount_fen != p.amount_fen {
                tracing::error!(
                    payment_id = p.id,
                    order_id = p.order_id,
                    notified = n.amount_fen,
                    expected = p.amount_fen,
                    "payment notification: the amount is not the order's"
                );
                return Err(AppError::new(ErrorCode::InvalidAmount));
            }
            if p.status != "created" {
                return Ok(Outcome::Duplicate);
            }
            // Two events for one payment at once: the second finds it paid and changes nothing.
            let claimed = sqlx::query(
                "UPDATE payments SET status = 'paid', transaction_id = $1, paid_at = $2
                  WHERE id = $3 AND status = 'created'",
            )
            .bind(transaction_id)
            .bind(t)
            .bind(p.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                return Ok(Outcome::Duplicate);
            }
            let evidence = provider_ref(provider, transaction_id);
            if crate::orders::server::mark_paid(
                &mut tx,
                p.order_id,
                provider,
                Evidence::Provider(&evidence),
                None,
                t,
            )
            .await?
            {
                Outcome::Paid
            } else {
                // Cancelled or expired meanwhile, or paid another way: never dropped.
                crate::orders::server::set_refund_due(&mut tx, p.order_id, true, t).await?;
                tracing::warn!(
                    order_id = p.order_id,
                    payment_id = p.id,
                    "a payment arrived for an order no longer waiting for one: refund due"
                );
                Outcome::RefundDue
            }
        }
        NoticeKind::Refunded { refund_id } => {
            // Only a refund of the whole payment is one the books can follow.
            if n.amount_fen != p.amount_fen {
                tracing::error!(
                    payment_id = p.id,
                    order_id = p.order_id,
                    refunded = n.amount_fen,
                    paid = p.amount_fen,
                    "refund notification: not the whole payment; needs a person"
                );
                return Err(AppError::new(ErrorCode::InvalidAmount));
            }
            if p.status == "paid" {
                apply_refund(&mut tx, &p, refund_id, None, t).await?;
                Outcome::Refunded
            } else {
                Outcome::Duplicate
            }
        }
    };
    sqlx::query(
        "INSERT INTO payment_notifications (provider, event_id, payment_id, amount_fen, outcome, received_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(provider)
    .bind(&n.event_id)
    .bind(p.id)
    .bind(n.amount_fen)
    .bind(match outcome {
        Outcome::Paid => "paid",
        Outcome::RefundDue => "refund_due",
        _ => "refunded",
    })
    .bind(t)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        provider,
        payment_id = p.id,
        order_id = p.order_id,
        ?outcome,
        "payment notification"
    );
    Ok(outcome)
}

/// The database side of a refund the provider accepted: the payment is refunded; if it is the
/// payment that paid the order, the order is refunded (stock back, reversing rows); if it was
/// one that arrived for an order no longer waiting, the refund it was due is done.
async fn apply_refund(
    tx: &mut Tx,
    p: &PaymentRow,
    refund_id: &str,
    by: Option<i64>,
    t: i64,
) -> Result<(), AppError> {
    let r = sqlx::query(
        "UPDATE payments SET status = 'refunded', refund_id = $1, refunded_at = $2 WHERE id = $3 AND status = 'paid'",
    )
    .bind(refund_id)
    .bind(t)
    .bind(p.id)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 0 {
        return Ok(());
    }
    let (status, paid_ref): (String, Option<String>) =
        sqlx::query_as("SELECT status, paid_ref FROM orders WHERE id = $1")
            .bind(p.order_id)
            .fetch_one(&mut **tx)
            .await?;
    let this = p
        .transaction_id
        .as_deref()
        .map(|id| provider_ref(&p.provider, id));
    // The payment that paid the order: the order is refunded and its income reversed, whether
    // or not the goods had left (a refund made at the provider's console included).
    let _ = status;
    if paid_ref.is_some() && paid_ref == this {
        let evidence = provider_ref(&p.provider, refund_id);
        crate::orders::server::refund_paid(tx, p.order_id, Evidence::Provider(&evidence), by, t)
            .await?;
    } else {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM payments WHERE order_id = $1 AND status = 'paid'
                AND ($2 IS NULL OR provider || ':' || transaction_id <> $2)",
        )
        .bind(p.order_id)
        .bind(&paid_ref)
        .fetch_one(&mut **tx)
        .await?;
        if others == 0 {
            crate::orders::server::set_refund_due(tx, p.order_id, false, t).await?;
        }
    }
    Ok(())
}

/// Refunds an order: a provider payment through its provider's refund interface, then the
/// books; a bank transfer on the seller's word (the money goes back by hand); or, for an
/// order no longer waiting, the payments that arrived anyway. The caller checked the policy.
pub async fn refund(state: &AppState, order_id: i64, by: i64) -> Result<(), AppError> {
    let (status, paid_with, paid_ref, refund_due): (String, Option<String>, Option<String>, i64) =
        sqlx::query_as("SELECT status, paid_with, paid_ref, refund_due FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let paid: Vec<PaymentRow> = sqlx::query_as(&format!(
        "{PAYMENT_SELECT} WHERE order_id = $1 AND status = 'paid' ORDER BY id"
    ))
    .bind(order_id)
    .fetch_all(&state.db.pool)
    .await?;
    let t = now();
    let to_refund: Vec<PaymentRow> = if status == "paid" {
        if paid_with.as_deref() == Some("transfer") {
            let reference = paid_ref.unwrap_or_default();
            let mut tx = state.db.begin_write().await?;
            crate::orders::server::refund_paid(
                &mut tx,
                order_id,
                Evidence::Transfer(&reference),
                Some(by),
                t,
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        paid.into_iter()
            .filter(|p| {
                p.transaction_id
                    .as_deref()
                    .map(|id| provider_ref(&p.provider, id))
                    == paid_ref
            })
            .collect()
    } else if refund_due != 0 {
        // Only the payments that arrived when the order no longer waited for one: never the
        // one that paid it (that is a refund of the order, which only a paid order gets).
        paid.into_iter()
            .filter(|p| {
                p.transaction_id
                    .as_deref()
                    .map(|id| provider_ref(&p.provider, id))
                    != paid_ref
            })
            .collect()
    } else {
        Vec::new()
    };
    if to_refund.is_empty() {
        return Err(AppError::new(ErrorCode::InvalidOrderState));
    }
    for p in to_refund {
        let out_refund_no = format!("R{}", p.out_trade_no);
        let req = super::RefundRequest {
            out_trade_no: &p.out_trade_no,
            out_refund_no: &out_refund_no,
            amount_fen: p.amount_fen,
            reason: "助农集市退款",
            notify_url: &state.payments.notify_url(&p.provider),
        };
        let refund_id = match p.provider.as_str() {
            "wechat" => {
                let w = state
                    .payments
                    .wechat()
                    .ok_or_else(|| AppError::new(ErrorCode::ProviderFailed))?;
                Provider::refund(&w, &state.payments.client, &req).await?
            }
            "alipay" => {
                let a = state
                    .payments
                    .alipay()
                    .ok_or_else(|| AppError::new(ErrorCode::ProviderFailed))?;
                Provider::refund(&a, &state.payments.client, &req).await?
            }
            _ => return Err(AppError::new(ErrorCode::InvalidOrderState)),
        };
        let mut tx = state.db.begin_write().await?;
        apply_refund(&mut tx, &p, &refund_id, Some(by), t).await?;
        tx.commit().await?;
        tracing::info!(order_id, payment_id = p.id, %refund_id, "refunded through the provider");
    }
    Ok(())
}

/// The providers' notification addresses (signed, server to server: no cross-site check).
pub fn is_notify_path(path: &str) -> bool {
    matches!(
        path,
        "/api/payments/wechat/notify" | "/api/payments/alipay/notify"
    )
}

/// A provider's notification: verified by the provider, recorded once, acknowledged the way
/// the provider expects (`Provider::acknowledge`). An event we do not act on is acknowledged.
async fn notify<P: Provider>(
    state: &AppState,
    provider: Option<P>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Some(p) = provider else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let result = match p.notice(headers, body, now()) {
        Ok(n) => record_notice(&state.db, p.name(), &n, now())
            .await
            .map(|_| ()),
        Err(PayError::Ignored) => Ok(()),
        Err(e) => {
            tracing::warn!(provider = p.name(), error = %e, "payment notification refused");
            Err(e.into())
        }
    };
    p.acknowledge(result)
}

/// `POST /api/payments/wechat/notify`: 204 when recorded or seen before; 4xx with
/// `{"code":"FAIL"}` otherwise.
pub async fn wechat_notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    notify(&state, state.payments.wechat(), &headers, &body).await
}

/// `POST /api/payments/alipay/notify`: `success` when recorded or seen before; `fail` with a
/// 4xx otherwise.
pub async fn alipay_notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    notify(&state, state.payments.alipay(), &headers, &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_times_are_china_time() {
        // 2026-11-29 10:30:05 UTC.
        let t = 1_795_948_205 - 1_795_948_205 % 86_400 + 10 * 3600 + 30 * 60 + 5;
        assert!(rfc3339(t).ends_with("T18:30:05+08:00"), "{}", rfc3339(t));
        assert!(
            beijing_time(t).ends_with(" 18:30:05"),
            "{}",
            beijing_time(t)
        );
    }
}
