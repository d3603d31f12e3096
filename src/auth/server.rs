//! Accounts and sessions on the server: queries, password hashing, cookies, authorisation.

use super::api::CurrentUser;
use crate::domain::account::{DisplayName, LoginId, Password};
use crate::domain::region::RegionCode;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};
use crate::i18n::T;
use crate::server::client;
use crate::server::db::{now, Db};
use crate::server::ratelimit::RetryAfter;
use crate::server::session;
use crate::server::state::AppState;
use crate::server::{codes, notify};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// A new account's fields, for registration and the demo seed.
pub struct NewUser<'a> {
    pub login: &'a LoginId,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub region_code: Option<&'a str>,
    pub organisation_id: Option<i64>,
    pub household_id: Option<i64>,
    pub is_demo: bool,
}

pub enum CreateUserError {
    Exists,
    Db(sqlx::Error),
}

pub async fn insert_user<'e, E>(ex: E, u: &NewUser<'_>) -> Result<i64, CreateUserError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (login, password_hash, display_name, role, region_code, organisation_id, household_id, is_demo, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(u.login.as_str())
    .bind(u.password_hash)
    .bind(u.display_name)
    .bind(u.role.as_str())
    .bind(u.region_code)
    .bind(u.organisation_id)
    .bind(u.household_id)
    .bind(i64::from(u.is_demo))
    .bind(now())
    .fetch_one(ex)
    .await;
    match r {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(CreateUserError::Exists),
        Err(e) => Err(CreateUserError::Db(e)),
    }
}

/// Hashes a password with argon2id on this thread (slow, 19 MiB): for tools and the seed.
/// Requests go through [`hash_password_bounded`].
pub fn hash_password_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

/// Hashes a password off the async threads (for the seed and tools, which have no state).
pub async fn hash_password(password: &Password) -> Result<String, AppError> {
    let pw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || hash_password_blocking(&pw))
        .await
        .map_err(AppError::internal)?
}

/// Hashes a password in the bounded hashing queue: 503 when it is full.
async fn hash_password_bounded(state: &AppState, password: &Password) -> Result<String, AppError> {
    let pw = password.expose().to_owned();
    state
        .hashing
        .run(move || hash_password_blocking(&pw))
        .await?
}

/// Verifies a password against a stored hash in the bounded hashing queue. Always does the
/// work, even with no account, so timing does not tell whether an account exists.
async fn verify_password(
    state: &AppState,
    password: String,
    hash: Option<String>,
) -> Result<bool, AppError> {
    state
        .hashing
        .run(move || {
            // A real argon2id hash, made once, checked when the account does not exist.
            static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let dummy =
                DUMMY.get_or_init(|| hash_password_blocking("no such account").unwrap_or_default());
            let stored = hash.as_deref().unwrap_or(dummy);
            let ok = PasswordHash::new(stored)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            ok && hash.is_some()
        })
        .await
}

/// Whether the server function was called by a browser's form posted without a script (it
/// asks for HTML; a script asks for JSON): such a call answers with a redirect to a page.
pub fn from_plain_form() -> bool {
    request_parts().is_some_and(|p| crate::server::wants_html(&p.headers))
}

pub fn request_parts() -> Option<Parts> {
    use_context::<Parts>()
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| crate::i18n::cookie_value(c, session::SESSION_COOKIE).map(str::to_owned))
        .filter(|t| !t.is_empty() && t.len() <= 128)
}

/// The key the client's attempts are counted under: its address (behind a trusted proxy, the
/// one it forwarded), an IPv6 address by its /64.
pub fn client_ip(state: &AppState, parts: &Parts) -> Option<String> {
    client::client_ip(
        client::peer_of(&parts.extensions),
        &parts.headers,
        &state.settings.trusted_proxies,
    )
    .map(client::rate_key)
}

fn served_over_https(state: &AppState, parts: Option<&Parts>) -> bool {
    parts.map_or(state.settings.secure_cookies, |p| {
        client::served_over_https(&state.settings, &p.extensions, &p.headers)
    })
}

/// Refuses with 429 and a `Retry-After` header.
pub fn too_many(retry: RetryAfter) -> AppError {
    if let (Some(res), Ok(v)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&retry.0.max(1).to_string()),
    ) {
        res.insert_header(http::header::RETRY_AFTER, v);
    }
    AppError::new(ErrorCode::TooManyAttempts)
}

fn set_cookie(value: String) {
    if let (Some(res), Ok(v)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(&value),
    ) {
        res.append_header(SET_COOKIE, v);
    }
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    login: String,
    display_name: String,
    role: String,
    region_code: Option<String>,
    region_name: Option<String>,
    organisation_id: Option<i64>,
    organisation_name: Option<String>,
    household_id: Option<i64>,
}

const USER_SELECT: &str =
    "SELECT u.id, u.login, u.display_name, u.role, u.region_code, r.name AS region_name,
        u.organisation_id, o.name AS organisation_name, u.household_id
   FROM users u
   LEFT JOIN regions r ON r.code = u.region_code
   LEFT JOIN organisations o ON o.id = u.organisation_id";

impl UserRow {
    fn into_user(self) -> Result<CurrentUser, AppError> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| AppError::internal(format!("unknown role {:?}", self.role)))?;
        Ok(CurrentUser {
            id: self.id,
            login: self.login,
            display_name: self.display_name,
            role,
            region_code: self.region_code,
            region_name: self.region_name,
            organisation_id: self.organisation_id,
            organisation_name: self.organisation_name,
            household_id: self.household_id,
            unread_notices: 0,
        })
    }
}

pub async fn user_by_id(db: &Db, id: i64) -> Result<Option<CurrentUser>, AppError> {
    let row = sqlx::query_as::<_, UserRow>(&format!("{USER_SELECT} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await
        .map_err(AppError::internal)?;
    row.map(UserRow::into_user).transpose()
}

/// The logged-in user of the current request, if the session cookie names a live session.
pub async fn current_user() -> Result<Option<CurrentUser>, AppError> {
    let state = AppState::get()?;
    match request_parts() {
        Some(parts) => user_of_request(&state.db, &parts.headers).await,
        None => Ok(None),
    }
}

/// The user whose live session the request's cookie names: for plain axum handlers, which have
/// the request but no server-function context.
pub async fn user_of_request(
    db: &Db,
    headers: &HeaderMap,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(token) = session_token(headers) else {
        return Ok(None);
    };
    let row = sqlx::query_as::<_, UserRow>(&format!(
        "{USER_SELECT} JOIN sessions s ON s.user_id = u.id WHERE s.token_hash = $1 AND s.expires_at > $2"
    ))
    .bind(session::hash_token(&token))
    .bind(now())
    .fetch_optional(&db.pool)
    .await
    .map_err(AppError::internal)?;
    row.map(UserRow::into_user).transpose()
}

/// The logged-in user, or 401.
pub async fn require_user() -> Result<CurrentUser, AppError> {
    current_user()
        .await?
        .ok_or_else(|| AppError::new(ErrorCode::Unauthenticated))
}

/// Starts a new session for `user_id`, ending the one the request came with (session rotation).
async fn start_session(state: &AppState, user_id: i64) -> Result<(), AppError> {
    let parts = request_parts();
    if let Some(old) = parts.as_ref().and_then(|p| session_token(&p.headers)) {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(session::hash_token(&old))
            .execute(state.db.writer())
            .await
            .map_err(AppError::from)?;
    }
    let token = session::new_token();
    let max_age = state.settings.session_days.max(1) * 86_400;
    let t = now();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(session::hash_token(&token))
        .bind(user_id)
        .bind(t)
        .bind(t + max_age)
        .execute(state.db.writer())
        .await
        .map_err(AppError::from)?;
    set_cookie(session::cookie(
        Some(&token),
        max_age,
        served_over_https(state, parts.as_ref()),
    ));
    Ok(())
}

/// Registration, step one. Whatever the log-in, the answer is the same ("a code was sent"), so
/// registration cannot be used to learn which numbers have accounts: a new log-in gets a code
/// that completes the registration ([`confirm_registration`]); the owner of an existing
/// account gets a note saying someone tried, and no code.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn register(login: &str, password: &str, display_name: &str) -> Result<String, AppError> {
    let state = AppState::get()?;
    let login = LoginId::parse(login)?;
    let password = Password::parse(password)?;
    let display_name = DisplayName::parse(display_name)?;
    let parts = request_parts();
    let ip = parts.as_ref().and_then(|p| client_ip(&state, p));
    state
        .limiter
        .begin_hourly(
            &state.db,
            crate::server::ratelimit::Hourly::Register,
            ip.as_deref(),
            now(),
        )
        .await?
        .map_err(too_many)?;
    // Hashed in both cases, so the time taken tells nothing either.
    let hash = hash_password_bounded(&state, &password).await?;
    let exists = account_exists(&state, &login).await?;
    let lang = crate::i18n::current_lang();
    let mut tx = state.db.begin_write().await?;
    let mut queued = Vec::new();
    if exists {
        queued.push(
            notify::send(
                &mut tx,
                &login,
                T::notice_register_existing.t(lang).to_owned(),
            )
            .await?,
        );
    } else {
        let payload = serde_json::json!({
            "password_hash": hash,
            "display_name": display_name.as_str(),
        })
        .to_string();
        if let Some(code) =
            codes::issue(&mut tx, &login, codes::Purpose::Register, Some(&payload)).await?
        {
            queued.push(
                notify::send(
                    &mut tx,
                    &login,
                    T::notice_register_code.t(lang).replace("{code}", &code),
                )
                .await?,
            );
        }
    }
    tx.commit().await?;
    notify::deliver_now(&state, &queued).await;
    Ok(login.as_str().to_owned())
}

/// Registration, step two: the code from the message makes the account and logs it in.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn confirm_registration(login: &str, code: &str) -> Result<CurrentUser, AppError> {
    let state = AppState::get()?;
    let login = LoginId::parse(login)?;
    let matched = codes::check(&state.db, &login, codes::Purpose::Register, code).await?;
    let mut tx = state.db.begin_write().await?;
    codes::consume(&mut tx, &matched).await?;
    let payload: serde_json::Value = matched
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or_else(|| AppError::internal("registration code without its details"))?;
    let (Some(hash), Some(name)) = (
        payload.get("password_hash").and_then(|v| v.as_str()),
        payload.get("display_name").and_then(|v| v.as_str()),
    ) else {
        return Err(AppError::internal("registration code without its details"));
    };
    let new = NewUser {
        login: &login,
        password_hash: hash,
        display_name: name,
        role: Role::Buyer,
        region_code: None,
        organisation_id: None,
        household_id: None,
        is_demo: false,
    };
    let id = match insert_user(&mut *tx, &new).await {
        Ok(id) => id,
        // Someone completed a registration for this log-in first: this code is spent.
        Err(CreateUserError::Exists) => {
            return Err(AppError::new(ErrorCode::InvalidCode).field("code"))
        }
        Err(CreateUserError::Db(e)) => return Err(e.into()),
    };
    tx.commit().await?;
    tracing::info!(user_id = id, "registered");
    start_session(&state, id).await?;
    user_by_id(&state.db, id)
        .await?
        .ok_or_else(|| AppError::internal("new user vanished"))
}

/// Whether an account has this log-in.
async fn account_exists(state: &AppState, login: &LoginId) -> Result<bool, AppError> {
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE login = $1")
        .bind(login.as_str())
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(id.is_some())
}

/// The canonical key a log-in attempt is counted under.
fn login_key(login: &str) -> String {
    LoginId::parse(login)
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|_| login.trim().to_lowercase().chars().take(254).collect())
}

/// Checks a user's password under the log-in limits: counted before the hash is checked, taken
/// back on success. `Ok(None)` for a wrong password.
async fn check_password(
    state: &AppState,
    key: &str,
    password: &str,
) -> Result<Option<i64>, AppError> {
    let ip = request_parts().as_ref().and_then(|p| client_ip(state, p));
    if let Err(retry) = state
        .limiter
        .begin_login(&state.db, key, ip.as_deref(), now())
        .await?
    {
        tracing::warn!(ip = ?ip, "log-in rate limited");
        return Err(too_many(retry));
    }
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE login = $1")
            .bind(key)
            .fetch_optional(&state.db.pool)
            .await?;
    let (id, hash) = match row {
        Some((id, h)) => (Some(id), Some(h)),
        None => (None, None),
    };
    let pw = password
        .chars()
        .take(Password::MAX_CHARS + 1)
        .collect::<String>();
    let ok = match verify_password(state, pw, hash).await {
        Ok(ok) => ok,
        Err(e) => {
            // Never judged (no worker free): the attempt does not count.
            // Best effort: the answer is the 503 either way.
            if let Err(db) = state
                .limiter
                .login_abandoned(&state.db, key, ip.as_deref(), now())
                .await
            {
                tracing::warn!(error = %db, "could not give back an unjudged log-in attempt");
            }
            return Err(e);
        }
    };
    match (ok, id) {
        (true, Some(id)) => {
            // Best effort: a correct password logs in even if the count cannot be cleared now
            // (it expires with its window).
            if let Err(e) = state
                .limiter
                .login_succeeded(&state.db, key, ip.as_deref(), now())
                .await
            {
                tracing::warn!(error = %e, "could not clear the log-in count after a success");
            }
            Ok(Some(id))
        }
        _ => Ok(None),
    }
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn login(login: &str, password: &str) -> Result<CurrentUser, AppError> {
    let state = AppState::get()?;
    // A malformed log-in can match no account: same answer as a wrong password.
    let key = login_key(login);
    match check_password(&state, &key, password).await? {
        Some(id) => {
            start_session(&state, id).await?;
            tracing::info!(user_id = id, "logged in");
            user_by_id(&state.db, id)
                .await?
                .ok_or_else(|| AppError::internal("user vanished"))
        }
        None => Err(AppError::new(ErrorCode::WrongCredentials)),
    }
}

/// Changes the logged-in user's password after checking the current one (under the log-in
/// limits); every other session of the account ends.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn change_password(current: &str, new: &str) -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let new = Password::parse(new).map_err(|e| AppError::from(e).field("new_password"))?;
    if check_password(&state, &user.login, current).await? != Some(user.id) {
        return Err(AppError::new(ErrorCode::WrongCredentials).field("current_password"));
    }
    let hash = hash_password_bounded(&state, &new).await?;
    let keep = request_parts()
        .as_ref()
        .and_then(|p| session_token(&p.headers))
        .map(|t| session::hash_token(&t))
        .unwrap_or_default();
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user.id)
        .bind(&keep)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, "password changed; other sessions ended");
    Ok(())
}

/// Password reset, step one: the same answer whether or not the account exists; its owner
/// gets a one-time code.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn request_reset(login: &str) -> Result<(), AppError> {
    let state = AppState::get()?;
    let login = LoginId::parse(login)?;
    let ip = request_parts().as_ref().and_then(|p| client_ip(&state, p));
    state
        .limiter
        .begin_hourly(
            &state.db,
            crate::server::ratelimit::Hourly::Reset,
            ip.as_deref(),
            now(),
        )
        .await?
        .map_err(too_many)?;
    let exists = account_exists(&state, &login).await?;
    // The same work either way (a write transaction), so the time taken does not tell whether
    // the account exists; the code's own send, when there is one, is the request's only wait
    // on the sender.
    let lang = crate::i18n::current_lang();
    let mut tx = state.db.begin_write().await?;
    let mut queued = Vec::new();
    if exists {
        if let Some(code) = codes::issue(&mut tx, &login, codes::Purpose::Reset, None).await? {
            queued.push(
                notify::send(
                    &mut tx,
                    &login,
                    T::notice_reset_code.t(lang).replace("{code}", &code),
                )
                .await?,
            );
        }
    } else {
        codes::touch(&mut tx, &login, codes::Purpose::Reset).await?;
    }
    tx.commit().await?;
    notify::deliver_now(&state, &queued).await;
    Ok(())
}

/// Password reset, step two: the code sets a new password, ends every session of the account,
/// and logs this browser in.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn reset_password(login: &str, code: &str, new: &str) -> Result<CurrentUser, AppError> {
    let state = AppState::get()?;
    let login = LoginId::parse(login)?;
    let new = Password::parse(new).map_err(|e| AppError::from(e).field("password"))?;
    let matched = codes::check(&state.db, &login, codes::Purpose::Reset, code).await?;
    let hash = hash_password_bounded(&state, &new).await?;
    let mut tx = state.db.begin_write().await?;
    codes::consume(&mut tx, &matched).await?;
    let id: i64 =
        sqlx::query_scalar("UPDATE users SET password_hash = $1 WHERE login = $2 RETURNING id")
            .bind(&hash)
            .bind(login.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AppError::new(ErrorCode::InvalidCode).field("code"))?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Best effort, as after a log-in: the password is already changed.
    if let Err(e) = state
        .limiter
        .login_succeeded(&state.db, login.as_str(), None, now())
        .await
    {
        tracing::warn!(error = %e, "could not clear the log-in count after a reset");
    }
    tracing::info!(user_id = id, "password reset; every session ended");
    start_session(&state, id).await?;
    user_by_id(&state.db, id)
        .await?
        .ok_or_else(|| AppError::internal("user vanished"))
}

/// Ends every session of the logged-in account (all devices) and clears this browser's cookie.
pub async fn logout_everywhere() -> Result<(), AppError> {
    let state = AppState::get()?;
    let user = require_user().await?;
    let n = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.id)
        .execute(state.db.writer())
        .await?
        .rows_affected();
    tracing::info!(user_id = user.id, sessions = n, "logged out everywhere");
    let parts = request_parts();
    set_cookie(session::cookie(
        None,
        0,
        served_over_https(&state, parts.as_ref()),
    ));
    Ok(())
}

pub async fn logout() -> Result<(), AppError> {
    let state = AppState::get()?;
    let parts = request_parts();
    if let Some(token) = parts.as_ref().and_then(|p| session_token(&p.headers)) {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(session::hash_token(&token))
            .execute(state.db.writer())
            .await
            .map_err(AppError::from)?;
    }
    set_cookie(session::cookie(
        None,
        0,
        served_over_https(&state, parts.as_ref()),
    ));
    Ok(())
}

/// The region an official oversees (everything under it included).
pub fn official_scope(user: &CurrentUser) -> Result<RegionCode, AppError> {
    user.region_code
        .as_deref()
        .and_then(|c| RegionCode::parse(c).ok())
        .ok_or_else(|| AppError::internal(format!("official {} has no valid region", user.id)))
}
