//! Pure domain types and rules, compiled for both the server and the browser. No IO here.
//! Types parse their input (`parse`/`TryFrom`) so a value that exists is a valid one.

pub mod account;
pub mod allocation;
pub mod calendar;
pub mod delivery;
pub mod income;
pub mod listing;
pub mod live;
pub mod money;
pub mod monitoring;
pub mod notice;
pub mod page;
pub mod region;
pub mod role;
pub mod shop;
pub mod text;
