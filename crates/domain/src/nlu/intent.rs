//! What the guest wants, from key phrases over the normalized words (no accents, voseo and
//! "tú" forms both listed, typos already fixed by `normalize`).
//!
//! A phrase is words separated by spaces; a word ending in `*` matches any word starting so.
//! A message may carry several intents; they come back ordered by [`Intent::PRECEDENCE`]. A
//! strong signal says the intent outright; a weak one ("cuanto", "reserva") only hints.

use super::normalize::Tok;
use super::{Intent, Service};

/// Phrases that say an intent outright.
const STRONG: &[(Intent, &[&str])] = &[
    (
        Intent::Human,
        &[
            "hablar con una persona",
            "hablar con alguien",
            "hablar con un humano",
            "hablar con el dueno",
            "hablar con la duena",
            "hablar con los duenos",
            "hablar con el encargado",
            "hablar con la encargada",
            "hablar con el responsable",
            "hablar con el propietario",
            "hablar con la propietaria",
            "hablar con un asesor*",
            "hablar con una asesor*",
            "hablar con un operador*",
            "hablar con una operador*",
            "persona real",
            "un humano",
            "operador*",
            "asesor*",
            "pasame con",
            "pasar con",
            "comunicar con",
            "comunicarme con",
            "me comunicas",
            "me podes comunicar",
            "me llamas",
            "llamame",
            "llamenme",
            "me llaman",
            "me pueden llamar",
            "me podes llamar",
            "sos un bot",
            "sos un robot",
            "sos una maquina",
            "es un bot",
            "atencion humana",
            "alguien de verdad",
            "con alguien",
        ],
    ),
    (
        Intent::Cancel,
        &[
            "cancel*",
            "anular",
            "anulo",
            "anulamos",
            "dar de baja",
            "dar la baja",
            "no vamos a poder ir",
            "no vamos a ir",
            "no podemos ir",
            "no vamos a poder viajar",
            "devolucion",
            "reembolso",
            "suspender la reserva",
        ],
    ),
    (
        Intent::Book,
        &[
            "reservar",
            "reservarlo",
            "reservarla",
            "reservo",
            "reservame",
            "reservamelo",
            "reservamela",
            "reservalo",
            "reservala",
            "reservamos",
            "me lo reservas",
            "me la reservas",
            "lo reservas",
            "lo tomo",
            "la tomo",
            "lo tomamos",
            "me lo quedo",
            "me la quedo",
            "confirmo",
            "confirmamos",
            "confirmar la reserva",
            "confirmas la reserva",
            "hacer la reserva",
            "hacer una reserva",
            "hago la reserva",
            "quiero la reserva",
            "senar",
            "senarlo",
            "senamos",
            "te pase la sena",
            "te paso la sena",
            "pagar la sena",
            "pago la sena",
            "como te pago",
            "como pago",
            "como les pago",
            "te transfiero",
            "transferencia",
            "comprobante",
            "link de pago",
            "mercado pago",
            "alias",
            "cbu",
            "cvu",
        ],
    ),
    (
        Intent::Price,
        &[
            "precio*",
            "cuanto sale",
            "cuanto cuesta",
            "cuanto es",
            "cuanto seria",
            "cuanto me sale",
            "cuanto nos sale",
            "cuanto saldria",
            "cuanto cobr*",
            "cuanto esta",
            "cuanto vale",
            "cuanto te debo",
            "a cuanto",
            "valor*",
            "tarifa*",
            "costo*",
            "cuesta",
            "presupuesto",
            "cotiza*",
            "caro",
            "barato",
            "sale la noche",
            "sale por noche",
            "descuento*",
        ],
    ),
    (
        Intent::Availability,
        &[
            "hay lugar",
            "ten* lugar",
            "tien* lugar",
            "hab* lugar",
            "qued* lugar",
            "disponib*",
            "libre",
            "libres",
            "ten* algo",
            "tien* algo",
            "hay algo",
            "qued* algo",
            "tenes para",
            "tienen para",
            "hay cupo",
            "cupo",
            "vacante*",
            "ocupad*",
            "entran",
            "entramos",
            "buscamos",
            "busco",
            "buscando",
            "tenes la cabana",
            "tienen la cabana",
            "tenes el depto",
            "hay cabanas",
            "tenes cabanas",
            "tienen cabanas",
            "consultar por",
            "consulta por",
        ],
    ),
    (Intent::Thanks, &["gracias", "agradezco", "agradecido", "agradecida"]),
    (
        Intent::Greeting,
        &[
            "hola",
            "buenas",
            "buen dia",
            "buenos dias",
            "que tal",
            "como va",
            "como estas",
            "como andas",
            "saludos",
            "hey",
        ],
    ),
];

/// Phrases that hint at an intent.
const WEAK: &[(Intent, &[&str])] = &[
    (Intent::Price, &["cuanto"]),
    (Intent::Book, &["reserva"]),
    (Intent::Thanks, &["joya", "barbaro", "genial", "perfecto", "excelente", "buenisimo", "de diez"]),
];

const SERVICES: &[(Service, &[&str])] = &[
    (Service::Wifi, &["wifi", "internet", "senal", "conexion"]),
    (Service::Pets, &["mascota*", "petfriendly", "animal*"]),
    (
        Service::Parking,
        &[
            "cochera*",
            "estacionamiento",
            "estacionar",
            "garage",
            "garaje",
            "donde dejo el auto",
            "donde dejamos el auto",
        ],
    ),
    (Service::Pool, &["pileta*", "piscina*", "pile", "climatizada", "jacuzzi"]),
    (
        Service::CheckInTimes,
        &[
            "checkin",
            "checkout",
            "a que hora",
            "horario*",
            "hora de entrada",
            "hora de salida",
            "hora de ingreso",
            "hora de llegada",
            "llegar a las",
            "llegamos a las",
            "llego a las",
            "entrar a las",
            "ingresar a las",
            "salir a las",
        ],
    ),
    (
        Service::AirConditioning,
        &["aire acondicionado", "aire", "split", "calefaccion", "calefactor", "estufa", "salamandra", "ventilador"],
    ),
    (Service::Grill, &["parrilla*", "asador", "quincho", "asado"]),
    (Service::Breakfast, &["desayuno*"]),
    (Service::Linens, &["sabanas", "toallas", "ropa de cama"]),
    (
        Service::Location,
        &[
            "donde queda",
            "donde esta ubicad*",
            "donde estan",
            "ubicacion",
            "ubicad*",
            "como llego",
            "como se llega",
            "como llegar",
            "queda lejos",
            "queda cerca",
            "mapa",
        ],
    ),
];

/// Service words that only count in a question: "la dirección es ..." gives an address, it
/// does not ask for ours; "dos personas y un perro" tells, "¿puedo llevar al perro?" asks.
const SERVICES_IF_ASKED: &[(Service, &[&str])] =
    &[(Service::Location, &["direccion"]), (Service::Pets, &["perro*", "perrit*", "perra*", "gato*", "gatit*"])];

/// Rewrites before matching: "hay lugar para estacionar" is about parking, not availability.
const REWRITES: &[(&[&str], &str)] = &[
    (&["lugar", "para", "estacionar"], "estacionamiento"),
    (&["lugar", "para", "el", "auto"], "estacionamiento"),
    (&["lugar", "para", "los", "autos"], "estacionamiento"),
    (&["lugar", "para", "la", "camioneta"], "estacionamiento"),
];

/// Intents (by precedence; `true` when the signal is strong) and the services
/// asked about, in the order they appear.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    pub intents: Vec<(Intent, bool)>,
    pub services: Vec<Service>,
}

fn words(t: &[Tok]) -> Vec<String> {
    let raw: Vec<String> = t
        .iter()
        .map(|tok| match tok {
            Tok::Word(w) => w.clone(),
            Tok::Num { value, .. } => value.to_string(),
            Tok::DayMonth { .. } => "#date".to_owned(),
            Tok::Time => "#time".to_owned(),
            Tok::Punct(c) => c.to_string(),
        })
        .collect();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    'outer: while i < raw.len() {
        for (from, to) in REWRITES {
            if raw.len() >= i + from.len() && from.iter().zip(&raw[i..]).all(|(a, b)| a == b) {
                out.push((*to).to_owned());
                i += from.len();
                continue 'outer;
            }
        }
        out.push(raw[i].clone());
        i += 1;
    }
    out
}

fn word_matches(pattern: &str, word: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => word.starts_with(prefix),
        None => pattern == word,
    }
}

/// Where `phrase` first occurs in `words`.
fn find(words: &[String], phrase: &str) -> Option<usize> {
    let parts: Vec<&str> = phrase.split(' ').collect();
    (0..words.len().saturating_sub(parts.len() - 1))
        .find(|&i| parts.iter().zip(&words[i..]).all(|(p, w)| word_matches(p, w)))
}

fn is_question(words: &[String]) -> bool {
    const ASKING: &[&str] = &["que", "cual", "donde", "como", "cuanto", "me", "pasame", "mandame", "hay", "tienen"];
    words.iter().any(|w| w == "?") || words.first().is_some_and(|w| ASKING.contains(&w.as_str()))
}

/// Every intent and service signal in a message.
pub(crate) fn detect(t: &[Tok]) -> Signals {
    let words = words(t);
    let mut found: Vec<(Intent, bool)> = Vec::new();
    for (strength, table) in [(true, STRONG), (false, WEAK)] {
        for (intent, phrases) in table {
            if phrases.iter().any(|p| find(&words, p).is_some()) && !found.iter().any(|(i, _)| i == intent) {
                found.push((*intent, strength));
            }
        }
    }
    let mut services: Vec<(usize, Service)> = Vec::new();
    let asked = is_question(&words);
    for (table, needs_question) in [(SERVICES, false), (SERVICES_IF_ASKED, true)] {
        for (service, phrases) in table {
            if needs_question && !asked {
                continue;
            }
            if let Some(at) = phrases.iter().filter_map(|p| find(&words, p)).min() {
                services.push((at, *service));
            }
        }
    }
    services.sort_by_key(|(at, _)| *at);
    services.dedup_by_key(|(_, s)| *s);
    if !services.is_empty() {
        found.push((Intent::Services, true));
    } else if words.iter().any(|w| ["perro", "perros", "perrito", "perra", "gato", "gatos"].contains(&w.as_str())) {
        // A pet mentioned without asking: still worth answering about, but not the request.
        services.push((0, Service::Pets));
        found.push((Intent::Services, false));
    }
    // "cancelar la reserva", "tengo reserva, a que hora entro": the reservation is the object.
    if found.iter().any(|(i, _)| matches!(i, Intent::Cancel | Intent::Human | Intent::Services)) {
        found.retain(|f| *f != (Intent::Book, false));
    }
    let rank = |i: &Intent| Intent::PRECEDENCE.iter().position(|p| p == i).unwrap_or(usize::MAX);
    found.sort_by_key(|(i, _)| rank(i));
    Signals { intents: found, services: services.into_iter().map(|(_, s)| s).collect() }
}

#[cfg(test)]
mod tests {
    use super::super::normalize::{normalize, tokenize};
    use super::*;

    fn top(text: &str) -> Option<Intent> {
        detect(&tokenize(&normalize(text))).intents.first().map(|(i, _)| *i)
    }

    fn services(text: &str) -> Vec<Service> {
        detect(&tokenize(&normalize(text))).services
    }

    #[test]
    fn each_intent_with_and_without_accents_and_in_voseo() {
        assert_eq!(top("¿Tenés lugar?"), Some(Intent::Availability));
        assert_eq!(top("tenes lugar"), Some(Intent::Availability));
        assert_eq!(top("TIENEN DISPONIBILIDAD"), Some(Intent::Availability));
        assert_eq!(top("cuánto sale?"), Some(Intent::Price));
        assert_eq!(top("cuanto cobrás la noche"), Some(Intent::Price));
        assert_eq!(top("quiero reservar"), Some(Intent::Book));
        assert_eq!(top("¿querés que te pase la seña?"), Some(Intent::Book));
        assert_eq!(top("podés cancelar mi reserva"), Some(Intent::Cancel));
        assert_eq!(top("holaaa"), Some(Intent::Greeting));
        assert_eq!(top("buen diaaa"), Some(Intent::Greeting));
        assert_eq!(top("graciasss"), Some(Intent::Thanks));
        assert_eq!(top("quiero hablar con una persona"), Some(Intent::Human));
        assert_eq!(top("sos un bot?"), Some(Intent::Human));
        assert_eq!(top("asdf"), None);
        assert_eq!(top("ok"), None);
    }

    #[test]
    fn typos_still_match() {
        assert_eq!(top("ay lugr?"), Some(Intent::Availability));
        assert_eq!(top("kiero resevar"), Some(Intent::Book));
        assert_eq!(top("cuanto sale x noche"), Some(Intent::Price));
        assert_eq!(top("dispo?"), Some(Intent::Availability));
    }

    #[test]
    fn precedence_when_several_signals() {
        let s = detect(&tokenize(&normalize("hola! hay lugar el finde? cuanto sale? aceptan perros?")));
        let intents: Vec<Intent> = s.intents.iter().map(|(i, _)| *i).collect();
        assert_eq!(intents, [Intent::Price, Intent::Availability, Intent::Services, Intent::Greeting]);
        assert_eq!(top("quiero la devolucion de la seña, cancelamos"), Some(Intent::Cancel));
        assert_eq!(top("gracias, quiero reservar"), Some(Intent::Book));
        assert_eq!(top("cancelar la reserva, pasame con alguien"), Some(Intent::Human));
    }

    #[test]
    fn having_a_reservation_is_not_booking() {
        assert_eq!(top("tengo una reserva para el viernes, a que hora puedo entrar?"), Some(Intent::Services));
        assert_eq!(top("la reserva"), Some(Intent::Book), "a weak hint still counts alone");
    }

    #[test]
    fn services_by_kind() {
        assert_eq!(services("tenes wifi?"), [Service::Wifi]);
        assert_eq!(services("tiene Wi-Fi"), [Service::Wifi]);
        assert_eq!(services("aceptan mascotas?"), [Service::Pets]);
        assert_eq!(services("es pet friendly"), [Service::Pets]);
        assert_eq!(services("hay cochera?"), [Service::Parking]);
        assert_eq!(services("tiene pileta?"), [Service::Pool]);
        assert_eq!(services("a que hora es el check in?"), [Service::CheckInTimes]);
        assert_eq!(services("tiene aire acondicionado"), [Service::AirConditioning]);
        assert_eq!(services("tiene parrilla"), [Service::Grill]);
        assert_eq!(services("incluye desayuno"), [Service::Breakfast]);
        assert_eq!(services("hay sabanas y toallas"), [Service::Linens]);
        assert_eq!(services("donde queda?"), [Service::Location]);
        assert_eq!(services("tiene pileta y wifi? aceptan perros?"), [Service::Pool, Service::Wifi, Service::Pets]);
    }

    #[test]
    fn parking_room_is_not_availability() {
        assert_eq!(top("hay lugar para estacionar?"), Some(Intent::Services));
        assert_eq!(services("hay lugar para el auto?"), [Service::Parking]);
        assert_eq!(top("hay lugar para el finde?"), Some(Intent::Availability));
    }

    #[test]
    fn a_pet_mentioned_is_a_weak_signal_a_pet_asked_about_a_strong_one() {
        let told = detect(&tokenize(&normalize("para el 5 de marzo, dos personas y un perro")));
        assert_eq!((told.intents, told.services), (vec![(Intent::Services, false)], vec![Service::Pets]));
        let asked = detect(&tokenize(&normalize("puedo ir con mi perro?")));
        assert_eq!(asked.intents, vec![(Intent::Services, true)]);
    }

    #[test]
    fn payment_details_mean_booking() {
        assert_eq!(top("me pasas el alias para la seña?"), Some(Intent::Book));
    }

    #[test]
    fn giving_an_address_is_not_asking_for_ours() {
        assert_eq!(services("la direccion es calle 12"), []);
        assert_eq!(services("me pasas la direccion?"), [Service::Location]);
    }
}
