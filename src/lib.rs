#![recursion_limit = "512"]
//! 助农集市 (Zhunong): 以购代捐 — buy the produce of rural households instead of donating, and
//! record every sale against the income of each household it benefits.
//!
//! One crate, two targets: the server (`ssr`) and the browser (`hydrate`, WebAssembly).

pub mod app;
pub mod auth;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod home;
pub mod i18n;
pub mod ledger;
pub mod live;
pub mod market;
pub mod monitoring;
pub mod official;
pub mod orders;
pub mod payments;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod server;
pub mod ui;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
