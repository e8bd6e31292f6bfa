//! Files for accounting and for technicians: invoices (CSV, one line per session plus a summary
//! per customer), a session's meter values (CSV), a station's raw frames (JSON lines) and charts.
//! Written into the exports folder next to the database, atomically (a temporary file, fsync'd, renamed into place), with progress events for
//! long ones.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chargeyard_billing::csv::{CsvError, CsvOptions, CsvWriter};
use chargeyard_billing::invoice::{InvoiceCsv, InvoiceLine};
use std::io::Write as _;

use chargeyard_store::frames::{self, FrameFilter};
use chargeyard_store::meter::SampleFilter;
use chargeyard_store::transactions::{self, InvoiceFilter};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ts_rs::TS;

use crate::billing::{Pricer, parse_group};
use crate::charts::{ChartFormat, ChartKind, ChartSize, Period};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::Event;

/// What to export, and how to write the CSV.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ExportRequest {
    /// Echoed in the progress events, so a front end can follow its own export.
    #[serde(default)]
    pub job: String,
    pub export: ExportKind,
    #[serde(default)]
    pub csv: CsvOptions,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportKind {
    /// Sessions that ended between the two local dates (both included), for one tag group
    /// ("customer:Acme AB"), one tag, or all.
    Invoice {
        from: NaiveDate,
        to: NaiveDate,
        #[serde(default)]
        group: Option<String>,
        #[serde(default)]
        id_tag: Option<String>,
    },
    /// Every sampled value of one session.
    MeterValues { transaction_id: i64 },
    /// A station's logged frames matching a filter, oldest first, as JSON lines (one object per
    /// frame with its pairing, latency, error and quirks).
    Frames {
        station_id: String,
        #[serde(default)]
        filter: FrameFilter,
    },
    /// A chart as an SVG or PNG file.
    Chart {
        #[serde(flatten)]
        chart: ChartKind,
        #[serde(default)]
        format: ChartFormat,
        #[serde(default)]
        width: Option<u32>,
        #[serde(default)]
        height: Option<u32>,
        /// The language its numbers are written in ("sv": a decimal comma).
        #[serde(default)]
        lang: Option<String>,
    },
}

/// A file in the exports folder.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ExportedFile {
    pub name: String,
    pub path: String,
    #[ts(type = "number")]
    pub bytes: u64,
    pub modified: DateTime<Utc>,
}

/// A finished export.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ExportResult {
    pub file: ExportedFile,
    /// Lines written (sessions or samples).
    #[ts(type = "number")]
    pub rows: u64,
    /// Sessions in the period left off the invoice because no tariff applied when they started.
    #[ts(type = "number")]
    pub unpriced: u64,
    /// Sessions in the period left off because they started with a tag we refused (not billed).
    #[ts(type = "number")]
    pub unbilled: u64,
}

/// Sessions priced and written between progress events.
const PAGE: i64 = 2000;

/// A file that appears under its name only when complete.
struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    out: Option<BufWriter<std::fs::File>>,
}

impl AtomicFile {
    fn create(dir: &Path, name: &str) -> Result<AtomicFile> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
        let file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        Ok(AtomicFile {
            dest: dir.join(name),
            out: Some(BufWriter::with_capacity(1 << 20, file)),
            tmp,
        })
    }

    fn writer(&mut self) -> &mut BufWriter<std::fs::File> {
        self.out.as_mut().expect("open until committed")
    }

    /// Flush, fsync, and rename into place (then fsync the folder so the rename lasts).
    fn commit(mut self) -> Result<()> {
        let out = self.out.take().expect("open until committed");
        let file = out
            .into_inner()
            .map_err(|e| io_error(&self.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| io_error(&self.dest, e))?;
        if let Some(dir) = self.dest.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error(dir, e))?;
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("{}: {e}", path.display()))
}

fn csv_error(e: CsvError) -> Error {
    match e {
        CsvError::Options(m) => Error::Invalid(m),
        CsvError::Io(e) => Error::Internal(format!("writing the export: {e}")),
    }
}

/// A file name part from user text: letters, digits, '-' and '_' kept, the rest '-'.
pub(crate) fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect()
}

fn describe(path: &Path) -> Result<ExportedFile> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    Ok(ExportedFile {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.display().to_string(),
        bytes: meta.len(),
        modified: meta
            .modified()
            .map(DateTime::<Utc>::from)
            .unwrap_or_else(|_| Utc::now()),
    })
}

impl Engine {
    /// Where exports are written: `exports/` next to the database.
    pub fn exports_dir(&self) -> PathBuf {
        self.inner.exports_dir.clone()
    }

    /// The finished exports, newest first.
    pub fn exports(&self) -> Result<Vec<ExportedFile>> {
        let dir = self.exports_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&dir, e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && entry.path().is_file() {
                files.push(describe(&entry.path())?);
            }
        }
        files.sort_by(|a, b| b.modified.cmp(&a.modified).then(a.name.cmp(&b.name)));
        Ok(files)
    }

    /// The path of a finished export, by its name.
    pub fn export_path(&self, name: &str) -> Result<PathBuf> {
        let bad = name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']);
        let path = self.exports_dir().join(name);
        if bad || !path.is_file() {
            return Err(Error::NotFound(format!("export {name}")));
        }
        Ok(path)
    }

    /// Write an export. Progress goes out as [`Event::ExportProgress`] with the request's `job`.
    pub async fn export(&self, request: ExportRequest) -> Result<ExportResult> {
        request.csv.check().map_err(Error::Invalid)?;
        match &request.export {
            ExportKind::Invoice {
                from,
                to,
                group,
                id_tag,
            } => {
                self.export_invoice(&request, *from, *to, group.as_deref(), id_tag.as_deref())
                    .await
            }
            ExportKind::MeterValues { transaction_id } => {
                self.export_meter_values(&request, *transaction_id).await
            }
            ExportKind::Frames { station_id, filter } => {
                self.export_frames(&request, station_id, filter).await
            }
            ExportKind::Chart {
                chart,
                format,
                width,
                height,
                lang,
            } => {
                let size = ChartSize {
                    width: *width,
                    height: *height,
                    lang: lang.clone(),
                };
                self.export_chart(chart, *format, size).await
            }
        }
    }

    async fn export_frames(
        &self,
        request: &ExportRequest,
        station_id: &str,
        filter: &FrameFilter,
    ) -> Result<ExportResult> {
        crate::stations::check_station_id(station_id)?;
        let version = self.logged_version(station_id).await?;
        let name = format!(
            "frames_{}_{}.jsonl",
            slug(station_id),
            self.now().format("%Y%m%dT%H%M%SZ")
        );
        let mut file = AtomicFile::create(&self.exports_dir(), &name)?;
        let mut page_filter = FrameFilter {
            before_id: None,
            after_id: Some(0),
            limit: Some(2000),
            ..filter.clone()
        };
        let mut rows = 0u64;
        loop {
            let page = frames::search(&self.inner.store.reader, station_id, &page_filter).await?;
            let Some(last) = page.last().map(|f| f.id) else {
                break;
            };
            page_filter.after_id = Some(last);
            for f in self.pair_page(version, page).await? {
                let message: Value = serde_json::from_str(&f.frame.text)
                    .unwrap_or_else(|_| Value::String(f.frame.text.clone()));
                let line = json!({
                    "id": f.frame.id,
                    "at": f.frame.at,
                    "direction": f.frame.direction,
                    "message_type": f.frame.message_type,
                    "message_id": f.frame.message_id,
                    "action": f.frame.action,
                    "partner_id": f.partner_id,
                    "latency_ms": f.latency_ms,
                    "error": f.error,
                    "quirks": f.quirks,
                    "message": message,
                });
                let out = file.writer();
                serde_json::to_writer(&mut *out, &line)
                    .map_err(|e| Error::Internal(format!("writing the export: {e}")))?;
                out.write_all(b"\n")
                    .map_err(|e| Error::Internal(format!("writing the export: {e}")))?;
                rows += 1;
            }
            self.progress(&request.job, rows, 0);
        }
        file.commit()?;
        Ok(ExportResult {
            file: describe(&self.exports_dir().join(&name))?,
            rows,
            unpriced: 0,
            unbilled: 0,
        })
    }

    /// A group an invoice is asked for must have tags: a misspelt one would give an empty invoice.
    async fn check_group(&self, kind: &str, name: &str) -> Result<()> {
        let groups = chargeyard_store::id_tags::groups(&self.inner.store.reader).await?;
        if groups.iter().any(|g| g.kind == kind && g.name == name) {
            return Ok(());
        }
        let known: Vec<String> = groups
            .iter()
            .filter(|g| g.kind == kind)
            .map(|g| format!("{:?}", g.name))
            .collect();
        Err(Error::Invalid(if known.is_empty() {
            format!("group: no tag is in a {kind} group")
        } else {
            format!(
                "group: no tag is in {kind} group {name:?}; the {kind} groups are {}",
                known.join(", ")
            )
        }))
    }

    fn progress(&self, job: &str, done: u64, total: u64) {
        self.emit(Event::ExportProgress {
            job: job.to_string(),
            done,
            total,
        });
    }

    async fn export_invoice(
        &self,
        request: &ExportRequest,
        from: NaiveDate,
        to: NaiveDate,
        group: Option<&str>,
        id_tag: Option<&str>,
    ) -> Result<ExportResult> {
        let group = group
            .filter(|g| !g.trim().is_empty())
            .map(parse_group)
            .transpose()?;
        if let Some((kind, name)) = &group {
            self.check_group(kind, name).await?;
        }
        let id_tag = id_tag.map(str::trim).filter(|t| !t.is_empty());
        let mut pricer = Pricer::new(self);
        let tz = pricer.time_zone();
        let (stopped_from, stopped_to) = Period { from, to }.bounds(&tz)?;
        let filter = InvoiceFilter {
            stopped_from,
            stopped_to,
            group: group.clone(),
            id_tag: id_tag.map(str::to_string),
            unbilled: false,
        };
        let reader = &self.inner.store.reader;
        let total = transactions::invoice_count(reader, &filter).await? as u64;
        let unbilled = InvoiceFilter {
            unbilled: true,
            ..filter.clone()
        };
        let unbilled = transactions::invoice_count(reader, &unbilled).await? as u64;
        let mut name = format!("invoice_{from}_{to}");
        if let Some((kind, group)) = &group {
            name += &format!("_{kind}-{}", slug(group));
        }
        if let Some(tag) = id_tag {
            name += &format!("_tag-{}", slug(tag));
        }
        name += ".csv";
        let mut file = AtomicFile::create(&self.exports_dir(), &name)?;
        let mut invoice = InvoiceCsv::new(file.writer(), tz, &request.csv).map_err(csv_error)?;
        let (mut done, mut rows, mut unpriced) = (0u64, 0u64, 0u64);
        let mut labels: std::collections::HashMap<i64, (String, String)> = Default::default();
        self.progress(&request.job, 0, total);
        // Pages are read one after another by SQLite, parsed beside it, and priced and written
        // here: three stages on their own threads.
        let (pages, mut parsed) = tokio::sync::mpsc::channel(2);
        let (reader, stop) = (reader.clone(), filter.clone());
        tokio::spawn(async move {
            let mut after = None;
            loop {
                let page = match transactions::invoice_page(&reader, &stop, after, PAGE).await {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = pages.send(tokio::spawn(async move { Err(e) })).await;
                        return;
                    }
                };
                let Some(last) = page.last else { return };
                after = Some(last);
                let rows = tokio::task::spawn_blocking(move || page.rows());
                let rows = tokio::spawn(async move {
                    rows.await
                        .map_err(|e| chargeyard_store::Error::Corrupt(e.to_string()))?
                });
                if pages.send(rows).await.is_err() {
                    return; // the export stopped
                }
            }
        });
        while let Some(page) = parsed.recv().await {
            let page = page
                .await
                .map_err(|e| Error::Internal(format!("reading the invoice: {e}")))??;
            for row in page {
                let s = &row.session;
                let (id, start, end, version) = (s.id, s.start_ts, s.stop_ts, s.tariff_version_id);
                let (station_id, connector_id) = (s.station_id.clone(), s.evse_id);
                done += 1;
                let Some(cost) = pricer.price(row.session).await? else {
                    unpriced += 1;
                    continue;
                };
                // "Name v2" and the VAT rate, once per tariff version.
                let key = version.unwrap_or_default();
                let vat = match version {
                    Some(v) if !labels.contains_key(&key) => {
                        pricer.tariff(v).await?.map(|t| t.vat_percent.to_string())
                    }
                    _ => None,
                };
                let (tariff, vat_percent) = &*labels.entry(key).or_insert_with(|| {
                    let name = row.tariff_name.as_deref().unwrap_or_default();
                    let label = format!("{name} v{}", row.tariff_version.unwrap_or_default());
                    (label, vat.unwrap_or_default())
                });
                invoice
                    .line(&InvoiceLine {
                        session_id: id,
                        station_id: &station_id,
                        connector_id,
                        id_tag: &row.id_tag,
                        group_kind: row.group_kind.as_deref(),
                        group_name: row.group_name.as_deref(),
                        start,
                        end: end.unwrap_or(start),
                        tariff,
                        vat_percent,
                        cost: &cost,
                    })
                    .map_err(csv_error)?;
                rows += 1;
            }
            pricer.save().await?;
            self.progress(&request.job, done, total);
        }
        invoice.finish().map_err(csv_error)?;
        file.commit()?;
        Ok(ExportResult {
            file: describe(&self.exports_dir().join(&name))?,
            rows,
            unpriced,
            unbilled,
        })
    }

    async fn export_chart(
        &self,
        chart: &ChartKind,
        format: ChartFormat,
        size: ChartSize,
    ) -> Result<ExportResult> {
        let svg = self.chart(chart, size).await?;
        let (bytes, ext) = match format {
            ChartFormat::Svg => (svg.into_bytes(), "svg"),
            ChartFormat::Png => (crate::charts::png(&svg)?, "png"),
        };
        let name = match chart {
            ChartKind::Session { transaction_id } => {
                format!("chart_session-{transaction_id}.{ext}")
            }
            ChartKind::Depot { from, to } => format!("chart_depot_{from}_{to}.{ext}"),
            ChartKind::Totals { from, to } => format!("chart_totals_{from}_{to}.{ext}"),
            ChartKind::Station {
                station_id,
                from,
                to,
            } => format!("chart_station-{}_{from}_{to}.{ext}", slug(station_id)),
        };
        let mut file = AtomicFile::create(&self.exports_dir(), &name)?;
        std::io::Write::write_all(file.writer(), &bytes).map_err(|e| io_error(&file.tmp, e))?;
        file.commit()?;
        Ok(ExportResult {
            file: describe(&self.exports_dir().join(&name))?,
            rows: 1,
            unpriced: 0,
            unbilled: 0,
        })
    }

    async fn export_meter_values(
        &self,
        request: &ExportRequest,
        transaction_id: i64,
    ) -> Result<ExportResult> {
        let t = transactions::get(&self.inner.store.reader, transaction_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("transaction {transaction_id}")))?;
        let samples = self
            .meter_samples(&SampleFilter {
                transaction_id: Some(transaction_id),
                limit: Some(100_000),
                ..Default::default()
            })
            .await?;
        let tz = self.time_zone();
        let name = format!(
            "meter-values_{}_session-{transaction_id}.csv",
            slug(&t.station_id)
        );
        let mut file = AtomicFile::create(&self.exports_dir(), &name)?;
        let total = samples.len() as u64;
        self.progress(&request.job, 0, total);
        let mut w = CsvWriter::new(file.writer(), &request.csv).map_err(csv_error)?;
        let local = format!("time ({tz})");
        let header = [
            local.as_str(),
            "time (UTC)",
            "connector",
            "measurand",
            "phase",
            "location",
            "context",
            "unit sent",
            "value sent",
            "value",
            "unit",
        ];
        let write = |w: &mut CsvWriter<_>| -> std::io::Result<()> {
            w.header(&header)?;
            for s in &samples {
                w.text(
                    &s.timestamp
                        .with_timezone(&tz)
                        .format("%Y-%m-%d %H:%M:%S%.3f")
                        .to_string(),
                )?;
                w.text(&s.timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())?;
                w.integer(s.evse_id)?;
                w.text(&s.measurand)?;
                for cell in [&s.phase, &s.location, &s.context, &s.unit] {
                    w.text(cell.as_deref().unwrap_or(""))?;
                }
                w.text(&s.raw_value)?;
                match s.value {
                    Some(v) => w.number(&v.to_string())?,
                    None => w.text("")?,
                }
                w.text(s.value_unit.as_deref().unwrap_or(""))?;
                w.end_row()?;
            }
            Ok(())
        };
        write(&mut w).map_err(|e| csv_error(e.into()))?;
        file.commit()?;
        self.progress(&request.job, total, total);
        Ok(ExportResult {
            file: describe(&self.exports_dir().join(&name))?,
            rows: total,
            unpriced: 0,
            unbilled: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use chrono_tz::Tz;

    use super::*;
    use crate::charts::local_midnight;

    #[test]
    fn slugs_keep_letters_and_digits() {
        assert_eq!(slug("Åkeri Öst AB/../x"), "Åkeri-Öst-AB----x");
    }

    #[test]
    fn midnight_in_the_depot() {
        let tz: Tz = "Europe/Stockholm".parse().expect("test step");
        let d = NaiveDate::from_ymd_opt(2026, 10, 25).expect("test step");
        assert_eq!(
            local_midnight(&tz, d).to_rfc3339(),
            "2026-10-24T22:00:00+00:00"
        );
        // Santiago skips midnight when DST starts (2026-09-06): the day starts at 01:00.
        let cl: Tz = "America/Santiago".parse().expect("test step");
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).expect("test step");
        assert_eq!(
            local_midnight(&cl, d).to_rfc3339(),
            "2026-09-06T04:00:00+00:00"
        );
    }

    #[test]
    fn an_abandoned_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("test step");
        {
            let mut f = AtomicFile::create(dir.path(), "half.csv").expect("test step");
            f.writer().write_all(b"a,b\r\n").expect("test step");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("test step").count(), 0);
        let mut f = AtomicFile::create(dir.path(), "whole.csv").expect("test step");
        f.writer().write_all(b"a,b\r\n").expect("test step");
        assert!(!dir.path().join("whole.csv").exists());
        f.commit().expect("test step");
        assert_eq!(
            std::fs::read(dir.path().join("whole.csv")).expect("test step"),
            b"a,b\r\n"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("test step").count(), 1);
    }
}
