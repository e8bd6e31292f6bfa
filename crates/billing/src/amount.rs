//! Prices as exact decimals: an integer count of ten-thousandths of the currency's major unit
//! (1.85 SEK/kWh is 18 500). Written and read as decimal strings ("1.85"), so no price ever passes
//! through a binary floating-point number, in Rust or in the UI.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Decimal places a price may have.
pub const PRICE_DECIMALS: u32 = 4;
const SCALE: i64 = 10_000;

/// A non-negative price or amount with up to four decimals of the major unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i64);

impl Price {
    pub const ZERO: Price = Price(0);

    /// From ten-thousandths of the major unit.
    pub const fn from_ten_thousandths(v: i64) -> Price {
        Price(v)
    }

    pub const fn ten_thousandths(self) -> i64 {
        self.0
    }

    /// This amount in minor units of a currency with `decimals` decimals, rounded half away
    /// from zero.
    pub fn to_minor(self, decimals: u32) -> i64 {
        round_div(i128::from(self.0) * 10i128.pow(decimals), i128::from(SCALE))
    }
}

/// Why a price was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("{0:?} is not a price: use digits with at most four decimals, like 1.85")]
    Syntax(String),
    #[error("{0:?} is too large")]
    TooLarge(String),
}

impl FromStr for Price {
    type Err = PriceError;

    /// "1.85", "0", "12", "0.3245"; a decimal comma is taken too ("1,85"). No sign, no exponent.
    fn from_str(s: &str) -> Result<Price, PriceError> {
        let t = s.trim();
        let syntax = || PriceError::Syntax(s.to_string());
        let (whole, frac) = match t.find(['.', ',']) {
            Some(i) => (&t[..i], &t[i + 1..]),
            None => (t, ""),
        };
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if (whole.is_empty() && frac.is_empty())
            || !digits(whole)
            || !digits(frac)
            || frac.len() > PRICE_DECIMALS as usize
            || (t.contains(['.', ',']) && frac.is_empty())
        {
            return Err(syntax());
        }
        let too_large = || PriceError::TooLarge(s.to_string());
        let w: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        let f: i64 = format!("{frac:0<4}").parse().map_err(|_| syntax())?;
        // At most a billion of the major unit: far above any charging price, far below overflow
        // of the products the cost engine forms.
        if w >= 1_000_000_000 {
            return Err(too_large());
        }
        Ok(Price(w * SCALE + f))
    }
}

impl fmt::Display for Price {
    /// Shortest exact form: "1.85", "12", "0.3245".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, r) = (self.0 / SCALE, self.0 % SCALE);
        if r == 0 {
            return write!(f, "{w}");
        }
        let frac = format!("{r:04}");
        write!(f, "{w}.{}", frac.trim_end_matches('0'))
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl ts_rs::TS for Price {
    type WithoutGenerics = Price;
    type OptionInnerType = Price;
    fn name(_: &ts_rs::Config) -> String {
        "string".into()
    }
    fn inline(_: &ts_rs::Config) -> String {
        "string".into()
    }
}

/// `n / d` rounded half away from zero (d > 0): the one rounding rule of the cost engine.
pub(crate) fn round_div(n: i128, d: i128) -> i64 {
    let q = n / d;
    let r = n % d;
    let q = if 2 * r.abs() >= d { q + n.signum() } else { q };
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

/// Decimals of a currency's minor unit (ISO 4217); 2 for any code not listed.
pub fn currency_decimals(code: &str) -> u32 {
    match code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_and_write_as_exact_decimals() {
        for (text, v, shown) in [
            ("1.85", 18_500, "1.85"),
            ("1,85", 18_500, "1.85"),
            ("0", 0, "0"),
            ("12", 120_000, "12"),
            ("0.3245", 3_245, "0.3245"),
            (".5", 5_000, "0.5"),
            (" 2.50 ", 25_000, "2.5"),
        ] {
            let p: Price = text.parse().expect(text);
            assert_eq!((p.ten_thousandths(), p.to_string()), (v, shown.to_string()));
        }
        for bad in [
            "", "-1", "1.23456", "1e3", "abc", "1.", "1.2.3", "+1", "1 000",
        ] {
            assert!(bad.parse::<Price>().is_err(), "{bad:?} refused");
        }
        assert!(matches!(
            "99999999999".parse::<Price>(),
            Err(PriceError::TooLarge(_))
        ));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_div(5, 10), 1);
        assert_eq!(round_div(4, 10), 0);
        assert_eq!(round_div(15, 10), 2);
        assert_eq!(round_div(-5, 10), -1);
        assert_eq!(round_div(-4, 10), 0);
        assert_eq!(Price::from_ten_thousandths(18_550).to_minor(2), 186);
        assert_eq!(Price::from_ten_thousandths(18_549).to_minor(2), 185);
        assert_eq!(Price::from_ten_thousandths(18_500).to_minor(0), 2);
        assert_eq!(Price::from_ten_thousandths(18_505).to_minor(3), 1_851);
    }

    #[test]
    fn currencies_know_their_minor_unit() {
        assert_eq!(
            (
                currency_decimals("SEK"),
                currency_decimals("JPY"),
                currency_decimals("KWD")
            ),
            (2, 0, 3)
        );
    }
}
