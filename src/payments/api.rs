//! Payment server functions: the pay page of an order and its status.

use super::PayPage;
use crate::error::AppError;
use leptos::prelude::*;

/// The pay page of an order: the methods offered and, for `method` (`wechat`, `alipay`,
/// `transfer`), what to do: a QR code, a link to the provider, or the account and remark to
/// transfer with. Starting a provider payment is recorded first; asking again shows the same
/// payment. The buyer only; nothing to pay once the order is paid, cancelled or expired.
#[server(prefix = "/api", endpoint = "payments/start", output = crate::codec::Json)]
pub async fn start_payment(order_id: i64, method: Option<String>) -> Result<PayPage, AppError> {
    crate::payments::server::pay_page(order_id, method.as_deref()).await
}

/// The order's status (`placed` until a payment arrives), for the pay page to follow.
#[server(prefix = "/api", endpoint = "payments/status", output = crate::codec::Json)]
pub async fn payment_status(order_id: i64) -> Result<String, AppError> {
    crate::payments::server::payment_status(order_id).await
}
