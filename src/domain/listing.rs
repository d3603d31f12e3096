//! Listings (货品): category, status and the quantity a buyer may order.

use super::money::Fen;
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

/// A listing's title in `lang`: the English one where the seller gave it, else the Chinese.
/// Cards, the cart, buy-now and order lines all show titles through this.
pub fn title_in(lang: crate::i18n::Lang, title: &str, title_en: &str) -> String {
    lang.pick(title, title_en)
}

/// A unit in `lang`: common units in English ([`unit_en`]), any other as the seller typed it.
pub fn unit_in(lang: crate::i18n::Lang, unit: &str) -> String {
    match (lang, unit_en(unit)) {
        (crate::i18n::Lang::En, Some(en)) => en.to_owned(),
        _ => unit.to_owned(),
    }
}

/// The English of the units sellers commonly type, for pages in English; any other unit is
/// shown as typed.
pub fn unit_en(unit: &str) -> Option<&'static str> {
    Some(match unit.trim() {
        "斤" => "jin (500 g)",
        "公斤" | "千克" => "kg",
        "克" => "g",
        "两" => "liang (50 g)",
        "箱" => "case",
        "盒" => "box",
        "袋" => "bag",
        "包" => "pack",
        "罐" => "tin",
        "瓶" => "bottle",
        "桶" => "bucket",
        "篮" => "basket",
        "筐" => "crate",
        "个" => "piece",
        "只" => "each",
        "份" => "portion",
        "套" => "set",
        "件" => "item",
        "串" => "bunch",
        "把" => "bundle",
        "捆" => "bundle",
        "条" => "piece",
        "提" => "carton",
        "饼" => "cake",
        _ => return None,
    })
}

/// What a seller declares about the part of a unit's price that does not go to households:
/// its own costs (buying, processing, labour), packing and delivery, and its margin. Per
/// unit; each part may be left undeclared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredCosts {
    pub costs: Option<Fen>,
    pub logistics: Option<Fen>,
    pub margin: Option<Fen>,
}

/// Why declared costs were refused; `field` names the form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostsError {
    pub field: &'static str,
}

impl DeclaredCosts {
    /// The form's three fields, in yuan as typed (empty: not declared).
    pub fn parse(
        costs: Option<&str>,
        logistics: Option<&str>,
        margin: Option<&str>,
    ) -> Result<DeclaredCosts, CostsError> {
        let one = |v: Option<&str>, field: &'static str| match v.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => Fen::parse_yuan(s)
                .ok()
                .filter(|f| f.fen() >= 0 && *f <= Fen::MAX_PRICE)
                .map(Some)
                .ok_or(CostsError { field }),
        };
        Ok(DeclaredCosts {
            costs: one(costs, "cost")?,
            logistics: one(logistics, "logistics")?,
            margin: one(margin, "margin")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.costs.is_none() && self.logistics.is_none() && self.margin.is_none()
    }

    /// The declared parts added up (each at most [`Fen::MAX_PRICE`], so no overflow).
    pub fn total(&self) -> Fen {
        [self.costs, self.logistics, self.margin]
            .into_iter()
            .flatten()
            .fold(Fen::ZERO, |a, f| a.checked_add(f).unwrap_or(Fen::MAX_INPUT))
    }

    /// What is declared and what goes to households may not add up to more than the price.
    pub fn check(&self, price: Fen, to_households: Fen) -> Result<(), CostsError> {
        match self.total().checked_add(to_households) {
            Some(sum) if sum <= price => Ok(()),
            _ => Err(CostsError { field: "cost" }),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn declared_costs_are_optional_and_never_pass_the_price() {
        let d = DeclaredCosts::parse(Some("20"), Some(" 8.50 "), None).unwrap();
        assert_eq!(d.costs, Some(Fen::new(2000)));
        assert_eq!(d.logistics, Some(Fen::new(850)));
        assert_eq!(d.margin, None);
        assert_eq!(d.total(), Fen::new(2850));
        // ¥100: ¥60 to households + ¥28.50 declared fits; ¥72 to households does not.
        assert!(d.check(Fen::new(10_000), Fen::new(6_000)).is_ok());
        assert!(d.check(Fen::new(10_000), Fen::new(7_150)).is_ok());
        assert_eq!(
            d.check(Fen::new(10_000), Fen::new(7_200)),
            Err(CostsError { field: "cost" })
        );
        assert!(DeclaredCosts::parse(None, Some(""), Some(" "))
            .unwrap()
            .is_empty());
        for (bad, field) in [
            ((Some("-1"), None, None), "cost"),
            ((None, Some("abc"), None), "logistics"),
            ((None, None, Some("1000000.01")), "margin"),
            ((None, None, Some("1.234")), "margin"),
        ] {
            assert_eq!(
                DeclaredCosts::parse(bad.0, bad.1, bad.2),
                Err(CostsError { field })
            );
        }
    }

    #[test]
    fn common_units_have_english_names() {
        assert_eq!(unit_en("斤"), Some("jin (500 g)"));
        assert_eq!(unit_en(" 箱 "), Some("case"));
        assert_eq!(unit_en("5斤装"), None);
    }

    #[test]
    fn titles_and_units_follow_the_page_language() {
        use crate::i18n::Lang;
        assert_eq!(title_in(Lang::En, "白茶", "White tea"), "White tea");
        assert_eq!(title_in(Lang::Zh, "白茶", "White tea"), "白茶");
        // No English title (or only spaces): the Chinese one, on English pages too.
        assert_eq!(title_in(Lang::En, "白茶", ""), "白茶");
        assert_eq!(title_in(Lang::En, "白茶", "  "), "白茶");
        assert_eq!(unit_in(Lang::En, "斤"), "jin (500 g)");
        assert_eq!(unit_in(Lang::Zh, "斤"), "斤");
        assert_eq!(unit_in(Lang::En, "5斤装"), "5斤装");
    }

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
