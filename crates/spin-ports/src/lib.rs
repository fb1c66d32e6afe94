//! The app's ports implemented with spin-sdk 6 (sqlite, key-value, variables), and [`serve`],
//! the one function every HTTP component calls.
//!
//! wasm32 only: on other targets only the storage codec is compiled (and tested), so
//! `cargo build --workspace` and `cargo test` on the host stay green.

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod codec;
#[cfg(target_arch = "wasm32")]
mod db;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod kv;
#[cfg(target_arch = "wasm32")]
mod spin;

#[cfg(target_arch = "wasm32")]
pub use db::{SpinConn, SpinDb};
#[cfg(target_arch = "wasm32")]
pub use http::SpinHttp;
#[cfg(target_arch = "wasm32")]
pub use kv::SpinKv;
#[cfg(target_arch = "wasm32")]
pub use spin::*;
