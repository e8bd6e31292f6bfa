//! The invoice CSV: one line per session with its cost components, then a summary per customer
//! (tag group) and currency. Times are local to the depot; amounts are exact decimals of the
//! currency's minor unit, so the lines add up to the summary to the öre.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

use crate::amount::round_div;
use crate::cost::Cost;
use crate::csv::{CsvError, CsvOptions, CsvWriter};

/// One priced session on an invoice (borrowed from where it was read: 100 000 of them are
/// written without copying a string).
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLine<'a> {
    pub session_id: i64,
    pub station_id: &'a str,
    pub connector_id: i64,
    pub id_tag: &'a str,
    pub group_kind: Option<&'a str>,
    pub group_name: Option<&'a str>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// "Name v3".
    pub tariff: &'a str,
    /// "25" or "12.5".
    pub vat_percent: &'a str,
    pub cost: &'a Cost,
}

/// A group's sums, of the figures as the lines print them (minutes rounded per line), so the
/// summary is the sum of its lines to the last digit.
#[derive(Default)]
struct Sum {
    sessions: i64,
    energy_wh: i64,
    /// Hundredths of a minute.
    charging_minutes: i64,
    idle_minutes: i64,
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
    /// By "kind\0name\0currency".
    sums: HashMap<String, Sum>,
    key: String,
}

/// "2026-10-05 17:00:00" in the depot's time zone (what spreadsheets read as a date and time).
fn local(t: DateTime<Utc>, tz: &Tz) -> [u8; 19] {
    let l = t.with_timezone(tz);
    let mut out = *b"0000-00-00 00:00:00";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, l.year().clamp(0, 9999) as u32);
    put(5, 2, l.month());
    put(8, 2, l.day());
    put(11, 2, l.hour());
    put(14, 2, l.minute());
    put(17, 2, l.second());
    out
}

/// Seconds as minutes with two decimals.
fn minutes(seconds: i64) -> i64 {
    round_div(i128::from(seconds) * 100, 60)
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
            sums: HashMap::new(),
            key: String::new(),
        })
    }

    pub fn line(&mut self, l: &InvoiceLine) -> Result<(), CsvError> {
        let c = l.cost;
        let w = &mut self.csv;
        w.integer(l.session_id)?;
        w.text(l.station_id)?;
        w.integer(l.connector_id)?;
        w.text(l.id_tag)?;
        w.text(l.group_kind.unwrap_or(""))?;
        w.text(l.group_name.unwrap_or(""))?;
        w.plain(&local(l.start, &self.tz))?;
        w.plain(&local(l.end, &self.tz))?;
        let [energy_wh, seconds @ ..] = c.usage();
        w.fixed(energy_wh, 3)?;
        for s in seconds {
            w.fixed(minutes(s), 2)?;
        }
        w.text(l.tariff)?;
        w.text(&c.currency)?;
        // Every amount up to the net, then the VAT rate before the VAT itself.
        let [before_vat @ .., vat] = c.amounts();
        for amount in before_vat {
            w.fixed(amount, c.decimals)?;
        }
        w.number(l.vat_percent)?;
        w.fixed(vat, c.decimals)?;
        w.fixed(c.total, c.decimals)?;
        w.end_row()?;
        self.key.clear();
        for part in [
            l.group_kind.unwrap_or(""),
            "\0",
            l.group_name.unwrap_or(""),
            "\0",
            &c.currency,
        ] {
            self.key.push_str(part);
        }
        if !self.sums.contains_key(&self.key) {
            self.sums.insert(self.key.clone(), Sum::default());
        }
        let s = self.sums.get_mut(&self.key).expect("inserted above");
        s.sessions += 1;
        s.energy_wh += c.energy_wh;
        s.charging_minutes += minutes(c.charging_seconds);
        s.idle_minutes += minutes(c.idle_seconds);
        s.net += c.net;
        s.vat += c.vat;
        s.total += c.total;
        s.decimals = c.decimals;
        Ok(())
    }

    /// Writes the summary, a "total" row per tag group (customer, driver or vehicle) and currency
    /// (sessions without a group last under "(no group)"), and returns the output.
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
        let mut rows: Vec<_> = self
            .sums
            .iter()
            .map(|(key, s)| {
                let mut parts = key.splitn(3, '\0');
                let mut next = || parts.next().unwrap_or("");
                ((next(), next(), next()), s)
            })
            .collect();
        rows.sort_by_key(|((kind, name, currency), _)| (name.is_empty(), *kind, *name, *currency));
        for ((kind, name, currency), s) in rows {
            w.text("total")?;
            w.text(kind)?;
            w.text(if name.is_empty() { "(no group)" } else { name })?;
            w.text(currency)?;
            w.integer(s.sessions)?;
            w.fixed(s.energy_wh, 3)?;
            w.fixed(s.charging_minutes, 2)?;
            w.fixed(s.idle_minutes, 2)?;
            w.fixed(s.net, s.decimals)?;
            w.fixed(s.vat, s.decimals)?;
            w.fixed(s.total, s.decimals)?;
            w.end_row()?;
        }
        Ok(self.csv.into_inner())
    }
}
