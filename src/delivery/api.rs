//! Delivery server functions: the region picker, the buyer's address book, and sellers'
//! delivery terms.

use crate::domain::delivery::Terms;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A division to choose in the picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionOption {
    pub code: String,
    pub name: String,
}

/// One address of a buyer's book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressView {
    pub id: i64,
    pub recipient: String,
    pub mobile: String,
    pub region_code: String,
    /// The region's path, province to township (福建省 南平市 政和县 石屯镇).
    pub region_name: String,
    pub detail: String,
    pub unit_name: Option<String>,
    pub is_default: bool,
}

/// The most addresses one buyer keeps.
pub const MAX_ADDRESSES: i64 = 20;

/// The regions under `parent` (the provinces without one), for the address picker. Anyone.
#[server(prefix = "/api", endpoint = "delivery/regions", output = crate::codec::Json)]
pub async fn regions(parent: Option<String>) -> Result<Vec<RegionOption>, AppError> {
    crate::delivery::server::regions(parent.as_deref()).await
}

/// The logged-in buyer's addresses, the default first.
#[server(prefix = "/api", endpoint = "delivery/addresses", output = crate::codec::Json)]
pub async fn addresses() -> Result<Vec<AddressView>, AppError> {
    crate::delivery::server::addresses().await
}

/// Adds an address (or replaces `id`, one of the caller's): recipient (1–20 characters), a
/// mainland mobile number, a township or village chosen in the picker, the detailed address
/// (1–100), for institutions the unit's name; `is_default` makes it the default (the first
/// address is the default anyway). At most [`MAX_ADDRESSES`].
#[server(prefix = "/api", endpoint = "delivery/save-address", output = crate::codec::Json)]
pub async fn save_address(
    id: Option<i64>,
    recipient: String,
    mobile: String,
    region_code: String,
    detail: String,
    unit_name: Option<String>,
    is_default: Option<String>,
) -> Result<AddressView, AppError> {
    let is_default = matches!(
        is_default.as_deref().map(str::trim),
        Some("true" | "1" | "on")
    );
    crate::delivery::server::save_address(
        id,
        &recipient,
        &mobile,
        &region_code,
        &detail,
        unit_name.as_deref().unwrap_or(""),
        is_default,
    )
    .await
}

/// Removes one of the caller's addresses (orders keep the copy they were placed with).
#[server(prefix = "/api", endpoint = "delivery/remove-address", output = crate::codec::Json)]
pub async fn remove_address(id: i64) -> Result<(), AppError> {
    crate::delivery::server::remove_address(id).await
}

/// A seller's delivery terms, named for the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerTerms {
    /// `h<household id>` or `o<organisation id>`.
    pub seller: String,
    pub seller_name: String,
    pub terms: Terms,
}

/// The delivery terms of every seller the caller acts for (a household, its paired cadre's
/// households, a co-op manager's co-op).
#[server(prefix = "/api", endpoint = "delivery/terms", output = crate::codec::Json)]
pub async fn my_terms() -> Result<Vec<SellerTerms>, AppError> {
    crate::delivery::server::my_terms().await
}

/// Sets a seller's delivery terms: the courier fee and the amount from which delivery is free
/// (yuan, at most 500; empty for never), the pick-up point (empty for none), whether the seller
/// delivers to institutions, and the dispatch promise in hours (1–720).
#[server(prefix = "/api", endpoint = "delivery/save-terms", output = crate::codec::Json)]
pub async fn save_terms(
    seller: String,
    courier_fee: String,
    free_above: Option<String>,
    pickup_point: Option<String>,
    institution_delivery: Option<String>,
    dispatch_hours: String,
) -> Result<SellerTerms, AppError> {
    let institution = matches!(
        institution_delivery.as_deref().map(str::trim),
        Some("true" | "1" | "on")
    );
    crate::delivery::server::save_terms(
        &seller,
        &courier_fee,
        free_above.as_deref().unwrap_or(""),
        pickup_point.as_deref().unwrap_or(""),
        institution,
        &dispatch_hours,
    )
    .await
}
