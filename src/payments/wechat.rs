//! WeChat Pay APIv3 (微信支付), as the merchant: Native (a QR code for desktop) and H5 (a
//! redirect for a phone's browser) payments, refunds, and notifications.
//!
//! The protocol, as WeChat Pay publishes it:
//! - every request carries `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,
//!   signature=…,timestamp=…,serial_no=…`, the signature being SHA256withRSA by the merchant's
//!   key over `METHOD\nPATH\nTIMESTAMP\nNONCE\nBODY\n`;
//! - every answer and notification is signed by the platform's key over
//!   `TIMESTAMP\nNONCE\nBODY\n` (headers `Wechatpay-Timestamp`, `-Nonce`, `-Signature`,
//!   `-Serial`); we refuse one whose time is more than five minutes off;
//! - a notification's `resource` is AES-256-GCM encrypted with the APIv3 key (nonce and
//!   associated data beside it); success is acknowledged with 200 and no body, anything
//!   else makes WeChat Pay send it again.

use super::crypto;
use super::{Notice, NoticeKind, PayError, StartAction};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use http::HeaderMap;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Deserialize;
use serde_json::json;

/// How far a signed timestamp may be from our clock.
pub const CLOCK_WINDOW_SECS: i64 = 300;

/// A merchant's WeChat Pay configuration.
#[derive(Clone)]
pub struct WeChatPay {
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    /// The serial number of the merchant's API certificate.
    pub serial_no: String,
    pub merchant_key: RsaPrivateKey,
    /// The platform's public key (WeChat Pay's "平台公钥"), and its id.
    pub platform_serial: String,
    pub platform_key: RsaPublicKey,
    pub apiv3_key: [u8; 32],
}

impl std::fmt::Debug for WeChatPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatPay")
            .field("base_url", &self.base_url)
            .field("mchid", &self.mchid)
            .finish_non_exhaustive()
    }
}

/// The message a request's signature covers.
pub fn request_message(
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The message an answer's or notification's signature covers.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!("{timestamp}\n{nonce}\n").into_bytes();
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// Parses an `Authorization` header's fields (the fake provider checks requests with it).
pub fn parse_authorization(header: &str) -> Option<std::collections::HashMap<String, String>> {
    let rest = header.strip_prefix("WECHATPAY2-SHA256-RSA2048 ")?;
    let mut map = std::collections::HashMap::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        map.insert(k.to_owned(), v.trim_matches('"').to_owned());
    }
    Some(map)
}

/// Encrypts a notification resource (what WeChat Pay does; the fake provider uses it).
pub fn encrypt_resource(key: &[u8; 32], nonce: &str, aad: &str, plain: &[u8]) -> String {
    let cipher = Aes256Gcm::new(key.into());
    let ct = cipher
        .encrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .unwrap_or_default();
    B64.encode(ct)
}

/// Decrypts a notification resource; None if it does not authenticate.
pub fn decrypt_resource(
    key: &[u8; 32],
    nonce: &str,
    aad: &str,
    ciphertext_b64: &str,
) -> Option<Vec<u8>> {
    if nonce.len() != 12 {
        return None;
    }
    let ct = B64.decode(ciphertext_b64).ok()?;
    Aes256Gcm::new(key.into())
        .decrypt(
            Nonce::from_slice(nonce.as_bytes()),
            Payload {
                msg: &ct,
                aad: aad.as_bytes(),
            },
        )
        .ok()
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    event_type: String,
    resource: Resource,
}

#[derive(Deserialize)]
struct Resource {
    algorithm: String,
    ciphertext: String,
    #[serde(default)]
    associated_data: String,
    nonce: String,
}

#[derive(Deserialize)]
struct Transaction {
    mchid: String,
    appid: String,
    out_trade_no: String,
    transaction_id: String,
    trade_state: String,
    amount: Amount,
}

#[derive(Deserialize)]
struct Amount {
    total: i64,
}

#[derive(Deserialize)]
struct RefundResource {
    mchid: String,
    out_trade_no: String,
    refund_id: String,
    refund_status: String,
    amount: RefundAmount,
}

#[derive(Deserialize)]
struct RefundAmount {
    refund: i64,
}

impl super::provider::Provider for WeChatPay {
    fn name(&self) -> &'static str {
        "wechat"
    }

    async fn start(
        &self,
        client: &reqwest::Client,
        request: &super::StartRequest<'_>,
    ) -> Result<StartAction, PayError> {
        WeChatPay::start(self, client, request).await
    }

    async fn refund(
        &self,
        client: &reqwest::Client,
        request: &super::RefundRequest<'_>,
    ) -> Result<String, PayError> {
        WeChatPay::refund(self, client, request).await
    }

    fn notice(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Notice, PayError> {
        WeChatPay::notice(self, headers, body, now)
    }

    /// Success is 204 with no body; anything else is retried by WeChat Pay.
    fn acknowledge(&self, result: Result<(), crate::error::AppError>) -> axum::response::Response {
        use axum::response::IntoResponse;
        match result {
            Ok(()) => http::StatusCode::NO_CONTENT.into_response(),
            Err(e) => (
                http::StatusCode::from_u16(e.code.status())
                    .unwrap_or(http::StatusCode::BAD_REQUEST),
                axum::Json(json!({ "code": "FAIL", "message": e.code.as_str() })),
            )
                .into_response(),
        }
    }
}

impl WeChatPay {
    fn authorization(&self, method: &str, path: &str, body: &str, timestamp: i64) -> String {
        let nonce = crypto::nonce(32);
        let sig = crypto::sign(
            &self.merchant_key,
            request_message(method, path, timestamp, &nonce, body).as_bytes(),
        );
        format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{sig}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
            self.mchid, self.serial_no
        )
    }

    /// Checks the platform's signature on an answer or a notification, and its time.
    pub fn verify_signed(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<(), PayError> {
        let h = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or(PayError::BadSignature)
        };
        let (ts, nonce, sig, serial) = (
            h("wechatpay-timestamp")?,
            h("wechatpay-nonce")?,
            h("wechatpay-signature")?,
            h("wechatpay-serial")?,
        );
        if serial != self.platform_serial {
            return Err(PayError::BadSignature);
        }
        let t: i64 = ts.parse().map_err(|_| PayError::BadSignature)?;
        if now.abs_diff(t) > CLOCK_WINDOW_SECS.unsigned_abs() {
            return Err(PayError::Stale);
        }
        if !crypto::verify(
            &self.platform_key,
            &response_message(&ts, &nonce, body),
            &sig,
        ) {
            return Err(PayError::BadSignature);
        }
        Ok(())
    }

    /// Sends a signed request and checks the signed answer; returns its JSON.
    async fn call(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: &serde_json::Value,
        now: i64,
    ) -> Result<serde_json::Value, PayError> {
        let body = body.to_string();
        let res = client
            .post(format!("{}{path}", self.base_url))
            .header(
                "Authorization",
                self.authorization("POST", path, &body, now),
            )
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| PayError::Provider(format!("WeChat Pay unreachable: {e}")))?;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| PayError::Provider(format!("WeChat Pay answer: {e}")))?;
        if !status.is_success() {
            return Err(PayError::Provider(format!(
                "WeChat Pay answered {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            )));
        }
        self.verify_signed(&headers, &bytes, super::now())?;
        serde_json::from_slice(&bytes)
            .map_err(|e| PayError::Provider(format!("WeChat Pay answer is not JSON: {e}")))
    }

    /// Places the order with WeChat Pay: a `code_url` to show as a QR code (desktop) or an
    /// `h5_url` to send the phone's browser to.
    pub async fn start(
        &self,
        client: &reqwest::Client,
        p: &super::StartRequest<'_>,
    ) -> Result<StartAction, PayError> {
        let expire = super::rfc3339(p.expires_at);
        let mut body = json!({
            "appid": self.appid,
            "mchid": self.mchid,
            "description": p.description,
            "out_trade_no": p.out_trade_no,
            "time_expire": expire,
            "notify_url": p.notify_url,
            "amount": { "total": p.amount_fen, "currency": "CNY" },
        });
        if p.mobile {
            body["scene_info"] = json!({
                "payer_client_ip": p.client_ip,
                "h5_info": { "type": "Wap" },
            });
            let v = self
                .call(client, "/v3/pay/transactions/h5", &body, super::now())
                .await?;
            let url = v["h5_url"]
                .as_str()
                .ok_or_else(|| PayError::Provider("no h5_url".into()))?;
            Ok(StartAction::Redirect(url.to_owned()))
        } else {
            let v = self
                .call(client, "/v3/pay/transactions/native", &body, super::now())
                .await?;
            let url = v["code_url"]
                .as_str()
                .ok_or_else(|| PayError::Provider("no code_url".into()))?;
            Ok(StartAction::QrCode(url.to_owned()))
        }
    }

    /// Asks for a refund of the whole payment; returns WeChat Pay's refund id.
    pub async fn refund(
        &self,
        client: &reqwest::Client,
        r: &super::RefundRequest<'_>,
    ) -> Result<String, PayError> {
        let body = json!({
            "out_trade_no": r.out_trade_no,
            "out_refund_no": r.out_refund_no,
            "reason": r.reason,
            "notify_url": r.notify_url,
            "amount": { "refund": r.amount_fen, "total": r.amount_fen, "currency": "CNY" },
        });
        let v = self
            .call(client, "/v3/refund/domestic/refunds", &body, super::now())
            .await?;
        match v["status"].as_str() {
            Some("SUCCESS" | "PROCESSING") => v["refund_id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| PayError::Provider("no refund_id".into())),
            other => Err(PayError::Provider(format!("refund status {other:?}"))),
        }
    }

    /// Verifies and decrypts a notification.
    pub fn notice(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Notice, PayError> {
        self.verify_signed(headers, body, now)?;
        let env: Envelope = serde_json::from_slice(body).map_err(|_| PayError::Malformed)?;
        if env.resource.algorithm != "AEAD_AES_256_GCM" {
            return Err(PayError::Malformed);
        }
        let plain = decrypt_resource(
            &self.apiv3_key,
            &env.resource.nonce,
            &env.resource.associated_data,
            &env.resource.ciphertext,
        )
        .ok_or(PayError::BadSignature)?;
        match env.event_type.as_str() {
            "TRANSACTION.SUCCESS" => {
                let t: Transaction =
                    serde_json::from_slice(&plain).map_err(|_| PayError::Malformed)?;
                if t.mchid != self.mchid || t.appid != self.appid || t.trade_state != "SUCCESS" {
                    return Err(PayError::Malformed);
                }
                Ok(Notice {
                    event_id: env.id,
                    out_trade_no: t.out_trade_no,
                    amount_fen: t.amount.total,
                    kind: NoticeKind::Paid {
                        transaction_id: t.transaction_id,
                    },
                })
            }
            "REFUND.SUCCESS" => {
                let r: RefundResource =
                    serde_json::from_slice(&plain).map_err(|_| PayError::Malformed)?;
                if r.mchid != self.mchid || r.refund_status != "SUCCESS" {
                    return Err(PayError::Malformed);
                }
                Ok(Notice {
                    event_id: env.id,
                    out_trade_no: r.out_trade_no,
                    amount_fen: r.amount.refund,
                    kind: NoticeKind::Refunded {
                        refund_id: r.refund_id,
                    },
                })
            }
            _ => Err(PayError::Ignored),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_decrypt_only_with_the_key_and_their_data() {
        let key = [7u8; 32];
        let ct = encrypt_resource(&key, "0123456789ab", "transaction", b"{\"a\":1}");
        assert_eq!(
            decrypt_resource(&key, "0123456789ab", "transaction", &ct).as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert_eq!(
            decrypt_resource(&[8u8; 32], "0123456789ab", "transaction", &ct),
            None
        );
        assert_eq!(decrypt_resource(&key, "0123456789ab", "refund", &ct), None);
        assert_eq!(decrypt_resource(&key, "short", "transaction", &ct), None);
    }

    #[test]
    fn authorization_headers_parse() {
        let m = parse_authorization(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1900\",nonce_str=\"n\",signature=\"s==\",timestamp=\"1\",serial_no=\"ab\"",
        )
        .unwrap();
        assert_eq!(m["mchid"], "1900");
        assert_eq!(m["signature"], "s==");
        assert!(parse_authorization("Bearer x").is_none());
    }
}
