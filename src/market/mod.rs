//! The market: catalogue, listing pages, sellers' listings.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;
