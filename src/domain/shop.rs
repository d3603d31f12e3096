//! Shops (网店) and the short links that share them: a co-op's or enterprise's shop, a
//! household's own, a village's (all the produce grown there), and a listing.
//!
//! A key is a letter and a number: `c12` (organisation 12), `h34` (household 34),
//! `v350725100201` (a village's division code), `l56` (listing 56, short links only). The same
//! key names the shop's page (`/shop/c12`), its short link (`/s/c12`) and its QR code
//! (`/s/c12/qr.svg`). `r` and a random token (`rabcdefgh2345`) is an impact receipt its
//! buyer chose to share (`/impact/abcdefgh2345`).

use super::region::{RegionCode, RegionLevel};
use std::fmt;

/// A shop: who sells, or where it grows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShopKey {
    /// A co-op or agricultural enterprise (组织), by its id.
    Organisation(i64),
    /// A household selling its own produce, by its id.
    Household(i64),
    /// A village: every listing whose origin it is.
    Village(RegionCode),
}

/// What a short link leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareKey {
    Shop(ShopKey),
    Listing(i64),
    /// An impact receipt its buyer chose to share: `r` and its token.
    Impact(ImpactToken),
}

/// The random name of a shared impact receipt: [`ImpactToken::LEN`] characters of the
/// lower-case base32 alphabet (60 bits), so a receipt is found only through its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpactToken(String);

impl ImpactToken {
    pub const LEN: usize = 12;
    const ALPHABET: &'static [u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

    pub fn parse(s: &str) -> Option<ImpactToken> {
        (s.len() == Self::LEN && s.bytes().all(|b| Self::ALPHABET.contains(&b)))
            .then(|| ImpactToken(s.to_owned()))
    }

    /// A token from random bytes (one character from the low five bits of each).
    pub fn from_random(bytes: [u8; Self::LEN]) -> ImpactToken {
        ImpactToken(
            bytes
                .iter()
                .map(|b| char::from(Self::ALPHABET[usize::from(b & 31)]))
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest key: `v` and a 12-digit code.
pub const MAX_KEY_LEN: usize = 13;

fn id_after(s: &str, letter: char) -> Option<i64> {
    let digits = s.strip_prefix(letter)?;
    // Digits only (no sign, no spaces), no leading zero, at most 12 (the key's length).
    if digits.is_empty()
        || digits.len() > 12
        || digits.starts_with('0')
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok().filter(|n: &i64| *n > 0)
}

impl ShopKey {
    pub fn parse(s: &str) -> Option<ShopKey> {
        if s.len() > MAX_KEY_LEN {
            return None;
        }
        if let Some(id) = id_after(s, 'c') {
            return Some(ShopKey::Organisation(id));
        }
        if let Some(id) = id_after(s, 'h') {
            return Some(ShopKey::Household(id));
        }
        let code = RegionCode::parse(s.strip_prefix('v')?).ok()?;
        // Only the digits as written: `parse` trims, a key must not.
        (code.as_str().len() + 1 == s.len() && code.level() == RegionLevel::Village)
            .then_some(ShopKey::Village(code))
    }

    /// The shop's page.
    pub fn path(&self) -> String {
        format!("/shop/{self}")
    }
}

impl fmt::Display for ShopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShopKey::Organisation(id) => write!(f, "c{id}"),
            ShopKey::Household(id) => write!(f, "h{id}"),
            ShopKey::Village(code) => write!(f, "v{code}"),
        }
    }
}

impl ShareKey {
    pub fn parse(s: &str) -> Option<ShareKey> {
        if let Some(id) = id_after(s, 'l') {
            return Some(ShareKey::Listing(id));
        }
        if let Some(t) = s.strip_prefix('r').and_then(ImpactToken::parse) {
            return Some(ShareKey::Impact(t));
        }
        ShopKey::parse(s).map(ShareKey::Shop)
    }

    /// The page the short link opens.
    pub fn path(&self) -> String {
        match self {
            ShareKey::Shop(k) => k.path(),
            ShareKey::Listing(id) => format!("/listing/{id}"),
            ShareKey::Impact(t) => format!("/impact/{}", t.as_str()),
        }
    }

    /// The short link's path.
    pub fn short_path(&self) -> String {
        format!("/s/{self}")
    }
}

impl fmt::Display for ShareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareKey::Shop(k) => k.fmt(f),
            ShareKey::Listing(id) => write!(f, "l{id}"),
            ShareKey::Impact(t) => write!(f, "r{}", t.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_written() {
        for s in ["c1", "h34", "v350725100201", "c999999999999"] {
            let k = ShopKey::parse(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(k.to_string(), s);
            assert_eq!(k.path(), format!("/shop/{s}"));
        }
        assert_eq!(ShareKey::parse("l56"), Some(ShareKey::Listing(56)));
        assert_eq!(ShareKey::parse("l56").unwrap().path(), "/listing/56");
        assert_eq!(ShareKey::parse("c3").unwrap().short_path(), "/s/c3");
        let r = ShareKey::parse("rabcdefgh2345").unwrap();
        assert_eq!(r.path(), "/impact/abcdefgh2345");
        assert_eq!(r.to_string(), "rabcdefgh2345");
        assert_eq!(r.to_string().len(), MAX_KEY_LEN);
        let t = ImpactToken::from_random([0, 31, 32, 255, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(t.as_str(), "a7a7bcdefghi");
        assert_eq!(ImpactToken::parse(t.as_str()), Some(t));
    }

    #[test]
    fn anything_else_is_not_a_key() {
        for s in [
            "",
            "c",
            "c0",
            "c01",
            "c-1",
            "c+1",
            "c1 ",
            " c1",
            "C1",
            "x1",
            "c1a",
            "h",
            "l0",
            "v350725",
            "v350725100",
            "v350725100000",
            "v 350725100201",
            "v350725100201 ",
            "c9999999999999",
            "c99999999999999999999",
            "v35072510020a",
            "c１",
        ] {
            assert_eq!(ShopKey::parse(s), None, "{s:?}");
        }
        // A listing is shared by a short link; it has no shop.
        assert_eq!(ShopKey::parse("l5"), None);
        assert_eq!(ShareKey::parse("l-5"), None);
        for s in [
            "r",
            "rabc",
            "rabcdefgh23456",
            "rABCDEFGH2345",
            "rabcdefgh2341",
            "rabcdefgh234 ",
            "r\u{e9}bcdefgh23",
        ] {
            assert_eq!(ShareKey::parse(s), None, "{s:?}");
        }
    }
}
