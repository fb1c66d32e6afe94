//! What guests read: the emails for each event, in Argentine Spanish (voseo), as plain text
//! and as HTML. Pure: the facts come in, the message goes out.

use crate::outbox::MessageKind;
use crate::stay::argentina_offset;
use crate::Cents;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// Everything a message may mention about one reservation.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub guest_name: Option<&'a str>,
    pub code: &'a str,
    pub accommodation: &'a str,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub nights: u32,
    pub guests: i64,
    pub total: Cents,
    pub deposit: Cents,
    /// When the hold expires (holds only).
    pub expires_at: Option<DateTime<Utc>>,
    /// The Mercado Pago link for the deposit, when there is one.
    pub payment_url: Option<&'a str>,
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

const WEEKDAYS: [&str; 7] = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
/// Month names in Spanish, January first.
pub const MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// `viernes 5 de marzo de 2027`.
pub fn long_date(date: NaiveDate) -> String {
    let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    let month = MONTHS[date.month0() as usize];
    format!("{weekday} {} de {month} de {}", date.day(), date.year())
}

/// `5/3 a las 14:30` in Argentina's time.
pub fn local_time(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&argentina_offset());
    format!("{}/{} a las {}", local.day(), local.month(), local.format("%H:%M"))
}

/// Pesos as Argentines write them: `$ 48.000,00`.
pub fn pesos(amount: Cents) -> String {
    let sign = if amount.0 < 0 { "-" } else { "" };
    let abs = amount.0.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}$ {grouped},{:02}", abs % 100)
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A paragraph of a message: plain text, or a link with its label.
enum Part {
    Text(String),
    Link { label: String, url: String },
}

fn greeting(facts: &Facts) -> String {
    match facts.guest_name.map(str::trim).filter(|n| !n.is_empty()) {
        // The first name only: "Hola Ana," reads warmer than the full name.
        Some(name) => format!("Hola {},", name.split_whitespace().next().unwrap_or(name)),
        None => "Hola,".to_owned(),
    }
}

fn stay_summary(facts: &Facts) -> String {
    let nights = if facts.nights == 1 { "1 noche".to_owned() } else { format!("{} noches", facts.nights) };
    let guests = if facts.guests == 1 { "1 huésped".to_owned() } else { format!("{} huéspedes", facts.guests) };
    format!(
        "{}: del {} al {} ({nights}, {guests}). Código de reserva: {}.",
        facts.accommodation,
        long_date(facts.check_in),
        long_date(facts.check_out),
        facts.code
    )
}

fn amounts(facts: &Facts) -> String {
    format!("Total de la estadía: {}. Seña: {}.", pesos(facts.total), pesos(facts.deposit))
}

fn expiry(facts: &Facts) -> String {
    facts.expires_at.map_or_else(String::new, |e| format!(" hasta el {} (hora argentina)", local_time(e)))
}

fn payment_parts(facts: &Facts, lead: &str) -> Vec<Part> {
    match facts.payment_url {
        Some(url) => vec![
            Part::Text(lead.to_owned()),
            Part::Link { label: "Pagar la seña con Mercado Pago".into(), url: url.to_owned() },
        ],
        None => vec![Part::Text(
            "Para pagar la seña respondé este correo o escribinos por WhatsApp y te pasamos los datos.".into(),
        )],
    }
}

/// Renders the email for `kind` about the reservation described by `facts`.
pub fn render(kind: MessageKind, facts: &Facts) -> Email {
    let (subject, parts): (String, Vec<Part>) = match kind {
        MessageKind::HoldCreated => {
            let mut parts = vec![
                Part::Text(format!("¡Gracias por elegirnos! Te guardamos las fechas{}.", expiry(facts))),
                Part::Text(stay_summary(facts)),
                Part::Text(amounts(facts)),
            ];
            parts.extend(payment_parts(facts, "Para confirmar tu reserva, pagá la seña antes de ese horario:"));
            parts.push(Part::Text("Si no se acredita a tiempo, las fechas se liberan solas.".into()));
            (format!("Te guardamos las fechas — reserva {}", facts.code), parts)
        }
        MessageKind::ExpiryReminder => {
            let mut parts = vec![
                Part::Text(format!("Te recordamos que tu reserva vence pronto{}.", expiry(facts))),
                Part::Text(stay_summary(facts)),
                Part::Text(format!("Seña a pagar: {}.", pesos(facts.deposit))),
            ];
            parts.extend(payment_parts(facts, "Si todavía querés las fechas, pagá la seña ahora:"));
            (format!("Tu reserva {} vence pronto", facts.code), parts)
        }
        MessageKind::Confirmed => (
            format!("¡Reserva confirmada! — {}", facts.code),
            vec![
                Part::Text("¡Tu reserva está confirmada! Ya tenés las fechas aseguradas.".into()),
                Part::Text(stay_summary(facts)),
                Part::Text(amounts(facts)),
                Part::Text("Unos días antes te escribimos con las indicaciones para llegar. ¡Te esperamos!".into()),
            ],
        ),
        MessageKind::PaymentReceived => (
            format!("Recibimos tu pago — reserva {}", facts.code),
            vec![
                Part::Text("¡Recibimos tu pago, gracias!".into()),
                Part::Text(stay_summary(facts)),
                Part::Text(amounts(facts)),
                Part::Text("Si tenés alguna duda, respondé este correo.".into()),
            ],
        ),
        MessageKind::Expired => (
            format!("Tu reserva {} venció", facts.code),
            vec![
                Part::Text("La reserva venció porque no recibimos la seña a tiempo, y las fechas se liberaron.".into()),
                Part::Text(stay_summary(facts)),
                Part::Text(
                    "Si todavía querés venir, escribinos y vemos la disponibilidad: si las fechas siguen libres, \
                     te las volvemos a guardar."
                        .into(),
                ),
            ],
        ),
        MessageKind::Cancelled => (
            format!("Reserva {} cancelada", facts.code),
            vec![
                Part::Text("Tu reserva fue cancelada y las fechas quedaron libres.".into()),
                Part::Text(stay_summary(facts)),
                Part::Text("Si no la cancelaste vos o creés que es un error, respondé este correo.".into()),
            ],
        ),
    };
    let greeting = greeting(facts);
    let sign_off = "Saludos,\nReservas";

    let mut text = format!("{greeting}\n\n");
    let mut html = format!("<p>{}</p>\n", escape_html(&greeting));
    for part in &parts {
        match part {
            Part::Text(t) => {
                text.push_str(t);
                text.push_str("\n\n");
                html.push_str(&format!("<p>{}</p>\n", escape_html(t)));
            }
            Part::Link { label, url } => {
                text.push_str(&format!("{label}: {url}\n\n"));
                html.push_str(&format!("<p><a href=\"{}\">{}</a></p>\n", escape_html(url), escape_html(label)));
            }
        }
    }
    text.push_str(sign_off);
    text.push('\n');
    html.push_str("<p>Saludos,<br>Reservas</p>\n");
    Email { subject, text, html }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts(payment_url: Option<&'static str>) -> Facts<'static> {
        Facts {
            guest_name: Some("Ana Pérez"),
            code: "7K3MQ9XH4TR8B",
            accommodation: "Cabaña del Bosque",
            check_in: NaiveDate::from_ymd_opt(2027, 3, 5).unwrap(),
            check_out: NaiveDate::from_ymd_opt(2027, 3, 8).unwrap(),
            nights: 3,
            guests: 2,
            total: Cents(160_320_00),
            deposit: Cents(48_096_00),
            expires_at: Some(Utc.with_ymd_and_hms(2027, 3, 1, 17, 30, 0).unwrap()),
            payment_url,
        }
    }

    #[test]
    fn money_and_dates_read_as_in_argentina() {
        assert_eq!(pesos(Cents(48_000_00)), "$ 48.000,00");
        assert_eq!(pesos(Cents(1_234_567_89)), "$ 1.234.567,89");
        assert_eq!(pesos(Cents(5)), "$ 0,05");
        assert_eq!(long_date(NaiveDate::from_ymd_opt(2027, 3, 5).unwrap()), "viernes 5 de marzo de 2027");
        assert_eq!(local_time(Utc.with_ymd_and_hms(2027, 3, 1, 17, 30, 0).unwrap()), "1/3 a las 14:30");
    }

    #[test]
    fn hold_created_carries_the_payment_link_when_there_is_one() {
        let with = render(MessageKind::HoldCreated, &facts(Some("https://mp.example/pay?a=1&b=2")));
        assert!(with.subject.contains("7K3MQ9XH4TR8B"));
        assert!(with.text.starts_with("Hola Ana,"));
        assert!(with.text.contains("https://mp.example/pay?a=1&b=2"));
        assert!(with.html.contains("href=\"https://mp.example/pay?a=1&amp;b=2\""));
        assert!(with.text.contains("$ 48.096,00"));
        assert!(with.text.contains("hasta el 1/3 a las 14:30"));
        let without = render(MessageKind::HoldCreated, &facts(None));
        assert!(!without.text.contains("http"));
        assert!(without.text.contains("respondé este correo"));
    }

    #[test]
    fn every_kind_speaks_with_vos_and_names_the_stay() {
        for kind in MessageKind::ALL {
            let email = render(kind, &facts(None));
            assert!(email.text.contains("del viernes 5 de marzo de 2027 al lunes 8 de marzo de 2027"), "{kind:?}");
            assert!(!email.subject.is_empty());
            assert!(!email.text.contains(" usted"), "{kind:?} must use vos");
        }
    }

    #[test]
    fn html_escapes_what_guests_typed() {
        let mut f = facts(None);
        f.guest_name = Some("<script>alert(1)</script>");
        let email = render(MessageKind::Confirmed, &f);
        assert!(!email.html.contains("<script>"));
        assert!(email.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn no_name_still_greets() {
        let mut f = facts(None);
        f.guest_name = None;
        assert!(render(MessageKind::Cancelled, &f).text.starts_with("Hola,\n"));
    }
}
