//! The integration tests, one test binary: each module spawns the real server (or, for `memory`
//! and `scale`, runs the real binary) and talks HTTP to it, on SQLite and on PostgreSQL when
//! `TEST_DATABASE_URL` is set. One binary rather than one per file: the shared code and the
//! HTTP client's generics are compiled and linked once, and every case shares the cores (run
//! one module with a filter: `cargo test --release --features ssr --test integration money::`).

#![cfg(feature = "ssr")]

#[macro_use]
mod common;

mod api;
mod delivery;
mod fuzz;
mod hardening;
mod live;
mod market;
mod memory;
mod money;
mod monitoring;
mod payments;
mod scale;
