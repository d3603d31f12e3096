//! Orders: cart, checkout, order lists and the impact receipt.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;
