//! Administrative regions (行政区划) by national division code: 6 digits for province, city and
//! county (e.g. 350000 福建省, 350900 宁德市, 350921 霞浦县), 9 for a township (乡镇) and 12 for a
//! village (村).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province,
    City,
    County,
    Township,
    Village,
}

impl RegionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
            RegionLevel::Township => "township",
            RegionLevel::Village => "village",
        }
    }
    /// How many leading digits identify a region of this level.
    fn prefix_len(self) -> usize {
        match self {
            RegionLevel::Province => 2,
            RegionLevel::City => 4,
            RegionLevel::County => 6,
            RegionLevel::Township => 9,
            RegionLevel::Village => 12,
        }
    }
}

/// A valid division code. Build with [`RegionCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRegionCode;

impl fmt::Display for InvalidRegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid administrative division code")
    }
}

impl RegionCode {
    pub fn parse(s: &str) -> Result<RegionCode, InvalidRegionCode> {
        let s = s.trim();
        if !matches!(s.len(), 6 | 9 | 12) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidRegionCode);
        }
        // Province 00 does not exist; a county-level code cannot be 000 under a township.
        if &s[0..2] == "00" {
            return Err(InvalidRegionCode);
        }
        let code = RegionCode(s.to_owned());
        match code.level() {
            RegionLevel::Township if &s[6..9] == "000" => Err(InvalidRegionCode),
            RegionLevel::Village if &s[9..12] == "000" => Err(InvalidRegionCode),
            _ => Ok(code),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> RegionLevel {
        let s = &self.0;
        match s.len() {
            12 => RegionLevel::Village,
            9 => RegionLevel::Township,
            _ if &s[2..6] == "0000" => RegionLevel::Province,
            _ if &s[4..6] == "00" => RegionLevel::City,
            _ => RegionLevel::County,
        }
    }

    /// The region directly above, or `None` for a province.
    pub fn parent(&self) -> Option<RegionCode> {
        let s = &self.0;
        let p = match self.level() {
            RegionLevel::Province => return None,
            RegionLevel::City => format!("{}0000", &s[0..2]),
            RegionLevel::County => format!("{}00", &s[0..4]),
            RegionLevel::Township => s[0..6].to_owned(),
            RegionLevel::Village => s[0..9].to_owned(),
        };
        Some(RegionCode(p))
    }

    /// The chain from this region up to its province, this region first.
    pub fn ancestors(&self) -> Vec<RegionCode> {
        let mut out = vec![self.clone()];
        while let Some(p) = out.last().and_then(RegionCode::parent) {
            out.push(p);
        }
        out
    }

    /// The digits every region inside this one starts with.
    pub fn scope_prefix(&self) -> &str {
        &self.0[..self.level().prefix_len()]
    }

    /// Whether `other` is this region or lies inside it.
    pub fn contains(&self, other: &RegionCode) -> bool {
        let me = self.level();
        if other.level() < me {
            return false;
        }
        other.0.starts_with(self.scope_prefix())
    }

    /// The county (区县) this region is or lies in; none for a province or a city.
    pub fn county(&self) -> Option<RegionCode> {
        (self.level() >= RegionLevel::County).then(|| RegionCode(self.0[..6].to_owned()))
    }

    /// A SQL `LIKE` pattern matching the codes of this region and everything inside it.
    pub fn like_pattern(&self) -> String {
        format!("{}%", self.scope_prefix())
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = InvalidRegionCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RegionCode::parse(&s)
    }
}

impl From<RegionCode> for String {
    fn from(c: RegionCode) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn levels_from_codes() {
        assert_eq!(c("350000").level(), RegionLevel::Province);
        assert_eq!(c("350900").level(), RegionLevel::City);
        assert_eq!(c("350921").level(), RegionLevel::County);
        assert_eq!(c("350921101").level(), RegionLevel::Township);
        assert_eq!(c("350921101201").level(), RegionLevel::Village);
    }

    #[test]
    fn rejects_malformed_codes() {
        for bad in [
            "",
            "35",
            "3509211",
            "35092a",
            "000000",
            "350921000",
            "350921101000",
            " 1234567 ",
            "３５００００",
        ] {
            assert!(RegionCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_county_of_a_region() {
        let c = |s: &str| {
            RegionCode::parse(s)
                .unwrap()
                .county()
                .map(|c| c.to_string())
        };
        assert_eq!(c("350725100201").as_deref(), Some("350725"));
        assert_eq!(c("350725100").as_deref(), Some("350725"));
        assert_eq!(c("350725").as_deref(), Some("350725"));
        assert_eq!(c("350700"), None);
        assert_eq!(c("350000"), None);
    }

    #[test]
    fn parent_chain_reaches_the_province() {
        let v = c("350921101201");
        let chain: Vec<String> = v.ancestors().into_iter().map(String::from).collect();
        assert_eq!(
            chain,
            ["350921101201", "350921101", "350921", "350900", "350000"]
        );
        assert_eq!(c("350000").parent(), None);
    }

    #[test]
    fn containment_follows_the_hierarchy() {
        let fujian = c("350000");
        let ningde = c("350900");
        let xiapu = c("350921");
        let pingnan = c("350923");
        let village = c("350921101201");
        assert!(fujian.contains(&village));
        assert!(ningde.contains(&xiapu));
        assert!(ningde.contains(&pingnan));
        assert!(xiapu.contains(&village));
        assert!(xiapu.contains(&xiapu));
        assert!(!pingnan.contains(&village));
        assert!(!xiapu.contains(&ningde));
        assert!(!c("350700").contains(&xiapu));
        assert_eq!(xiapu.like_pattern(), "350921%");
    }

    #[test]
    fn serde_refuses_invalid_codes() {
        assert!(serde_json::from_str::<RegionCode>("\"350921\"").is_ok());
        assert!(serde_json::from_str::<RegionCode>("\"9\"").is_err());
    }
}
