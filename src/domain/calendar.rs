//! Calendar arithmetic on Unix times, in China time (UTC+8) where a date is meant. Pure and
//! shared by both targets, so a date renders the same on the server and in the browser.

/// The Gregorian year of a Unix time, in UTC (days-from-civil, Howard Hinnant's algorithm).
pub fn year_of(unix: i64) -> i64 {
    civil_from_days(unix.div_euclid(86_400)).0
}

/// The China-time date of a Unix time as `YYYY-MM-DD`.
pub fn date_of(unix: i64) -> String {
    let (y, m, d) = civil_from_days((unix + 8 * 3600).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The China-time quarter of a Unix time as `YYYY-Qn` (`2026-Q4`).
pub fn quarter_of(unix: i64) -> String {
    let (y, m, _) = civil_from_days((unix + 8 * 3600).div_euclid(86_400));
    format!("{y:04}-Q{}", (m - 1) / 3 + 1)
}

/// The China-time date and minute of a Unix time as `YYYY-MM-DD HH:MM`.
pub fn date_time_of(unix: i64) -> String {
    let local = unix + 8 * 3600;
    let minute = local.rem_euclid(86_400) / 60;
    format!("{} {:02}:{:02}", date_of(unix), minute / 60, minute % 60)
}

/// The Unix time at which the China-time month holding `unix` began (its first day, 00:00
/// UTC+8): the key of `income_months`.
pub fn month_start_of(unix: i64) -> i64 {
    let (y, m, _) = civil_from_days((unix + 8 * 3600).div_euclid(86_400));
    days_from_civil(y, m, 1) * 86_400 - 8 * 3600
}

/// The start of the month `k` months after (negative: before) the month starting at
/// `month_start` (itself a value of [`month_start_of`]).
pub fn add_months(month_start: i64, k: i64) -> i64 {
    let (y, m, _) = civil_from_days((month_start + 8 * 3600).div_euclid(86_400));
    let idx = y * 12 + (m - 1) + k;
    days_from_civil(idx.div_euclid(12), idx.rem_euclid(12) + 1, 1) * 86_400 - 8 * 3600
}

/// Days since 1970-01-01 of a China-time date `YYYY-MM-DD` (which must pass [`is_date`]).
pub fn day_number(date: &str) -> Option<i64> {
    if !is_date(date) {
        return None;
    }
    let y = date[0..4].parse().ok()?;
    let m = date[5..7].parse().ok()?;
    let d = date[8..10].parse().ok()?;
    Some(days_from_civil(y, m, d))
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (
        s[0..4].parse::<i64>(),
        s[5..7].parse::<i64>(),
        s[8..10].parse::<i64>(),
    ) else {
        return false;
    };
    (1..=12).contains(&m) && d >= 1 && civil_from_days(days_from_civil(y, m, d)) == (y, m, d)
}

/// (year, month, day) of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a Gregorian date.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_start_at_midnight_china_time() {
        // 2027-01-01 00:00 UTC+8.
        let jan = 1_798_761_600 - 8 * 3600;
        assert_eq!(month_start_of(jan), jan);
        assert_eq!(month_start_of(jan + 31 * 86_400 - 1), jan);
        assert_eq!(month_start_of(jan - 1), add_months(jan, -1));
        assert_eq!(date_of(add_months(jan, -1)), "2026-12-01");
        assert_eq!(date_of(add_months(jan, 13)), "2028-02-01");
        assert_eq!(date_of(add_months(jan, -25)), "2024-12-01");
        assert_eq!(day_number("1970-01-02"), Some(1));
        assert_eq!(day_number("2026-02-30"), None);
    }

    #[test]
    fn dates_round_trip() {
        for days in [-1, 0, 59, 60, 365, 11_016, 20_000, 20_454] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(date_of(1_798_761_600 - 8 * 3600), "2027-01-01");
        assert_eq!(
            date_time_of(1_798_761_600 - 8 * 3600 + 3 * 3600 + 7 * 60 + 59),
            "2027-01-01 03:07"
        );
        assert_eq!(
            date_time_of(1_798_761_600 - 8 * 3600 - 60),
            "2026-12-31 23:59"
        );
        assert_eq!(year_of(1_704_067_199), 2023);
    }

    #[test]
    fn quarters_are_china_time() {
        // 2027-01-01 00:00 UTC+8 is still 2026 in UTC.
        let jan = 1_798_761_600 - 8 * 3600;
        assert_eq!(quarter_of(jan), "2027-Q1");
        assert_eq!(quarter_of(jan - 1), "2026-Q4");
        assert_eq!(quarter_of(add_months(jan, 3)), "2027-Q2");
        assert_eq!(quarter_of(add_months(jan, 8)), "2027-Q3");
    }

    #[test]
    fn only_real_dates_parse() {
        assert!(is_date("2024-02-29"));
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "2025-00-10",
            "20250101",
            "2025-01-32",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
