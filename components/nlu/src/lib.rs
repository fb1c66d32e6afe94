//! The Spin component for one route group: request in, app handler with Spin ports, response out.
#![cfg(target_arch = "wasm32")]

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;

#[http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    reservas_spin_ports::serve(req).await
}
