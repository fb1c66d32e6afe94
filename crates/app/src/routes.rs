//! The one route table. `spin.toml` and the native router agree with it (a test reads
//! `spin.toml` and proves it).

/// The Spin component that serves a route: one component per group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    Reservations,
    Accommodations,
    Admin,
    Jobs,
    Ops,
    Payments,
    Ical,
    Whatsapp,
    Nlu,
}

impl Group {
    /// The component id in `spin.toml`.
    pub fn component(self) -> &'static str {
        match self {
            Group::Reservations => "reservations",
            Group::Accommodations => "accommodations",
            Group::Admin => "admin",
            Group::Jobs => "jobs",
            Group::Ops => "ops",
            Group::Payments => "payments",
            Group::Ical => "ical",
            Group::Whatsapp => "whatsapp",
            Group::Nlu => "nlu",
        }
    }
}

/// What a matched route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    PreReserve,
    GetReservation,
    Confirm,
    Cancel,
    Availability,
    Quote,
    Login,
    CreateAccommodation,
    ListAccommodations,
    GetAccommodation,
    UpdateAccommodation,
    Migrate,
    Tick,
    Health,
    Metrics,
    // Payments (issue 3)
    MercadoPagoWebhook,
    PaymentLink,
    AdminPayments,
    // Calendars (issue 4)
    IcalExport,
    IcalImport,
    RotateIcalToken,
    ListFeeds,
    CreateFeed,
    DeleteFeed,
    AdminConflicts,
    // Back office (issue 5)
    AdminReservations,
    AdminReservation,
    ExportReservationsCsv,
    ResendEmail,
    AdminOutbox,
    // WhatsApp conversation (issue 6)
    WhatsappVerify,
    WhatsappWebhook,
    NluAnalyze,
    AudioTranscribe,
    AdminConversations,
    ReleaseConversation,
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// Segments in braces are parameters: `/api/v1/reservations/{code}`.
    pub pattern: &'static str,
    pub endpoint: Endpoint,
    pub group: Group,
}

const fn route(method: &'static str, pattern: &'static str, endpoint: Endpoint, group: Group) -> Route {
    Route { method, pattern, endpoint, group }
}

pub const ROUTES: &[Route] = &[
    route("POST", "/api/v1/reservations/pre-reserve", Endpoint::PreReserve, Group::Reservations),
    route("GET", "/api/v1/reservations/{code}", Endpoint::GetReservation, Group::Reservations),
    route("POST", "/api/v1/reservations/{code}/confirm", Endpoint::Confirm, Group::Reservations),
    route("POST", "/api/v1/reservations/{code}/cancel", Endpoint::Cancel, Group::Reservations),
    route("GET", "/api/v1/accommodations/{id}/availability", Endpoint::Availability, Group::Accommodations),
    route("GET", "/api/v1/accommodations/{id}/quote", Endpoint::Quote, Group::Accommodations),
    route("POST", "/api/v1/admin/login", Endpoint::Login, Group::Admin),
    route("POST", "/api/v1/admin/accommodations", Endpoint::CreateAccommodation, Group::Admin),
    route("GET", "/api/v1/admin/accommodations", Endpoint::ListAccommodations, Group::Admin),
    route("GET", "/api/v1/admin/accommodations/{id}", Endpoint::GetAccommodation, Group::Admin),
    route("PATCH", "/api/v1/admin/accommodations/{id}", Endpoint::UpdateAccommodation, Group::Admin),
    route("POST", "/api/v1/admin/migrate", Endpoint::Migrate, Group::Admin),
    route("POST", "/api/v1/jobs/tick", Endpoint::Tick, Group::Jobs),
    route("GET", "/api/v1/healthz", Endpoint::Health, Group::Ops),
    route("GET", "/healthz", Endpoint::Health, Group::Ops),
    route("GET", "/metrics", Endpoint::Metrics, Group::Ops),
    // Payments (issue 3)
    route("POST", "/api/v1/mercadopago/webhook", Endpoint::MercadoPagoWebhook, Group::Payments),
    route("GET", "/api/v1/reservations/{code}/payment-link", Endpoint::PaymentLink, Group::Reservations),
    route("GET", "/api/v1/admin/payments", Endpoint::AdminPayments, Group::Admin),
    // Calendars (issue 4)
    route("GET", "/api/v1/ical/export/{token}.ics", Endpoint::IcalExport, Group::Ical),
    route("GET", "/ical/export/{token}.ics", Endpoint::IcalExport, Group::Ical),
    route("POST", "/api/v1/ical/import", Endpoint::IcalImport, Group::Ical),
    route("POST", "/api/v1/admin/accommodations/{id}/ical/rotate", Endpoint::RotateIcalToken, Group::Admin),
    route("GET", "/api/v1/admin/accommodations/{id}/feeds", Endpoint::ListFeeds, Group::Admin),
    route("POST", "/api/v1/admin/accommodations/{id}/feeds", Endpoint::CreateFeed, Group::Admin),
    route("DELETE", "/api/v1/admin/feeds/{feed_id}", Endpoint::DeleteFeed, Group::Admin),
    route("GET", "/api/v1/admin/conflicts", Endpoint::AdminConflicts, Group::Admin),
    // Back office (issue 5)
    route("GET", "/api/v1/admin/reservations", Endpoint::AdminReservations, Group::Admin),
    route("GET", "/api/v1/admin/reservations/export.csv", Endpoint::ExportReservationsCsv, Group::Admin),
    route("GET", "/api/v1/admin/reservations/{code}", Endpoint::AdminReservation, Group::Admin),
    route("POST", "/api/v1/admin/actions/resend-email/{code}", Endpoint::ResendEmail, Group::Admin),
    route("GET", "/api/v1/admin/outbox", Endpoint::AdminOutbox, Group::Admin),
    // WhatsApp conversation (issue 6)
    route("GET", "/api/v1/whatsapp/webhook", Endpoint::WhatsappVerify, Group::Whatsapp),
    route("POST", "/api/v1/whatsapp/webhook", Endpoint::WhatsappWebhook, Group::Whatsapp),
    route("POST", "/api/v1/nlu/analyze", Endpoint::NluAnalyze, Group::Nlu),
    route("POST", "/api/v1/audio/transcribe", Endpoint::AudioTranscribe, Group::Nlu),
    route("GET", "/api/v1/admin/conversations", Endpoint::AdminConversations, Group::Admin),
    route("POST", "/api/v1/admin/actions/release-conversation/{phone}", Endpoint::ReleaseConversation, Group::Admin),
];

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    MethodNotAllowed,
}

/// A matched route and its path parameters, in pattern order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub route: Route,
    pub params: Vec<String>,
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && self.pattern == other.pattern
    }
}
impl Eq for Route {}

/// Literal segments win over parameters, so `/reservations/pre-reserve` is never read as a code.
pub fn match_route(method: &str, path: &str) -> Result<Matched, Miss> {
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, Matched)> = None;
    let mut path_known = false;
    for route in ROUTES {
        let pattern: Vec<&str> = route.pattern.split('/').collect();
        if pattern.len() != segments.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut literals = 0;
        let fits = pattern.iter().zip(&segments).all(|(p, s)| {
            if let Some(rest) = p.strip_prefix('{') {
                // `{name}` or `{name}.suffix`: the parameter is what precedes the suffix.
                let suffix = rest.split_once('}').map_or("", |(_, suffix)| suffix);
                match s.strip_suffix(suffix) {
                    Some(value) if !value.is_empty() => {
                        params.push(value.to_string());
                        true
                    }
                    _ => false,
                }
            } else {
                literals += 1;
                p == s
            }
        });
        if !fits {
            continue;
        }
        path_known = true;
        if route.method != method && !(method == "HEAD" && route.method == "GET") {
            continue;
        }
        if best.as_ref().is_none_or(|(l, _)| literals > *l) {
            best = Some((literals, Matched { route: *route, params }));
        }
    }
    match best {
        Some((_, m)) => Ok(m),
        None if path_known => Err(Miss::MethodNotAllowed),
        None => Err(Miss::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_beats_parameter() {
        let m = match_route("POST", "/api/v1/reservations/pre-reserve").unwrap();
        assert_eq!(m.route.endpoint, Endpoint::PreReserve);
    }

    #[test]
    fn parameters_are_captured() {
        let m = match_route("POST", "/api/v1/reservations/ABC123/confirm").unwrap();
        assert_eq!(m.route.endpoint, Endpoint::Confirm);
        assert_eq!(m.params, vec!["ABC123"]);
    }

    #[test]
    fn wrong_method_and_unknown_path_differ() {
        assert_eq!(match_route("DELETE", "/api/v1/reservations/X"), Err(Miss::MethodNotAllowed));
        assert_eq!(match_route("GET", "/api/v1/nothing"), Err(Miss::NotFound));
    }

    #[test]
    fn a_parameter_may_carry_a_literal_suffix() {
        let m = match_route("GET", "/ical/export/abc123.ics").unwrap();
        assert_eq!(m.route.endpoint, Endpoint::IcalExport);
        assert_eq!(m.params, vec!["abc123"]);
        assert_eq!(match_route("GET", "/ical/export/abc123"), Err(Miss::NotFound));
        assert_eq!(match_route("GET", "/ical/export/.ics"), Err(Miss::NotFound));
    }

    #[test]
    fn literal_csv_export_beats_the_code_parameter() {
        let m = match_route("GET", "/api/v1/admin/reservations/export.csv").unwrap();
        assert_eq!(m.route.endpoint, Endpoint::ExportReservationsCsv);
    }

    #[test]
    fn trailing_slash_is_tolerated() {
        assert!(match_route("GET", "/api/v1/healthz/").is_ok());
    }
}
