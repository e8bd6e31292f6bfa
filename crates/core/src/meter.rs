//! Turn sampled values as chargers send them, of any version, into stored samples: spec defaults
//! for missing measurand and unit, numbers parsed, the unit's multiplier applied, energy
//! normalised to Wh and power to W, the raw value and unit kept.

use std::borrow::Cow;

use chargeyard_store::meter::NewSample;
use chargeyard_store::text::{Text, word};
use chrono::{DateTime, Utc};

/// One sampled value as a station sent it, whatever its version.
#[derive(Debug, Clone)]
pub struct Reading<'a> {
    pub timestamp: DateTime<Utc>,
    /// The value as sent (1.6: a string; 2.x: a number, written out).
    pub raw: Cow<'a, str>,
    pub measurand: Option<&'a str>,
    pub phase: Option<&'a str>,
    pub location: Option<&'a str>,
    pub context: Option<&'a str>,
    /// 1.6: Raw or SignedData.
    pub format: Option<&'a str>,
    pub unit: Option<&'a str>,
    /// 2.x: the power of ten the value is given in (`unitOfMeasure.multiplier`).
    pub multiplier: i32,
}

/// The unit a measurand has when the charger sends none. The spec's default is Wh for every
/// measurand, which is only meaningful for energy; for the rest the natural unit is assumed.
fn default_unit(measurand: &str) -> &'static str {
    match measurand {
        "Power.Active.Export" | "Power.Active.Import" | "Power.Offered" => "W",
        "Power.Reactive.Export" | "Power.Reactive.Import" => "var",
        "Current.Import" | "Current.Export" | "Current.Offered" => "A",
        "Voltage" => "V",
        "Frequency" => "Hz",
        "Temperature" => "Celsius",
        "SoC" => "Percent",
        "Power.Factor" => "",
        _ => "Wh",
    }
}

/// A unit's usual spelling (units arrive in any case, and 1.6 spells Celsius "Celcius").
fn canonical(unit: &str) -> Option<&'static str> {
    const UNITS: &[&str] = &[
        "Wh",
        "kWh",
        "varh",
        "kvarh",
        "W",
        "kW",
        "VA",
        "kVA",
        "var",
        "kvar",
        "A",
        "V",
        "Celsius",
        "Fahrenheit",
        "K",
        "Percent",
        "Hz",
    ];
    if let Some(u) = UNITS.iter().find(|u| u.eq_ignore_ascii_case(unit)) {
        return Some(u);
    }
    match unit.to_ascii_lowercase().as_str() {
        "celcius" => Some("Celsius"),
        "hertz" => Some("Hz"),
        "%" => Some("Percent"),
        _ => None,
    }
}

/// Scale to the base unit: (factor, base unit name).
fn base(unit: &'static str) -> (f64, &'static str) {
    match unit {
        "kWh" => (1000.0, "Wh"),
        "kvarh" => (1000.0, "varh"),
        "kW" => (1000.0, "W"),
        "kVA" => (1000.0, "VA"),
        "kvar" => (1000.0, "var"),
        other => (1.0, other),
    }
}

/// Parse a reading: plain decimal, also with a decimal comma.
fn number(raw: &str) -> Option<f64> {
    let t = raw.trim();
    t.parse::<f64>()
        .ok()
        .or_else(|| t.replace(',', ".").parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// Samples to store from what a station sent, on `evse_id`, for transaction `transaction_id`
/// (and, 2.x, the seqNo of the event they came with).
pub fn normalise<'a>(
    station_id: &Text,
    evse_id: i64,
    transaction_id: Option<i64>,
    seq_no: Option<i64>,
    readings: impl IntoIterator<Item = Reading<'a>>,
) -> Vec<NewSample> {
    readings
        .into_iter()
        .map(|r| {
            let measurand = r.measurand.unwrap_or("Energy.Active.Import.Register");
            let unit = r.unit.map_or(Some(default_unit(measurand)), canonical);
            let signed = r.format == Some("SignedData");
            let scale = 10f64.powi(r.multiplier);
            let (value, value_unit) = match (signed, number(&r.raw)) {
                (false, Some(v)) => match unit {
                    Some(u) => {
                        let (factor, base_unit) = base(u);
                        (Some(v * scale * factor), Some(word(base_unit)))
                    }
                    None => (Some(v * scale), r.unit.map(word)),
                },
                _ => (None, None),
            };
            NewSample {
                station_id: station_id.clone(),
                evse_id,
                transaction_id,
                seq_no,
                timestamp: r.timestamp,
                measurand: word(measurand),
                phase: r.phase.map(word),
                location: r.location.map(word),
                context: r.context.map(word),
                format: r.format.map(word),
                unit: r.unit.map(word),
                raw_value: Text::from(&*r.raw),
                value,
                value_unit,
            }
        })
        .collect()
}

/// Energy register readings labelled Wh (or unlabelled) that could really be kWh: below 1 MWh.
pub fn kwh_candidates(samples: &[NewSample]) -> bool {
    samples
        .iter()
        .any(|s| is_register_wh(s) && s.value.is_some_and(|v| v < 1_000_000.0))
}

fn is_register_wh(s: &NewSample) -> bool {
    &*s.measurand == "Energy.Active.Import.Register"
        && s.phase.is_none()
        && s.value_unit.as_deref() == Some("Wh")
        && s.unit.as_deref().is_none_or(|u| u == "Wh")
}

/// Some chargers (OpenEVSE) send the register in kWh labelled Wh. Against the transaction's
/// meterStart (Wh) that shows: the reading is about a thousandth of it. Such readings are scaled
/// to Wh; returns whether any was.
pub fn fix_kwh_labelled_as_wh(samples: &mut [NewSample], meter_start_wh: i64) -> bool {
    let start = meter_start_wh as f64;
    if start < 10_000.0 {
        return false; // too close to zero to tell kWh from Wh
    }
    let mut fixed = false;
    for s in samples.iter_mut().filter(|s| is_register_wh(s)) {
        if let Some(v) = s.value
            && v < start / 100.0
            && v * 1000.0 >= start * 0.9
        {
            s.value = Some(v * 1000.0);
            fixed = true;
        }
    }
    fixed
}

/// The latest whole-meter reading of one measurand among normalised samples.
pub fn latest(samples: &[NewSample], measurand: &str) -> Option<f64> {
    samples
        .iter()
        .filter(|s| &*s.measurand == measurand && s.phase.is_none())
        .max_by_key(|s| s.timestamp)
        .and_then(|s| s.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chargeyard_ocpp::v16::{ChargePointCall, MeterValuesRequest};
    use serde_json::json;

    /// 1.6 sampled values, read through the 1.6 adapter's conversion.
    fn samples(sv: serde_json::Value) -> Vec<NewSample> {
        let p = json!({"connectorId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z", "sampledValue": sv}]});
        let d = ChargePointCall::decode("MeterValues", p).expect("decodes");
        let ChargePointCall::MeterValues(MeterValuesRequest { meter_value, .. }) = d.value else {
            panic!("not MeterValues")
        };
        normalise(
            &"CP".into(),
            1,
            None,
            None,
            crate::protocol::v16::readings(&meter_value),
        )
    }

    #[test]
    fn a_201_multiplier_and_free_unit_spellings_are_applied() {
        let at = Utc::now();
        let reading = |raw: &'static str, unit: Option<&'static str>, multiplier| Reading {
            timestamp: at,
            raw: raw.into(),
            measurand: None,
            phase: None,
            location: None,
            context: None,
            format: None,
            unit,
            multiplier,
        };
        let s = normalise(
            &"CP".into(),
            1,
            Some(7),
            Some(3),
            [
                reading("12.5", Some("kwh"), 0),
                reading("125", Some("Wh"), 2),
                reading("3", None, 3),
            ],
        );
        assert_eq!(
            s.iter().map(|s| s.value).collect::<Vec<_>>(),
            [Some(12500.0), Some(12500.0), Some(3000.0)]
        );
        assert!(s.iter().all(|s| s.seq_no == Some(3) && s.evse_id == 1));
    }

    #[test]
    fn kwh_labelled_as_wh_is_recognised_against_meter_start() {
        let mut s = samples(
            json!([{"value": "1234.567", "unit": "Wh"}, {"value": "7400", "measurand": "Power.Active.Import", "unit": "W"}]),
        );
        assert!(kwh_candidates(&s));
        assert!(
            fix_kwh_labelled_as_wh(&mut s, 1_230_000),
            "1234.567 'Wh' against a 1.23 MWh start is kWh"
        );
        assert_eq!(s[0].value, Some(1_234_567.0));
        assert_eq!(s[1].value, Some(7400.0), "power untouched");
        let mut s = samples(json!([{"value": "1234567", "unit": "Wh"}]));
        assert!(
            !fix_kwh_labelled_as_wh(&mut s, 1_230_000),
            "a plausible Wh reading is left alone"
        );
        let mut s = samples(json!([{"value": "12", "unit": "Wh"}]));
        assert!(
            !fix_kwh_labelled_as_wh(&mut s, 5_000),
            "near zero nothing can be told apart"
        );
    }

    #[test]
    fn energy_is_normalised_to_wh_and_raw_kept() {
        let s = samples(json!([
            {"value": "12.5", "unit": "kWh"},
            {"value": "300"},
            {"value": 7.4, "unit": "kW", "measurand": "Power.Active.Import"},
            {"value": "230", "measurand": "Voltage", "phase": "L1-N"},
            {"value": "abc", "measurand": "SoC"},
            {"value": "55", "unit": "Celcius", "measurand": "Temperature"},
        ]));
        assert_eq!(s[0].value, Some(12500.0));
        assert_eq!(
            (&*s[0].raw_value, s[0].unit.as_deref()),
            ("12.5", Some("kWh"))
        );
        assert_eq!(
            (&*s[1].measurand, s[1].value, s[1].value_unit.as_deref()),
            ("Energy.Active.Import.Register", Some(300.0), Some("Wh"))
        );
        assert_eq!(
            (s[2].value, s[2].value_unit.as_deref()),
            (Some(7400.0), Some("W"))
        );
        assert_eq!(
            (s[3].value_unit.as_deref(), s[3].phase.as_deref()),
            (Some("V"), Some("L1-N"))
        );
        assert_eq!((s[4].value, &*s[4].raw_value), (None, "abc"));
        assert_eq!(s[5].value_unit.as_deref(), Some("Celsius"));
        // Equal timestamps: the value listed last wins.
        assert_eq!(latest(&s, "Energy.Active.Import.Register"), Some(300.0));
    }
}
