//! From what a guest typed (or Whisper heard) to plain words and numbers: lower case, no accents,
//! "holaaa" → "hola", common WhatsApp spellings ("q", "x", "xq", "finde", "dispo"), small typos
//! of the words the NLU looks for ("lugr" → "lugar"), and then tokens (numbers, day/month
//! numerals like `15/3`, times like `22hs`, words, punctuation).

use super::{fuzzy, numbers};

/// Words the understanding looks for; a misspelling one edit away from one of them (and five or
/// more letters long) is read as it.
const LEXICON: &[&str] = &[
    // greeting, thanks
    "hola",
    "buenas",
    "buenos",
    "buen",
    "dia",
    "dias",
    "tardes",
    "noches",
    "saludos",
    "gracias",
    "joya",
    "barbaro",
    "genial",
    "perfecto",
    "excelente",
    "buenisimo", // human
    "hablar",
    "persona",
    "personas",
    "alguien",
    "humano",
    "humana",
    "operador",
    "operadora",
    "agente",
    "asesor",
    "asesora",
    "encargado",
    "encargada",
    "dueno",
    "duena",
    "comunicar",
    "comunicarme",
    "comunicas",
    "llamar",
    "llamas",
    "llamame",
    "llamen",
    "robot",
    "maquina", // cancel
    "cancelar",
    "cancelo",
    "cancelamos",
    "cancelacion",
    "anular",
    "anulo",
    "devolucion",
    "reembolso",
    "suspender",
    // book
    "reservar",
    "reserva",
    "reservas",
    "reservo",
    "reservame",
    "reservamelo",
    "reservamos",
    "reservalo",
    "confirmo",
    "confirmar",
    "confirmas",
    "senar",
    "senamos",
    "transferencia",
    "transferir",
    "comprobante", // price
    "precio",
    "precios",
    "cuanto",
    "cuesta",
    "saldria",
    "valor",
    "tarifa",
    "tarifas",
    "costo",
    "cobras",
    "cobran",
    "presupuesto",
    "cotizacion",
    "barato", // availability
    "lugar",
    "disponible",
    "disponibles",
    "disponibilidad",
    "libre",
    "libres",
    "tenes",
    "tienen",
    "cupo",
    "vacantes",
    "ocupado",
    "ocupada",
    "cabana",
    "cabanas",
    "depto",
    "departamento", // services
    "wifi",
    "internet",
    "mascota",
    "mascotas",
    "perro",
    "perros",
    "perrito",
    "perritos",
    "gatos",
    "animales",
    "petfriendly",
    "cochera",
    "estacionamiento",
    "estacionar",
    "garage",
    "garaje",
    "pileta",
    "piscina",
    "climatizada",
    "checkin",
    "checkout",
    "horario",
    "horarios",
    "ingreso",
    "ingresar",
    "llegar",
    "llegada",
    "salida",
    "acondicionado",
    "calefaccion",
    "parrilla",
    "asador",
    "quincho",
    "desayuno",
    "sabanas",
    "toallas",
    "ubicacion",
    "direccion",
    // dates
    "enero",
    "febrero",
    "marzo",
    "abril",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "sabado",
    "domingo",
    "manana",
    "pasado",
    "finde",
    "semana",
    "semanas",
    "largo",
    "santa",
    "carnaval",
    "noche",
    "desde",
    "hasta",
    "proximo",
    "proxima",
    "navidad",
    // guests
    "somos",
    "seriamos",
    "seremos",
    "adultos",
    "adulto",
    "mayores",
    "ninos",
    "nenes",
    "nenas",
    "chicos",
    "chicas",
    "menores",
    "bebes",
    "hijos",
    "pareja",
    "parejas",
    "matrimonio",
    "matrimonios",
    "familia",
    "familias",
    "novia",
    "novio",
    "esposa",
    "esposo",
    "marido",
    "senora",
    "amigos",
    "amigas",
    "huespedes",
];

/// Real words close to a looked-for word that must stay as they are ("pero" is not "perro",
/// "cuarto" is a room).
const COMMON: &[&str] = &[
    "pero", "para", "esta", "este", "esto", "como", "cuando", "donde", "todo", "nada", "bien", "cosa", "vamos",
    "tiene", "puede", "podes", "hace", "hacer", "dale", "bueno", "buena", "cuarto", "cuartos", "mesa", "cama", "camas",
    "bano", "banos", "carro", "llega", "llego", "llegamos", "entre", "salgo", "salimos", "vuelta", "plata", "playa",
    "cerca", "lejos", "mucho", "gente", "mismo", "otra", "otro", "ahora", "antes", "tarde", "porque", "sobre", "fecha",
    "fechas", "primo", "prima", "hijo", "hija", "perra", "gata", "ellos", "tenia", "queria", "quiero", "seria",
    "estan", "estamos", "viaje", "viajo", "viajamos", "reserve", "noche", "dias", "casa", "casas", "pasar", "pasas",
    "pasame", "entran", "llamo", "mande", "mando", "senal", "clave", "queda", "quedan", "salida", "sale", "salen",
    "aire", "ropa", "hora", "horas", "tengo", "tenemos", "lugares", "valen", "vale", "mayo", "martes", "meses",
    "abuela", "abuelo", "viejos", "padres", "cuesta", "semana", "finde", "sena", "senas", "senal", "ninas", "nino",
    "nina", "nena", "nene", "chico", "chica", "menor", "bebe",
];

/// WhatsApp spellings and abbreviations, after accents and repeated letters are gone.
const SPELLINGS: &[(&str, &str)] = &[
    ("q", "que"),
    ("k", "que"),
    ("ke", "que"),
    ("xq", "porque"),
    ("pq", "porque"),
    ("porq", "porque"),
    ("x", "por"),
    ("d", "de"),
    ("xa", "para"),
    ("pa", "para"),
    ("ai", "hay"),
    ("ay", "hay"),
    ("dispo", "disponible"),
    ("disp", "disponible"),
    ("kiero", "quiero"),
    ("qiero", "quiero"),
    ("kuanto", "cuanto"),
    ("xfa", "porfa"),
    ("plis", "porfa"),
    ("flia", "familia"),
    ("flias", "familias"),
    ("pers", "personas"),
    ("psnas", "personas"),
    ("grax", "gracias"),
    ("grs", "gracias"),
    ("gcias", "gracias"),
    ("holis", "hola"),
    ("hrs", "hs"),
    ("hr", "hs"),
    ("tmb", "tambien"),
    ("tb", "tambien"),
    ("fds", "finde"),
    ("dpto", "depto"),
    ("departamento", "depto"),
    ("maniana", "manana"),
    ("mñn", "manana"),
    ("wify", "wifi"),
    ("guifi", "wifi"),
    ("wiffi", "wifi"),
    ("pax", "pax"),
    ("piletita", "pileta"),
    ("septiembre", "setiembre"),
    ("sept", "sep"),
    ("set", "sep"),
    ("bno", "bueno"),
];

/// Several words that mean one thing.
const PHRASES: &[(&[&str], &str)] = &[
    (&["wi", "fi"], "wifi"),
    (&["wi", "-", "fi"], "wifi"),
    (&["check", "in"], "checkin"),
    (&["check", "-", "in"], "checkin"),
    (&["check", "out"], "checkout"),
    (&["check", "-", "out"], "checkout"),
    (&["fin", "de", "semana"], "finde"),
    (&["fines", "de", "semana"], "finde"),
    (&["fin", "de", "semanas"], "finde"),
    (&["pet", "friendly"], "petfriendly"),
    (&["por", "favor"], "porfa"),
];

/// A correction worth telling the caller about (the text said `heard`, it was read as `read_as`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub heard: String,
    pub read_as: String,
}

/// Lower case, accents and ñ folded to plain letters, anything else that is not a letter, digit
/// or meaningful punctuation turned into a space.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            'a'..='z' | '0'..='9' => c,
            '/' | '-' | '.' | ':' | ',' | '?' | '!' | '+' | '$' | ';' => c,
            _ => ' ',
        };
        out.push(folded);
    }
    out
}

/// Splits folded text into words, numeric chunks (`15/3`, `10:30`, `2026`) and punctuation.
fn pieces(folded: &str) -> Vec<String> {
    let chars: Vec<char> = folded.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (matches!(chars[i], '/' | '-' | '.' | ':')
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                        && chars[i - 1].is_ascii_digit()))
            {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ' ' {
            i += 1;
        } else {
            // Runs of the same mark ("??", "!!!") are one.
            let start = i;
            while i < chars.len() && chars[i] == c {
                i += 1;
            }
            let _ = start;
            out.push(c.to_string());
        }
    }
    out
}

fn collapse_runs(word: &str, min_run: usize, keep: usize) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let run = j - i;
        let emit = if run >= min_run { keep.min(run) } else { run };
        out.extend(std::iter::repeat_n(chars[i], emit));
        i = j;
    }
    out
}

fn known(word: &str) -> bool {
    LEXICON.contains(&word) || COMMON.contains(&word) || numbers::NUMBER_WORDS.iter().any(|(w, _)| *w == word)
}

/// One word as the NLU reads it, and whether that was a guess worth reporting.
fn fix_word(word: &str) -> (String, bool) {
    if known(word) {
        return (word.to_owned(), false);
    }
    // Stretched letters: "holaaa", "bueeenas", "perrrro" (rr and ll are real Spanish letters).
    let single = collapse_runs(word, 3, 1);
    let double = collapse_runs(word, 3, 2);
    let all_single = collapse_runs(word, 2, 1);
    let mut word = if double != single && known(&double) {
        double
    } else if known(&single) {
        single
    } else if known(&all_single) {
        all_single
    } else {
        single
    };
    if let Some((_, to)) = SPELLINGS.iter().find(|(from, _)| *from == word) {
        word = (*to).to_owned();
    }
    if known(&word) || word.len() < 4 || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return (word, false);
    }
    let targets: Vec<(&str, ())> = LEXICON.iter().filter(|w| w.len() >= 5).map(|w| (*w, ())).collect();
    let close: Vec<&str> =
        targets.iter().filter(|(t, _)| fuzzy::edit_distance(&word, t) == 1).map(|(t, _)| *t).collect();
    match close.as_slice() {
        [only] => ((*only).to_owned(), true),
        _ => (word, false),
    }
}

/// The text as the NLU reads it: tokens separated by single spaces, plus the guesses made.
pub fn normalize_with_corrections(text: &str) -> (String, Vec<Correction>) {
    let mut words = Vec::new();
    let mut corrections = Vec::new();
    for piece in pieces(&fold(text)) {
        if piece.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let (fixed, guessed) = fix_word(&piece);
            if guessed {
                corrections.push(Correction { heard: piece.clone(), read_as: fixed.clone() });
            }
            // "22hs" and "4pax" were split by `pieces` already; "porfa" may have become two words.
            words.extend(fixed.split(' ').map(str::to_owned));
        } else {
            words.push(piece);
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        for (phrase, joined) in PHRASES {
            if words.len() >= i + phrase.len() && phrase.iter().zip(&words[i..]).all(|(p, w)| p == w) {
                out.push((*joined).to_owned());
                i += phrase.len();
                continue 'outer;
            }
        }
        out.push(words[i].clone());
        i += 1;
    }
    (out.join(" "), corrections)
}

/// The text as the NLU reads it (see the module doc).
pub fn normalize(text: &str) -> String {
    normalize_with_corrections(text).0
}

/// One unit of a normalized message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    /// A number from digits or words; `heard` is the word when it only sounds like a number
    /// word ("sinco").
    Num {
        value: u32,
        heard: Option<String>,
    },
    /// `15/3`, `15-3`, `15/3/26`, `15.3.2026`.
    DayMonth {
        day: u32,
        month: u32,
        year: Option<i32>,
    },
    /// `10:30`, `22hs`, `a las 10`: a clock time, never a day or a guest count.
    Time,
    Punct(char),
}

impl Tok {
    pub fn word(&self) -> Option<&str> {
        match self {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    pub fn is(&self, word: &str) -> bool {
        self.word() == Some(word)
    }

    pub fn num(&self) -> Option<u32> {
        match self {
            Tok::Num { value, .. } => Some(*value),
            _ => None,
        }
    }
}

fn numeric(chunk: &str) -> Tok {
    if chunk.chars().all(|c| c.is_ascii_digit()) {
        return match chunk.parse::<u32>() {
            Ok(value) if chunk.len() <= 6 => Tok::Num { value, heard: None },
            _ => Tok::Word(chunk.to_owned()),
        };
    }
    let parts: Vec<&str> = chunk.split(['/', '-', '.', ':']).collect();
    let nums: Vec<Option<u32>> = parts.iter().map(|p| p.parse::<u32>().ok()).collect();
    if chunk.contains(':') {
        return Tok::Time;
    }
    match (parts.as_slice(), nums.as_slice()) {
        ([d, m], [Some(day), Some(month)]) if d.len() <= 2 && m.len() <= 2 && valid(*day, *month) => {
            Tok::DayMonth { day: *day, month: *month, year: None }
        }
        ([d, m, y], [Some(day), Some(month), Some(year)])
            if d.len() <= 2 && m.len() <= 2 && (y.len() == 2 || y.len() == 4) && valid(*day, *month) =>
        {
            let year = if y.len() == 2 { 2000 + *year as i32 } else { *year as i32 };
            Tok::DayMonth { day: *day, month: *month, year: Some(year) }
        }
        _ => Tok::Word(chunk.to_owned()),
    }
}

fn valid(day: u32, month: u32) -> bool {
    (1..=31).contains(&day) && (1..=12).contains(&month)
}

const TENS: &[(&str, u32)] = &[("veinte", 20), ("treinta", 30)];

/// Tokens of a normalized text (see [`normalize`]).
pub fn tokenize(normalized: &str) -> Vec<Tok> {
    let raw: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
    let mut toks: Vec<Tok> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let w = raw[i];
        let first = w.chars().next().unwrap_or(' ');
        if first.is_ascii_digit() {
            toks.push(numeric(w));
        } else if first.is_ascii_alphabetic() {
            // "diez y seis", "treinta y uno", "veinte y dos": one number.
            let joined_units = |base: u32, unit_word: &str| -> Option<u32> {
                let unit = match unit_word {
                    "uno" | "un" | "una" => 1,
                    other => numbers::word_value(other).map(|(v, _)| v).filter(|v| (1..=9).contains(v))?,
                };
                Some(base + unit)
            };
            let tens = TENS.iter().find(|(t, _)| *t == w).map(|(_, v)| *v).or((w == "diez").then_some(10));
            if let (Some(base), Some(&"y"), Some(unit)) = (tens, raw.get(i + 1), raw.get(i + 2)) {
                if let Some(value) = joined_units(base, unit).filter(|v| base != 10 || *v >= 16) {
                    toks.push(Tok::Num { value, heard: None });
                    i += 3;
                    continue;
                }
            }
            match numbers::word_value(w) {
                Some((value, fuzzy)) => toks.push(Tok::Num { value, heard: fuzzy.then(|| w.to_owned()) }),
                None if w == "primero" => toks.push(Tok::Num { value: 1, heard: None }),
                None => toks.push(Tok::Word(w.to_owned())),
            }
        } else {
            toks.push(Tok::Punct(first));
        }
        i += 1;
    }
    // Clock times: "22 hs", "a las 10", "10 de la manana"... never days or guests.
    for i in 0..toks.len() {
        let is_num = toks[i].num().is_some();
        let before_hours = toks.get(i + 1).is_some_and(|t| t.is("hs") || t.is("h") || t.is("horas"));
        let after_las = i > 0 && toks[i - 1].is("las") && toks.get(i.wrapping_sub(2)).is_some_and(|t| t.is("a"));
        if is_num && (before_hours || after_las) {
            toks[i] = Tok::Time;
        }
    }
    toks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_accents_and_punctuation() {
        assert_eq!(normalize("¿Tenés LUGAR en la Cabaña?"), "tenes lugar en la cabana ?");
        assert_eq!(normalize("Mañana!!! 👍"), "manana !");
        assert_eq!(normalize("Pasado mañana, ¿sí?"), "pasado manana , si ?");
    }

    #[test]
    fn stretched_letters_shrink_but_real_doubles_stay() {
        assert_eq!(normalize("holaaa"), "hola");
        assert_eq!(normalize("Holaaaa buenasss"), "hola buenas");
        assert_eq!(normalize("graciass"), "gracias");
        assert_eq!(normalize("buen diaaa"), "buen dia");
        assert_eq!(normalize("perrrro"), "perro");
        assert_eq!(normalize("llegar calle perro carro"), "llegar calle perro carro");
        assert_eq!(normalize("leer cooperativa"), "leer cooperativa");
        assert_eq!(normalize("2023 1000 11"), "2023 1000 11");
    }

    #[test]
    fn whatsapp_spellings() {
        assert_eq!(normalize("q precio x noche"), "que precio por noche");
        assert_eq!(normalize("ay lugar el fds?"), "hay lugar el finde ?");
        assert_eq!(normalize("tenes dispo xfa"), "tenes disponible porfa");
        assert_eq!(normalize("tiene Wi-Fi? el check in?"), "tiene wifi ? el checkin ?");
        assert_eq!(normalize("el fin de semana"), "el finde");
        assert_eq!(normalize("por favor"), "porfa");
    }

    #[test]
    fn typos_of_looked_for_words_are_fixed_and_reported() {
        assert_eq!(normalize("la seña cuanto es"), "la sena cuanto es", "seña is not señar");
        let (text, fixes) = normalize_with_corrections("hay lugr el finde?");
        assert_eq!(text, "hay lugar el finde ?");
        assert_eq!(fixes, vec![Correction { heard: "lugr".into(), read_as: "lugar".into() }]);
        // Real words near a looked-for word stay.
        assert_eq!(normalize("pero el cuarto"), "pero el cuarto");
    }

    #[test]
    fn numerals_dates_and_times() {
        assert_eq!(
            tokenize(&normalize("del 15/3 al 18-3-26 a las 10:30")),
            vec![
                Tok::Word("del".into()),
                Tok::DayMonth { day: 15, month: 3, year: None },
                Tok::Word("al".into()),
                Tok::DayMonth { day: 18, month: 3, year: Some(2026) },
                Tok::Word("a".into()),
                Tok::Word("las".into()),
                Tok::Time,
            ]
        );
        assert_eq!(tokenize("22 hs")[0], Tok::Time);
        assert_eq!(tokenize("a las 10")[2], Tok::Time);
        assert_eq!(tokenize(&normalize("32/13"))[0], Tok::Word("32/13".into()));
    }

    #[test]
    fn number_words_join() {
        assert_eq!(tokenize("treinta y uno")[0].num(), Some(31));
        assert_eq!(tokenize("diez y seis")[0].num(), Some(16));
        assert_eq!(tokenize("veintidos")[0].num(), Some(22));
        assert_eq!(tokenize("el primero")[1].num(), Some(1));
        assert_eq!(tokenize("sinco")[0], Tok::Num { value: 5, heard: Some("sinco".into()) });
        assert_eq!(tokenize("diez y media").len(), 3);
        assert_eq!(tokenize(&normalize("4pax 22hs")).len(), 4, "digits glued to letters are split");
    }
}
