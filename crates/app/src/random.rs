//! Randomness from the host (getrandom works natively and on wasm32-wasip2).

use reservas_domain::ReservationCode;

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the host has no random source");
    buf
}

pub fn reservation_code() -> ReservationCode {
    ReservationCode::from_random(bytes())
}

pub fn hex_id() -> String {
    reservas_domain::secret::hex(&bytes::<12>())
}
