//! A local fake payment provider for tests and the demo (`ZHUNONG_FAKE_PAYMENTS=1`, refused in
//! production). It speaks the real protocols of WeChat Pay APIv3 and Alipay with test keys made
//! when the process first needs them: it checks the merchant's request signatures, answers
//! signed, shows a page with a "pay" button where a buyer would scan or log in, and then sends
//! the signed (and, for WeChat Pay, encrypted) notification to the notify address it was given,
//! exactly as the providers do. So the whole path (create → QR or redirect → notification →
//! paid → refund) runs without the internet, through the same code as production.

use super::alipay::{self, Alipay};
use super::crypto;
use super::wechat::{self, WeChatPay};
use crate::server::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use http::{HeaderMap, StatusCode};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

pub const MCHID: &str = "1900000109";
pub const APPID: &str = "wxzhunongfake0001";
pub const MERCHANT_SERIAL: &str = "FAKEMERCHANTSERIAL0001";
pub const PLATFORM_SERIAL: &str = "FAKEPLATFORMSERIAL0001";
pub const ALIPAY_APP_ID: &str = "2021000000000001";

/// The test keys: made once per process.
pub struct TestKeys {
    pub wechat_merchant: RsaPrivateKey,
    pub wechat_platform: RsaPrivateKey,
    pub alipay_app: RsaPrivateKey,
    pub alipay_platform: RsaPrivateKey,
    pub apiv3_key: [u8; 32],
}

pub fn test_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        use rand::RngCore;
        let mut rng = rand::thread_rng();
        let key = || RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key");
        let keys = TestKeys {
            wechat_merchant: key(),
            wechat_platform: key(),
            alipay_app: key(),
            alipay_platform: key(),
            apiv3_key: {
                let mut k = [0u8; 32];
                rng.fill_bytes(&mut k);
                k
            },
        };
        tracing::info!("fake payment provider: test keys made");
        keys
    })
}

/// The merchant's side of the fake WeChat Pay, at this origin.
pub fn wechat_merchant(origin: &str) -> WeChatPay {
    let k = test_keys();
    WeChatPay {
        base_url: format!("{origin}/fake-pay/wechat"),
        mchid: MCHID.into(),
        appid: APPID.into(),
        serial_no: MERCHANT_SERIAL.into(),
        merchant_key: k.wechat_merchant.clone(),
        platform_serial: PLATFORM_SERIAL.into(),
        platform_key: RsaPublicKey::from(&k.wechat_platform),
        apiv3_key: k.apiv3_key,
    }
}

/// The app's side of the fake Alipay, at this origin.
pub fn alipay_app(origin: &str) -> Alipay {
    let k = test_keys();
    Alipay {
        gateway: format!("{origin}/fake-pay/alipay/gateway.do"),
        app_id: ALIPAY_APP_ID.into(),
        app_key: k.alipay_app.clone(),
        alipay_key: RsaPublicKey::from(&k.alipay_platform),
    }
}

/// One trade the fake provider holds.
#[derive(Debug, Clone)]
struct Trade {
    provider: &'static str,
    out_trade_no: String,
    amount_fen: i64,
    description: String,
    notify_url: String,
    return_url: Option<String>,
    transaction_id: Option<String>,
}

/// The fake provider's trades (at most [`MAX_TRADES`]; the oldest go first).
#[derive(Default)]
pub struct FakeStore {
    trades: Mutex<(HashMap<String, Trade>, std::collections::VecDeque<String>)>,
}

const MAX_TRADES: usize = 10_000;

impl FakeStore {
    fn insert(&self, token: String, t: Trade) {
        let Ok(mut g) = self.trades.lock() else {
            return;
        };
        g.0.insert(token.clone(), t);
        g.1.push_back(token);
        while g.1.len() > MAX_TRADES {
            if let Some(old) = g.1.pop_front() {
                g.0.remove(&old);
            }
        }
    }
    fn get(&self, token: &str) -> Option<Trade> {
        self.trades.lock().ok()?.0.get(token).cloned()
    }
    fn by_out_trade_no(&self, provider: &str, no: &str) -> Option<Trade> {
        let g = self.trades.lock().ok()?;
        g.0.values()
            .find(|t| t.provider == provider && t.out_trade_no == no)
            .cloned()
    }
    fn set_paid(&self, token: &str, transaction_id: &str) -> Option<Trade> {
        let mut g = self.trades.lock().ok()?;
        let t = g.0.get_mut(token)?;
        if t.transaction_id.is_none() {
            t.transaction_id = Some(transaction_id.to_owned());
        }
        Some(t.clone())
    }
}

/// The fake provider's routes (mounted only when it is enabled).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/fake-pay/wechat/v3/pay/transactions/native",
            post(wechat_create),
        )
        .route(
            "/fake-pay/wechat/v3/pay/transactions/h5",
            post(wechat_create),
        )
        .route(
            "/fake-pay/wechat/v3/refund/domestic/refunds",
            post(wechat_refund),
        )
        .route("/fake-pay/wechat/pay/{token}", get(pay_page).post(pay))
        .route(
            "/fake-pay/alipay/gateway.do",
            get(alipay_page_pay).post(alipay_api),
        )
        .route("/fake-pay/alipay/pay/{token}", get(pay_page).post(pay))
}

fn fail(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}

/// Checks a WeChat Pay merchant request's `Authorization` (signature by the merchant key over
/// method, path, time, nonce and body).
fn wechat_request_ok(path: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(wechat::parse_authorization)
    else {
        return false;
    };
    let (Some(mchid), Some(nonce), Some(sig), Some(ts), Some(serial)) = (
        auth.get("mchid"),
        auth.get("nonce_str"),
        auth.get("signature"),
        auth.get("timestamp"),
        auth.get("serial_no"),
    ) else {
        return false;
    };
    let Ok(ts) = ts.parse::<i64>() else {
        return false;
    };
    if mchid != MCHID
        || serial != MERCHANT_SERIAL
        || super::now().abs_diff(ts) > wechat::CLOCK_WINDOW_SECS.unsigned_abs()
    {
        return false;
    }
    let Ok(body) = std::str::from_utf8(body) else {
        return false;
    };
    let message = wechat::request_message("POST", path, ts, nonce, body);
    crypto::verify(
        &RsaPublicKey::from(&test_keys().wechat_merchant),
        message.as_bytes(),
        sig,
    )
}

/// Headers WeChat Pay signs its answers and notifications with.
pub fn wechat_signed_headers(body: &[u8], ts: i64) -> Vec<(&'static str, String)> {
    let nonce = crypto::nonce(32);
    let ts = ts.to_string();
    let sig = crypto::sign(
        &test_keys().wechat_platform,
        &wechat::response_message(&ts, &nonce, body),
    );
    vec![
        ("Wechatpay-Timestamp", ts),
        ("Wechatpay-Nonce", nonce),
        ("Wechatpay-Signature", sig),
        ("Wechatpay-Serial", PLATFORM_SERIAL.to_owned()),
    ]
}

fn wechat_answer(v: serde_json::Value) -> Response {
    let body = v.to_string();
    let mut res = (StatusCode::OK, body.clone()).into_response();
    for (k, v) in wechat_signed_headers(body.as_bytes(), super::now()) {
        if let Ok(v) = http::HeaderValue::from_str(&v) {
            res.headers_mut().insert(k, v);
        }
    }
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

async fn wechat_create(
    State(state): State<AppState>,
    uri: http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let path = uri.path().trim_start_matches("/fake-pay/wechat");
    if !wechat_request_ok(path, &headers, &body) {
        return fail(StatusCode::UNAUTHORIZED, "SIGN_ERROR", "签名错误");
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return fail(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数错误");
    };
    let (Some(no), Some(total), Some(notify), Some(desc)) = (
        v["out_trade_no"].as_str(),
        v["amount"]["total"].as_i64(),
        v["notify_url"].as_str(),
        v["description"].as_str(),
    ) else {
        return fail(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数错误");
    };
    if v["mchid"] != MCHID || v["appid"] != APPID || total <= 0 {
        return fail(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数错误");
    }
    let token = crypto::nonce(24);
    state.payments.fake_store.insert(
        token.clone(),
        Trade {
            provider: "wechat",
            out_trade_no: no.to_owned(),
            amount_fen: total,
            description: desc.to_owned(),
            notify_url: notify.to_owned(),
            return_url: None,
            transaction_id: None,
        },
    );
    let url = format!("{}/fake-pay/wechat/pay/{token}", state.payments.origin());
    if path.ends_with("/h5") {
        wechat_answer(json!({ "h5_url": url }))
    } else {
        wechat_answer(json!({ "code_url": url }))
    }
}

async fn wechat_refund(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !wechat_request_ok("/v3/refund/domestic/refunds", &headers, &body) {
        return fail(StatusCode::UNAUTHORIZED, "SIGN_ERROR", "签名错误");
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return fail(StatusCode::BAD_REQUEST, "PARAM_ERROR", "参数错误");
    };
    let no = v["out_trade_no"].as_str().unwrap_or_default();
    let Some(trade) = state.payments.fake_store.by_out_trade_no("wechat", no) else {
        return fail(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "订单不存在");
    };
    let Some(txid) = trade.transaction_id.clone() else {
        return fail(StatusCode::BAD_REQUEST, "TRADE_NOT_PAID", "订单未支付");
    };
    if v["amount"]["refund"].as_i64() != Some(trade.amount_fen) {
        return fail(StatusCode::BAD_REQUEST, "PARAM_ERROR", "退款金额错误");
    }
    // Fake ids say so: a ledger row paid through the fake provider never looks like real money.
    let refund_id = format!("FAKE5030{}", crypto::nonce(20));
    let resource = json!({
        "mchid": MCHID,
        "out_trade_no": no,
        "transaction_id": txid,
        "out_refund_no": v["out_refund_no"],
        "refund_id": refund_id,
        "refund_status": "SUCCESS",
        "amount": { "total": trade.amount_fen, "refund": trade.amount_fen,
                    "payer_total": trade.amount_fen, "payer_refund": trade.amount_fen },
    });
    // The refund notification follows, as WeChat Pay sends it (recorded as already done).
    let notify = v["notify_url"]
        .as_str()
        .unwrap_or(&trade.notify_url)
        .to_owned();
    let client = state.payments.client.clone();
    tokio::spawn(async move {
        let (body, headers) = wechat_notification("REFUND.SUCCESS", "refund", &resource);
        send(&client, &notify, body, headers, "application/json").await;
    });
    wechat_answer(json!({
        "refund_id": refund_id,
        "out_refund_no": v["out_refund_no"],
        "transaction_id": txid,
        "out_trade_no": no,
        "status": "SUCCESS",
        "amount": { "total": trade.amount_fen, "refund": trade.amount_fen, "currency": "CNY" },
    }))
}

/// A WeChat Pay notification: the resource encrypted with the APIv3 key, the whole body
/// signed by the platform key. Returns the body and its headers.
pub fn wechat_notification(
    event_type: &str,
    original_type: &str,
    resource: &serde_json::Value,
) -> (String, Vec<(&'static str, String)>) {
    let nonce = crypto::nonce(12);
    let aad = original_type.to_owned();
    let ciphertext = wechat::encrypt_resource(
        &test_keys().apiv3_key,
        &nonce,
        &aad,
        resource.to_string().as_bytes(),
    );
    let body = json!({
        "id": uuid_like(),
        "create_time": super::rfc3339(super::now()),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": aad,
            "nonce": nonce,
        },
    })
    .to_string();
    let headers = wechat_signed_headers(body.as_bytes(), super::now());
    (body, headers)
}

fn uuid_like() -> String {
    let n = crypto::nonce(32).to_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &n[..8],
        &n[8..12],
        &n[12..16],
        &n[16..20],
        &n[20..32]
    )
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    body: String,
    headers: Vec<(&'static str, String)>,
    content_type: &'static str,
) -> Option<u16> {
    let mut req = client
        .post(url)
        .header("Content-Type", content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    match req.send().await {
        Ok(r) => Some(r.status().as_u16()),
        Err(e) => {
            tracing::warn!(error = %e, url, "fake provider: notification not delivered");
            None
        }
    }
}

fn page(trade: &Trade, token: &str, css: &str) -> Html<String> {
    let (name, lang_name) = match trade.provider {
        "wechat" => ("微信支付", "WeChat Pay"),
        _ => ("支付宝", "Alipay"),
    };
    let amount = crate::domain::money::Fen::new(trade.amount_fen).plain_yuan();
    let done = trade.transaction_id.is_some();
    Html(format!(
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>模拟{name} · 测试用</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="{css}"></head><body><main class="container fake-pay"><h1>模拟{name}（{lang_name}, test only）</h1><p>这是本地的模拟支付页，只用于测试和演示，不会扣任何钱。</p><dl><dt>商品</dt><dd>{desc}</dd><dt>金额</dt><dd><strong>¥{amount}</strong></dd></dl>{action}</main></body></html>"#,
        desc = crate::ui::escape_text(&trade.description),
        css = crate::ui::escape_text(css),
        action = if done {
            "<p>已支付。</p>".to_owned()
        } else {
            format!(
                r#"<form method="post" action="/fake-pay/{}/pay/{}"><button class="button primary" type="submit" data-testid="fake-pay">确认支付 ¥{amount}</button></form>"#,
                trade.provider,
                crate::ui::escape_text(token)
            )
        },
    ))
}

async fn pay_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.payments.fake_store.get(&token) {
        Some(t) => page(
            &t,
            &token,
            &crate::server::stylesheet_href(&state.leptos_options),
        )
        .into_response(),
        None => (StatusCode::NOT_FOUND, "no such trade").into_response(),
    }
}

/// The buyer pressed "pay": the trade is paid, the notification sent (and awaited, so the
/// page the buyer returns to already shows it), then back to the shop.
async fn pay(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let txid = format!("FAKE4200{}", crypto::nonce(20));
    let Some(trade) = state.payments.fake_store.set_paid(&token, &txid) else {
        return (StatusCode::NOT_FOUND, "no such trade").into_response();
    };
    let txid = trade.transaction_id.clone().unwrap_or(txid);
    let client = &state.payments.client;
    let status = match trade.provider {
        "wechat" => {
            let resource = json!({
                "mchid": MCHID,
                "appid": APPID,
                "out_trade_no": trade.out_trade_no,
                "transaction_id": txid,
                "trade_type": "NATIVE",
                "trade_state": "SUCCESS",
                "trade_state_desc": "支付成功",
                "success_time": super::rfc3339(super::now()),
                "payer": { "openid": "fake-openid" },
                "amount": { "total": trade.amount_fen, "payer_total": trade.amount_fen,
                            "currency": "CNY", "payer_currency": "CNY" },
            });
            let (body, headers) =
                wechat_notification("TRANSACTION.SUCCESS", "transaction", &resource);
            send(client, &trade.notify_url, body, headers, "application/json").await
        }
        _ => {
            let mut p = BTreeMap::new();
            for (k, v) in [
                ("notify_time", super::beijing_time(super::now())),
                ("notify_type", "trade_status_sync".to_owned()),
                ("notify_id", crypto::nonce(32)),
                ("app_id", ALIPAY_APP_ID.to_owned()),
                ("charset", "utf-8".to_owned()),
                ("version", "1.0".to_owned()),
                ("sign_type", "RSA2".to_owned()),
                ("trade_no", txid.clone()),
                ("out_trade_no", trade.out_trade_no.clone()),
                ("trade_status", "TRADE_SUCCESS".to_owned()),
                ("total_amount", alipay::yuan_text(trade.amount_fen)),
                ("receipt_amount", alipay::yuan_text(trade.amount_fen)),
                ("subject", trade.description.clone()),
            ] {
                p.insert(k.to_owned(), v);
            }
            Alipay::sign_as_alipay(&test_keys().alipay_platform, &mut p);
            let body = serde_urlencoded::to_string(&p).unwrap_or_default();
            send(
                client,
                &trade.notify_url,
                body,
                Vec::new(),
                "application/x-www-form-urlencoded",
            )
            .await
        }
    };
    tracing::info!(
        provider = trade.provider,
        ?status,
        "fake provider: paid, notification sent"
    );
    let back = trade
        .return_url
        .clone()
        .unwrap_or_else(|| format!("{}/orders", state.payments.origin()));
    Redirect::to(&back).into_response()
}

fn alipay_params_ok(p: &BTreeMap<String, String>) -> bool {
    p.get("app_id").map(String::as_str) == Some(ALIPAY_APP_ID)
        && p.get("sign_type").map(String::as_str) == Some("RSA2")
        && p.get("sign").is_some_and(|sig| {
            crypto::verify(
                &RsaPublicKey::from(&test_keys().alipay_app),
                alipay::signing_text(p, true).as_bytes(),
                sig,
            )
        })
}

/// `GET gateway.do?method=alipay.trade.page.pay|wap.pay&…`: the cashier page.
async fn alipay_page_pay(
    State(state): State<AppState>,
    Query(p): Query<BTreeMap<String, String>>,
) -> Response {
    if !alipay_params_ok(&p) {
        return (StatusCode::BAD_REQUEST, "invalid-signature").into_response();
    }
    if !matches!(
        p.get("method").map(String::as_str),
        Some("alipay.trade.page.pay" | "alipay.trade.wap.pay")
    ) {
        return (StatusCode::BAD_REQUEST, "invalid-method").into_response();
    }
    let Some(biz) = p
        .get("biz_content")
        .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
    else {
        return (StatusCode::BAD_REQUEST, "invalid-biz_content").into_response();
    };
    let amount = biz["total_amount"]
        .as_str()
        .and_then(|a| crate::domain::money::Fen::parse_yuan(a).ok());
    let (Some(no), Some(amount), Some(notify)) =
        (biz["out_trade_no"].as_str(), amount, p.get("notify_url"))
    else {
        return (StatusCode::BAD_REQUEST, "missing-parameter").into_response();
    };
    // A page reloaded shows the same trade.
    let token = match state.payments.fake_store.by_out_trade_no("alipay", no) {
        Some(_) => {
            let g = state.payments.fake_store.trades.lock();
            g.ok()
                .and_then(|g| {
                    g.0.iter()
                        .find(|(_, t)| t.provider == "alipay" && t.out_trade_no == no)
                        .map(|(k, _)| k.clone())
                })
                .unwrap_or_default()
        }
        None => {
            let token = crypto::nonce(24);
            state.payments.fake_store.insert(
                token.clone(),
                Trade {
                    provider: "alipay",
                    out_trade_no: no.to_owned(),
                    amount_fen: amount.fen(),
                    description: biz["subject"].as_str().unwrap_or_default().to_owned(),
                    notify_url: notify.clone(),
                    return_url: p.get("return_url").cloned(),
                    transaction_id: None,
                },
            );
            token
        }
    };
    match state.payments.fake_store.get(&token) {
        Some(t) => page(
            &t,
            &token,
            &crate::server::stylesheet_href(&state.leptos_options),
        )
        .into_response(),
        None => (StatusCode::NOT_FOUND, "no such trade").into_response(),
    }
}

/// `POST gateway.do` with `method=alipay.trade.refund`: refunds a paid trade; the answer is
/// signed over the exact text of `alipay_trade_refund_response`.
async fn alipay_api(
    State(state): State<AppState>,
    axum::Form(p): axum::Form<BTreeMap<String, String>>,
) -> Response {
    let answer = |inner: serde_json::Value| {
        let inner = inner.to_string();
        let sig = crypto::sign(&test_keys().alipay_platform, inner.as_bytes());
        let body = format!(
            "{{\"alipay_trade_refund_response\":{inner},\"sign\":{}}}",
            serde_json::Value::String(sig)
        );
        (
            StatusCode::OK,
            [(http::header::CONTENT_TYPE, "application/json;charset=utf-8")],
            body,
        )
            .into_response()
    };
    if !alipay_params_ok(&p) {
        return answer(
            json!({ "code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature" }),
        );
    }
    if p.get("method").map(String::as_str) != Some("alipay.trade.refund") {
        return answer(
            json!({ "code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-method" }),
        );
    }
    let biz: serde_json::Value = p
        .get("biz_content")
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_default();
    let no = biz["out_trade_no"].as_str().unwrap_or_default();
    let trade = state.payments.fake_store.by_out_trade_no("alipay", no);
    match trade {
        Some(Trade {
            transaction_id: Some(txid),
            amount_fen,
            ..
        }) if biz["refund_amount"].as_str() == Some(&alipay::yuan_text(amount_fen)) => {
            answer(json!({
                "code": "10000", "msg": "Success", "trade_no": txid, "out_trade_no": no,
                "refund_fee": alipay::yuan_text(amount_fen), "fund_change": "Y",
            }))
        }
        _ => answer(
            json!({ "code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在" }),
        ),
    }
}
