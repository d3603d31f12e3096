//! Bank transfer (对公转账): the buyer transfers to the configured account with the order
//! number as the remark; the seller confirms with the transfer's reference
//! (`orders::server::confirm_payment`). No notifications, and a refund is a transfer back
//! made by hand, so those parts of the interface refuse.

use super::provider::Provider;
use super::server::TransferAccount;
use super::{Notice, PayError, RefundRequest, StartAction, StartRequest};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

/// Bank transfer to `account` (none configured: the seller gives one).
pub struct Transfer<'a> {
    pub account: Option<&'a TransferAccount>,
}

impl Provider for Transfer<'_> {
    fn name(&self) -> &'static str {
        "transfer"
    }

    async fn start(
        &self,
        _client: &reqwest::Client,
        request: &StartRequest<'_>,
    ) -> Result<StartAction, PayError> {
        Ok(StartAction::Transfer {
            account: self.account.cloned(),
            remark: request.out_trade_no.to_owned(),
        })
    }

    async fn refund(
        &self,
        _client: &reqwest::Client,
        _request: &RefundRequest<'_>,
    ) -> Result<String, PayError> {
        Err(PayError::Provider(
            "a transfer is refunded by a transfer back, made by hand".into(),
        ))
    }

    fn notice(&self, _headers: &HeaderMap, _body: &[u8], _now: i64) -> Result<Notice, PayError> {
        Err(PayError::Ignored)
    }

    fn acknowledge(&self, _result: Result<(), crate::error::AppError>) -> Response {
        StatusCode::NOT_FOUND.into_response()
    }
}
