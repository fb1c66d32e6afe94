//! How many people: "somos 4", "para dos", "2 adultos y 1 niño", "una pareja", "con mi señora y
//! los tres chicos", "para vos personas" (a transcription of "para dos personas").

use super::normalize::Tok;
use super::{numbers, Note};

#[derive(Debug, Default)]
pub(crate) struct Found {
    pub count: Option<u32>,
    pub notes: Vec<Note>,
}

const ADULTS: &[&str] = &[
    "personas",
    "persona",
    "pax",
    "adultos",
    "adulto",
    "adultas",
    "mayores",
    "huespedes",
    "amigos",
    "amigas",
    "gente",
    "chicas",
];
const CHILDREN: &[&str] = &[
    "ninos",
    "nino",
    "ninas",
    "nina",
    "nenes",
    "nene",
    "nenas",
    "nena",
    "chicos",
    "chico",
    "menores",
    "menor",
    "bebes",
    "bebe",
    "hijos",
    "hijo",
    "hijas",
    "hija",
    "chiquitos",
    "pibes",
    "criaturas",
    "sobrinos",
    "nietos",
];
const COUPLES: &[&str] = &["parejas", "pareja", "matrimonios", "matrimonio"];
/// "mi <one of these>": one more person.
const COMPANIONS: &[&str] = &[
    "novia",
    "novio",
    "esposa",
    "esposo",
    "mujer",
    "marido",
    "senora",
    "pareja",
    "amiga",
    "amigo",
    "hermana",
    "hermano",
    "mama",
    "papa",
    "vieja",
    "viejo",
    "suegra",
    "suegro",
    "hijo",
    "hija",
    "compa",
    "companera",
    "companero",
];
/// "mis <one of these>": two more people.
const PAIRS: &[&str] = &["viejos", "padres", "suegros"];
const STARTERS: &[&str] = &["somos", "seriamos", "seremos", "son", "serian", "seran", "vamos", "viajamos", "estamos"];
/// Words after "para N" that make N something else.
const NOT_PEOPLE: &[&str] =
    &["noche", "noches", "dia", "dias", "semana", "semanas", "hs", "horas", "de", "/", "mil", "pesos", "al", "meses"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Adults,
    Children,
    /// Part of a group whose size the rest of the sentence gives ("3 familias").
    Nobody,
}

struct Group {
    count: u32,
    who: Who,
    /// "mi señora": the writer comes too.
    brings_writer: bool,
    /// "yo": the writer is already counted.
    is_writer: bool,
}

struct Scanner<'a> {
    t: &'a [Tok],
    notes: Vec<Note>,
}

impl<'a> Scanner<'a> {
    fn w(&self, i: usize) -> &'a str {
        self.t.get(i).and_then(Tok::word).unwrap_or("")
    }

    /// A count at `i`: a number, "un"/"una", or (when a people word follows) a misheard word.
    fn count(&mut self, i: usize, misheard_ok: bool) -> Option<(u32, usize)> {
        match self.t.get(i)? {
            Tok::Num { value, heard } => {
                if let Some(heard) = heard {
                    self.notes.push(Note::Misheard { heard: heard.clone(), read_as: *value });
                }
                Some((*value, i + 1))
            }
            Tok::Word(w) if matches!(w.as_str(), "un" | "una" | "uno") => Some((1, i + 1)),
            Tok::Word(w) if misheard_ok => {
                let value = numbers::misheard_value(w)?;
                let next = self.w(i + 1);
                if ADULTS.contains(&next) || CHILDREN.contains(&next) {
                    self.notes.push(Note::Misheard { heard: w.clone(), read_as: value });
                    return Some((value, i + 1));
                }
                None
            }
            _ => None,
        }
    }

    /// One group at `i`: "2 adultos", "un bebe", "una pareja", "dos parejas", "familia de 5",
    /// "mi señora", "mis viejos", "yo".
    fn group(&mut self, i: usize) -> Option<(Group, usize)> {
        let mut i = i;
        while matches!(self.w(i), "los" | "las" | "mis" | "nuestros") && !PAIRS.contains(&self.w(i + 1)) {
            i += 1;
        }
        let plain = |count, who| Group { count, who, brings_writer: false, is_writer: false };
        match self.w(i) {
            "yo" => return Some((Group { count: 1, who: Who::Adults, brings_writer: false, is_writer: true }, i + 1)),
            "pareja" | "matrimonio" if matches!(self.w(i.wrapping_sub(1)), "en" | "somos") => {
                return Some((plain(2, Who::Adults), i + 1))
            }
            "familia" if self.w(i + 1) == "de" => {
                let (n, j) = self.count(i + 2, true)?;
                return Some((plain(n, Who::Adults), j + usize::from(ADULTS.contains(&self.w(j)))));
            }
            "mi" if COMPANIONS.contains(&self.w(i + 1)) => {
                return Some((Group { count: 1, who: Who::Adults, brings_writer: true, is_writer: false }, i + 2))
            }
            "mis" if PAIRS.contains(&self.w(i + 1)) => return Some((plain(2, Who::Adults), i + 2)),
            _ => {}
        }
        let notes_before = self.notes.len();
        let (n, j) = self.count(i, true)?;
        let noun = self.w(j);
        let group = if ADULTS.contains(&noun) {
            plain(n, Who::Adults)
        } else if CHILDREN.contains(&noun) {
            plain(n, Who::Children)
        } else if COUPLES.contains(&noun) {
            plain(n * 2, Who::Adults)
        } else if matches!(noun, "familia" | "familias") {
            if noun == "familia" && self.w(j + 1) == "de" {
                let (n, k) = self.count(j + 2, true)?;
                return Some((plain(n, Who::Adults), k + usize::from(ADULTS.contains(&self.w(k)))));
            }
            plain(0, Who::Nobody)
        } else {
            self.notes.truncate(notes_before);
            return None;
        };
        Some((group, j + 1))
    }

    /// "somos N", "para N", "son N": a count with no noun, at `i`.
    fn bare(&mut self, i: usize) -> Option<(u32, usize)> {
        let starter = self.w(i);
        let is_para = starter == "para";
        if !(is_para || STARTERS.contains(&starter)) {
            return None;
        }
        let (n, j) = match self.t.get(i + 1)? {
            Tok::Num { .. } => self.count(i + 1, false)?,
            _ => return None,
        };
        let next = self.t.get(j);
        let bad_next = match next {
            Some(Tok::Word(w)) => NOT_PEOPLE.contains(&w.as_str()),
            Some(Tok::DayMonth { .. } | Tok::Time) => true,
            _ => false,
        };
        if bad_next || n == 0 || n > 40 {
            return None;
        }
        Some((n, j))
    }

    /// Every mention of a group; each is a chain of parts joined by "y", "+", "mas", "con", ",".
    fn mentions(&mut self) -> Vec<Vec<Group>> {
        let mut all = Vec::new();
        let mut i = 0;
        while i < self.t.len() {
            let w = self.w(i);
            // "hablar con una persona": a person to talk to, not a guest.
            let talking = i >= 2
                && self.w(i - 1) == "con"
                && matches!(self.w(i - 2), "hablar" | "comunicar" | "comunicarme" | "pasame" | "pasar" | "hable");
            if talking {
                i += 1;
                continue;
            }
            let mut chain: Vec<Group> = Vec::new();
            let mut j = i;
            let alone = (matches!(w, "voy" | "viajo" | "yo") && matches!(self.w(i + 1), "solo" | "sola"))
                || (matches!(w, "solo" | "sola") && self.w(i + 1) == "yo");
            if alone {
                chain.push(Group { count: 1, who: Who::Adults, brings_writer: false, is_writer: true });
                j = i + 2;
            } else if let Some((g, k)) = self.group(i) {
                chain.push(g);
                j = k;
            } else if STARTERS.contains(&w) || w == "para" {
                // "somos una pareja", "para 4 personas", then "somos 4", "para dos".
                if let Some((g, k)) = self.group(i + 1) {
                    chain.push(g);
                    j = k;
                } else if let Some((n, k)) = self.bare(i) {
                    chain.push(Group { count: n, who: Who::Adults, brings_writer: false, is_writer: true });
                    j = k;
                } else if w == "vamos" && self.w(i + 1) == "con" {
                    j = i + 1;
                    chain.push(Group { count: 0, who: Who::Nobody, brings_writer: false, is_writer: false });
                }
            }
            if chain.is_empty() {
                i += 1;
                continue;
            }
            // Joined parts: "y un bebe", "+ 2 menores", "con dos chicos", ", 6 adultos", "3 menores".
            loop {
                let joiner = self.w(j);
                let punct = matches!(self.t.get(j), Some(Tok::Punct(',' | '+')));
                let skip = usize::from(matches!(joiner, "y" | "mas" | "con" | "e") || punct);
                match self.group(j + skip) {
                    Some((g, k)) => {
                        chain.push(g);
                        j = k;
                    }
                    None => break,
                }
            }
            all.push(chain);
            i = j.max(i + 1);
        }
        all
    }
}

/// The group size a message gives, if it gives one for sure.
pub(crate) fn extract(t: &[Tok]) -> Found {
    let mut scanner = Scanner { t, notes: Vec::new() };
    let mentions = scanner.mentions();
    let mut notes = scanner.notes;
    // The last mention wins: guests correct themselves ("somos 4... bueno, 5").
    let count = mentions.last().and_then(|chain| {
        let sum: u32 = chain.iter().map(|g| g.count).sum();
        let any_adult = chain.iter().any(|g| g.who == Who::Adults);
        let writer_missing = chain.iter().any(|g| g.brings_writer)
            && !chain.iter().any(|g| g.is_writer)
            && !mentions_before_count(chain);
        if !any_adult {
            // Only children ("vamos con dos chicos"): how many adults? Ask.
            notes.push(Note::GuestsUnclear);
            return None;
        }
        let total = sum + u32::from(writer_missing);
        (1..=60).contains(&total).then_some(total)
    });
    Found { count, notes }
}

/// A chain that starts with a counted group already includes whoever brings a companion.
fn mentions_before_count(chain: &[Group]) -> bool {
    chain.first().is_some_and(|g| !g.brings_writer && g.who == Who::Adults && g.count > 1)
}

#[cfg(test)]
mod tests {
    use super::super::normalize::{normalize, tokenize};
    use super::*;

    fn guests(text: &str) -> Option<u32> {
        extract(&tokenize(&normalize(text))).count
    }

    #[test]
    fn plain_counts() {
        assert_eq!(guests("somos 4"), Some(4));
        assert_eq!(guests("para dos"), Some(2));
        assert_eq!(guests("para 4, cuanto sale"), Some(4));
        assert_eq!(guests("seriamos diez personas"), Some(10));
        assert_eq!(guests("4 pax"), Some(4));
        assert_eq!(guests("somos veinte"), Some(20));
        assert_eq!(guests("somos dieciseis"), Some(16));
        assert_eq!(guests("para 12 personas"), Some(12));
        assert_eq!(guests("son 2"), Some(2));
        assert_eq!(guests("somos 6 amigos"), Some(6));
    }

    #[test]
    fn adults_and_children_add_up() {
        assert_eq!(guests("2 adultos y 1 niño"), Some(3));
        assert_eq!(guests("somos 2 adultos 3 menores"), Some(5));
        assert_eq!(guests("somos 2 adultos + 2 menores"), Some(4));
        assert_eq!(guests("seriamos cuatro adultos y dos chicos"), Some(6));
        assert_eq!(guests("con 2 chicos y 2 adultos"), Some(4));
        assert_eq!(guests("somos 4 mas un bebe"), Some(5));
        assert_eq!(guests("para 2 + 1 bebe"), Some(3));
        assert_eq!(guests("para dos personas y un bebé"), Some(3));
        assert_eq!(guests("somos 3 flias, 6 adultos y 5 chicos"), Some(11));
    }

    #[test]
    fn couples_families_companions() {
        assert_eq!(guests("una pareja"), Some(2));
        assert_eq!(guests("somos una pareja con dos chicos"), Some(4));
        assert_eq!(guests("una pareja y un bebe"), Some(3));
        assert_eq!(guests("dos parejas"), Some(4));
        assert_eq!(guests("somos tres matrimonios"), Some(6));
        assert_eq!(guests("una familia de 5"), Some(5));
        assert_eq!(guests("vamos con mi novia"), Some(2));
        assert_eq!(guests("vamos con mi señora y los tres chicos"), Some(5));
        assert_eq!(guests("mi pareja y yo"), Some(2));
        assert_eq!(guests("es para mis viejos"), Some(2));
        assert_eq!(guests("voy solo"), Some(1));
        assert_eq!(guests("viajo sola"), Some(1));
        assert_eq!(guests("solo yo"), Some(1));
    }

    #[test]
    fn not_guest_counts() {
        assert_eq!(guests("para dos noches"), None);
        assert_eq!(guests("para el 4"), None);
        assert_eq!(guests("somos dos y un perro"), Some(2));
        assert_eq!(guests("3 personas con 1 perro"), Some(3));
        assert_eq!(guests("para vos"), None);
        assert_eq!(guests("solo quiero saber el precio"), None);
        assert_eq!(guests("a las 10"), None);
        assert_eq!(guests("para 15/3"), None);
        assert_eq!(guests("del 12 al 15 de marzo"), None);
        assert_eq!(guests("quiero hablar con una persona"), None);
        assert_eq!(guests("para una persona"), Some(1));
    }

    #[test]
    fn children_alone_are_unclear() {
        let found = extract(&tokenize(&normalize("vamos con dos chicos")));
        assert_eq!(found.count, None);
        assert!(found.notes.contains(&Note::GuestsUnclear));
    }

    #[test]
    fn transcription_errors_before_a_people_word() {
        let found = extract(&tokenize(&normalize("para vos personas")));
        assert_eq!(found.count, Some(2));
        assert_eq!(found.notes, vec![Note::Misheard { heard: "vos".into(), read_as: 2 }]);
        assert_eq!(guests("para cuarto personas"), Some(4));
        assert_eq!(guests("para sinco personas"), Some(5));
    }

    #[test]
    fn the_last_mention_wins() {
        assert_eq!(guests("somos 4, perdon, somos 5"), Some(5));
    }
}
