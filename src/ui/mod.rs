//! Shared view pieces: money, status badges, error and not-found states.

use crate::domain::income::MonitoringStatus;
use crate::domain::money::Fen;
use crate::error::AppError;
use crate::i18n::{tr, use_lang, T};
use leptos::prelude::*;
use leptos_router::components::A;

/// The numeric `:id` of the current route; 0 when it is missing or not a number (the server
/// answers that with 404).
pub fn use_id_param() -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || {
        params
            .with(|p| p.get("id"))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    }
}

/// An amount in fen shown as yuan.
#[component]
pub fn Money(fen: i64) -> impl IntoView {
    view! { <span class="money">{Fen::new(fen).to_string()}</span> }
}

pub fn status_text(s: MonitoringStatus) -> T {
    match s {
        MonitoringStatus::Below => T::status_below,
        MonitoringStatus::Near => T::status_near,
        MonitoringStatus::Above => T::status_above,
        MonitoringStatus::Unknown => T::status_unknown,
    }
}

/// A monitoring status as text in a coloured badge (the text carries the meaning, not the colour).
#[component]
pub fn StatusBadge(status: MonitoringStatus) -> impl IntoView {
    let class = match status {
        MonitoringStatus::Below => "badge badge-below",
        MonitoringStatus::Near => "badge badge-near",
        MonitoringStatus::Above => "badge badge-above",
        MonitoringStatus::Unknown => "badge",
    };
    view! { <span class=class>{tr(status_text(status))}</span> }
}

/// An error from the server, in the current language.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let lang = use_lang();
    let code = error.code;
    view! { <p class="notice notice-error" role="alert">{move || code.text().t(lang.get())}</p> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card narrow center" data-testid="not-found">
            <p class="big-code" aria-hidden="true">"404"</p>
            <h1>{tr(T::not_found_title)}</h1>
            <p>{tr(T::not_found_body)}</p>
            <A href="/" attr:class="button">{tr(T::back_home)}</A>
        </section>
    }
}
