//! What the bot says, in Argentine Spanish (vos). Every text is built from our own words and
//! typed values (dates, amounts, cabin names, codes): nothing a guest wrote is ever placed
//! in a reply, so a message cannot steer what the bot says.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use reservas_domain::outbox::MessageKind;
use reservas_domain::templates::{local_time, pesos};
use reservas_domain::whatsapp::Button;
use reservas_domain::{Cents, Quote};

const WEEKDAYS: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];

/// `vie 12/3`.
pub fn short_date(date: NaiveDate) -> String {
    format!("{} {}/{}", WEEKDAYS[date.weekday().num_days_from_monday() as usize], date.day(), date.month())
}

/// `12/3`.
pub fn day_month(date: NaiveDate) -> String {
    format!("{}/{}", date.day(), date.month())
}

/// `del vie 12/3 al lun 15/3`.
pub fn range(check_in: NaiveDate, check_out: NaiveDate) -> String {
    format!("del {} al {}", short_date(check_in), short_date(check_out))
}

fn nights(n: u32) -> String {
    if n == 1 {
        "1 noche".into()
    } else {
        format!("{n} noches")
    }
}

fn people(n: u32) -> String {
    if n == 1 {
        "1 persona".into()
    } else {
        format!("{n} personas")
    }
}

/// The buttons under a quote.
pub fn quote_buttons() -> Vec<Button> {
    vec![
        Button::new("reserve", "Reservar"),
        Button::new("change_dates", "Cambiar fechas"),
        Button::new("human", "Hablar con alguien"),
    ]
}

pub fn human_button() -> Button {
    Button::new("human", "Hablar con alguien")
}

/// A first name safe to greet with: letters only, at most 30 characters.
pub fn first_name(name: Option<&str>) -> Option<String> {
    let first = name?.split_whitespace().next()?;
    let clean: String = first.chars().filter(|c| c.is_alphabetic()).take(30).collect();
    (!clean.is_empty()).then_some(clean)
}

pub fn greeting(name: Option<&str>) -> String {
    match first_name(name) {
        Some(n) => format!("¡Hola {n}! 👋 "),
        None => "¡Hola! 👋 ".into(),
    }
}

pub fn ask_dates(greet: Option<String>, guests: Option<u32>) -> String {
    let lead = greet.unwrap_or_default();
    match guests {
        Some(g) => format!("{lead}Perfecto, {}. ¿Para qué fechas? Por ejemplo: «del 12 al 15 de marzo».", people(g)),
        None => format!(
            "{lead}Contame para qué fechas y cuántas personas serían, y te paso disponibilidad y precio. \
             Por ejemplo: «del 12 al 15 de marzo, somos 2»."
        ),
    }
}

pub fn ask_check_out(check_in: NaiveDate) -> String {
    format!("Entrando el {}, ¿hasta qué día te quedarías? (o decime cuántas noches)", short_date(check_in))
}

pub fn ask_guests(check_in: NaiveDate, check_out: NaiveDate) -> String {
    format!("Anoté {}. ¿Cuántas personas serían?", range(check_in, check_out))
}

pub fn invalid_dates(reason: &str) -> String {
    format!("Mmm, esas fechas no me cierran ({reason}). ¿Me las pasás de nuevo? Por ejemplo: «del 12 al 15 de marzo».")
}

pub fn too_many_guests(max: i64) -> String {
    format!("Nuestras cabañas son para hasta {max} personas. ¿Cuántos serían en total?")
}

/// The quote: per-night prices, total and deposit, and the question.
pub fn quote(name: &str, quote: &Quote, check_in: NaiveDate, check_out: NaiveDate, guests: u32, percent: u8) -> String {
    let mut text =
        format!("¡Hay lugar! {name}, {} ({}, {}):\n", range(check_in, check_out), nights(quote.nights), people(guests));
    for night in &quote.nightly {
        text.push_str(&format!("• {}: {}\n", short_date(night.date), pesos(night.price)));
    }
    text.push_str(&format!(
        "Total: {}. Para reservar se paga una seña de {} ({percent} %).\n¿Te la reservo?",
        pesos(quote.total_price),
        pesos(quote.deposit_amount)
    ));
    text
}

/// Several cabins fit: which one.
pub fn choose(options: &[(String, i64, Cents)], check_in: NaiveDate, check_out: NaiveDate, guests: u32) -> String {
    let mut text = format!("Para {} {} tengo:\n", people(guests), range(check_in, check_out));
    for (name, capacity, total) in options {
        text.push_str(&format!("• {name} (hasta {capacity} personas): {} en total\n", pesos(*total)));
    }
    text.push_str("¿Cuál preferís?");
    text
}

/// Nothing free for those dates: what else we have.
pub fn no_room(
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
    alternatives: &[(String, NaiveDate, NaiveDate)],
) -> String {
    let mut text = format!("Uy, {} no tengo lugar para {}.", range(check_in, check_out), people(guests));
    if alternatives.is_empty() {
        text.push_str(" ¿Querés probar con otras fechas?");
    } else {
        text.push_str(" Te puedo ofrecer:\n");
        for (name, a, b) in alternatives {
            text.push_str(&format!("• {name}, {}\n", range(*a, *b)));
        }
        text.push_str("¿Te sirve alguna?");
    }
    text
}

/// Someone else got the nights between the quote and the tap.
pub fn lost_race(name: &str) -> String {
    format!("Uy, justo recién se ocupó {name} para esas fechas. 😕")
}

/// The hold exists: code, its real expiry in Buenos Aires time, the deposit and the link.
pub fn held(
    name: &str,
    code: &str,
    check_in: NaiveDate,
    check_out: NaiveDate,
    deposit: Cents,
    expires_at: DateTime<Utc>,
    payment_url: Option<&str>,
) -> String {
    let mut text = format!(
        "¡Listo! Te guardé {name} {} hasta el {} (hora de Buenos Aires). Código de reserva: {code}.\n",
        range(check_in, check_out),
        local_time(expires_at)
    );
    match payment_url {
        Some(url) => text.push_str(&format!(
            "Para confirmarla, pagá la seña de {} con Mercado Pago antes de ese horario:\n{url}",
            pesos(deposit)
        )),
        None => text.push_str(&format!(
            "Para confirmarla hay que pagar la seña de {} antes de ese horario. Tocá «Hablar con alguien» \
             y te pasamos los datos para pagar.",
            pesos(deposit)
        )),
    }
    text
}

pub fn change_dates() -> String {
    "Dale, ¿qué fechas te sirven?".into()
}

pub fn handed_off() -> String {
    "Listo, le avisé a una persona del equipo y te va a responder por acá apenas pueda. 🙌".into()
}

pub fn nothing_to_cancel() -> String {
    "No tenés ninguna reserva pendiente por acá, así que no hay nada que cancelar. Si querés consultar otras \
     fechas, escribime."
        .into()
}

pub fn thanks() -> String {
    "¡De nada! Cualquier cosa, escribime. 😊".into()
}

pub fn services() -> String {
    "Esa consulta te la responde mejor una persona del equipo: tocá «Hablar con alguien». Si me decís fechas y \
     cuántas personas son, te paso disponibilidad y precio."
        .into()
}

pub fn not_understood() -> String {
    "Perdón, no te entendí bien. ¿Me decís para qué fechas y cuántas personas? Por ejemplo: «del 12 al 15 de \
     marzo, somos 2»."
        .into()
}

pub fn audio_unclear() -> String {
    "Perdón, no pude entender bien el audio. 🙏 ¿Me lo escribís? Por ejemplo: «del 12 al 15 de marzo, somos 2».".into()
}

pub fn unsupported() -> String {
    "Por ahora entiendo mensajes de texto y audios. ¿Me contás por escrito para qué fechas y cuántas personas?".into()
}

pub fn failed() -> String {
    "Perdón, tuve un problema para responderte. ¿Me lo repetís en un ratito?".into()
}

/// What a reservation made on WhatsApp hears about booking events (the hold itself is
/// announced by the conversation, with its link).
#[allow(clippy::too_many_arguments)]
pub fn event(
    kind: MessageKind,
    code: &str,
    name: &str,
    check_in: NaiveDate,
    check_out: NaiveDate,
    deposit: Cents,
    expires_at: Option<DateTime<Utc>>,
    payment_url: Option<&str>,
) -> Option<String> {
    let stay = format!("{name} {}", range(check_in, check_out));
    Some(match kind {
        MessageKind::Confirmed => {
            format!("¡Reserva confirmada! 🎉 Recibimos la seña y {stay} ya es tuya. Código: {code}. ¡Te esperamos!")
        }
        MessageKind::ExpiryReminder => {
            let when = expires_at.map(|e| format!(" el {} (hora de Buenos Aires)", local_time(e))).unwrap_or_default();
            let mut text = format!("Te recuerdo que tu reserva {code} ({stay}) vence{when}.");
            match payment_url {
                Some(url) => text.push_str(&format!(" Si la querés, pagá la seña de {} acá:\n{url}", pesos(deposit))),
                None => text.push_str(&format!(" Si la querés, falta pagar la seña de {}.", pesos(deposit))),
            }
            text
        }
        MessageKind::Expired => format!(
            "Tu reserva {code} ({stay}) venció porque no llegó la seña a tiempo, y las fechas se liberaron. Si \
             todavía querés venir, escribime y vemos."
        ),
        MessageKind::Cancelled => format!("Listo, cancelamos la reserva {code} ({stay}) y las fechas quedaron libres."),
        MessageKind::HoldCreated | MessageKind::PaymentReceived => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_names_are_letters_only() {
        assert_eq!(first_name(Some("Ana Pérez")).as_deref(), Some("Ana"));
        assert_eq!(first_name(Some("{{7*7}} x")), None);
        assert_eq!(first_name(Some("%s%n")).as_deref(), Some("sn"));
        assert_eq!(first_name(None), None);
    }

    #[test]
    fn dates_read_short() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 12).unwrap();
        assert_eq!(short_date(d), "vie 12/3");
    }
}
