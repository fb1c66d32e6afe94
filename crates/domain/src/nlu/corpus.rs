//! The accuracy corpus: real-sounding messages with what the NLU should understand
//! (`crates/domain/tests/corpus/nlu_es_ar.tsv`), parsed and scored here so the corpus test and
//! the benchmark report the same figures.
//!
//! Format: one message a line, tab-separated `text, intent, check_in, check_out, guests`;
//! `intent` is a wire name or `services/<service>`; `-` is "null"; `#` starts a comment line;
//! `@received_at <RFC 3339>` sets the timestamp of the lines after it.

use super::{analyze, Analysis, Intent, Service};
use chrono::{DateTime, NaiveDate, Utc};

/// One corpus line.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusCase {
    /// 1-based line in the file.
    pub line: usize,
    pub received_at: DateTime<Utc>,
    pub text: String,
    pub intent: Intent,
    pub service: Option<Service>,
    pub check_in: Option<NaiveDate>,
    pub check_out: Option<NaiveDate>,
    pub guests: Option<u32>,
}

/// Parses the corpus; an error names the line.
pub fn parse_corpus(text: &str) -> Result<Vec<CorpusCase>, String> {
    let mut received_at: Option<DateTime<Utc>> = None;
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let err = |what: &str| format!("corpus line {line_no}: {what}: {line:?}");
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(ts) = line.strip_prefix("@received_at ") {
            received_at = Some(ts.trim().parse().map_err(|_| err("bad timestamp"))?);
            continue;
        }
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        let [text, intent, check_in, check_out, guests] = cols[..] else {
            return Err(err("expected 5 tab-separated columns"));
        };
        let (intent, service) = match intent.split_once('/') {
            Some(("services", kind)) => (Intent::Services, Some(Service::parse(kind).ok_or_else(|| err("service"))?)),
            _ => (Intent::parse(intent).ok_or_else(|| err("intent"))?, None),
        };
        let date = |s: &str| -> Result<Option<NaiveDate>, String> {
            match s {
                "-" => Ok(None),
                s => NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Some).map_err(|_| err("date")),
            }
        };
        let guests = match guests {
            "-" => None,
            g => Some(g.parse().map_err(|_| err("guests"))?),
        };
        cases.push(CorpusCase {
            line: line_no,
            received_at: received_at.ok_or_else(|| err("no @received_at before this line"))?,
            text: text.to_owned(),
            intent,
            service,
            check_in: date(check_in)?,
            check_out: date(check_out)?,
            guests,
        });
    }
    Ok(cases)
}

/// A line the NLU got (partly) wrong.
#[derive(Debug, Clone)]
pub struct Failure {
    pub case: CorpusCase,
    pub got: Analysis,
    pub intent_ok: bool,
    pub dates_ok: bool,
    pub guests_ok: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |d: Option<NaiveDate>| d.map_or("-".to_owned(), |d| d.to_string());
        let show_n = |g: Option<u32>| g.map_or("-".to_owned(), |g| g.to_string());
        let intent = |i: Intent, s: Option<Service>| match (i, s) {
            (Intent::Services, Some(s)) => format!("services/{}", s.as_str()),
            (i, _) => i.as_str().to_owned(),
        };
        let c = &self.case;
        let g = &self.got;
        write!(f, "line {} {:?}:", c.line, c.text)?;
        if !self.intent_ok {
            write!(f, " intent {} (want {})", intent(g.intent, g.service), intent(c.intent, c.service))?;
        }
        if !self.dates_ok {
            write!(
                f,
                " dates {}..{} (want {}..{})",
                show(g.check_in),
                show(g.check_out),
                show(c.check_in),
                show(c.check_out)
            )?;
        }
        if !self.guests_ok {
            write!(f, " guests {} (want {})", show_n(g.guests), show_n(c.guests))?;
        }
        Ok(())
    }
}

/// How the NLU did on a corpus.
#[derive(Debug, Clone, Default)]
pub struct CorpusScore {
    pub cases: usize,
    pub intent_ok: usize,
    pub dates_ok: usize,
    pub guests_ok: usize,
    /// Lines with every field right.
    pub all_ok: usize,
    pub failures: Vec<Failure>,
}

impl CorpusScore {
    fn share(&self, n: usize) -> f64 {
        if self.cases == 0 {
            0.0
        } else {
            n as f64 / self.cases as f64
        }
    }

    /// Intent right (and, for services, the service too).
    pub fn intent_accuracy(&self) -> f64 {
        self.share(self.intent_ok)
    }

    /// Check-in and check-out both right (null where null is expected).
    pub fn dates_accuracy(&self) -> f64 {
        self.share(self.dates_ok)
    }

    pub fn guests_accuracy(&self) -> f64 {
        self.share(self.guests_ok)
    }

    /// Lines with intent, dates and guests all right.
    pub fn overall_accuracy(&self) -> f64 {
        self.share(self.all_ok)
    }

    /// The figures as `name value` pairs, as the benchmark prints them.
    pub fn figures(&self) -> [(&'static str, f64); 4] {
        [
            ("nlu_accuracy_intent", self.intent_accuracy()),
            ("nlu_accuracy_dates", self.dates_accuracy()),
            ("nlu_accuracy_guests", self.guests_accuracy()),
            ("nlu_accuracy_overall", self.overall_accuracy()),
        ]
    }
}

/// Runs [`analyze`] on every case and counts what it got right.
pub fn score(cases: &[CorpusCase]) -> CorpusScore {
    let mut s = CorpusScore { cases: cases.len(), ..CorpusScore::default() };
    for case in cases {
        let got = analyze(&case.text, case.received_at);
        let intent_ok = got.intent == case.intent && (case.intent != Intent::Services || got.service == case.service);
        let dates_ok = got.check_in == case.check_in && got.check_out == case.check_out;
        let guests_ok = got.guests == case.guests;
        s.intent_ok += usize::from(intent_ok);
        s.dates_ok += usize::from(dates_ok);
        s.guests_ok += usize::from(guests_ok);
        if intent_ok && dates_ok && guests_ok {
            s.all_ok += 1;
        } else {
            s.failures.push(Failure { case: case.clone(), got, intent_ok, dates_ok, guests_ok });
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_directives_comments_and_nulls() {
        let text = "# comment\n@received_at 2026-02-10T15:00:00Z\nhola\tgreeting\t-\t-\t-\n\
                    tenes wifi?\tservices/wifi\t-\t-\t-\nsomos 4 el finde\tavailability\t2026-02-14\t2026-02-15\t4\n";
        let cases = parse_corpus(text).unwrap();
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[1].service, Some(Service::Wifi));
        assert_eq!(cases[2].line, 5);
        assert_eq!(cases[2].guests, Some(4));
        let s = score(&cases);
        assert_eq!((s.cases, s.all_ok), (3, 3));
        assert_eq!(s.figures()[3], ("nlu_accuracy_overall", 1.0));
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse_corpus("hola\tgreeting\t-\t-\t-").unwrap_err().contains("line 1"));
        let bad = "@received_at 2026-02-10T15:00:00Z\nhola\tsaludo\t-\t-\t-";
        assert!(parse_corpus(bad).unwrap_err().contains("line 2"));
        assert!(parse_corpus("@received_at 2026-02-10T15:00:00Z\nhola\tgreeting\t-").is_err());
    }
}
