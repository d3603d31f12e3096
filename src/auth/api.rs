//! Account server functions: `/api/auth/register`, `/api/auth/login`, `/api/auth/logout` and
//! `/api/auth/me`. Form-encoded POST in, JSON out; errors as [`AppError`] JSON with a 4xx status.

use crate::domain::role::Role;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Who is logged in, as the browser and API clients see it. No secrets here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    /// For officials: the region they oversee. For households: their village.
    pub region_code: Option<String>,
    pub region_name: Option<String>,
    pub organisation_id: Option<i64>,
    pub organisation_name: Option<String>,
    pub household_id: Option<i64>,
    /// Notices not yet read (filled by `auth/session` for the header; 0 elsewhere).
    #[serde(default)]
    pub unread_notices: i64,
}

/// Registration, step one: sends a six-digit code to the phone number or e-mail address and
/// answers with the log-in as stored. The answer is the same whether or not an account exists
/// (the owner of an existing one is told someone tried, and gets no code).
#[server(prefix = "/api", endpoint = "auth/register", output = crate::codec::Json)]
pub async fn register(
    login: String,
    password: String,
    display_name: String,
) -> Result<String, AppError> {
    crate::auth::server::register(&login, &password, &display_name).await
}

/// Registration, step two: the code creates the buyer account and logs it in.
#[server(prefix = "/api", endpoint = "auth/register-confirm", output = crate::codec::Json)]
pub async fn register_confirm(login: String, code: String) -> Result<CurrentUser, AppError> {
    crate::auth::server::confirm_registration(&login, &code).await
}

/// Forgotten password, step one: the account's owner gets a six-digit code. Same answer for
/// any log-in.
#[server(prefix = "/api", endpoint = "auth/reset-request", output = crate::codec::Json)]
pub async fn reset_request(login: String) -> Result<(), AppError> {
    crate::auth::server::request_reset(&login).await
}

/// Forgotten password, step two: the code sets a new password, ends every session of the
/// account and logs this browser in.
#[server(prefix = "/api", endpoint = "auth/reset", output = crate::codec::Json)]
pub async fn reset_password(
    login: String,
    code: String,
    password: String,
) -> Result<CurrentUser, AppError> {
    crate::auth::server::reset_password(&login, &code, &password).await
}

/// Changes the password (the current one is checked); every other session ends.
#[server(prefix = "/api", endpoint = "auth/change-password", output = crate::codec::Json)]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    crate::auth::server::change_password(&current_password, &new_password).await
}

/// Ends every session of the account, on every device.
#[server(prefix = "/api", endpoint = "auth/logout-all", output = crate::codec::Json)]
pub async fn logout_all() -> Result<(), AppError> {
    crate::auth::server::logout_everywhere().await
}

/// Logs in with a phone number or e-mail and a password. The session id is new at every log-in.
#[server(prefix = "/api", endpoint = "auth/login", output = crate::codec::Json)]
pub async fn login(login: String, password: String) -> Result<CurrentUser, AppError> {
    crate::auth::server::login(&login, &password).await
}

/// Ends the current session (if any) and clears the cookie.
#[server(prefix = "/api", endpoint = "auth/logout", output = crate::codec::Json)]
pub async fn logout() -> Result<(), AppError> {
    crate::auth::server::logout().await
}

/// The session as the UI asks for it: the logged-in user, or `null` (never 401, so an anonymous
/// page load makes no failed request).
#[server(prefix = "/api", endpoint = "auth/session", output = crate::codec::Json)]
pub async fn session() -> Result<Option<CurrentUser>, AppError> {
    let mut user = crate::auth::server::current_user().await?;
    if let Some(u) = user.as_mut() {
        let state = crate::server::state::AppState::get()?;
        u.unread_notices = crate::notices::server::unread(&state.db, u.id).await?;
    }
    Ok(user)
}

/// Who am I: the logged-in user, or 401.
#[server(prefix = "/api", endpoint = "auth/me", output = crate::codec::Json)]
pub async fn me() -> Result<CurrentUser, AppError> {
    crate::auth::server::require_user().await
}
