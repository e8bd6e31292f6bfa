//! The invoice CSV: one line per session with its cost components, then a summary per customer
//! (tag group) and currency. Times are local to the depot; amounts are exact decimals of the
//! currency's minor unit, so the lines add up to the summary to the öre.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

use crate::amount::round_div;
use crate::cost::Cost;
use crate::csv::{CsvError, CsvOptions, CsvWriter, fixed};

/// One priced session on an invoice.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLine {
    pub session_id: i64,
    pub station_id: String,
    pub connector_id: i64,
    pub id_tag: String,
    pub group_kind: Option<String>,
    pub group_name: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// "Name v3".
    pub tariff: String,
    /// "25" or "12.5".
    pub vat_percent: String,
    pub cost: Cost,
}

#[derive(Default)]
struct Sum {
    sessions: i64,
    energy_wh: i64,
    charging_seconds: i64,
    idle_seconds: i64,
    net: i64,
    vat: i64,
    total: i64,
    decimals: u32,
}

/// Writes an invoice line by line (so a long export can report progress) and the summary at the
/// end.
pub struct InvoiceCsv<W: Write> {
    csv: CsvWriter<W>,
    tz: Tz,
    sums: BTreeMap<(String, String, String), Sum>,
}

/// "2026-10-05 17:00:00" in the depot's time zone (what spreadsheets read as a date and time).
fn local(t: DateTime<Utc>, tz: &Tz) -> String {
    let l = t.with_timezone(tz);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        l.year(),
        l.month(),
        l.day(),
        l.hour(),
        l.minute(),
        l.second()
    )
}

fn minutes(seconds: i64) -> String {
    fixed(round_div(i128::from(seconds) * 100, 60), 2)
}

fn kwh(wh: i64) -> String {
    fixed(wh, 3)
}

impl<W: Write> InvoiceCsv<W> {
    pub fn new(out: W, tz: Tz, options: &CsvOptions) -> Result<Self, CsvError> {
        let mut csv = CsvWriter::new(out, options)?;
        let start = format!("start ({tz})");
        let end = format!("end ({tz})");
        csv.header(&[
            "session",
            "station",
            "connector",
            "id tag",
            "group kind",
            "group",
            &start,
            &end,
            "energy kWh",
            "charging min",
            "plugged min",
            "idle min",
            "billed idle min",
            "tariff",
            "currency",
            "energy",
            "charging time",
            "plugged time",
            "idle fee",
            "session fee",
            "adjustment",
            "net",
            "VAT %",
            "VAT",
            "total",
        ])?;
        Ok(InvoiceCsv {
            csv,
            tz,
            sums: BTreeMap::new(),
        })
    }

    pub fn line(&mut self, l: &InvoiceLine) -> Result<(), CsvError> {
        let c = &l.cost;
        let w = &mut self.csv;
        w.integer(l.session_id)?;
        w.text(&l.station_id)?;
        w.integer(l.connector_id)?;
        w.text(&l.id_tag)?;
        w.text(l.group_kind.as_deref().unwrap_or(""))?;
        w.text(l.group_name.as_deref().unwrap_or(""))?;
        w.text(&local(l.start, &self.tz))?;
        w.text(&local(l.end, &self.tz))?;
        w.number(&kwh(c.energy_wh))?;
        w.number(&minutes(c.charging_seconds))?;
        w.number(&minutes(c.plugged_seconds))?;
        w.number(&minutes(c.idle_seconds))?;
        w.number(&minutes(c.billed_idle_seconds))?;
        w.text(&l.tariff)?;
        w.text(&c.currency)?;
        for amount in [
            c.energy,
            c.charging_time,
            c.plugged_time,
            c.idle,
            c.session_fee,
            c.adjustment,
            c.net,
        ] {
            w.number(&fixed(amount, c.decimals))?;
        }
        w.number(&l.vat_percent)?;
        w.number(&fixed(c.vat, c.decimals))?;
        w.number(&fixed(c.total, c.decimals))?;
        w.end_row()?;
        let key = (
            l.group_kind.clone().unwrap_or_default(),
            l.group_name.clone().unwrap_or_default(),
            c.currency.clone(),
        );
        let s = self.sums.entry(key).or_default();
        s.sessions += 1;
        s.energy_wh += c.energy_wh;
        s.charging_seconds += c.charging_seconds;
        s.idle_seconds += c.idle_seconds;
        s.net += c.net;
        s.vat += c.vat;
        s.total += c.total;
        s.decimals = c.decimals;
        Ok(())
    }

    /// Writes the summary per customer and currency (sessions without a group last under
    /// "(no group)") and returns the output.
    pub fn finish(mut self) -> Result<W, CsvError> {
        let w = &mut self.csv;
        w.end_row()?;
        w.header(&[
            "summary",
            "group kind",
            "group",
            "currency",
            "sessions",
            "energy kWh",
            "charging min",
            "idle min",
            "net",
            "VAT",
            "total",
        ])?;
        let mut rows: Vec<_> = self.sums.iter().collect();
        rows.sort_by_key(|((kind, name, currency), _)| (name.is_empty(), kind, name, currency));
        for ((kind, name, currency), s) in rows {
            w.text("customer")?;
            w.text(kind)?;
            w.text(if name.is_empty() { "(no group)" } else { name })?;
            w.text(currency)?;
            w.integer(s.sessions)?;
            w.number(&kwh(s.energy_wh))?;
            w.number(&minutes(s.charging_seconds))?;
            w.number(&minutes(s.idle_seconds))?;
            w.number(&fixed(s.net, s.decimals))?;
            w.number(&fixed(s.vat, s.decimals))?;
            w.number(&fixed(s.total, s.decimals))?;
            w.end_row()?;
        }
        Ok(self.csv.into_inner())
    }
}
