//! The invoice CSV against golden files: set `UPDATE_GOLDEN=1` to rewrite them after a deliberate
//! change, then read the diff.

use std::path::PathBuf;

use chargeyard_billing::csv::CsvOptions;
use chargeyard_billing::invoice::{InvoiceCsv, InvoiceLine};
use chargeyard_billing::{Cost, Tariff, Usage, price};
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Stockholm;
use serde_json::json;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339")
}

/// A priced session as the test keeps it; [`Session::line`] lends it to the invoice.
struct Session {
    id: i64,
    station: String,
    tag: String,
    group: Option<(String, String)>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tariff: &'static str,
    vat: String,
    cost: Cost,
}

impl Session {
    fn line(&self) -> InvoiceLine<'_> {
        InvoiceLine {
            session_id: self.id,
            station_id: &self.station,
            connector_id: self.id % 2 + 1,
            id_tag: &self.tag,
            group_kind: self.group.as_ref().map(|g| g.0.as_str()),
            group_name: self.group.as_ref().map(|g| g.1.as_str()),
            start: self.start,
            end: self.end,
            tariff: self.tariff,
            vat_percent: &self.vat,
            cost: &self.cost,
        }
    }
}

/// Sessions a depot could have in a month: a customer's, a driver's, one without a group, a tag
/// that tries to inject a formula, names that need quoting, and one over the October DST change.
fn lines() -> Vec<Session> {
    let tariff: Tariff = serde_json::from_value(json!({
        "currency": "SEK", "vat_percent": "25",
        "prices": {"per_kwh": "2.40", "session_fee": "5", "idle_per_minute": "1"},
        "idle_grace_minutes": 15,
        "windows": [{"name": "night", "days": [1,2,3,4,5,6,7], "start": "22:00", "end": "06:00",
                     "prices": {"per_kwh": "1.20"}}]
    }))
    .expect("test setup");
    let free: Tariff =
        serde_json::from_value(json!({"currency": "SEK", "vat_percent": "25", "prices": {}}))
            .expect("test setup");
    let session = |id: i64,
                   tag: &str,
                   group: Option<(&str, &str)>,
                   (start, end): (&str, &str),
                   wh: i64,
                   charged_until: &str,
                   t: &Tariff| {
        let (start, end, charged_until) = (at(start), at(end), at(charged_until));
        let usage = Usage {
            start,
            end,
            readings: vec![
                (start, 1_000),
                (charged_until, 1_000 + wh),
                (end, 1_000 + wh),
            ],
            charging: vec![(start, charged_until)],
        };
        Session {
            id,
            station: format!("DEPOT-{:02}", id % 3 + 1),
            tag: tag.into(),
            group: group.map(|(kind, name)| (kind.into(), name.into())),
            start,
            end,
            tariff: if t == &free {
                "Own fleet v1"
            } else {
                "Visitors v2"
            },
            vat: t.vat_percent.to_string(),
            cost: price(t, &usage, &Stockholm),
        }
    };
    vec![
        session(
            101,
            "04A1B2C3",
            Some(("customer", "Åkeri Öst AB")),
            ("2026-10-05T15:00:00Z", "2026-10-05T17:30:00Z"),
            32_500,
            "2026-10-05T17:00:00Z",
            &tariff,
        ),
        session(
            102,
            "=HYPERLINK(\"http://x\")",
            None,
            ("2026-10-06T19:30:00Z", "2026-10-06T22:00:00Z"),
            41_000,
            "2026-10-06T21:45:00Z",
            &tariff,
        ),
        session(
            103,
            "TRUCK-7",
            Some(("vehicle", "Truck 7, \"Blue\"")),
            ("2026-10-10T08:00:00Z", "2026-10-10T09:00:00Z"),
            11_000,
            "2026-10-10T09:00:00Z",
            &free,
        ),
        session(
            104,
            "04A1B2C4",
            Some(("customer", "Åkeri Öst AB")),
            ("2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z"),
            50_000,
            "2026-10-25T01:00:00Z",
            &tariff,
        ),
        session(
            105,
            "-1+2",
            Some(("driver", "@lice\nline two")),
            ("2026-10-31T10:00:00Z", "2026-10-31T10:20:00Z"),
            3_000,
            "2026-10-31T10:20:00Z",
            &tariff,
        ),
    ]
}

fn render(options: &CsvOptions) -> String {
    let mut invoice = InvoiceCsv::new(Vec::new(), Stockholm, options).expect("test setup");
    for s in lines() {
        invoice.line(&s.line()).expect("test setup");
    }
    String::from_utf8(invoice.finish().expect("test setup")).expect("test setup")
}

fn golden(name: &str, options: CsvOptions) {
    let path = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/golden")
        .join(name);
    let got = render(&options);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).expect("test setup");
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(got == want, "{name} differs from the golden file:\n{got}");
}

#[test]
fn invoice_with_commas() {
    golden("invoice-comma.csv", CsvOptions::default());
}

#[test]
fn invoice_for_swedish_excel() {
    golden(
        "invoice-excel-sv.csv",
        CsvOptions {
            separator: ";".into(),
            decimal_comma: true,
            bom: true,
        },
    );
}

#[test]
fn invoice_with_tabs() {
    golden(
        "invoice-tab.csv",
        CsvOptions {
            separator: "\t".into(),
            decimal_comma: false,
            bom: false,
        },
    );
}

/// The golden files are only worth their bytes if what they hold is right: the summary adds up
/// the lines, and a standard CSV reader gets the cells back.
#[test]
fn summary_adds_up_the_lines() {
    let lines = lines();
    let acme: Vec<_> = lines
        .iter()
        .filter(|s| s.group.as_ref().is_some_and(|g| g.1 == "Åkeri Öst AB"))
        .collect();
    let total: i64 = acme.iter().map(|l| l.cost.total).sum();
    let text = render(&CsvOptions::default());
    let row = text
        .split("\r\n")
        .find(|l| l.starts_with("total,customer,Åkeri Öst AB,"))
        .expect("summary row");
    assert!(
        row.ends_with(&format!(",{}.{:02}", total / 100, total % 100)),
        "{row} vs {total}"
    );
    assert!(row.contains(",SEK,2,"), "{row}");
    // Five sessions, a blank line, the summary header and four groups.
    let records = text.split("\r\n").filter(|r| !r.is_empty()).count();
    assert_eq!(records, 1 + 5 + 1 + 4, "{text}");
}

/// Each summary row is the sum of its group's lines as printed, minutes included (they are
/// rounded per line: summing the seconds and rounding once gave 0.01 more or less), and names the
/// kind of group it sums, not "customer" for all.
#[test]
fn summary_rows_are_the_sums_of_their_printed_lines() {
    let tariff: Tariff = serde_json::from_value(json!({
        "currency": "SEK", "vat_percent": "25",
        "prices": {"per_kwh": "2.40", "per_charging_hour": "30"}
    }))
    .expect("test setup");
    // Three sessions of a driver group with 20 s of charging each: 0.33 min a line.
    let start = at("2026-10-05T15:00:00Z");
    let sessions: Vec<Session> = (0..3)
        .map(|i| {
            let end = start + chrono::Duration::seconds(20);
            let usage = Usage {
                start,
                end,
                readings: vec![(start, 0), (end, 100 + i)],
                charging: vec![(start, end)],
            };
            Session {
                id: 200 + i,
                station: "DEPOT-01".into(),
                tag: format!("TAG-{i}"),
                group: Some(("driver".into(), "Anna".into())),
                start,
                end,
                tariff: "Visitors v1",
                vat: "25".into(),
                cost: price(&tariff, &usage, &Stockholm),
            }
        })
        .collect();
    let mut invoice =
        InvoiceCsv::new(Vec::new(), Stockholm, &CsvOptions::default()).expect("test setup");
    for s in &sessions {
        invoice.line(&s.line()).expect("test setup");
    }
    let text = String::from_utf8(invoice.finish().expect("test setup")).expect("test setup");
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let records: Vec<::csv::StringRecord> = reader.records().map(|r| r.expect("csv")).collect();
    let header = &records[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect("column");
    let (charging, idle) = (col("charging min"), col("idle min"));
    let cents = |s: &str| -> i64 { s.replace('.', "").parse().expect("number") };
    let lines: Vec<_> = records[1..4].to_vec();
    assert!(
        lines.iter().all(|l| &l[charging] == "0.33"),
        "each line: 20 s is 0.33 min: {text}"
    );
    let summary = records
        .iter()
        .find(|r| r.get(2) == Some("Anna"))
        .expect("summary row of the group");
    assert_eq!(
        &summary[0], "total",
        "the row is the group's total, whatever its kind: {text}"
    );
    assert_eq!(&summary[1], "driver", "{text}");
    let sum = |c: usize| lines.iter().map(|l| cents(&l[c])).sum::<i64>();
    // The summary's columns after "sessions": energy kWh, charging min, idle min.
    assert_eq!(cents(&summary[6]), sum(charging), "charging min: {text}");
    assert_eq!(cents(&summary[7]), sum(idle), "idle min: {text}");
}
