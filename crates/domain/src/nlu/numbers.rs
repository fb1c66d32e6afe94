//! Spanish number words (as written and as transcribed) up to thirty-one: enough for every day
//! of a month and for any group a cabin takes.

use super::fuzzy;

/// Every number word, normalized (no accents), with its value. "un"/"una"/"uno" are not here:
/// they are articles far more often than numbers, so each pattern decides on them itself.
pub const NUMBER_WORDS: &[(&str, u32)] = &[
    ("dos", 2),
    ("tres", 3),
    ("cuatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("siete", 7),
    ("ocho", 8),
    ("nueve", 9),
    ("diez", 10),
    ("once", 11),
    ("doce", 12),
    ("trece", 13),
    ("catorce", 14),
    ("quince", 15),
    ("dieciseis", 16),
    ("diecisiete", 17),
    ("dieciocho", 18),
    ("diecinueve", 19),
    ("veinte", 20),
    ("veintiuno", 21),
    ("veintiun", 21),
    ("veintiuna", 21),
    ("veintidos", 22),
    ("veintitres", 23),
    ("veinticuatro", 24),
    ("veinticinco", 25),
    ("veintiseis", 26),
    ("veintisiete", 27),
    ("veintiocho", 28),
    ("veintinueve", 29),
    ("treinta", 30),
    ("treintaiuno", 31),
];

/// The value of a number word spelled right (or spelled as it sounds: "sinco", "dose").
pub fn word_value(word: &str) -> Option<(u32, bool)> {
    if let Some((_, v)) = NUMBER_WORDS.iter().find(|(w, _)| *w == word) {
        return Some((*v, false));
    }
    if word.len() < 4 {
        return None;
    }
    let key = fuzzy::phonetic(word);
    NUMBER_WORDS.iter().find(|(w, _)| fuzzy::phonetic(w) == key).map(|(_, v)| (*v, true))
}

/// Words that are never read as a misheard number, however close they are to one ("tres"/"tras",
/// "once"/"onde", "dos"/"los").
const NEVER_NUMBERS: &[&str] = &[
    "los", "las", "nos", "vez", "mes", "res", "das", "des", "tras", "tus", "sus", "sos", "son", "con", "dias", "dia",
    "mas", "menos", "nada", "todo", "todos", "donde", "onde", "cinta", "siente", "sientes", "noche", "noches", "trece",
    "treinta", "ese", "esa", "esos", "esas", "del", "al", "el", "la", "de", "que", "para", "por", "y",
];

/// A word in a place where only a number makes sense ("del _ al 15", "para _ personas"),
/// read as the one number word it is closest to (one phonetic edit). `None` when unsure.
pub fn misheard_value(word: &str) -> Option<u32> {
    if word.len() < 3 || NEVER_NUMBERS.contains(&word) || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    fuzzy::closest(word, NUMBER_WORDS, 1).map(|(_, v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_up_to_thirty_one() {
        assert_eq!(word_value("dos"), Some((2, false)));
        assert_eq!(word_value("quince"), Some((15, false)));
        assert_eq!(word_value("veinte"), Some((20, false)));
        assert_eq!(word_value("veintiocho"), Some((28, false)));
        assert_eq!(word_value("treintaiuno"), Some((31, false)));
        assert_eq!(word_value("hola"), None);
    }

    #[test]
    fn spellings_that_sound_the_same_are_numbers_but_flagged() {
        assert_eq!(word_value("sinco"), Some((5, true)));
        assert_eq!(word_value("dose"), Some((12, true)));
        assert_eq!(word_value("beinte"), Some((20, true)));
        assert_eq!(word_value("vos"), None);
    }

    #[test]
    fn misheard_numbers_only_when_one_is_close() {
        assert_eq!(misheard_value("mose"), Some(12));
        assert_eq!(misheard_value("vos"), Some(2));
        assert_eq!(misheard_value("cuarto"), Some(4));
        assert_eq!(misheard_value("los"), None);
        assert_eq!(misheard_value("noches"), None);
        assert_eq!(misheard_value("xx"), None);
    }
}
