//! Income per capita (人均收入) and the monitoring line (防止返贫监测线).

use super::money::Fen;
use serde::{Deserialize, Serialize};

/// Where a household stands against the year's monitoring line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitoringStatus {
    /// Below the line: 监测对象.
    Below,
    /// Within the "near" margin above the line (default: up to 1.5× the line).
    Near,
    Above,
    /// No income recorded or no members.
    Unknown,
}

impl MonitoringStatus {
    /// The word used on the wire and in exports (`below`, `near`, `above`, `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            MonitoringStatus::Below => "below",
            MonitoringStatus::Near => "near",
            MonitoringStatus::Above => "above",
            MonitoringStatus::Unknown => "unknown",
        }
    }
}

/// Per-capita income: total household income divided by members, rounded down to whole fen.
/// `None` when the household has no members.
pub fn per_capita(total: Fen, members: i64) -> Option<Fen> {
    if members <= 0 {
        return None;
    }
    Some(Fen::new(total.fen().div_euclid(members)))
}

/// The margin above the line that counts as "near", in percent of the line (150 = 1.5×).
pub const NEAR_LINE_PERCENT: i64 = 150;

/// The highest per-capita income that is still "near" the line: ⌊line × 150%⌋ (for whole fen,
/// `pc × 100 ≤ line × 150` exactly when `pc ≤ ⌊line × 1.5⌋`). Worked out in i128, so no line
/// can overflow it. The one place the rule lives; queries bind this value.
pub fn near_ceiling(line: Fen) -> Fen {
    let v = (line.fen() as i128) * (NEAR_LINE_PERCENT as i128) / 100;
    Fen::new(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Classifies a per-capita income against a monitoring line.
pub fn status(per_capita: Option<Fen>, line: Fen) -> MonitoringStatus {
    match per_capita {
        None => MonitoringStatus::Unknown,
        Some(pc) if pc < line => MonitoringStatus::Below,
        Some(pc) if pc <= near_ceiling(line) => MonitoringStatus::Near,
        Some(_) => MonitoringStatus::Above,
    }
}

/// The monitoring line in force in `year`: the latest one set for that year or before it.
/// `lines` are (year, line) pairs in any order.
pub fn line_in_force(lines: &[(i64, Fen)], year: i64) -> Option<Fen> {
    lines
        .iter()
        .filter(|(y, _)| *y <= year)
        .max_by_key(|(y, _)| *y)
        .map(|(_, line)| *line)
}

/// How far a per-capita income is above (positive) or below (negative) the line.
pub fn distance_to_line(per_capita: Fen, line: Fen) -> Fen {
    Fen::new(per_capita.fen() - line.fen())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: Fen = Fen::from_yuan(6000);

    #[test]
    fn per_capita_divides_and_rounds_down() {
        assert_eq!(
            per_capita(Fen::from_yuan(18000), 3),
            Some(Fen::from_yuan(6000))
        );
        assert_eq!(per_capita(Fen::new(1000), 3), Some(Fen::new(333)));
        assert_eq!(per_capita(Fen::new(-1000), 3), Some(Fen::new(-334)));
        assert_eq!(per_capita(Fen::from_yuan(100), 0), None);
    }

    #[test]
    fn the_line_in_force_is_the_latest_set_by_then() {
        let lines = [
            (2021, Fen::from_yuan(6500)),
            (2020, LINE),
            (2023, Fen::from_yuan(7000)),
        ];
        assert_eq!(line_in_force(&lines, 2019), None);
        assert_eq!(line_in_force(&lines, 2020), Some(LINE));
        assert_eq!(line_in_force(&lines, 2022), Some(Fen::from_yuan(6500)));
        assert_eq!(line_in_force(&lines, 2030), Some(Fen::from_yuan(7000)));
    }

    #[test]
    fn status_against_the_line() {
        assert_eq!(
            status(Some(Fen::new(599_999)), LINE),
            MonitoringStatus::Below
        );
        assert_eq!(status(Some(LINE), LINE), MonitoringStatus::Near);
        assert_eq!(
            status(Some(Fen::from_yuan(9000)), LINE),
            MonitoringStatus::Near
        );
        assert_eq!(
            status(Some(Fen::new(900_001)), LINE),
            MonitoringStatus::Above
        );
        assert_eq!(status(None, LINE), MonitoringStatus::Unknown);
        // An odd line: ⌊3 × 1.5⌋ = 4, so 4 fen is near and 5 is above.
        assert_eq!(near_ceiling(Fen::new(3)), Fen::new(4));
        assert_eq!(
            status(Some(Fen::new(4)), Fen::new(3)),
            MonitoringStatus::Near
        );
        assert_eq!(
            status(Some(Fen::new(5)), Fen::new(3)),
            MonitoringStatus::Above
        );
        assert_eq!(near_ceiling(Fen::new(i64::MAX)), Fen::new(i64::MAX));
        assert_eq!(
            status(Some(Fen::new(i64::MAX)), LINE),
            MonitoringStatus::Above
        );
    }

    #[test]
    fn distance_is_signed() {
        assert_eq!(
            distance_to_line(Fen::from_yuan(5500), LINE),
            Fen::from_yuan(-500)
        );
        assert_eq!(
            distance_to_line(Fen::from_yuan(6500), LINE),
            Fen::from_yuan(500)
        );
    }
}
