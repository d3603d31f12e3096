//! The one check every piece of text passes at the boundary: no control characters (and no
//! bidirectional overrides). Tab, line
//! feed and carriage return are text (a description has lines); NUL and the other C0 controls,
//! DEL and the C1 controls are not: PostgreSQL refuses NUL outright (a 500 before this check),
//! and the rest only hide what a string says from the person reading it.

/// Whether `c` may appear in user text. Besides the controls, the bidirectional overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069) are refused: they make a title or a name display
/// in a different order from what it says.
pub fn allowed_char(c: char) -> bool {
    (!c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether every character of `s` may appear in user text.
pub fn is_clean(s: &str) -> bool {
    s.chars().all(allowed_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_but_lines_and_tabs_are_text() {
        assert!(is_clean("政和白茶 5 斤\n第二行\t制表\r\n"));
        assert!(is_clean("emoji 🍵 and ｆｕｌｌｗｉｄｔｈ"));
        for bad in [
            "a\0b",
            "\u{1b}[31m",
            "x\u{7f}",
            "\u{85}",
            "\u{9f}",
            "\u{8}",
            "\u{202e}gnp.exe",
            "\u{2066}x",
        ] {
            assert!(!is_clean(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_control_code_point_but_three_is_refused() {
        let allowed: Vec<u32> = (0u32..0x100)
            .filter_map(char::from_u32)
            .filter(|c| c.is_control() && allowed_char(*c))
            .map(u32::from)
            .collect();
        assert_eq!(allowed, vec![9, 10, 13]);
    }
}
