//! The conversation's reading of a message: the NLU's [`Analysis`] (see
//! `reservas_domain::nlu`), plus the short yeses that only mean something after a quote.

use chrono::{DateTime, Utc};
use reservas_domain::nlu::{self, Analysis, Intent};
use serde_json::{json, Value};

/// What a message says, for the conversation.
#[derive(Debug, Clone)]
pub struct Understood {
    pub analysis: Analysis,
    /// A bare yes ("sí", "dale", "de una"): after a quote it means "reservá".
    pub affirm: bool,
}

/// Short answers that say yes in Argentine Spanish.
const YES: &[&str] = &[
    "si",
    "sii",
    "siii",
    "dale",
    "dalee",
    "ok",
    "oka",
    "okey",
    "listo",
    "de una",
    "si dale",
    "dale si",
    "perfecto",
    "si por favor",
    "si porfa",
    "obvio",
    "sale",
    "va",
    "bueno",
    "reservar",
    "reserva",
    "reservala",
    "reservamela",
];

fn normalize(text: &str) -> String {
    let lower = text.to_lowercase();
    let plain: String = lower
        .chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            c if c.is_alphanumeric() || c.is_whitespace() => c,
            _ => ' ',
        })
        .collect();
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads `text`, received at `at` (dates resolve from the message's own time).
pub fn understand(text: &str, at: DateTime<Utc>) -> Understood {
    // Guests do not write essays; a huge message is cut before the rules read it.
    let text: String = text.chars().take(2000).collect();
    let analysis = nlu::analyze(&text, at);
    let affirm = YES.contains(&normalize(&text).as_str());
    Understood { analysis, affirm }
}

impl Understood {
    pub fn intent(&self) -> Intent {
        self.analysis.intent
    }

    pub fn intent_name(&self) -> &'static str {
        self.analysis.intent.as_str()
    }

    /// Whether the message names dates, a length or a group size.
    pub fn has_entities(&self) -> bool {
        let a = &self.analysis;
        a.check_in.is_some() || a.check_out.is_some() || a.nights.is_some() || a.guests.is_some()
    }

    /// The entities, as `POST /audio/transcribe` answers them.
    pub fn entities(&self) -> Value {
        let a = &self.analysis;
        json!({
            "check_in": a.check_in,
            "check_out": a.check_out,
            "nights": a.nights,
            "guests": a.guests,
            "service": a.service,
            "nlu_confidence": a.confidence,
            "notes": a.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_yeses_are_affirmations() {
        let at = "2026-02-10T15:00:00Z".parse().unwrap();
        assert!(understand("Sí!", at).affirm);
        assert!(understand("dale", at).affirm);
        assert!(!understand("si, del 12 al 15", at).affirm);
    }
}
