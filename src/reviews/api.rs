//! Reviews (评价): a delivered item's buyer rates it once, the seller may reply, an
//! administrator may hide abusive text.

use crate::domain::page::Page;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The longest comment and reply, in characters.
pub const MAX_REVIEW_CHARS: usize = 500;
/// Reviews in one page of a listing's.
pub const REVIEWS_PAGE_SIZE: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewView {
    pub id: i64,
    pub rating: i64,
    pub body: String,
    /// The buyer's display name, masked (`王**`).
    pub reviewer: String,
    pub created_at: i64,
    pub reply: Option<String>,
    /// Hidden by an administrator: only administrators are sent it.
    pub hidden: bool,
}

/// How many visible reviews, and their average rating in tenths (43 is 4.3): integers, so
/// server and browser show the same figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingSummary {
    pub count: i64,
    pub average_tenths: i64,
}

impl RatingSummary {
    /// From the count and the sum of the ratings, rounded half up.
    pub fn of(count: i64, sum: i64) -> RatingSummary {
        RatingSummary {
            count,
            average_tenths: if count > 0 {
                (sum.saturating_mul(20) + count) / (2 * count)
            } else {
                0
            },
        }
    }

    /// "4.3".
    pub fn average(&self) -> String {
        format!("{}.{}", self.average_tenths / 10, self.average_tenths % 10)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewsPage {
    pub summary: RatingSummary,
    pub page: Page<ReviewView>,
    /// The viewer sells the listing (may reply) or is an administrator (may hide).
    pub can_reply: bool,
    pub can_hide: bool,
}

/// A listing's reviews, newest first (`after`: the previous page's `next`). Public; hidden ones
/// only for administrators.
#[server(prefix = "/api", endpoint = "reviews/listing", output = crate::codec::Json)]
pub async fn listing_reviews(
    listing_id: i64,
    after: Option<String>,
) -> Result<ReviewsPage, AppError> {
    super::server::listing_reviews(listing_id, after.as_deref()).await
}

/// Rates an item of the caller's delivered order (1–5) with an optional comment; once.
#[server(prefix = "/api", endpoint = "reviews/write", output = crate::codec::Json)]
pub async fn write_review(
    order_item_id: i64,
    rating: String,
    #[server(default)] body: String,
) -> Result<ReviewView, AppError> {
    super::server::write(order_item_id, &rating, &body).await
}

/// The seller's reply to a review of their listing; once.
#[server(prefix = "/api", endpoint = "reviews/reply", output = crate::codec::Json)]
pub async fn reply_review(review_id: i64, reply: String) -> Result<ReviewView, AppError> {
    super::server::reply(review_id, &reply).await
}

/// Hides a review's text from everyone but administrators (`hidden` = "0" shows it again).
#[server(prefix = "/api", endpoint = "reviews/hide", output = crate::codec::Json)]
pub async fn hide_review(review_id: i64, hidden: String) -> Result<ReviewView, AppError> {
    super::server::hide(review_id, hidden.trim() != "0").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_is_in_tenths_rounded_half_up() {
        assert_eq!(RatingSummary::of(0, 0).average_tenths, 0);
        assert_eq!(RatingSummary::of(1, 5).average(), "5.0");
        assert_eq!(RatingSummary::of(3, 13).average(), "4.3");
        assert_eq!(RatingSummary::of(2, 9).average(), "4.5");
        assert_eq!(RatingSummary::of(3, 14).average(), "4.7");
        assert_eq!(RatingSummary::of(6, 7).average(), "1.2");
    }
}
