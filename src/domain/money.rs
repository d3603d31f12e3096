//! Money (金额) in integer fen (分). Never floats.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in fen (1 元 = 100 分). Signed, so corrections can be negative.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Fen(i64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    Malformed,
    TooLarge,
}

impl Fen {
    pub const ZERO: Fen = Fen(0);
    /// The largest amount we accept from input: 1 亿元. Keeps every sum far from overflow.
    pub const MAX_INPUT: Fen = Fen(100_000_000 * 100);
    /// The highest unit price of a listing: 10 万元.
    pub const MAX_PRICE: Fen = Fen(100_000 * 100);
    /// The largest order (one seller's part of a checkout): 100 万元. An institution buying
    /// more places several orders.
    pub const MAX_ORDER: Fen = Fen(1_000_000 * 100);
    /// The most a household's ledger may add up to, either way: 10 亿元. Far above any real
    /// income; it keeps every total, and the sum over a province's households, inside i64, so
    /// no pile of orders can push a record past what its pages can add up.
    pub const MAX_HOUSEHOLD_TOTAL: Fen = Fen(1_000_000_000 * 100);

    pub const fn new(fen: i64) -> Fen {
        Fen(fen)
    }
    pub const fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }
    pub const fn fen(self) -> i64 {
        self.0
    }
    pub fn checked_add(self, o: Fen) -> Option<Fen> {
        self.0.checked_add(o.0).map(Fen)
    }
    pub fn checked_mul(self, n: i64) -> Option<Fen> {
        self.0.checked_mul(n).map(Fen)
    }

    /// Parses a yuan amount as people type it: `12`, `12.5`, `12.50`, `¥1,234.56`.
    /// More than two decimals, signs, or amounts over [`Fen::MAX_INPUT`] are refused.
    pub fn parse_yuan(s: &str) -> Result<Fen, MoneyError> {
        let s: String = s
            .trim()
            .trim_start_matches(['¥', '￥'])
            .chars()
            .filter(|c| *c != ',' && *c != '，')
            .collect();
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s.as_str(), ""),
        };
        if int.is_empty()
            || frac.len() > 2
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyError::Malformed);
        }
        if int.len() > 12 {
            return Err(MoneyError::TooLarge);
        }
        let yuan: i64 = int.parse().map_err(|_| MoneyError::Malformed)?;
        let mut cents: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| MoneyError::Malformed)?
        };
        if frac.len() == 1 {
            cents *= 10;
        }
        let v = Fen(yuan * 100 + cents);
        if v > Fen::MAX_INPUT {
            return Err(MoneyError::TooLarge);
        }
        Ok(v)
    }

    /// Yuan as typed into a form, the inverse of [`Fen::parse_yuan`]: `128`, `128.50`, `-0.05`.
    pub fn plain_yuan(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        match abs % 100 {
            0 => format!("{sign}{}", abs / 100),
            c => format!("{sign}{}.{c:02}", abs / 100),
        }
    }

    /// Whole yuan, rounded half away from zero (for summaries: "6,000 元").
    pub fn round_yuan(self) -> i64 {
        let q = self.0 / 100;
        let r = self.0 % 100;
        if r >= 50 {
            q + 1
        } else if r <= -50 {
            q - 1
        } else {
            q
        }
    }
}

/// Formats as yuan with two decimals and thousands separators: `¥1,234.50`, `-¥3.00`.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let yuan = abs / 100;
        let cents = abs % 100;
        let digits = yuan.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{}¥{}.{:02}", if neg { "-" } else { "" }, grouped, cents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yuan_amounts_to_fen() {
        assert_eq!(Fen::parse_yuan("12"), Ok(Fen(1200)));
        assert_eq!(Fen::parse_yuan("12.5"), Ok(Fen(1250)));
        assert_eq!(Fen::parse_yuan("¥1,234.56"), Ok(Fen(123456)));
        assert_eq!(Fen::parse_yuan("0.07"), Ok(Fen(7)));
        assert_eq!(Fen::parse_yuan("100000000"), Ok(Fen::MAX_INPUT));
    }

    #[test]
    fn refuses_malformed_and_huge_amounts() {
        for bad in ["", ".5", "1.234", "-3", "1e3", "abc", "1.2.3", "12 3"] {
            assert_eq!(Fen::parse_yuan(bad), Err(MoneyError::Malformed), "{bad}");
        }
        assert_eq!(Fen::parse_yuan("100000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(
            Fen::parse_yuan("99999999999999999999"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn displays_with_grouping() {
        assert_eq!(Fen(123456).to_string(), "¥1,234.56");
        assert_eq!(Fen(600000).to_string(), "¥6,000.00");
        assert_eq!(Fen(5).to_string(), "¥0.05");
        assert_eq!(Fen(-300).to_string(), "-¥3.00");
        assert_eq!(Fen(10_000_000_000).to_string(), "¥100,000,000.00");
    }

    #[test]
    fn rounds_to_whole_yuan() {
        assert_eq!(Fen(149).round_yuan(), 1);
        assert_eq!(Fen(150).round_yuan(), 2);
        assert_eq!(Fen(-150).round_yuan(), -2);
    }

    #[test]
    fn the_caps_keep_every_sum_inside_i64() {
        // A whole order at the price cap stays under the order cap only for small quantities.
        assert!(Fen::MAX_PRICE.checked_mul(10).unwrap() <= Fen::MAX_ORDER);
        // Ten million households at the household cap still add up without overflow.
        assert!(Fen::MAX_HOUSEHOLD_TOTAL.checked_mul(10_000_000).is_some());
        assert!(Fen::MAX_ORDER < Fen::MAX_HOUSEHOLD_TOTAL);
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(3).checked_mul(4), Some(Fen(12)));
    }

    #[test]
    fn plain_yuan_round_trips_through_parse() {
        for fen in [0, 5, 50, 100, 12_850, 100_000_000] {
            let text = Fen::new(fen).plain_yuan();
            assert_eq!(Fen::parse_yuan(&text), Ok(Fen::new(fen)), "{text}");
        }
        assert_eq!(Fen::new(12_850).plain_yuan(), "128.50");
        assert_eq!(Fen::new(-5).plain_yuan(), "-0.05");
    }
}
