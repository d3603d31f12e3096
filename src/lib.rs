#![recursion_limit = "512"]
//! 助农集市 (Zhunong): 以购代捐 — buy the produce of rural households instead of donating, and
//! record every sale against the income of each household it benefits.
//!
//! One crate, two targets: the server (`ssr`) and the browser (`hydrate`, WebAssembly).

pub mod app;
pub mod auth;
pub mod codec;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod home;
pub mod i18n;
pub mod ledger;
pub mod live;
pub mod market;
pub mod monitoring;
pub mod notices;
pub mod official;
pub mod orders;
pub mod payments;
pub mod policy;
pub mod reviews;
#[cfg(feature = "ssr")]
pub mod server;
pub mod shops;
pub mod ui;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Async, so a lazily loaded page (see `app::lazy_pages`) is fetched before it hydrates;
    // then the page is marked hydrated (`app::hydration_done`).
    let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    else {
        leptos::logging::error!("no <body> to hydrate");
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        app::mark_hydrated();
    });
}
