//! Lenient decoding of what real chargers send.
//!
//! Chargers in the field send numbers where strings belong (and the other way round), timestamps
//! without a zone, unit spellings off by case, over-long serial numbers and enum values the spec
//! does not know. Rejecting them strands real hardware, so the types here accept whatever can be
//! understood and record each deviation as a [`Quirk`]. What cannot be understood still fails, with
//! an error message that [`crate::error::classify`] maps to the right CALLERROR code.
//!
//! Quirks are collected per decode call through a thread-local collector: serde deserialisation is
//! synchronous, so [`collect`] brackets exactly one decode on one thread.

use std::cell::RefCell;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A deviation from the schema that we accepted anyway. Stored per station and shown to the
/// operator, so a technician can see what a charger gets wrong without reading frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quirk {
    pub kind: QuirkKind,
    /// Human detail: the offending value and, where known, the field.
    pub detail: String,
}

/// The named kinds of quirk. Stable snake_case names: the UI and the store key on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuirkKind {
    /// A number where the schema says string (e.g. OpenEVSE meter values, numeric idTags).
    NumberAsString,
    /// A string holding a number where the schema says integer or number.
    StringAsNumber,
    /// A float with no fractional part where the schema says integer.
    FloatAsInteger,
    /// A timestamp with no time zone; read as UTC.
    TimestampWithoutZone,
    /// A timestamp with a short or unusual offset such as `+02` or `+0200`, or a space for `T`.
    TimestampNonStandard,
    /// A string longer than the schema's maxLength; kept whole.
    OverlongString,
    /// An enum value in the wrong case or a known misspelling (`wh`, `Celcius`, `Hertz`).
    EnumSpelling,
    /// An enum value the spec does not know, kept as the raw string.
    UnknownEnumValue,
    /// A field the schema does not define; ignored.
    UnknownField,
    /// `null` where the schema allows only omission.
    NullField,
    /// The charger offered no WebSocket subprotocol; its configured version was used.
    NoSubprotocol,
    /// A transaction id of 0 or below (offline-started transaction) in a later message.
    OfflineTransactionId,
    /// A StopTransaction for a transaction we do not know; acknowledged and recorded.
    UnknownTransaction,
    /// Energy register readings in kWh labelled as Wh (seen against the transaction's meterStart);
    /// stored ×1000.
    KwhLabelledAsWh,
    /// A frame that could not be read at all.
    MalformedFrame,
}

impl QuirkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuirkKind::NumberAsString => "number_as_string",
            QuirkKind::StringAsNumber => "string_as_number",
            QuirkKind::FloatAsInteger => "float_as_integer",
            QuirkKind::TimestampWithoutZone => "timestamp_without_zone",
            QuirkKind::TimestampNonStandard => "timestamp_non_standard",
            QuirkKind::OverlongString => "overlong_string",
            QuirkKind::EnumSpelling => "enum_spelling",
            QuirkKind::UnknownEnumValue => "unknown_enum_value",
            QuirkKind::UnknownField => "unknown_field",
            QuirkKind::NullField => "null_field",
            QuirkKind::NoSubprotocol => "no_subprotocol",
            QuirkKind::OfflineTransactionId => "offline_transaction_id",
            QuirkKind::UnknownTransaction => "unknown_transaction",
            QuirkKind::KwhLabelledAsWh => "kwh_labelled_as_wh",
            QuirkKind::MalformedFrame => "malformed_frame",
        }
    }
}

impl Quirk {
    pub fn new(kind: QuirkKind, detail: impl Into<String>) -> Self {
        Quirk {
            kind,
            detail: detail.into(),
        }
    }
}

thread_local! {
    static QUIRKS: RefCell<Option<Vec<Quirk>>> = const { RefCell::new(None) };
}

/// Record a quirk in the collector of the decode running on this thread (no-op outside one).
pub fn note(kind: QuirkKind, detail: impl Into<String>) {
    QUIRKS.with(|q| {
        if let Some(list) = q.borrow_mut().as_mut() {
            list.push(Quirk::new(kind, detail));
        }
    });
}

/// Run `f` (one decode) and return its result with the quirks it noted.
pub fn collect<T>(f: impl FnOnce() -> T) -> (T, Vec<Quirk>) {
    let outer = QUIRKS.with(|q| q.borrow_mut().replace(Vec::new()));
    let out = f();
    let quirks = QUIRKS.with(|q| std::mem::replace(&mut *q.borrow_mut(), outer));
    (out, quirks.unwrap_or_default())
}

/// Prefix of custom error messages that mean "a value outside what the schema allows"; see
/// [`crate::error::classify`].
pub(crate) const PROPERTY_ERROR: &str = "property constraint:";

/// A string with the schema's `maxLength`. Decodes leniently (numbers, over-long values) and is
/// checked strictly when we build one to send ([`CiString::new`]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CiString<const N: usize>(String);

/// Error building an outbound string that is longer than its schema allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is longer than {max} characters")]
pub struct TooLong {
    pub value: String,
    pub max: usize,
}

impl<const N: usize> CiString<N> {
    /// Build a value to send; fails when longer than the schema allows.
    pub fn new(s: impl Into<String>) -> Result<Self, TooLong> {
        let s = s.into();
        if s.chars().count() > N {
            return Err(TooLong { value: s, max: N });
        }
        Ok(CiString(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
    pub const MAX: usize = N;
}

impl<const N: usize> fmt::Debug for CiString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl<const N: usize> fmt::Display for CiString<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl<const N: usize> std::ops::Deref for CiString<N> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}
impl<const N: usize> Serialize for CiString<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de, const N: usize> Deserialize<'de> for CiString<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = d.deserialize_any(StringVisitor)?;
        if s.chars().count() > N {
            note(
                QuirkKind::OverlongString,
                format!(
                    "{} characters where at most {N} are allowed: {s:?}",
                    s.chars().count()
                ),
            );
        }
        Ok(CiString(s))
    }
}

/// A plain string that also accepts numbers (recorded as a quirk). Used where the schema has no
/// maxLength (URLs, meter values, DataTransfer data).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(StringVisitor)
}

struct StringVisitor;
impl Visitor<'_> for StringVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        note(
            QuirkKind::NumberAsString,
            format!("number {v} where a string belongs"),
        );
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        note(
            QuirkKind::NumberAsString,
            format!("number {v} where a string belongs"),
        );
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        note(
            QuirkKind::NumberAsString,
            format!("number {v} where a string belongs"),
        );
        Ok(v.to_string())
    }
}

/// Optional free text that also accepts numbers and booleans (noted as quirks; use with
/// `#[serde(default)]`).
pub fn opt_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<serde_json::Value>::deserialize(d).and_then(|v| match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(other @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
            crate::lenient::note(
                crate::lenient::QuirkKind::NumberAsString,
                format!("{other} where a string belongs"),
            );
            Ok(Some(other.to_string()))
        }
        Some(other) => Err(serde::de::Error::invalid_type(
            serde::de::Unexpected::Other(if other.is_array() { "array" } else { "object" }),
            &"a string",
        )),
    })
}

/// A boolean that also takes `"true"`/`"false"` strings and 0/1 (recorded as quirks).
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// Optional form of [`boolean`] (use with `#[serde(default)]`).
pub fn opt_boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_option(OptVisitor(BoolVisitor))
}

#[derive(Clone, Copy)]
struct BoolVisitor;
impl Visitor<'_> for BoolVisitor {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        let b = match v.trim() {
            t if t.eq_ignore_ascii_case("true") => true,
            t if t.eq_ignore_ascii_case("false") => false,
            _ => return Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        };
        note(
            QuirkKind::StringAsNumber,
            format!("string {v:?} where a boolean belongs"),
        );
        Ok(b)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 | 1 => {
                note(
                    QuirkKind::NumberAsString,
                    format!("number {v} where a boolean belongs"),
                );
                Ok(v == 1)
            }
            _ => Err(E::invalid_type(de::Unexpected::Unsigned(v), &self)),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Err(E::invalid_type(de::Unexpected::Signed(v), &self)),
        }
    }
}

/// An integer field that also accepts integral floats and numeric strings (recorded as quirks).
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(IntVisitor)
}

/// Optional form of [`int`] (use with `#[serde(default)]`).
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_option(OptVisitor(IntVisitor))
}

struct IntVisitor;
impl Visitor<'_> for IntVisitor {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{PROPERTY_ERROR} {v} is out of range")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            note(
                QuirkKind::FloatAsInteger,
                format!("{v} where an integer belongs"),
            );
            Ok(v as i64)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        match v.trim().parse::<i64>() {
            Ok(n) => {
                note(
                    QuirkKind::StringAsNumber,
                    format!("string {v:?} where an integer belongs"),
                );
                Ok(n)
            }
            Err(_) => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }
}

/// A decimal field (`number` in the schema) that also accepts numeric strings.
pub fn dec<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(DecVisitor)
}

/// Optional form of [`dec`] (use with `#[serde(default)]`).
pub fn opt_dec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_option(OptVisitor(DecVisitor))
}

struct DecVisitor;
impl Visitor<'_> for DecVisitor {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => {
                note(
                    QuirkKind::StringAsNumber,
                    format!("string {v:?} where a number belongs"),
                );
                Ok(n)
            }
            _ => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }
}

struct OptVisitor<V>(V);
impl<'de, V: Visitor<'de> + Copy> Visitor<'de> for OptVisitor<V> {
    type Value = Option<V::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        note(
            QuirkKind::NullField,
            "null where the field should be omitted",
        );
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_none()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self.0).map(Some)
    }
}
impl Clone for IntVisitor {
    fn clone(&self) -> Self {
        *self
    }
}
impl Copy for IntVisitor {}
impl Clone for DecVisitor {
    fn clone(&self) -> Self {
        *self
    }
}
impl Copy for DecVisitor {}

/// A point in time. Always sent as UTC with a `Z` suffix; read leniently (no zone → UTC, short
/// offsets, a space for `T`), each deviation noted as a quirk. Years such as 1970 from a station
/// whose clock has not been set are accepted as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Now, at the millisecond precision the wire carries (so what we store equals what we send).
    pub fn now() -> Self {
        Timestamp(Utc::now().trunc_subsecs(3))
    }
    /// The wire form: RFC 3339, UTC, milliseconds, `Z`.
    pub fn to_wire(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
    /// Parse a timestamp as a charger sends it, noting quirks; `None` if it is not a time at all.
    pub fn parse_lenient(raw: &str) -> Option<Timestamp> {
        let s = raw.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
                note(
                    QuirkKind::TimestampNonStandard,
                    format!("timestamp {raw:?}"),
                );
            }
            return Some(Timestamp(t.with_timezone(&Utc)));
        }
        let normalised = s.replacen(' ', "T", 1);
        // Offsets such as +02, +0200 or -05.
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%#z"] {
            if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(&normalised, fmt) {
                note(
                    QuirkKind::TimestampNonStandard,
                    format!("timestamp {raw:?}"),
                );
                return Some(Timestamp(t.with_timezone(&Utc)));
            }
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(&normalised) {
            note(
                QuirkKind::TimestampNonStandard,
                format!("timestamp {raw:?}"),
            );
            return Some(Timestamp(t.with_timezone(&Utc)));
        }
        let naive = normalised.trim_end_matches('Z');
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
                note(
                    QuirkKind::TimestampWithoutZone,
                    format!("timestamp {raw:?} has no time zone; read as UTC"),
                );
                return Some(Timestamp(t.and_utc()));
            }
        }
        None
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_wire())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_lenient(v)
                    .ok_or_else(|| E::custom(format!("{PROPERTY_ERROR} {v:?} is not a date-time")))
            }
        }
        d.deserialize_str(V)
    }
}

/// Declares an OCPP enum with its wire names.
///
/// Decoding accepts the exact name, then a case-insensitive match or a listed alias (noted as
/// [`QuirkKind::EnumSpelling`]). `lenient` enums also accept any other string as `Other(raw)`
/// and `open` ones (the generated 2.x enums, some of which have a value named `Other`) as
/// `NotInSpec(raw)`, noted as [`QuirkKind::UnknownEnumValue`]; `strict` ones reject it with a
/// property-constraint error. We never send a value the spec does not define.
#[macro_export]
macro_rules! ocpp_enum {
    (@other lenient $name:ident) => { $name::Other };
    ($(#[$m:meta])* $mode:ident $name:ident { $($variant:ident = $wire:literal),+ $(,)? }
     $(aliases { $($alias:literal => $target:ident),* $(,)? })?) => {
        $crate::ocpp_enum!(@def $mode $(#[$m])* $name { $($variant = $wire),+ });
        impl $name {
            /// The spec's spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    #[allow(unreachable_patterns)]
                    _ => self.other_str(),
                }
            }
            /// Every value the spec defines.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            fn from_wire(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
            fn from_alias(s: &str) -> Option<Self> {
                let _ = s;
                $($(if s == $alias { return Some($name::$target); })*)?
                $(if s.eq_ignore_ascii_case($wire) { return Some($name::$variant); })+
                None
            }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = $crate::lenient::string(d)?;
                if let Some(v) = $name::from_wire(&raw) {
                    return Ok(v);
                }
                if let Some(v) = $name::from_alias(&raw) {
                    $crate::lenient::note(
                        $crate::lenient::QuirkKind::EnumSpelling,
                        format!("{} {:?} read as {:?}", stringify!($name), raw, v.as_str()),
                    );
                    return Ok(v);
                }
                $name::unknown(raw).map_err(::serde::de::Error::custom)
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    (@def lenient $(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value the spec does not define, kept as sent.
            Other(String),
        }
        impl $name {
            fn other_str(&self) -> &str {
                match self { $name::Other(s) => s, _ => "" }
            }
            fn unknown(raw: String) -> Result<Self, String> {
                $crate::lenient::note(
                    $crate::lenient::QuirkKind::UnknownEnumValue,
                    format!("{} {:?} is not defined by OCPP 1.6", stringify!($name), raw),
                );
                Ok($name::Other(raw))
            }
            /// True for a value the spec defines.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }
    };
    (@def open $(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value the schema does not define, kept as sent.
            NotInSpec(String),
        }
        impl $name {
            fn other_str(&self) -> &str {
                match self { $name::NotInSpec(s) => s, _ => "" }
            }
            fn unknown(raw: String) -> Result<Self, String> {
                $crate::lenient::note(
                    $crate::lenient::QuirkKind::UnknownEnumValue,
                    format!("{} {:?} is not a value the schema defines", stringify!($name), raw),
                );
                Ok($name::NotInSpec(raw))
            }
            /// True for a value the spec defines.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::NotInSpec(_))
            }
        }
    };
    (@def strict $(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
        }
        impl $name {
            fn other_str(&self) -> &str {
                ""
            }
            fn unknown(raw: String) -> Result<Self, String> {
                Err(format!(
                    "{} {:?} is not one of {}",
                    $crate::lenient::PROPERTY_ERROR_PUBLIC,
                    raw,
                    [$($wire),+].join(", ")
                ))
            }
        }
    };
}

#[doc(hidden)]
pub const PROPERTY_ERROR_PUBLIC: &str = PROPERTY_ERROR;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_read_leniently_and_quirks_recorded() {
        let cases = [
            ("2024-03-01T10:00:00Z", None),
            ("2024-03-01T12:00:00+02:00", None),
            (
                "2024-03-01T12:00:00+02",
                Some(QuirkKind::TimestampNonStandard),
            ),
            (
                "2024-03-01T12:00:00.5+0200",
                Some(QuirkKind::TimestampNonStandard),
            ),
            (
                "2024-03-01 10:00:00Z",
                Some(QuirkKind::TimestampNonStandard),
            ),
            ("2024-03-01T10:00:00", Some(QuirkKind::TimestampWithoutZone)),
            (
                "2024-03-01T10:00:00.000",
                Some(QuirkKind::TimestampWithoutZone),
            ),
        ];
        for (raw, quirk) in cases {
            let (t, quirks) = collect(|| Timestamp::parse_lenient(raw));
            let t = t.unwrap_or_else(|| panic!("{raw} should parse"));
            assert_eq!(
                t.to_wire().get(..13),
                Some("2024-03-01T10"),
                "{raw} should mean 10:00 UTC, got {}",
                t.to_wire()
            );
            assert_eq!(quirks.first().map(|q| q.kind), quirk, "quirk for {raw}");
        }
        assert!(Timestamp::parse_lenient("yesterday").is_none());
    }

    #[test]
    fn wire_timestamps_are_utc_with_z() {
        let t = Timestamp::parse_lenient("2024-03-01T12:00:00.123+02:00").expect("valid");
        assert_eq!(t.to_wire(), "2024-03-01T10:00:00.123Z");
    }

    #[test]
    fn outbound_strings_are_checked_inbound_kept() {
        assert!(CiString::<5>::new("abcdef").is_err());
        let (v, q) = collect(|| serde_json::from_str::<CiString<5>>("\"abcdef\""));
        assert_eq!(v.expect("kept").as_str(), "abcdef");
        assert_eq!(q[0].kind, QuirkKind::OverlongString);
        let (v, q) = collect(|| serde_json::from_str::<CiString<20>>("12345"));
        assert_eq!(v.expect("number read").as_str(), "12345");
        assert_eq!(q[0].kind, QuirkKind::NumberAsString);
    }
}
