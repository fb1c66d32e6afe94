//! Issue tests to come.
