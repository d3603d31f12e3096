//! One-time codes (password reset, registration): six digits, sent to the owner of the phone
//! number or e-mail address, valid for 15 minutes, five guesses, single use, at most five a
//! day per log-in. Only a hash is stored here (the message in the outbox is swept after a day). Each guess is counted in its own statement, before the code is compared, so a
//! failed attempt counts even though the caller's transaction rolls back.

use crate::domain::account::LoginId;
use crate::error::{AppError, ErrorCode};
use crate::server::db::{now, Db};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Reset => "reset",
        }
    }
}

/// How long a code is valid.
pub const TTL_SECS: i64 = 15 * 60;
/// Guesses allowed per code.
pub const MAX_ATTEMPTS: i64 = 5;

fn hash(login: &LoginId, purpose: Purpose, code: &str) -> String {
    let d = Sha256::digest(format!("{}:{}:{code}", purpose.as_str(), login.as_str()).as_bytes());
    hex::encode(d)
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Codes one log-in may be sent per purpose in a day. With five guesses each, that is 25
/// guesses a day at a six-digit code, whoever asks and from however many addresses.
pub const MAX_CODES_PER_DAY: i64 = 5;

/// Makes a new code for `login` (any earlier one of the same purpose stops working: only the
/// newest is ever checked) and returns it, to be sent; `payload` is what redeeming it hands
/// back. `None` when the log-in has had its codes for the day: the caller answers as usual and
/// sends nothing.
pub async fn issue(
    tx: &mut Tx,
    login: &LoginId,
    purpose: Purpose,
    payload: Option<&str>,
) -> Result<Option<String>, AppError> {
    use rand::Rng;
    let t = now();
    let today: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM one_time_codes WHERE login = $1 AND purpose = $2 AND created_at > $3",
    )
    .bind(login.as_str())
    .bind(purpose.as_str())
    .bind(t - 86_400)
    .fetch_one(&mut **tx)
    .await?;
    if today >= MAX_CODES_PER_DAY {
        tracing::warn!(
            purpose = purpose.as_str(),
            "one-time codes: daily limit for a log-in reached"
        );
        return Ok(None);
    }
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    sqlx::query(
        "INSERT INTO one_time_codes (login, purpose, code_hash, payload, attempts, created_at, expires_at)
         VALUES ($1, $2, $3, $4, 0, $5, $6)",
    )
    .bind(login.as_str())
    .bind(purpose.as_str())
    .bind(hash(login, purpose, &code))
    .bind(payload)
    .bind(t)
    .bind(t + TTL_SECS)
    .execute(&mut **tx)
    .await?;
    Ok(Some(code))
}

/// The write an unknown log-in's request makes instead of [`issue`], so both take as long.
pub async fn touch(tx: &mut Tx, login: &LoginId, purpose: Purpose) -> Result<(), AppError> {
    sqlx::query("DELETE FROM one_time_codes WHERE login = $1 AND purpose = $2 AND expires_at < $3")
        .bind(login.as_str())
        .bind(purpose.as_str())
        .bind(now() - 86_400)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A code that matched, not yet used up.
#[derive(Debug)]
pub struct Matched {
    id: i64,
    pub payload: Option<String>,
}

/// Checks `code` for `login`. The guess is counted (committed on its own, so call this before
/// opening the transaction that [`consume`] joins). A wrong, used, expired or exhausted code:
/// `InvalidCode` (400).
pub async fn check(
    db: &Db,
    login: &LoginId,
    purpose: Purpose,
    code: &str,
) -> Result<Matched, AppError> {
    let invalid = || AppError::new(ErrorCode::InvalidCode).field("code");
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let row: Option<(i64, String, Option<String>)> = sqlx::query_as(
        "UPDATE one_time_codes SET attempts = attempts + 1
          WHERE id = (SELECT MAX(id) FROM one_time_codes WHERE login = $1 AND purpose = $2)
            AND attempts < $3 AND expires_at > $4
          RETURNING id, code_hash, payload",
    )
    .bind(login.as_str())
    .bind(purpose.as_str())
    .bind(MAX_ATTEMPTS)
    .bind(now())
    .fetch_optional(db.writer())
    .await?;
    let Some((id, stored, payload)) = row else {
        return Err(invalid());
    };
    let given = hash(login, purpose, code);
    let same = given.len() == stored.len()
        && given
            .bytes()
            .zip(stored.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(invalid());
    }
    Ok(Matched { id, payload })
}

/// Uses a matched code up inside `tx`: it works once, even when two requests race.
pub async fn consume(tx: &mut Tx, matched: &Matched) -> Result<(), AppError> {
    let used = sqlx::query("DELETE FROM one_time_codes WHERE id = $1")
        .bind(matched.id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if used == 1 {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::InvalidCode).field("code"))
    }
}
