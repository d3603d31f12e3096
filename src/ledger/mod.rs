//! 收入台账: the household income record.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;
