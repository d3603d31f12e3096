//! Orders: checkout, the order lifecycle and the impact receipt.
//! placed → paid → shipped → delivered; cancel before payment; refund after payment (not shipped).

use crate::domain::page::Page;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One cart line as the browser sends it. Prices and allocations are never taken from the
/// client: a line that carries any other field is refused. `price_fen` is the unit price the
/// buyer saw, only compared: if the listing's price is another now, nothing is ordered and the
/// answer is 409 `price_changed` with the new price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    pub listing_id: i64,
    pub quantity: i64,
    #[serde(default)]
    pub price_fen: Option<i64>,
    /// The livestream sale (县长带你买好货) the line was added from: the order carries it, and
    /// the event's flash price applies while its flash sale runs (within its cap and
    /// per-buyer limit, whatever the client says).
    #[serde(default)]
    pub event_id: Option<i64>,
}

/// The delivery method chosen for one seller's order (`seller`: `h<household>` or
/// `o<organisation>`, as the quote names it; `method`: `courier`, `pickup`, `institution`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryChoice {
    pub seller: String,
    pub method: String,
    /// The shipping the buyer was quoted: if it is another now, nothing is ordered (409
    /// `price_changed`, field `delivery`).
    #[serde(default)]
    pub shipping_fen: Option<i64>,
}

/// What one seller's part of the cart costs, delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteGroup {
    pub seller: String,
    pub seller_name: String,
    /// The methods this seller offers this buyer, and the one chosen.
    pub methods: Vec<String>,
    pub method: String,
    pub goods_fen: i64,
    pub shipping_fen: i64,
    pub total_fen: i64,
    pub dispatch_hours: i64,
    pub pickup_point: Option<String>,
}

/// The cart, priced: per seller and in all, with the addresses to choose from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartQuote {
    pub groups: Vec<QuoteGroup>,
    pub total_fen: i64,
    pub addresses: Vec<crate::delivery::api::AddressView>,
    /// The address the orders would go to (the chosen one, else the default).
    pub address_id: Option<i64>,
    /// Institution buyers may ask for an invoice and for institution delivery.
    pub institution: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItemView {
    #[serde(default)]
    pub item_id: i64,
    /// The buyer's review of it (its rating), once written.
    #[serde(default)]
    pub rating: Option<i64>,
    pub listing_id: i64,
    pub title: String,
    #[serde(default)]
    pub title_en: String,
    pub unit: String,
    pub quantity: i64,
    pub unit_price_fen: i64,
    pub line_total_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: i64,
    pub checkout_id: i64,
    pub status: String,
    pub total_fen: i64,
    pub seller_name: String,
    pub buyer_name: String,
    pub created_at: i64,
    /// An unpaid order is cancelled, and its stock returned, at this time.
    pub expires_at: Option<i64>,
    /// Why a cancelled order was cancelled: `buyer`, `seller`, `admin` or `expired`.
    pub cancel_reason: Option<String>,
    /// How it was paid: `wechat`, `alipay` or `transfer`.
    pub paid_with: Option<String>,
    /// A payment arrived after the order stopped waiting for one: a refund resolves it.
    pub refund_due: bool,
    /// Shipping, charged apart from the produce (`total_fen` includes it).
    pub shipping_fen: i64,
    pub delivery_method: Option<String>,
    /// Where it goes; the seller sees name, phone and address masked once the order is
    /// delivered or refunded.
    pub recipient: Option<String>,
    pub mobile: Option<String>,
    pub address: Option<String>,
    pub unit_name: Option<String>,
    pub pickup_point: Option<String>,
    pub invoice_title: Option<String>,
    pub invoice_tax_no: Option<String>,
    pub courier: Option<String>,
    pub tracking_no: Option<String>,
    pub shipped_at: Option<i64>,
    pub delivered_at: Option<i64>,
    /// `buyer`, or `auto` when receipt was confirmed automatically.
    pub delivered_by: Option<String>,
    /// Paid orders: ship by then (the seller's promise); `overdue` once it has passed.
    pub dispatch_by: Option<i64>,
    pub overdue: bool,
    /// Shipped orders: receipt is confirmed automatically then.
    pub auto_receive_at: Option<i64>,
    pub items: Vec<OrderItemView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutResult {
    pub checkout_id: i64,
    /// True when this key had already been used: the same orders are returned, nothing new made.
    pub replayed: bool,
    pub orders: Vec<OrderView>,
}

/// Where one order's money went, without names unless a household consented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactReceipt {
    pub order_id: i64,
    pub status: String,
    pub total_fen: i64,
    /// Sum of what households receive (the rest is the co-op's costs and margin).
    pub to_households_fen: i64,
    pub households: i64,
    pub villages: Vec<String>,
    /// Households this purchase lifted past the monitoring line this year.
    pub lifted_past_line: i64,
    /// Names of the households that consented to be named.
    pub named: Vec<String>,
    /// The payment was confirmed by a provider (WeChat Pay, Alipay); a bank transfer rests on
    /// the seller's word and counts as attested, not verified.
    pub verified: bool,
    pub paid_with: Option<String>,
    /// The public link, when the buyer shares this receipt.
    #[serde(default)]
    pub shared: Option<ImpactShare>,
}

/// A shared impact receipt's link and QR code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactShare {
    /// The short link (`https://…/s/rabcdefgh2345`).
    pub url: String,
    /// The QR code of the short link (`/s/rabcdefgh2345/qr.svg`).
    pub qr: String,
    /// The receipt's page (`/impact/abcdefgh2345`).
    pub path: String,
}

/// One line of a shared receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedLine {
    pub listing_id: i64,
    pub title: String,
    pub title_en: String,
    pub quantity: i64,
    pub unit: String,
}

/// An impact receipt as anyone with its link sees it: what was bought and where the money
/// went, without the buyer and without any household's monitoring status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicImpact {
    /// The month it was bought (`2026-11`).
    pub month: String,
    pub lines: Vec<SharedLine>,
    pub total_fen: i64,
    pub to_households_fen: i64,
    pub households: i64,
    pub villages: Vec<String>,
    /// Households that consented to be named.
    pub named: Vec<String>,
    /// Paid through a provider (WeChat Pay, Alipay) rather than on the seller's word.
    pub verified: bool,
    pub share_url: String,
}

/// Places the cart as orders (one per seller) in one transaction. The same `idempotency_key`
/// sent twice makes one checkout.
#[server(prefix = "/api", endpoint = "orders/checkout", output = crate::codec::Json)]
pub async fn checkout(
    idempotency_key: String,
    items: Vec<CartLine>,
    address_id: Option<i64>,
    delivery: Option<Vec<DeliveryChoice>>,
    invoice_title: Option<String>,
    invoice_tax_no: Option<String>,
) -> Result<CheckoutResult, AppError> {
    let req = crate::orders::server::DeliveryRequest::new(
        address_id,
        delivery.unwrap_or_default(),
        invoice_title,
        invoice_tax_no,
    );
    crate::orders::server::checkout(&idempotency_key, &items, &req).await
}

/// Prices the cart as checkout would: per seller, the methods offered, the shipping and the
/// total, and the buyer's addresses. Places nothing.
#[server(prefix = "/api", endpoint = "orders/quote", output = crate::codec::Json)]
pub async fn quote(
    items: Vec<CartLine>,
    address_id: Option<i64>,
    delivery: Option<Vec<DeliveryChoice>>,
) -> Result<CartQuote, AppError> {
    let req = crate::orders::server::DeliveryRequest::new(
        address_id,
        delivery.unwrap_or_default(),
        None,
        None,
    );
    crate::orders::server::quote(&items, &req).await
}

/// `/buy`: one listing bought at once, as a plain form (no script needed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuyNowView {
    pub listing_id: i64,
    pub title: String,
    pub title_en: String,
    pub unit: String,
    pub photo: Option<String>,
    pub seller_name: String,
    pub normal_price_fen: i64,
    /// What checkout would charge a unit now: a livestream's flash price while it runs, else
    /// the normal price.
    pub unit_price_fen: i64,
    pub quantity: i64,
    /// The livestream the line comes from, while it features the listing and is not over.
    pub event_id: Option<i64>,
    pub event_title: Option<String>,
    pub on_sale: bool,
    pub logged_in: bool,
    /// For a logged-in buyer: addresses, the seller's methods, shipping and the total.
    pub quote: Option<CartQuote>,
    /// Why it could not be priced for this buyer (e.g. a method the seller does not offer).
    pub quote_error: Option<AppError>,
    /// A fresh idempotency key for the form: sending it twice makes one checkout.
    pub key: String,
}

/// The `/buy` page's data: the listing, its price now, and for a logged-in buyer the quote.
/// Public (a visitor sees the price and is asked to log in); places nothing.
#[server(prefix = "/api", endpoint = "orders/buy-now", output = crate::codec::Json)]
pub async fn buy_now(
    listing_id: i64,
    quantity: Option<i64>,
    event_id: Option<i64>,
    address_id: Option<i64>,
    delivery: Option<Vec<DeliveryChoice>>,
) -> Result<BuyNowView, AppError> {
    let req = crate::orders::server::DeliveryRequest::new(
        address_id,
        delivery.unwrap_or_default(),
        None,
        None,
    );
    crate::orders::server::buy_now(listing_id, quantity.unwrap_or(1), event_id, &req).await
}

/// How many orders one page of a list holds.
pub const ORDERS_PAGE_SIZE: i64 = 20;

/// The buyer's orders, newest first, [`ORDERS_PAGE_SIZE`] a page; `after` is the previous
/// page's `next`.
#[server(prefix = "/api", endpoint = "orders/mine", output = crate::codec::Json)]
pub async fn my_orders(after: Option<String>) -> Result<Page<OrderView>, AppError> {
    crate::orders::server::my_orders(after.as_deref()).await
}

/// Orders to fulfil, for the seller (household, its cadre, co-op manager), newest first, a
/// page at a time like [`my_orders`].
#[server(prefix = "/api", endpoint = "orders/to-fulfil", output = crate::codec::Json)]
pub async fn seller_orders(
    after: Option<String>,
    todo: Option<String>,
) -> Result<Page<OrderView>, AppError> {
    let todo = matches!(todo.as_deref().map(str::trim), Some("1" | "true" | "on"));
    crate::orders::server::seller_orders(after.as_deref(), todo).await
}

/// The seller confirms the buyer's bank transfer arrived, with its `reference` (the bank's
/// transaction number, 1–64 characters): the order is paid and every household's share is
/// posted to its income ledger, as attested by the seller.
#[server(prefix = "/api", endpoint = "orders/confirm-payment", output = crate::codec::Json)]
pub async fn confirm_payment(order_id: i64, reference: String) -> Result<OrderView, AppError> {
    crate::orders::server::confirm_payment(order_id, &reference).await
}

#[server(prefix = "/api", endpoint = "orders/ship", output = crate::codec::Json)]
/// The seller ships: for a courier order, the courier company (one of
/// `domain::delivery::COURIERS`) and the tracking number (6–30 letters, digits, dashes).
pub async fn ship(
    order_id: i64,
    courier: Option<String>,
    tracking_no: Option<String>,
) -> Result<OrderView, AppError> {
    crate::orders::server::ship(
        order_id,
        courier.as_deref().unwrap_or(""),
        tracking_no.as_deref().unwrap_or(""),
    )
    .await
}

#[server(prefix = "/api", endpoint = "orders/deliver", output = crate::codec::Json)]
pub async fn deliver(order_id: i64) -> Result<OrderView, AppError> {
    crate::orders::server::deliver(order_id).await
}

/// The buyer cancels before payment; stock returns.
#[server(prefix = "/api", endpoint = "orders/cancel", output = crate::codec::Json)]
pub async fn cancel(order_id: i64) -> Result<OrderView, AppError> {
    crate::orders::server::cancel(order_id).await
}

/// The seller refunds a paid order that has not shipped; stock returns and reversing rows are
/// posted to the ledger.
#[server(prefix = "/api", endpoint = "orders/refund", output = crate::codec::Json)]
pub async fn refund(order_id: i64) -> Result<OrderView, AppError> {
    crate::orders::server::refund(order_id).await
}

/// The buyer's impact receipt for one order.
#[server(prefix = "/api", endpoint = "orders/impact", output = crate::codec::Json)]
pub async fn impact(order_id: i64) -> Result<ImpactReceipt, AppError> {
    crate::orders::server::impact(order_id).await
}

/// Shares the order's impact receipt: a public page and its short link (the same one each
/// time). The buyer only, once the order is paid.
#[server(prefix = "/api", endpoint = "orders/share-impact", output = crate::codec::Json)]
pub async fn share_impact(order_id: i64) -> Result<ImpactShare, AppError> {
    crate::orders::server::share_impact(order_id).await
}

/// Stops sharing the order's impact receipt: its link then leads nowhere.
#[server(prefix = "/api", endpoint = "orders/unshare-impact", output = crate::codec::Json)]
pub async fn unshare_impact(order_id: i64) -> Result<(), AppError> {
    crate::orders::server::unshare_impact(order_id).await
}

/// A shared impact receipt, by its token: public.
#[server(prefix = "/api", endpoint = "orders/shared-impact", output = crate::codec::Json)]
pub async fn shared_impact(token: String) -> Result<PublicImpact, AppError> {
    crate::orders::server::shared_impact(&token).await
}

/// An institution's progress against its annual pledge (以购代捐承诺).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PledgeStatus {
    pub institution: String,
    pub year: i64,
    pub pledge_fen: Option<i64>,
    /// Paid purchases by the institution's members this year (refunds excluded).
    pub purchased_fen: i64,
    pub orders: i64,
    /// Orders placed for the institution and not yet paid (nor expired): pending, not counted
    /// as purchased until paid.
    pub pending_fen: i64,
    pub pending_orders: i64,
}

/// The pledge progress of the caller's institution (institution buyers; admins name one).
#[server(prefix = "/api", endpoint = "orders/pledge", output = crate::codec::Json)]
pub async fn pledge_progress(institution_id: Option<i64>) -> Result<PledgeStatus, AppError> {
    crate::orders::server::pledge_progress(institution_id).await
}
