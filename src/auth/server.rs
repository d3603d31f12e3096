//! Accounts and sessions on the server: queries, password hashing, cookies, authorisation.

use super::api::CurrentUser;
use crate::domain::account::{DisplayName, LoginId, Password};
use crate::domain::region::RegionCode;
use crate::domain::role::Role;
use crate::error::{AppError, ErrorCode};
use crate::server::db::{now, Db};
use crate::server::session;
use crate::server::state::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::ConnectInfo;
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::net::SocketAddr;

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

/// Hashes a password with argon2id (off the async threads: it is deliberately slow).
pub async fn hash_password(password: &Password) -> Result<String, AppError> {
    let pw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// Verifies a password against a stored hash. Always does the work, even with no account, so
/// timing does not tell whether an account exists.
async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        // A real argon2id hash, made once, checked when the account does not exist.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            Argon2::default()
                .hash_password(b"no such account", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
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
    .map_err(AppError::internal)
}

fn request_parts() -> Option<Parts> {
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

fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
}

fn served_over_https(state: &AppState, parts: Option<&Parts>) -> bool {
    state.settings.secure_cookies
        || parts
            .and_then(|p| p.headers.get("x-forwarded-proto"))
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
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
            .execute(&state.db.pool)
            .await
            .map_err(AppError::internal)?;
    }
    let token = session::new_token();
    let max_age = state.settings.session_days.max(1) * 86_400;
    let t = now();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(session::hash_token(&token))
        .bind(user_id)
        .bind(t)
        .bind(t + max_age)
        .execute(&state.db.pool)
        .await
        .map_err(AppError::internal)?;
    set_cookie(session::cookie(
        Some(&token),
        max_age,
        served_over_https(state, parts.as_ref()),
    ));
    Ok(())
}

#[tracing::instrument(skip_all, err)]
pub async fn register(
    login: &str,
    password: &str,
    display_name: &str,
) -> Result<CurrentUser, AppError> {
    let state = AppState::get()?;
    let login = LoginId::parse(login)?;
    let password = Password::parse(password)?;
    let display_name = DisplayName::parse(display_name)?;
    let hash = hash_password(&password).await?;
    let new = NewUser {
        login: &login,
        password_hash: &hash,
        display_name: display_name.as_str(),
        role: Role::Buyer,
        region_code: None,
        organisation_id: None,
        household_id: None,
        is_demo: false,
    };
    let id = match insert_user(&state.db.pool, &new).await {
        Ok(id) => id,
        Err(CreateUserError::Exists) => {
            return Err(AppError::new(ErrorCode::AccountExists).field("login"))
        }
        Err(CreateUserError::Db(e)) => return Err(AppError::internal(e)),
    };
    tracing::info!(user_id = id, "registered");
    start_session(&state, id).await?;
    user_by_id(&state.db, id)
        .await?
        .ok_or_else(|| AppError::internal("new user vanished"))
}

#[tracing::instrument(skip_all, err)]
pub async fn login(login: &str, password: &str) -> Result<CurrentUser, AppError> {
    let state = AppState::get()?;
    // A malformed log-in can match no account: same answer as a wrong password.
    let key = LoginId::parse(login)
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|_| login.trim().to_lowercase());
    let ip = request_parts().as_ref().and_then(client_ip);
    let t = now();
    if !state.limiter.allowed(&key, ip.as_deref(), t) {
        tracing::warn!(ip = ?ip, "log-in rate limited");
        return Err(AppError::new(ErrorCode::TooManyAttempts));
    }
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE login = $1")
            .bind(&key)
            .fetch_optional(&state.db.pool)
            .await
            .map_err(AppError::internal)?;
    let (id, hash) = match row {
        Some((id, h)) => (Some(id), Some(h)),
        None => (None, None),
    };
    let pw = password
        .chars()
        .take(Password::MAX_CHARS + 1)
        .collect::<String>();
    let ok = verify_password(pw, hash).await?;
    match (ok, id) {
        (true, Some(id)) => {
            state.limiter.record_success(&key);
            start_session(&state, id).await?;
            tracing::info!(user_id = id, "logged in");
            user_by_id(&state.db, id)
                .await?
                .ok_or_else(|| AppError::internal("user vanished"))
        }
        _ => {
            state.limiter.record_failure(&key, ip.as_deref(), t);
            Err(AppError::new(ErrorCode::WrongCredentials))
        }
    }
}

pub async fn logout() -> Result<(), AppError> {
    let state = AppState::get()?;
    let parts = request_parts();
    if let Some(token) = parts.as_ref().and_then(|p| session_token(&p.headers)) {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(session::hash_token(&token))
            .execute(&state.db.pool)
            .await
            .map_err(AppError::internal)?;
    }
    set_cookie(session::cookie(
        None,
        0,
        served_over_https(&state, parts.as_ref()),
    ));
    Ok(())
}

/// Whether `user` may read the income record of household `household_id` in `region`:
/// admins; officials whose region contains it; the household itself; its paired cadres.
pub async fn can_read_household(
    db: &Db,
    user: &CurrentUser,
    household_id: i64,
    region: &RegionCode,
) -> Result<bool, AppError> {
    Ok(match user.role {
        Role::Admin => true,
        Role::Official => official_scope(user)?.contains(region),
        Role::Household => user.household_id == Some(household_id),
        Role::Cadre => {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM cadre_pairings WHERE user_id = $1 AND household_id = $2",
            )
            .bind(user.id)
            .bind(household_id)
            .fetch_one(&db.pool)
            .await
            .map_err(AppError::internal)?;
            n > 0
        }
        _ => false,
    })
}

/// The region an official oversees (everything under it included).
pub fn official_scope(user: &CurrentUser) -> Result<RegionCode, AppError> {
    user.region_code
        .as_deref()
        .and_then(|c| RegionCode::parse(c).ok())
        .ok_or_else(|| AppError::internal(format!("official {} has no valid region", user.id)))
}
