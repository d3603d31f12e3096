//! Listings (货品): category, status and the quantity a buyer may order.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Tea,
    Vegetables,
    Fruit,
    GrainOil,
    Aquatic,
    Livestock,
    Handicraft,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Tea,
        Category::Vegetables,
        Category::Fruit,
        Category::GrainOil,
        Category::Aquatic,
        Category::Livestock,
        Category::Handicraft,
        Category::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Tea => "tea",
            Category::Vegetables => "vegetables",
            Category::Fruit => "fruit",
            Category::GrainOil => "grain_oil",
            Category::Aquatic => "aquatic",
            Category::Livestock => "livestock",
            Category::Handicraft => "handicraft",
            Category::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
    /// The Chinese name used in the interface and in search (茶叶, 蔬菜 …).
    pub fn zh(self) -> &'static str {
        match self {
            Category::Tea => "茶叶",
            Category::Vegetables => "蔬菜",
            Category::Fruit => "水果",
            Category::GrainOil => "粮油",
            Category::Aquatic => "水产",
            Category::Livestock => "禽畜",
            Category::Handicraft => "手工艺",
            Category::Other => "其他",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Category::Tea => "Tea",
            Category::Vegetables => "Vegetables",
            Category::Fruit => "Fruit",
            Category::GrainOil => "Grain & oil",
            Category::Aquatic => "Seafood",
            Category::Livestock => "Poultry & livestock",
            Category::Handicraft => "Handicrafts",
            Category::Other => "Other",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingStatus {
    Draft,
    OnSale,
    SoldOut,
    Withdrawn,
}

impl ListingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ListingStatus::Draft => "draft",
            ListingStatus::OnSale => "on_sale",
            ListingStatus::SoldOut => "sold_out",
            ListingStatus::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> Option<ListingStatus> {
        [
            ListingStatus::Draft,
            ListingStatus::OnSale,
            ListingStatus::SoldOut,
            ListingStatus::Withdrawn,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// How many units one order line may ask for: a whole number from 1 to [`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quantity(i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidQuantity;

impl Quantity {
    pub const MAX: i64 = 9_999;
    pub fn new(n: i64) -> Result<Quantity, InvalidQuantity> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Quantity(n))
        } else {
            Err(InvalidQuantity)
        }
    }
    /// Parses what a person or client sent: digits only, no sign, no decimals.
    pub fn parse(s: &str) -> Result<Quantity, InvalidQuantity> {
        let s = s.trim();
        if s.is_empty() || s.len() > 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidQuantity);
        }
        Quantity::new(s.parse().map_err(|_| InvalidQuantity)?)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_whole_and_bounded() {
        assert_eq!(Quantity::parse("3").unwrap().get(), 3);
        assert_eq!(Quantity::parse(" 9999 ").unwrap().get(), 9999);
        for bad in [
            "0",
            "-1",
            "1.5",
            "",
            "1e3",
            "10000",
            "99999999999999999999",
            "３",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-5).is_err());
    }

    #[test]
    fn categories_and_statuses_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert!(!c.zh().is_empty() && !c.en().is_empty());
        }
        assert_eq!(Category::parse("gold"), None);
        assert_eq!(ListingStatus::parse("on_sale"), Some(ListingStatus::OnSale));
        assert_eq!(ListingStatus::parse("deleted"), None);
    }
}
