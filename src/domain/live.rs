//! Rules of livestream sales that both targets share: event times typed in China time, the
//! addresses of streams, the platform a link goes to, when a flash price applies, and the text
//! of a calendar file.

/// The Unix time of a China-time `YYYY-MM-DDTHH:MM` (a `datetime-local` field; seconds may
/// follow and are ignored).
pub fn parse_local_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', ' '])?;
    let day = crate::domain::calendar::day_number(date)?;
    let b = time.as_bytes();
    if b.len() < 5 || b[2] != b':' || !(b.len() == 5 || (b.len() == 8 && b[5] == b':')) {
        return None;
    }
    let h: i64 = time.get(0..2)?.parse().ok()?;
    let m: i64 = time.get(3..5)?.parse().ok()?;
    if !(0..24).contains(&h)
        || !(0..60).contains(&m)
        || !time[0..5].bytes().all(|c| c.is_ascii_digit() || c == b':')
    {
        return None;
    }
    Some(day * 86_400 + h * 3600 + m * 60 - 8 * 3600)
}

/// The `datetime-local` value (China time) of a Unix time.
pub fn local_datetime(unix: i64) -> String {
    crate::domain::calendar::date_time_of(unix).replacen(' ', "T", 1)
}

/// The longest address kept.
pub const MAX_URL: usize = 500;

/// Whether `s` is an `https://` address with a host, no spaces, quotes or angle brackets, and
/// at most [`MAX_URL`] bytes: what a stream, a link out or a replay may be.
pub fn valid_https_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    s.len() <= MAX_URL
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`'))
}

/// The platform a link goes to, by its host: 抖音, 快手, 视频号, 淘宝直播, else the host.
pub fn platform_of(url: &str) -> String {
    let host = url
        .strip_prefix("https://")
        .unwrap_or(url)
        .split(['/', '?', '#', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let is = |d: &str| host == d || host.ends_with(&format!(".{d}"));
    if is("douyin.com") {
        "抖音".into()
    } else if is("kuaishou.com") {
        "快手".into()
    } else if is("channels.weixin.qq.com") || is("weixin.qq.com") {
        "视频号".into()
    } else if is("taobao.com") || is("tb.cn") {
        "淘宝直播".into()
    } else {
        host
    }
}

/// Whether a flash price set for `[starts_at, ends_at)` applies at `t` in an event whose status
/// is `status`: only while the event is live and inside the window.
pub fn flash_applies(status: &str, starts_at: i64, ends_at: i64, t: i64) -> bool {
    status == "live" && starts_at <= t && t < ends_at
}

/// Text for a calendar file (RFC 5545 §3.3.11): backslashes, semicolons, commas and line
/// breaks escaped.
pub fn ics_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line of a calendar file folded at 75 octets (RFC 5545 §3.1): the rest goes on
/// continuation lines that start with a space, never splitting a character.
pub fn ics_fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3);
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

/// A UTC time as a calendar file writes it (`20261130T013000Z`).
pub fn ics_time(unix: i64) -> String {
    let (y, m, d) = crate::domain::calendar::civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_time_fields_become_unix_times_and_back() {
        // 2026-11-30 20:00 China time is 12:00 UTC.
        let t = parse_local_datetime("2026-11-30T20:00").unwrap();
        assert_eq!(ics_time(t), "20261130T120000Z");
        assert_eq!(local_datetime(t), "2026-11-30T20:00");
        assert_eq!(parse_local_datetime("2026-11-30T20:00:00"), Some(t));
        for bad in [
            "",
            "2026-11-30",
            "2026-11-31T20:00",
            "2026-11-30T24:00",
            "2026-11-30T20:60",
            "2026-11-30T2:00",
            "x",
        ] {
            assert_eq!(parse_local_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_plain_https_addresses_are_kept() {
        assert!(valid_https_url("https://live.douyin.com/123456"));
        assert!(valid_https_url(
            "https://cdn.example.cn/live/zhenghe.m3u8?t=1"
        ));
        for bad in [
            "http://live.douyin.com/1",
            "javascript:alert(1)",
            "https://",
            "https://a b",
            "https://x.cn/\"onerror=",
            "https://x.cn/<script>",
            "https://user@evil.cn/",
            &format!("https://x.cn/{}", "a".repeat(600)),
        ] {
            assert!(!valid_https_url(bad), "{bad}");
        }
    }

    #[test]
    fn links_out_name_their_platform() {
        assert_eq!(platform_of("https://live.douyin.com/1"), "抖音");
        assert_eq!(platform_of("https://v.kuaishou.com/x"), "快手");
        assert_eq!(platform_of("https://channels.weixin.qq.com/x"), "视频号");
        assert_eq!(platform_of("https://m.tb.cn/x"), "淘宝直播");
        assert_eq!(platform_of("https://notdouyin.com/x"), "notdouyin.com");
    }

    #[test]
    fn a_flash_price_applies_only_while_live_and_inside_its_window() {
        assert!(flash_applies("live", 100, 200, 100));
        assert!(flash_applies("live", 100, 200, 199));
        assert!(!flash_applies("live", 100, 200, 200));
        assert!(!flash_applies("live", 100, 200, 99));
        assert!(!flash_applies("ended", 100, 200, 150));
        assert!(!flash_applies("scheduled", 100, 200, 150));
    }

    #[test]
    fn long_calendar_lines_fold_between_characters() {
        let line = format!("SUMMARY:{}", "县长带你买好货".repeat(10));
        let folded = ics_fold(&line);
        for part in folded.split("\r\n") {
            assert!(part.len() <= 75, "{part}");
        }
        assert_eq!(folded.replace("\r\n ", ""), line);
        assert_eq!(
            ics_fold("DTSTART:20261130T120000Z"),
            "DTSTART:20261130T120000Z"
        );
    }

    #[test]
    fn calendar_text_is_escaped() {
        assert_eq!(
            ics_text("政和;白茶,直播\n第二行\\"),
            "政和\\;白茶\\,直播\\n第二行\\\\"
        );
    }
}
