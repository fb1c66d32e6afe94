//! iCalendar (RFC 5545) for calendar sync: reading the feeds Airbnb, Booking.com, Vrbo and
//! Google send ([`read`]), writing our exports ([`write`]), and the export URL tokens
//! ([`token`]).
//!
//! Reading is tolerant of real-world input (CRLF or LF, folded lines, `DURATION` instead of
//! `DTEND`, date-times where dates are meant, junk lines) and strict about the one thing that
//! matters for a snapshot: a feed that is not a complete calendar is refused whole, so a
//! truncated download or an HTML error page can never read as "every booking was cancelled".
//! Content lines are parsed by the `icalendar` crate (parameters, quoting, TEXT unescaping);
//! the event semantics (which nights an event takes) are ours.
//!
//! Writing is by hand on purpose: icalendar 0.17's writer escapes `\n` but not a bare `\r`
//! (a CR in a name would end the line early), escapes only the properties it knows as TEXT (not
//! `X-WR-CALNAME`), looks for whitespace by character index at a byte offset when folding, and
//! stamps `DTSTAMP` from the system clock when none is given (the domain takes time as a
//! parameter). The writer here is small, and its output is checked by parsing it back with
//! the crate and with Python's `icalendar` in the tests.

pub mod read;
pub mod token;
pub mod write;

pub use read::{parse_feed, EventKind, FeedError, FeedEvent, ParsedFeed, Skipped};
pub use token::{ExportToken, Platform};
pub use write::{escape_text, fold_line, write_calendar, ExportEvent};
