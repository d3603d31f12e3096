//! Account inputs: the log-in (a mainland mobile number or an e-mail address), the password and
//! the display name. Shared by the forms (instant feedback) and the server functions (the rule).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a person logs in with. Phone numbers are stored as 11 digits; e-mail addresses lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoginId {
    Phone(String),
    Email(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountInputError {
    InvalidLogin,
    PasswordTooShort,
    PasswordTooLong,
    InvalidDisplayName,
}

impl LoginId {
    pub fn parse(input: &str) -> Result<LoginId, AccountInputError> {
        let s = input.trim();
        if s.contains('@') {
            return parse_email(s).map(LoginId::Email);
        }
        // Accept the ways people write mobile numbers: +86 prefix, spaces and dashes.
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .unwrap_or(&digits);
        let b = digits.as_bytes();
        if b.len() == 11
            && b[0] == b'1'
            && (b'3'..=b'9').contains(&b[1])
            && b.iter().all(u8::is_ascii_digit)
        {
            Ok(LoginId::Phone(digits.to_owned()))
        } else {
            Err(AccountInputError::InvalidLogin)
        }
    }

    /// The canonical form stored in the database and compared at log-in.
    pub fn as_str(&self) -> &str {
        match self {
            LoginId::Phone(s) | LoginId::Email(s) => s,
        }
    }
}

impl fmt::Display for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn parse_email(s: &str) -> Result<String, AccountInputError> {
    let bad = Err(AccountInputError::InvalidLogin);
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return bad;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if local_ok && domain_ok {
        Ok(s.to_ascii_lowercase())
    } else {
        bad
    }
}

/// A password of acceptable length. Never serialised back out.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(s: &str) -> Result<Password, AccountInputError> {
        let n = s.chars().count();
        if n < Self::MIN_CHARS {
            Err(AccountInputError::PasswordTooShort)
        } else if n > Self::MAX_CHARS {
            Err(AccountInputError::PasswordTooLong)
        } else {
            Ok(Password(s.to_owned()))
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// How a person is greeted: 1–40 characters, no control characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<DisplayName, AccountInputError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > 40 || t.chars().any(char::is_control) {
            Err(AccountInputError::InvalidDisplayName)
        } else {
            Ok(DisplayName(t.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_normalised() {
        assert_eq!(
            LoginId::parse("13800138000"),
            Ok(LoginId::Phone("13800138000".into()))
        );
        assert_eq!(
            LoginId::parse(" +86 138-0013-8000 "),
            Ok(LoginId::Phone("13800138000".into()))
        );
        assert_eq!(
            LoginId::parse("008613800138000"),
            Ok(LoginId::Phone("13800138000".into()))
        );
    }

    #[test]
    fn bad_phone_numbers_are_refused() {
        for bad in [
            "1380013800",
            "138001380001",
            "12800138000",
            "23800138000",
            "1380013800a",
            "",
            "+1 4155550100",
            "１３８００１３８０００",
        ] {
            assert_eq!(
                LoginId::parse(bad),
                Err(AccountInputError::InvalidLogin),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            LoginId::parse("Li.Ming@Example.CN"),
            Ok(LoginId::Email("li.ming@example.cn".into()))
        );
        for bad in [
            "a@b",
            "@x.cn",
            "a@.cn",
            "a..b@x.cn",
            "a b@x.cn",
            "a@x.c",
            "a@-x.cn",
            "a@x.123",
            "张三@例子.中国",
        ] {
            assert_eq!(
                LoginId::parse(bad),
                Err(AccountInputError::InvalidLogin),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn password_length_counts_characters() {
        assert_eq!(
            Password::parse("1234567").unwrap_err(),
            AccountInputError::PasswordTooShort
        );
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse("密码密码密码密码").is_ok());
        assert_eq!(
            Password::parse(&"x".repeat(129)).unwrap_err(),
            AccountInputError::PasswordTooLong
        );
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  李明 ").unwrap().as_str(), "李明");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"名".repeat(41)).is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }
}
