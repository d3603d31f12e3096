//! Alipay (支付宝), as the merchant: page pay (desktop) and WAP pay (phone), refunds, and
//! asynchronous notifications, by Alipay's open-platform protocol:
//! - a request is a set of parameters (`app_id`, `method`, `charset`, `sign_type=RSA2`,
//!   `timestamp`, `version`, `biz_content`, …) signed with SHA256withRSA by the app's key over
//!   the parameters sorted by name and joined as `k=v&k=v` (empty values and `sign` left out);
//! - a notification is a form POST signed by Alipay's key the same way (`sign` and
//!   `sign_type` left out); it is acknowledged with the body `success`;
//! - a refund (`alipay.trade.refund`) answers JSON whose `sign` covers the exact text of its
//!   `alipay_trade_refund_response` member.

use super::crypto;
use super::{Notice, NoticeKind, PayError, StartAction};
use crate::domain::money::Fen;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::json;
use std::collections::BTreeMap;

/// An app's Alipay configuration.
#[derive(Clone)]
pub struct Alipay {
    /// The gateway, `https://openapi.alipay.com/gateway.do`.
    pub gateway: String,
    pub app_id: String,
    pub app_key: RsaPrivateKey,
    /// Alipay's public key ("支付宝公钥").
    pub alipay_key: RsaPublicKey,
}

impl std::fmt::Debug for Alipay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alipay")
            .field("gateway", &self.gateway)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// The text a signature covers: parameters sorted by name, `k=v` joined by `&`, without
/// `sign`, `sign_type` (for notifications; `with_sign_type` keeps it, as requests do) and
/// empty values.
pub fn signing_text(params: &BTreeMap<String, String>, with_sign_type: bool) -> String {
    params
        .iter()
        .filter(|(k, v)| {
            !v.is_empty() && k.as_str() != "sign" && (with_sign_type || k.as_str() != "sign_type")
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `12.34` from 1234 fen, as Alipay writes amounts.
pub fn yuan_text(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

impl super::provider::Provider for Alipay {
    fn name(&self) -> &'static str {
        "alipay"
    }

    async fn start(
        &self,
        _client: &reqwest::Client,
        request: &super::StartRequest<'_>,
    ) -> Result<StartAction, PayError> {
        Alipay::start(self, request)
    }

    async fn refund(
        &self,
        client: &reqwest::Client,
        request: &super::RefundRequest<'_>,
    ) -> Result<String, PayError> {
        Alipay::refund(self, client, request).await
    }

    fn notice(
        &self,
        _headers: &http::HeaderMap,
        body: &[u8],
        _now: i64,
    ) -> Result<Notice, PayError> {
        Alipay::notice(self, body)
    }

    /// Success is the body `success`; anything else (`fail`) is retried by Alipay.
    fn acknowledge(&self, result: Result<(), crate::error::AppError>) -> axum::response::Response {
        use axum::response::IntoResponse;
        match result {
            Ok(()) => (http::StatusCode::OK, "success").into_response(),
            Err(e) => (
                http::StatusCode::from_u16(e.code.status())
                    .unwrap_or(http::StatusCode::BAD_REQUEST),
                "fail",
            )
                .into_response(),
        }
    }
}

impl Alipay {
    fn params(&self, method: &str, biz: serde_json::Value, t: i64) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("app_id", self.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ] {
            p.insert(k.to_owned(), v.to_owned());
        }
        p.insert("timestamp".into(), super::beijing_time(t));
        p.insert("biz_content".into(), biz.to_string());
        p
    }

    fn sign(&self, p: &mut BTreeMap<String, String>) {
        let sig = crypto::sign(&self.app_key, signing_text(p, true).as_bytes());
        p.insert("sign".into(), sig);
    }

    /// The signed gateway address the buyer's browser is sent to.
    pub fn start(&self, r: &super::StartRequest<'_>) -> Result<StartAction, PayError> {
        let (method, product) = if r.mobile {
            ("alipay.trade.wap.pay", "QUICK_WAP_WAY")
        } else {
            ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")
        };
        let biz = json!({
            "out_trade_no": r.out_trade_no,
            "total_amount": yuan_text(r.amount_fen),
            "subject": r.description,
            "product_code": product,
            "time_expire": super::beijing_time(r.expires_at),
        });
        let mut p = self.params(method, biz, super::now());
        p.insert("notify_url".into(), r.notify_url.to_owned());
        p.insert("return_url".into(), r.return_url.to_owned());
        self.sign(&mut p);
        let query =
            serde_urlencoded::to_string(&p).map_err(|e| PayError::Provider(e.to_string()))?;
        Ok(StartAction::Redirect(format!("{}?{query}", self.gateway)))
    }

    /// Refunds the whole payment; returns Alipay's trade number as the refund's evidence.
    pub async fn refund(
        &self,
        client: &reqwest::Client,
        r: &super::RefundRequest<'_>,
    ) -> Result<String, PayError> {
        let biz = json!({
            "out_trade_no": r.out_trade_no,
            "refund_amount": yuan_text(r.amount_fen),
            "out_request_no": r.out_refund_no,
            "refund_reason": r.reason,
        });
        let mut p = self.params("alipay.trade.refund", biz, super::now());
        self.sign(&mut p);
        let res = client
            .post(&self.gateway)
            .form(&p)
            .send()
            .await
            .map_err(|e| PayError::Provider(format!("Alipay unreachable: {e}")))?;
        let text = res
            .text()
            .await
            .map_err(|e| PayError::Provider(format!("Alipay answer: {e}")))?;
        #[derive(serde::Deserialize)]
        struct Answer<'a> {
            #[serde(borrow)]
            alipay_trade_refund_response: &'a serde_json::value::RawValue,
            sign: String,
        }
        let a: Answer = serde_json::from_str(&text)
            .map_err(|e| PayError::Provider(format!("Alipay answer is not JSON: {e}")))?;
        let raw = a.alipay_trade_refund_response.get();
        if !crypto::verify(&self.alipay_key, raw.as_bytes(), &a.sign) {
            return Err(PayError::BadSignature);
        }
        let v: serde_json::Value = serde_json::from_str(raw).map_err(|_| PayError::Malformed)?;
        if v["code"] != "10000" {
            return Err(PayError::Provider(format!(
                "Alipay refused the refund: {} {}",
                v["code"], v["sub_msg"]
            )));
        }
        Ok(format!(
            "{}:{}",
            v["trade_no"].as_str().unwrap_or(""),
            r.out_refund_no
        ))
    }

    /// Verifies a notification (the form fields of its body).
    pub fn notice(&self, body: &[u8]) -> Result<Notice, PayError> {
        let params: BTreeMap<String, String> =
            serde_urlencoded::from_bytes(body).map_err(|_| PayError::Malformed)?;
        let sig = params.get("sign").ok_or(PayError::BadSignature)?;
        if params.get("sign_type").map(String::as_str) != Some("RSA2")
            || !crypto::verify(
                &self.alipay_key,
                signing_text(&params, false).as_bytes(),
                sig,
            )
        {
            return Err(PayError::BadSignature);
        }
        let get = |k: &str| params.get(k).cloned().ok_or(PayError::Malformed);
        if get("app_id")? != self.app_id {
            return Err(PayError::Malformed);
        }
        match get("trade_status")?.as_str() {
            "TRADE_SUCCESS" | "TRADE_FINISHED" => {}
            _ => return Err(PayError::Ignored),
        }
        let amount = Fen::parse_yuan(&get("total_amount")?).map_err(|_| PayError::Malformed)?;
        Ok(Notice {
            event_id: get("notify_id")?,
            out_trade_no: get("out_trade_no")?,
            amount_fen: amount.fen(),
            kind: NoticeKind::Paid {
                transaction_id: get("trade_no")?,
            },
        })
    }

    /// Signs a parameter set as Alipay does (the fake provider's notifications).
    pub fn sign_as_alipay(key: &RsaPrivateKey, p: &mut BTreeMap<String, String>) {
        let sig = crypto::sign(key, signing_text(p, false).as_bytes());
        p.insert("sign".into(), sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_text_sorts_and_leaves_out_sign_and_empties() {
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("b", "2"),
            ("a", "1"),
            ("sign", "x"),
            ("sign_type", "RSA2"),
            ("c", ""),
        ] {
            p.insert(k.to_owned(), v.to_owned());
        }
        assert_eq!(signing_text(&p, false), "a=1&b=2");
        assert_eq!(signing_text(&p, true), "a=1&b=2&sign_type=RSA2");
        assert_eq!(yuan_text(1234), "12.34");
        assert_eq!(yuan_text(5), "0.05");
    }
}
