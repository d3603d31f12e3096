//! Livestream sales (县长带你买好货): the events page, an event's page with its stream, line-up,
//! live prices and counters, the host console and the report.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod stream;
mod ui;

pub use ui::{
    EventCard, HomeLive, LiveConsolePage, LiveEventPage, LiveListPage, LiveNewPage, LiveReportPage,
};
