//! Times are stored as fixed-width UTC text, so string order is time order.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn fmt(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn fmt_opt(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(fmt)
}

pub fn parse(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

pub fn parse_opt(s: Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().map(parse)
}
