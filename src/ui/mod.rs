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

/// Escapes text for HTML content: `&`, `<`, `>` and quotes.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The one way to put a value in a `<textarea>`. Leptos' HTML renderer writes a textarea's
/// children unescaped (as it does for `<script>` and `<style>`), so a saved description holding
/// `</textarea><script>…` would close the element and run in whoever opens the form. Here the
/// value is escaped once and given as the element's HTML, which the browser decodes back to the
/// exact text (server render and client render alike). Inputs need nothing: attribute values
/// are escaped by the renderer.
#[component]
pub fn TextArea(
    id: &'static str,
    name: &'static str,
    rows: u32,
    maxlength: u32,
    value: String,
) -> impl IntoView {
    view! { <textarea id=id name=name rows=rows maxlength=maxlength inner_html=escape_text(&value)></textarea> }
}

#[cfg(test)]
mod escape_tests {
    #[test]
    fn markup_in_text_stays_text() {
        assert_eq!(
            super::escape_text(r#"</textarea><script>alert("x&y")</script>'"#),
            "&lt;/textarea&gt;&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
        assert_eq!(super::escape_text("政和白茶\n第二行"), "政和白茶\n第二行");
    }
}
