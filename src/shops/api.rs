//! A shop's page data: who sells (or where it grows), what it sells, what its sales have done.

use crate::domain::page::Page;
use crate::error::AppError;
use crate::market::api::ListingCard;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A link to another shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopLink {
    pub key: String,
    pub name: String,
}

/// A livestream featuring the shop's produce that is not over yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopEvent {
    pub id: i64,
    pub title: String,
    pub starts_at: i64,
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopView {
    /// `c12`, `h34` or `v350725100201` (see `crate::domain::shop`).
    pub key: String,
    /// `coop`, `enterprise`, `household` or `village`.
    pub kind: String,
    /// The co-op's name; a household's head only with its consent (else "X村 农户"); the
    /// village's name.
    pub name: String,
    pub name_en: Option<String>,
    /// Where it is, province to village (or to the co-op's county).
    pub place: String,
    pub place_en: Option<String>,
    /// The shop's story (a household's only with its consent), and in English where given.
    pub story: Option<String>,
    #[serde(default)]
    pub story_en: Option<String>,
    /// A co-op's line of products as registered.
    pub products: Option<String>,
    /// The village a household's shop lies in.
    pub village: Option<ShopLink>,
    /// The households its listings on sale benefit.
    pub households: i64,
    pub year: i64,
    /// False for a household that has not consented to be named: no sales figures then.
    pub figures_shown: bool,
    /// Units of paid orders this year (not refunded), and the net sale rows of the income
    /// ledger this year.
    pub units_sold: i64,
    pub added_fen: i64,
    pub certificates: Vec<String>,
    /// Buyers' reviews of its listings (visible ones).
    pub rating: crate::reviews::api::RatingSummary,
    pub events: Vec<ShopEvent>,
    /// A village's sellers: co-ops and households selling produce grown there (at most 20).
    pub sellers: Vec<ShopLink>,
    pub listings: Page<ListingCard>,
    /// The short link to share (`https://…/s/c12`); its QR code is this and `/qr.svg`.
    pub share_url: String,
    pub share_path: String,
    /// Whether the visitor may edit the shop's own words (`/shop/<key>/edit`).
    #[serde(default)]
    pub editable: bool,
}

/// The most characters of a shop's English name, and of its story in either language.
pub const MAX_SHOP_NAME_EN: usize = 100;
pub const MAX_SHOP_STORY: usize = 2000;

/// A shop's own words, as whoever keeps it edits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopText {
    pub key: String,
    /// As on [`ShopView`].
    pub kind: String,
    /// The shop's name in Chinese (a co-op's or village's registered name, a household's head).
    pub name: String,
    /// Households have none: their shop goes by the head's name, with its consent.
    pub has_name_en: bool,
    pub name_en: String,
    /// A village's English name in the registry, shown until its officials write their own.
    pub name_en_default: String,
    pub story: String,
    pub story_en: String,
    /// False for a household that has not consented to be named: its story is kept, not shown.
    pub story_shown: bool,
    /// False for a household that sells nothing itself yet: its shop has no page until it does.
    pub has_page: bool,
}

/// A shop's own words, for its edit form: its seller, a village's officials, admins.
#[server(prefix = "/api", endpoint = "shops/profile", output = crate::codec::Json)]
pub async fn shop_profile(key: String) -> Result<ShopText, AppError> {
    super::server::profile(&key).await
}

/// Saves a shop's own words (each at most [`MAX_SHOP_STORY`] characters; the English name
/// [`MAX_SHOP_NAME_EN`], and only for co-ops, enterprises and villages). Empty text clears it.
#[server(prefix = "/api", endpoint = "shops/save-profile", output = crate::codec::Json)]
pub async fn save_shop_profile(
    key: String,
    #[server(default)] name_en: Option<String>,
    story: String,
    story_en: String,
) -> Result<ShopText, AppError> {
    super::server::save_profile(&key, name_en.as_deref(), &story, &story_en).await
}

/// A shop's page: public. `after` is the previous page's `next` of its listings.
#[server(prefix = "/api", endpoint = "shops/shop", output = crate::codec::Json)]
pub async fn shop(key: String, after: Option<String>) -> Result<ShopView, AppError> {
    super::server::shop(&key, after.as_deref()).await
}
