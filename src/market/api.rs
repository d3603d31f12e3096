//! The market: the catalogue, a listing's page, and sellers' listings.

use crate::domain::page::Page;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Photos one listing may have.
pub const MAX_PHOTOS: usize = 6;
/// Where a seller's browser posts photos (multipart: `listing_id`, then `photo` files).
pub const PHOTO_UPLOAD_PATH: &str = "/api/market/photos";
/// Where the new-listing form posts (multipart: its fields and `photo` files).
pub const NEW_LISTING_PATH: &str = "/api/market/new-listing";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingCard {
    pub id: i64,
    pub title: String,
    /// The seller's English title (empty: none given).
    #[serde(default)]
    pub title_en: String,
    pub category: String,
    pub unit: String,
    pub price_fen: i64,
    pub stock: i64,
    pub status: String,
    pub seller_name: String,
    pub origin: String,
    pub county: String,
    /// The origin's and the county's English names, where the division table has them.
    #[serde(default)]
    pub origin_en: Option<String>,
    #[serde(default)]
    pub county_en: Option<String>,
    pub stalled: bool,
    pub stalled_reason: Option<String>,
    pub certified: bool,
    pub created_at: i64,
    /// The first photo's thumbnail (480×360), if the listing has photos.
    pub photo: Option<String>,
    /// The seller's shop (`crate::domain::shop::ShopKey`: `c12` or `h34`).
    #[serde(default)]
    pub seller_key: String,
    /// The origin village's code (its shop is `v` and the code).
    #[serde(default)]
    pub origin_code: String,
}

impl ListingCard {
    /// The title in `lang`: the English one where the seller gave it.
    pub fn title_in(&self, lang: crate::i18n::Lang) -> String {
        crate::domain::listing::title_in(lang, &self.title, &self.title_en)
    }

    /// The unit in `lang`: common units in English, any other as the seller typed it.
    pub fn unit_in(&self, lang: crate::i18n::Lang) -> String {
        crate::domain::listing::unit_in(lang, &self.unit)
    }

    /// The county's name in `lang` (the Chinese name where no English one is known).
    pub fn county_in(&self, lang: crate::i18n::Lang) -> String {
        match (lang, &self.county_en) {
            (crate::i18n::Lang::En, Some(en)) if !en.is_empty() => en.clone(),
            _ => self.county.clone(),
        }
    }

    /// The origin village's name in `lang`, likewise.
    pub fn origin_in(&self, lang: crate::i18n::Lang) -> String {
        match (lang, &self.origin_en) {
            (crate::i18n::Lang::En, Some(en)) if !en.is_empty() => en.clone(),
            _ => self.origin.clone(),
        }
    }
}

/// A listing photo's thumbnail (cards, gallery buttons, small phones), cropped to 4:3.
pub const PHOTO_THUMB_WIDTH: u32 = 480;
pub const PHOTO_THUMB_HEIGHT: u32 = 360;

/// The phone copy of a listing photo: cropped to the gallery's 4:3 frame at this width.
pub const PHOTO_MEDIUM_WIDTH: u32 = 960;
pub const PHOTO_MEDIUM_HEIGHT: u32 = 720;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoView {
    pub id: i64,
    /// The display copy (at most 1600 px on its longest side).
    pub url: String,
    /// The phone copy ([`PHOTO_MEDIUM_WIDTH`] wide, 4:3), when one was made.
    pub medium_url: Option<String>,
    pub thumb_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceShare {
    /// What the household is called to buyers: its name if it consented, else its village.
    pub label: String,
    /// Per unit sold.
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingDetail {
    pub card: ListingCard,
    pub description: String,
    /// The seller's English description (empty: none given).
    #[serde(default)]
    pub description_en: String,
    /// What the seller declares about the rest of the price, per unit.
    #[serde(default)]
    pub costs: crate::domain::listing::DeclaredCosts,
    pub harvest_date: Option<String>,
    /// "¥x of this ¥y goes to the household": the declared terms for one unit.
    pub breakdown: Vec<PriceShare>,
    pub to_households_per_unit_fen: i64,
    /// Stories of the households it benefits that consented to share them.
    pub stories: Vec<String>,
    pub certificate: Option<String>,
    pub photos: Vec<PhotoView>,
    /// How much this listing has added to household incomes so far (posted ledger rows).
    pub added_to_incomes_fen: i64,
    pub can_edit: bool,
    /// An official whose region holds the origin: may flag it stalled and record certificates.
    pub can_moderate: bool,
    /// The short link to share (`https://…/s/l12`).
    #[serde(default)]
    pub share_url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueQuery {
    pub q: Option<String>,
    pub category: Option<String>,
    pub county: Option<String>,
    /// "1" for certified (扶贫产品) only.
    pub certified: Option<String>,
    /// "1" for stalled (滞销) produce only.
    pub stalled: Option<String>,
    /// "1" for produce benefiting households near or below the monitoring line (监测户) only.
    pub monitored: Option<String>,
    /// need (default), newest, price_asc, price_desc.
    pub sort: Option<String>,
    /// The cursor of the page to show (the previous page's `next`), for the same filters and
    /// sort.
    pub after: Option<String>,
}

/// What the market page shows for a query: a page of cards, how many match, and when nothing
/// does, produce to look at instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketResults {
    pub page: Page<ListingCard>,
    /// Listings matching the query (all pages), counted up to a cap; on the first page only.
    pub total: Option<i64>,
    /// More than `total` match.
    pub more: bool,
    /// With no match: stalled and certified produce on sale, by need.
    pub suggestions: Vec<ListingCard>,
}

/// Listing cards in one page of the catalogue.
pub const CATALOGUE_PAGE_SIZE: i64 = 24;
/// Listings in one page of the seller desk.
pub const SELLER_DESK_PAGE_SIZE: i64 = 20;

/// The catalogue: stalled produce first unless another order is asked for, a page of
/// [`CATALOGUE_PAGE_SIZE`] at a time (`query[after]` is the previous page's `next`). Public.
#[server(prefix = "/api", endpoint = "market/catalogue", output = crate::codec::Json)]
pub async fn catalogue(
    #[server(default)] query: CatalogueQuery,
) -> Result<Page<ListingCard>, AppError> {
    crate::market::server::catalogue(&query).await
}

/// The market page's search: [`catalogue`] with the number of matches, and suggestions when a
/// search finds nothing. Public.
#[server(prefix = "/api", endpoint = "market/search", output = crate::codec::Json)]
pub async fn market_search(
    #[server(default)] query: CatalogueQuery,
) -> Result<MarketResults, AppError> {
    crate::market::server::market_search(&query).await
}

/// One listing. Drafts and withdrawn listings are visible to their seller only.
#[server(prefix = "/api", endpoint = "market/listing", output = crate::codec::Json)]
pub async fn listing(id: i64) -> Result<ListingDetail, AppError> {
    crate::market::server::listing(id).await
}

/// Creates (no `id`) or updates a listing. A household (or its cadre) lists its own produce; a
/// co-op manager lists for linked households with `terms_kind` `per_unit` (`terms`:
/// `household_id:yuan,…`) or `shares` (`household_id:percent,…`).
#[server(prefix = "/api", endpoint = "market/save-listing", output = crate::codec::Json)]
pub async fn save_listing(form: ListingForm) -> Result<i64, AppError> {
    crate::market::server::save_listing(&form).await
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingForm {
    pub id: Option<i64>,
    /// For a cadre acting for one of their households.
    pub household_id: Option<i64>,
    pub title: String,
    /// Optional English title and description (on an update, left out: kept).
    #[serde(default)]
    pub title_en: Option<String>,
    pub category: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub description_en: Option<String>,
    pub unit: String,
    /// Price per unit in yuan, as typed (`128`, `128.50`).
    pub price: String,
    pub stock: i64,
    pub origin_code: String,
    pub harvest_date: Option<String>,
    /// Bulky goods: a shipping surcharge per unit, in yuan (empty or 0 for none; at most 500).
    #[serde(default)]
    pub shipping_surcharge: Option<String>,
    /// draft, on_sale, sold_out or withdrawn.
    pub status: String,
    pub terms_kind: Option<String>,
    pub terms: Option<String>,
    /// The terms editor's rows: the value per household id (empty: not part of the terms).
    /// When given, they replace `terms`.
    #[serde(default)]
    pub terms_by: Option<std::collections::BTreeMap<String, String>>,
    /// A co-op's declaration of the rest of the price, per unit in yuan (empty: not declared;
    /// on an update, left out: kept): its own costs, packing and delivery, its margin.
    #[serde(default)]
    pub cost: Option<String>,
    #[serde(default)]
    pub logistics: Option<String>,
    #[serde(default)]
    pub margin: Option<String>,
    /// When updating: the listing's version the form was loaded at (a newer one: 409).
    pub version: Option<i64>,
    /// When updating: the stock the form was loaded with. `stock − stock_was` is applied as a
    /// change, so units sold since the form was loaded stay sold.
    pub stock_was: Option<i64>,
}

/// Raises or clears the 滞销 flag: the seller, or an official of the listing's county.
#[server(prefix = "/api", endpoint = "market/stalled", output = crate::codec::Json)]
pub async fn set_stalled(
    listing_id: i64,
    stalled: bool,
    reason: Option<String>,
    quantity: Option<i64>,
) -> Result<(), AppError> {
    crate::market::server::set_stalled(listing_id, stalled, reason.as_deref(), quantity).await
}

/// Records a 扶贫产品 certificate: an official whose region contains the listing's origin.
#[server(prefix = "/api", endpoint = "market/certify", output = crate::codec::Json)]
pub async fn certify(
    listing_id: i64,
    number: String,
    valid_from: String,
    valid_until: String,
) -> Result<(), AppError> {
    crate::market::server::certify(listing_id, &number, &valid_from, &valid_until).await
}

/// A household the caller may list for: a co-op's linked households, a cadre's paired ones, or
/// the household account itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellableFor {
    pub household_id: i64,
    pub label: String,
    pub village_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerDeskView {
    /// "household", "cadre" or "organisation".
    pub seller_kind: String,
    pub households: Vec<SellableFor>,
    /// The seller's listings, newest first, [`SELLER_DESK_PAGE_SIZE`] a page.
    pub listings: Page<ListingCard>,
    /// Where a new listing's produce comes from by default.
    pub default_origin: Option<String>,
    /// The places produce may be listed from: the villages of the households one sells for,
    /// inside the seller's county (township and village names), for the origin picker.
    pub origins: Vec<crate::delivery::api::RegionOption>,
    /// The shops one keeps: the co-op's, the household's own, a cadre's paired households'.
    #[serde(default)]
    pub shops: Vec<DeskShop>,
}

/// A shop on the seller desk: its words can be edited whether or not it has a page yet (a
/// household's shop has one while it sells its own produce).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskShop {
    pub key: String,
    pub name: String,
    pub has_page: bool,
}

/// The seller's own listings (a page; `after` is the previous page's `next`) and the households
/// they may list for.
#[server(prefix = "/api", endpoint = "market/seller-desk", output = crate::codec::Json)]
pub async fn seller_desk(after: Option<String>) -> Result<SellerDeskView, AppError> {
    crate::market::server::seller_desk(after.as_deref()).await
}

/// A listing as its seller edits it: the form's current values and the photos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingEditView {
    pub form: ListingForm,
    pub photos: Vec<PhotoView>,
    pub desk: SellerDeskView,
}

/// The seller's view of one of their listings, to edit it.
#[server(prefix = "/api", endpoint = "market/editable-listing", output = crate::codec::Json)]
pub async fn editable_listing(id: i64) -> Result<ListingEditView, AppError> {
    crate::market::server::editable_listing(id).await
}

/// Removes one of a listing's photos: its seller only.
#[server(prefix = "/api", endpoint = "market/delete-photo", output = crate::codec::Json)]
pub async fn delete_photo(photo_id: i64) -> Result<(), AppError> {
    crate::market::server::delete_photo(photo_id).await
}
