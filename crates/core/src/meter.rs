//! Turn sampled values as chargers send them into stored samples: spec defaults for missing
//! measurand and unit, numbers parsed, energy normalised to Wh and power to W, raw kept.

use chargeyard_ocpp::v16::{Measurand, MeterValue, UnitOfMeasure};
use chargeyard_store::meter::NewSample;
use chargeyard_store::text::{Text, word};

/// The unit a measurand has when the charger sends none. The spec's default is Wh for every
/// measurand, which is only meaningful for energy; for the rest the natural unit is assumed.
fn default_unit(m: &Measurand) -> UnitOfMeasure {
    match m {
        Measurand::PowerActiveExport | Measurand::PowerActiveImport | Measurand::PowerOffered => {
            UnitOfMeasure::W
        }
        Measurand::PowerReactiveExport | Measurand::PowerReactiveImport => UnitOfMeasure::Var,
        Measurand::CurrentImport | Measurand::CurrentExport | Measurand::CurrentOffered => {
            UnitOfMeasure::A
        }
        Measurand::Voltage => UnitOfMeasure::V,
        Measurand::Frequency => UnitOfMeasure::Hertz,
        Measurand::Temperature => UnitOfMeasure::Celsius,
        Measurand::SoC => UnitOfMeasure::Percent,
        _ => UnitOfMeasure::Wh,
    }
}

/// Scale to the base unit: (factor, base unit name).
fn base(unit: &UnitOfMeasure) -> (f64, &str) {
    match unit {
        UnitOfMeasure::KWh => (1000.0, "Wh"),
        UnitOfMeasure::Kvarh => (1000.0, "varh"),
        UnitOfMeasure::KW => (1000.0, "W"),
        UnitOfMeasure::KVA => (1000.0, "VA"),
        UnitOfMeasure::Kvar => (1000.0, "var"),
        UnitOfMeasure::Celcius => (1.0, "Celsius"),
        other => (1.0, other.as_str()),
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

pub fn normalise(
    station_id: &Text,
    connector_id: i64,
    transaction_id: Option<i64>,
    values: &[MeterValue],
) -> Vec<NewSample> {
    let mut out = Vec::new();
    for mv in values {
        for sv in &mv.sampled_value {
            let measurand = sv
                .measurand
                .clone()
                .unwrap_or(Measurand::EnergyActiveImportRegister);
            let unit = sv.unit.clone().unwrap_or_else(|| default_unit(&measurand));
            let signed = sv
                .format
                .as_ref()
                .is_some_and(|f| f.as_str() == "SignedData");
            let (value, value_unit) = match (signed, number(&sv.value)) {
                (false, Some(v)) if unit.is_known() => {
                    let (factor, base_unit) = base(&unit);
                    (Some(v * factor), Some(word(base_unit)))
                }
                (false, Some(v)) => (Some(v), Some(word(unit.as_str()))),
                _ => (None, None),
            };
            out.push(NewSample {
                station_id: station_id.clone(),
                connector_id,
                transaction_id,
                timestamp: mv.timestamp.0,
                measurand: word(measurand.as_str()),
                phase: sv.phase.as_ref().map(|p| word(p.as_str())),
                location: sv.location.as_ref().map(|l| word(l.as_str())),
                context: sv.context.as_ref().map(|c| word(c.as_str())),
                format: sv.format.as_ref().map(|f| word(f.as_str())),
                unit: sv.unit.as_ref().map(|u| word(u.as_str())),
                raw_value: sv.value.as_str().into(),
                value,
                value_unit,
            });
        }
    }
    out
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

    fn samples(sv: serde_json::Value) -> Vec<NewSample> {
        let p = json!({"connectorId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z", "sampledValue": sv}]});
        let d = ChargePointCall::decode("MeterValues", p).expect("decodes");
        let ChargePointCall::MeterValues(MeterValuesRequest { meter_value, .. }) = d.value else {
            panic!("not MeterValues")
        };
        normalise(&"CP".into(), 1, None, &meter_value)
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
