//! CSV for spreadsheets: RFC 4180 records (CRLF line ends, quotes only where needed, `"`
//! doubled inside quotes) with every cell neutralised against formula injection.
//!
//! A spreadsheet treats a cell that starts with `=`, `+`, `-` or `@` as a formula (and some
//! strip a leading tab or carriage return first), so a guest named `=HYPERLINK(...)` could run
//! something on the admin's machine. Such cells get a leading `'`, which spreadsheets show as
//! text; the value stays readable and nothing else changes.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_TRIGGERS: &[char] = &['=', '+', '-', '@', '\t', '\r'];

/// The cell as it is safe to hand to a spreadsheet: prefixed with `'` when it starts with a
/// formula trigger, untouched otherwise.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_TRIGGERS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Appends one field, quoted when RFC 4180 requires it (a comma, a quote, CR or LF inside)
/// or when leading/trailing spaces would otherwise be trimmed by lenient readers.
fn push_field(out: &mut String, field: &str) {
    let needs_quotes = field.contains([',', '"', '\r', '\n']) || field.starts_with(' ') || field.ends_with(' ');
    if needs_quotes {
        out.push('"');
        for c in field.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Appends one record: every cell neutralised, then quoted as needed, ended by CRLF.
pub fn push_record<S: AsRef<str>>(out: &mut String, cells: &[S]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, &neutralise(cell.as_ref()));
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&str]) -> String {
        let mut out = String::new();
        push_record(&mut out, cells);
        out
    }

    #[test]
    fn plain_cells_are_left_alone_and_records_end_in_crlf() {
        assert_eq!(record(&["ABC", "48000.00", "Ana Pérez"]), "ABC,48000.00,Ana Pérez\r\n");
    }

    #[test]
    fn every_formula_trigger_is_prefixed() {
        for cell in ["=1+1", "+5491122334455", "-3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
        }
        assert_eq!(neutralise("1=1"), "1=1");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn quotes_commas_and_line_breaks_are_quoted() {
        assert_eq!(record(&["a,b", "say \"hi\"", "two\nlines"]), "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
    }

    #[test]
    fn a_neutralised_cell_is_still_quoted_when_needed() {
        assert_eq!(record(&["=HYPERLINK(\"http://x\",\"y\")"]), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n");
        assert_eq!(record(&["\rx"]), "\"'\rx\"\r\n");
    }

    #[test]
    fn surrounding_spaces_are_kept_by_quoting() {
        assert_eq!(record(&[" x "]), "\" x \"\r\n");
    }
}
