//! Pure booking rules: no I/O, no async, no clock (time is a parameter).

pub mod auth;
pub mod csv;
pub mod ical;
pub mod mercadopago;
pub mod metrics;
pub mod money;
pub mod nlu;
pub mod outbox;
pub mod pricing;
pub mod reservation;
pub mod secret;
pub mod stay;
pub mod templates;
pub mod whatsapp;

pub use money::Cents;
pub use pricing::{Multiplier, Percent, Quote, Rates};
pub use reservation::{Channel, ReservationCode, Status};
pub use stay::Stay;
