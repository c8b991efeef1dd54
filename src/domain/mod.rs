//! Domain types and rules. Knows neither actix nor diesel: input is parsed into these types
//! once, at the edge, so the rest of the code never sees an invalid value.

pub mod article;
pub mod client_addr;
pub mod comment;
pub mod html_depth;
pub mod markdown;
pub mod slug;
pub mod user;

use std::fmt;

/// One invalid field of a request, as listed in a problem's `errors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Collects every invalid field of a request, so the client learns about all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `result`'s value, or records its error against `field`.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded; the value is only built when it is needed.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            if let Some(v) = value() {
                return Ok(v);
            }
        }
        Err(self.0)
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }
}

/// Counts characters (not bytes) so limits mean the same thing in every script.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Earliest and latest years a timestamp from a client may have: RFC 3339 writes four-digit
/// years, and PostgreSQL's `timestamp` does not reach back to the year −262,143 that chrono
/// parses (a 500 there), so both backends accept the same instants.
pub const TIMESTAMP_YEARS: std::ops::RangeInclusive<i32> = 0..=9999;

/// A client's timestamp as stored (UTC, microseconds), or why it is refused.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> Result<chrono::NaiveDateTime, String> {
    use chrono::{Datelike, SubsecRound};
    if TIMESTAMP_YEARS.contains(&t.year()) {
        Ok(t.naive_utc().trunc_subsecs(6))
    } else {
        Err("must be a time between the years 0000 and 9999".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn timestamp_table() {
        let cases: &[(&str, bool)] = &[
            ("2026-11-25T08:00:00Z", true),
            ("0000-01-01T00:00:00Z", true),
            ("9999-12-31T23:59:59.999999999Z", true),
            ("-0001-12-31T23:59:59Z", false),
            ("-4714-11-23T00:00:00Z", false),
            ("-262143-01-01T00:00:00Z", false),
            ("+10000-01-01T00:00:00Z", false),
            ("+262142-12-31T23:59:59Z", false),
        ];
        for (raw, ok) in cases {
            let t: DateTime<Utc> = raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(timestamp(t).is_ok(), *ok, "{raw}");
        }
        let t: DateTime<Utc> = "2026-01-01T00:00:00.123456789Z".parse().unwrap();
        assert_eq!(
            timestamp(t).unwrap().to_string(),
            "2026-01-01 00:00:00.123456"
        );
    }
}
