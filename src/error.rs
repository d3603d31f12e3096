//! One error type for the whole app. It travels from server functions to the browser (and to
//! any HTTP client) as JSON: `{"code": "...", "status": 400, "message": "..."}`, with the message
//! already in the caller's language. Database text never reaches the client; the cause goes to
//! the log.

use crate::domain::account::AccountInputError;
use crate::i18n::{current_lang, Lang, T};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidLogin,
    PasswordTooShort,
    PasswordTooLong,
    InvalidDisplayName,
    AccountExists,
    WrongCredentials,
    TooManyAttempts,
    Unauthenticated,
    Forbidden,
    OutOfRegion,
    NotFound,
    UnknownEndpoint,
    InvalidRegion,
    TooLarge,
    InvalidQuantity,
    EmptyCart,
    ListingUnavailable,
    OutOfStock,
    InvalidListing,
    InvalidTerms,
    InvalidAmount,
    InvalidOrderState,
    BadSignature,
    Replay,
    PhotoType,
    PhotoTooLarge,
    PhotoUnreadable,
    TooManyPhotos,
    NoPhoto,
    Internal,
    Unavailable,
    /// Too much work queued (hashing, decoding, requests in flight): 503 with `Retry-After`.
    Busy,
    /// A text field held a control character (NUL and the like).
    ControlCharacter,
    /// A state-changing request sent by another site's page.
    CrossSite,
    PhotoTooManyPixels,
    /// A sum (an order's total, a household's income) would pass its stated maximum.
    LimitExceeded,
    /// A one-time code that is wrong, used or expired.
    InvalidCode,
    /// A seller (or whoever acts for one) tried to buy their own produce.
    OwnListing,
    /// An idempotency key sent again with a different cart.
    IdempotencyKeyReused,
    /// The price the buyer saw is no longer the listing's price (`price_change` has the new one).
    PriceChanged,
    /// The buyer holds as many unpaid checkouts as allowed.
    TooManyUnpaid,
    /// A listing's origin outside its seller's county.
    OriginOutsideCounty,
    /// A listing changed (another save) since its form was loaded.
    StaleListing,
    /// A large manual income record without its note or explicit confirmation.
    ConfirmationRequired,
    /// An official's income record without the note that says what it is.
    NoteRequired,
    /// The payment provider did not answer or refused (nothing changed here).
    ProviderFailed,
    /// A seller's transfer confirmation without the transfer's reference.
    TransferReferenceRequired,
    /// A delivery to an address, without one (the buyer has none and chose none).
    AddressRequired,
    /// An address with a missing or malformed part (`field` names it).
    InvalidAddress,
    /// The address book is full.
    TooManyAddresses,
    /// A delivery method the seller does not offer, or malformed delivery terms.
    InvalidDelivery,
    /// Shipping a courier order without a known courier and a tracking number.
    InvalidTracking,
    /// An invoice title or tax number that is not one.
    InvalidInvoice,
    /// A monitoring step out of order (skipped, repeated, or on a closed record).
    InvalidStep,
    /// Identification before the village notice period has run.
    NoticeRunning,
    /// Verification without the household's consent.
    ConsentRequired,
    /// Marking a risk eliminated before six consecutive months above the line.
    ExitTooEarly,
    /// A second effect review of a household in one quarter.
    ReviewDone,
    /// More units at a flash price than its per-buyer limit allows.
    FlashLimit,
    /// The flash price's units are all taken.
    FlashSoldOut,
    /// The livestream has ended.
    EventEnded,
    /// No account has that log-in.
    UnknownAccount,
    /// A livestream's cover is a photo of its produce: this listing has none.
    CoverNeedsPhoto,
    /// A review of an item whose order has not been delivered.
    NotDelivered,
    /// A second review of one order item.
    AlreadyReviewed,
    /// A second reply to one review.
    AlreadyReplied,
    /// A seller's declared costs that, with the households' shares, pass the price.
    CostsOverPrice,
    /// A shop's English name or story that is too long, or a field its kind of shop has not
    /// (`field` names it).
    InvalidShopProfile,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadRequest
            | InvalidLogin
            | PasswordTooShort
            | PasswordTooLong
            | InvalidDisplayName
            | InvalidRegion
            | InvalidQuantity
            | EmptyCart
            | InvalidListing
            | InvalidTerms
            | InvalidAmount
            | PhotoUnreadable
            | NoPhoto
            | ControlCharacter
            | InvalidCode
            | NoteRequired
            | TransferReferenceRequired
            | AddressRequired
            | InvalidAddress
            | InvalidDelivery
            | InvalidTracking
            | InvalidInvoice
            | ConsentRequired
            | UnknownAccount
            | CostsOverPrice
            | InvalidShopProfile => 400,
            FlashLimit | FlashSoldOut | EventEnded | CoverNeedsPhoto => 409,
            NotDelivered | AlreadyReviewed | AlreadyReplied => 409,
            InvalidStep | NoticeRunning | ExitTooEarly | ReviewDone => 409,
            TooManyAddresses => 409,
            LimitExceeded | IdempotencyKeyReused | ConfirmationRequired => 422,
            PriceChanged | TooManyUnpaid | StaleListing => 409,
            OriginOutsideCounty => 400,
            CrossSite | OwnListing => 403,
            PhotoTooManyPixels => 413,
            Busy => 503,
            WrongCredentials | Unauthenticated | BadSignature => 401,
            ListingUnavailable => 404,
            OutOfStock | InvalidOrderState | Replay => 409,
            Forbidden | OutOfRegion => 403,
            NotFound | UnknownEndpoint => 404,
            AccountExists => 409,
            TooLarge | PhotoTooLarge => 413,
            PhotoType => 415,
            ProviderFailed => 424,
            TooManyPhotos => 409,
            TooManyAttempts => 429,
            Internal => 500,
            Unavailable => 503,
        }
    }

    /// The code as it travels (`out_of_stock`), e.g. in a redirect's query.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The code named by [`ErrorCode::as_str`].
    pub fn parse(s: &str) -> Option<ErrorCode> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    pub fn text(self) -> T {
        use ErrorCode::*;
        match self {
            BadRequest => T::err_bad_request,
            InvalidLogin => T::err_invalid_login,
            PasswordTooShort => T::err_password_short,
            PasswordTooLong => T::err_password_long,
            InvalidDisplayName => T::err_display_name,
            AccountExists => T::err_account_exists,
            WrongCredentials => T::err_wrong_credentials,
            TooManyAttempts => T::err_too_many_attempts,
            Unauthenticated => T::err_unauthenticated,
            Forbidden => T::err_forbidden,
            OutOfRegion => T::err_out_of_region,
            NotFound => T::err_not_found,
            UnknownEndpoint => T::err_unknown_endpoint,
            InvalidRegion => T::err_invalid_region,
            TooLarge => T::err_too_large,
            InvalidQuantity => T::err_invalid_quantity,
            EmptyCart => T::err_empty_cart,
            ListingUnavailable => T::err_listing_unavailable,
            OutOfStock => T::err_out_of_stock,
            InvalidListing => T::err_invalid_listing,
            InvalidTerms => T::err_invalid_terms,
            InvalidAmount => T::err_invalid_amount,
            InvalidOrderState => T::err_invalid_order_state,
            BadSignature => T::err_bad_signature,
            Replay => T::err_replay,
            PhotoType => T::err_photo_type,
            PhotoTooLarge => T::err_photo_too_large,
            PhotoUnreadable => T::err_photo_unreadable,
            TooManyPhotos => T::err_too_many_photos,
            NoPhoto => T::err_no_photo,
            Internal => T::err_internal,
            Unavailable => T::err_unavailable,
            Busy => T::err_busy,
            ControlCharacter => T::err_control_character,
            CrossSite => T::err_cross_site,
            PhotoTooManyPixels => T::err_photo_pixels,
            LimitExceeded => T::err_limit_exceeded,
            InvalidCode => T::err_invalid_code,
            OwnListing => T::err_own_listing,
            IdempotencyKeyReused => T::err_idempotency_key_reused,
            PriceChanged => T::err_price_changed,
            TooManyUnpaid => T::err_too_many_unpaid,
            OriginOutsideCounty => T::err_origin_outside_county,
            StaleListing => T::err_stale_listing,
            ConfirmationRequired => T::err_confirmation_required,
            NoteRequired => T::err_note_required,
            ProviderFailed => T::err_provider_failed,
            TransferReferenceRequired => T::err_transfer_reference,
            AddressRequired => T::err_address_required,
            InvalidAddress => T::err_invalid_address,
            TooManyAddresses => T::err_too_many_addresses,
            InvalidDelivery => T::err_invalid_delivery,
            InvalidTracking => T::err_invalid_tracking,
            InvalidInvoice => T::err_invalid_invoice,
            InvalidStep => T::err_invalid_step,
            NoticeRunning => T::err_notice_running,
            ConsentRequired => T::err_consent_required,
            ExitTooEarly => T::err_exit_too_early,
            ReviewDone => T::err_review_done,
            FlashLimit => T::err_flash_limit,
            FlashSoldOut => T::err_flash_sold_out,
            EventEnded => T::err_event_ended,
            UnknownAccount => T::err_unknown_account,
            CoverNeedsPhoto => T::err_cover_needs_photo,
            NotDelivered => T::err_not_delivered,
            AlreadyReviewed => T::err_already_reviewed,
            AlreadyReplied => T::err_already_replied,
            CostsOverPrice => T::err_costs_over_price,
            InvalidShopProfile => T::err_invalid_shop_profile,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub status: u16,
    pub message: String,
    /// The form field the error is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// With `price_changed`: the listing whose price moved, and its price now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_change: Option<PriceChange>,
    /// With `out_of_stock`: how many of the listing are left to order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<i64>,
}

/// A listing's price now, when it differs from what the buyer saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    pub listing_id: i64,
    pub price_fen: i64,
}

impl AppError {
    /// An error in the language of the current request (server) or page (browser).
    pub fn new(code: ErrorCode) -> AppError {
        AppError::in_lang(code, current_lang())
    }

    pub fn in_lang(code: ErrorCode, lang: Lang) -> AppError {
        AppError {
            code,
            status: code.status(),
            message: code.text().t(lang).to_owned(),
            field: None,
            price_change: None,
            left: None,
        }
    }

    /// Out of stock with `left` still to order: the message says how many.
    pub fn out_of_stock_left(left: i64) -> AppError {
        let mut e = AppError::new(ErrorCode::OutOfStock);
        e.left = Some(left);
        e.message = e.text_in(current_lang());
        e
    }

    /// The error's message in `lang` (a page shows it in its own language, whatever the
    /// language of the request that made it).
    pub fn text_in(&self, lang: Lang) -> String {
        match self.left.filter(|_| self.code == ErrorCode::OutOfStock) {
            Some(n) => T::err_out_of_stock_left
                .t(lang)
                .replace("{n}", &n.to_string()),
            None => self.code.text().t(lang).to_owned(),
        }
    }

    pub fn field(mut self, field: &str) -> AppError {
        self.field = Some(field.to_owned());
        self
    }

    /// Logs the cause on the server and returns a generic error to the caller.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        #[cfg(feature = "ssr")]
        tracing::error!(error = %cause, "internal error");
        #[cfg(not(feature = "ssr"))]
        let _ = cause;
        AppError::new(ErrorCode::Internal)
    }
}

impl From<AccountInputError> for AppError {
    fn from(e: AccountInputError) -> AppError {
        match e {
            AccountInputError::InvalidLogin => {
                AppError::new(ErrorCode::InvalidLogin).field("login")
            }
            AccountInputError::PasswordTooShort => {
                AppError::new(ErrorCode::PasswordTooShort).field("password")
            }
            AccountInputError::PasswordTooLong => {
                AppError::new(ErrorCode::PasswordTooLong).field("password")
            }
            AccountInputError::InvalidDisplayName => {
                AppError::new(ErrorCode::InvalidDisplayName).field("display_name")
            }
        }
    }
}

/// Whether a database error code is SQLite's `SQLITE_BUSY`, plain or extended.
#[cfg(feature = "ssr")]
fn sqlite_busy(code: Option<&str>) -> bool {
    code.filter(|c| c.len() < 5)
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

/// A database error: the cause goes to the log, the caller gets a generic 500; a pool that
/// cannot give a connection in time, or SQLite busy past its timeout, is 503 (busy), not a
/// failure.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> AppError {
        match e {
            sqlx::Error::PoolTimedOut => {
                tracing::warn!("database pool busy");
                AppError::new(ErrorCode::Busy)
            }
            // SQLITE_BUSY and its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, BUSY_TIMEOUT):
            // another process held the lock for longer than the busy timeout. Nothing was
            // written; the client may try again. (PostgreSQL's codes are five characters.)
            sqlx::Error::Database(d) if sqlite_busy(d.code().as_deref()) => {
                tracing::warn!("database busy: {}", d.message());
                AppError::new(ErrorCode::Busy)
            }
            e => AppError::internal(e),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The request did not carry what the function expects.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Deserialization(_) => AppError::new(ErrorCode::BadRequest),
            ServerFnErrorErr::UnsupportedRequestMethod(_) => AppError::new(ErrorCode::BadRequest),
            ServerFnErrorErr::Registration(_) => AppError::new(ErrorCode::UnknownEndpoint),
            // Network trouble seen from the browser.
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                AppError::new(ErrorCode::Unavailable)
            }
            other => AppError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "ssr")]
    #[test]
    fn sqlite_busy_is_told_from_postgres_codes() {
        for busy in ["5", "261", "517", "773"] {
            assert!(sqlite_busy(Some(busy)), "{busy}");
        }
        // SQLITE_LOCKED, a constraint, and PostgreSQL's 22021 (which is 5 modulo 256).
        for other in ["6", "2067", "22021", "40001", "42P01"] {
            assert!(!sqlite_busy(Some(other)), "{other}");
        }
        assert!(!sqlite_busy(None));
    }

    #[test]
    fn errors_carry_status_and_language() {
        let e = AppError::in_lang(ErrorCode::AccountExists, Lang::En);
        assert_eq!(e.status, 409);
        assert!(e.message.contains("already exists"));
        let z = AppError::in_lang(ErrorCode::AccountExists, Lang::Zh);
        assert!(z.message.contains("已注册"));
        let json = serde_json::to_value(&z).unwrap();
        assert_eq!(json["code"], "account_exists");
    }

    #[test]
    fn malformed_requests_are_client_errors() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args("x".into()));
        assert_eq!(e.status, 400);
    }
}
