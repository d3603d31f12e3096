//! The payment-provider interface: how a payment starts, how a provider's notification is
//! verified, how a payment is refunded, and what the provider expects as an acknowledgement.
//! Implemented by WeChat Pay (`wechat.rs`), Alipay (`alipay.rs`) and bank transfer
//! (`transfer.rs`); the fake provider (`fake.rs`) stands on the other side of the first two.

use super::{Notice, PayError, RefundRequest, StartAction, StartRequest};
use axum::response::Response;
use http::HeaderMap;
use std::future::Future;

pub trait Provider: Send + Sync {
    /// Its name in `payments.provider` and in evidence references (`wechat:…`).
    fn name(&self) -> &'static str;

    /// Starts a payment: what the buyer does next.
    fn start(
        &self,
        client: &reqwest::Client,
        request: &StartRequest<'_>,
    ) -> impl Future<Output = Result<StartAction, PayError>> + Send;

    /// Refunds a payment in full; returns the provider's refund id.
    fn refund(
        &self,
        client: &reqwest::Client,
        request: &RefundRequest<'_>,
    ) -> impl Future<Output = Result<String, PayError>> + Send;

    /// Verifies a notification (its headers and raw body) at time `now`.
    fn notice(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<Notice, PayError>;

    /// The answer the provider expects: success, or a failure it will retry.
    fn acknowledge(&self, result: Result<(), crate::error::AppError>) -> Response;
}
