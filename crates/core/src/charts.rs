//! Charts drawn by plotters as SVG: the data is aggregated in SQL to about one point per pixel
//! (energy over long ranges from the energy per hour stored with each priced session, not from
//! every sample). Text in the SVG is escaped by plotters, so it can be shown as it is.

use std::collections::BTreeMap;

use chargeyard_store::{meter, transactions};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use plotters::prelude::*;
use serde::Deserialize;

use crate::billing::{Pricer, readings};
use crate::engine::Engine;
use crate::error::{Error, Result};

/// The size to draw at, in pixels (CSS scales the SVG), and the language its numbers are
/// written in ("sv": a decimal comma; anything else: a point).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChartSize {
    pub width: Option<u32>,
    pub height: Option<u32>,
    #[serde(default)]
    pub lang: Option<String>,
}

impl ChartSize {
    fn numbers(&self) -> Numbers {
        Numbers {
            comma: self.lang.as_deref() == Some("sv"),
        }
    }

    fn get(&self) -> (u32, u32) {
        (
            self.width.unwrap_or(900).clamp(300, 4000),
            self.height.unwrap_or(360).clamp(200, 2000),
        )
    }
}

fn drawing<E: std::fmt::Debug>(e: E) -> Error {
    Error::Internal(format!("drawing the chart: {e:?}"))
}

const POWER: RGBColor = RGBColor(27, 110, 243);
const ENERGY: RGBColor = RGBColor(15, 122, 74);
const SOC: RGBColor = RGBColor(176, 84, 0);
/// The limit load management keeps the depot to.
const LIMIT: RGBColor = RGBColor(200, 30, 30);

/// Minutes since `start` as local "HH:MM" (with the date when the session spans days).
fn clock(start: DateTime<Utc>, minutes: f64, tz: &Tz, dated: bool) -> String {
    let at = (start + Duration::milliseconds((minutes * 60_000.0) as i64)).with_timezone(tz);
    at.format(if dated { "%d/%m %H:%M" } else { "%H:%M" })
        .to_string()
}

/// Numbers as the chart's language writes them.
#[derive(Debug, Clone, Copy)]
struct Numbers {
    comma: bool,
}

impl Numbers {
    fn fmt(self, v: f64, digits: usize) -> String {
        let s = format!("{v:.digits$}");
        if self.comma { s.replace('.', ",") } else { s }
    }
}

/// Invisible areas laid over a chart, each showing its values when the pointer rests on it (an
/// SVG title): the figures behind a bar, a bucket or a point.
#[derive(Default)]
struct Hover(String);

impl Hover {
    /// An area between two corners (backend pixels) with `text`.
    fn add(&mut self, a: (i32, i32), b: (i32, i32), text: &str) {
        let (x, y) = (a.0.min(b.0), a.1.min(b.1));
        let (w, h) = ((a.0 - b.0).abs().max(1), (a.1 - b.1).abs().max(1));
        self.0.push_str(&format!(
            r##"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#000" fill-opacity="0"><title>{}</title></rect>"##,
            escape_xml(text)
        ));
    }

    /// One area per point of `points` (sorted by x), from halfway to its neighbours, the full
    /// height of `chart`.
    fn strips<DB: DrawingBackend>(
        &mut self,
        chart: &ChartContext<'_, DB, Xy>,
        points: &[(f64, f64)],
        text: impl Fn(usize, f64, f64) -> String,
    ) {
        let (xs, ys) = (chart.x_range(), chart.y_range());
        for (i, &(x, y)) in points.iter().enumerate() {
            let left = if i == 0 {
                xs.start
            } else {
                (points[i - 1].0 + x) / 2.0
            };
            let right = points.get(i + 1).map_or(xs.end, |n| (n.0 + x) / 2.0);
            let a = chart.backend_coord(&(left, ys.end));
            let b = chart.backend_coord(&(right, ys.start));
            self.add(a, b, &text(i, x, y));
        }
    }

    /// The SVG with the areas on top.
    fn over(self, mut svg: String) -> String {
        if let Some(end) = svg.rfind("</svg>") {
            svg.insert_str(end, &self.0);
        }
        svg
    }
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A panel with `x` across (labelled by `label`) and 0..`y` up, its grid and left axis drawn
/// (one scale per panel: two quantities get two panels, never two axes on one side).
fn panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    x: std::ops::Range<f64>,
    y: f64,
    desc: &str,
    label: &dyn Fn(&f64) -> String,
    numbers: Numbers,
) -> Result<ChartContext<'a, DB, Xy>>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(x, 0f64..y)
        .map_err(drawing)?;
    let digits = if y < 10.0 { 1 } else { 0 };
    let y_label = move |v: &f64| numbers.fmt(*v, digits);
    // About one number every 40 pixels up, so a short panel's numbers never touch.
    let rows = (area.dim_in_pixel().1 / 40).clamp(2, 10) as usize;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(rows)
        .x_label_formatter(label)
        .y_label_formatter(&y_label)
        .y_desc(desc)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(RGBColor(236, 239, 242))
        .draw()
        .map_err(drawing)?;
    Ok(chart)
}

type Xy =
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>;

/// The legend beside the plot, off the data: a colour and a name per series, top down.
fn legend_column<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(&str, RGBColor)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    for (i, (name, colour)) in entries.iter().enumerate() {
        let y = 24 + 20 * i as i32;
        area.draw(&Rectangle::new([(6, y - 6), (20, y + 6)], colour.filled()))
            .map_err(drawing)?;
        area.draw(&Text::new(*name, (26, y - 7), ("sans-serif", 13)))
            .map_err(drawing)?;
    }
    Ok(())
}

/// A panel of bars centred on whole numbers, one per value (none for nothing), each with its
/// figures on hover.
#[allow(clippy::too_many_arguments)]
fn bar_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    values: &[f64],
    colour: RGBColor,
    desc: &str,
    label: &dyn Fn(&f64) -> String,
    numbers: Numbers,
    hover: &mut Hover,
    text: impl Fn(usize, f64) -> String,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = values.len().max(1) as f64;
    let top = values.iter().copied().fold(0.0, f64::max).max(1.0) * 1.1;
    let mut chart = panel(area, -0.5..n - 0.5, top, desc, label, numbers)?;
    chart
        .draw_series(
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(i, v)| {
                    Rectangle::new(
                        [(i as f64 - 0.4, 0.0), (i as f64 + 0.4, *v)],
                        colour.mix(0.8).filled(),
                    )
                }),
        )
        .map_err(drawing)?;
    let centres: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64, *v))
        .collect();
    hover.strips(&chart, &centres, |i, _, v| text(i, v));
    Ok(())
}

/// The bar at `x` on an axis whose bars sit on whole numbers; None between bars.
fn bar(x: f64) -> Option<usize> {
    ((x - x.round()).abs() < 1e-6 && x >= -0.5).then(|| x.round().max(0.0) as usize)
}

/// Local dates as labels: with the year when the period is long or crosses one.
fn date_format(from: NaiveDate, to: NaiveDate) -> &'static str {
    if from.year() != to.year() || (to - from).num_days() > 180 {
        "%d/%m/%Y"
    } else {
        "%d/%m"
    }
}

impl Engine {
    /// One session: power (kW, area) and energy delivered (kWh, line) over its time, and its
    /// state of charge (%) below when the charger reports it.
    pub async fn session_chart(&self, id: i64, size: ChartSize) -> Result<String> {
        let reader = &self.inner.store.reader;
        let t = transactions::get(reader, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("transaction {id}")))?;
        let (w, h) = size.get();
        let end = t.stop_ts.unwrap_or_else(|| self.now()).max(t.start_ts);
        let span_s = (end - t.start_ts).num_seconds().max(60);
        let bucket = (span_s + i64::from(w) - 1) / i64::from(w);
        let start_s = t.start_ts.timestamp();
        // Energy starts at 0 with meterStart (the first reading when the start had none) and ends
        // at meterStop, whatever was sampled between.
        let series = meter::session_series(reader, id, bucket).await?;
        let start_wh = t.meter_start.map(|wh| wh as f64).or_else(|| {
            series
                .iter()
                .find(|(_, m, _)| m == "Energy.Active.Import.Register")
                .map(|(.., v)| *v)
        });
        let (mut power, mut energy, mut soc) = (Vec::new(), vec![(0.0, 0.0)], Vec::new());
        for (at, measurand, v) in series {
            let x = (at - start_s).max(0) as f64 / 60.0;
            match measurand.as_str() {
                "Power.Active.Import" => power.push((x, v / 1000.0)),
                "Energy.Active.Import.Register" => {
                    energy.push((x, (v - start_wh.unwrap_or(v)).max(0.0) / 1000.0))
                }
                _ => soc.push((x, v)),
            }
        }
        if let (Some(stop), Some(start)) = (t.meter_stop, start_wh) {
            energy.push((
                span_s as f64 / 60.0,
                (stop as f64 - start).max(0.0) / 1000.0,
            ));
        }
        let tz = self.time_zone();
        let numbers = size.numbers();
        let span_min = span_s as f64 / 60.0;
        let dated = span_s > 20 * 3600;
        // What load management gave it, as a step line over its power (all three phases at the
        // site's voltage: a car on fewer phases draws a part of it).
        let mut given: Vec<(f64, f64)> = Vec::new();
        {
            let mut decisions = chargeyard_store::load::list(reader, None, Some(id), 1000).await?;
            decisions.reverse();
            let volts = self.site().voltage_v;
            let mut last = None;
            for d in decisions
                .iter()
                .filter(|d| d.purpose == "Tx" && d.answer == "Accepted")
            {
                let m = (d.at - t.start_ts).num_seconds().max(0) as f64 / 60.0;
                if let Some(l) = last {
                    given.push((m, l));
                }
                let kw = d.amps * 3.0 * volts / 1000.0;
                given.push((m, kw));
                last = Some(kw);
            }
            if let Some(l) = last {
                given.push((span_min, l));
            }
        }
        let top = |v: &[(f64, f64)]| v.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
        let (max_kw, max_kwh) = (top(&power).max(top(&given)), top(&energy));
        let at = |m: f64| clock(t.start_ts, m, &tz, dated);
        let mut svg = String::new();
        let mut hover = Hover::default();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(drawing)?;
            // Power above energy (and the state of charge below when reported): one scale each.
            let (upper, rest) =
                root.split_vertically(if soc.is_empty() { h / 2 } else { h * 2 / 5 });
            let (middle, lower) = if soc.is_empty() {
                (rest, None)
            } else {
                let (a, b) = rest.split_vertically(h * 7 / 20);
                (a, Some(b))
            };
            let label = |m: &f64| at(*m);
            let mut chart = panel(&upper, 0.0..span_min, max_kw, "kW", &label, numbers)?;
            chart
                .draw_series(
                    AreaSeries::new(power.iter().copied(), 0.0, POWER.mix(0.18))
                        .border_style(POWER.stroke_width(2)),
                )
                .map_err(drawing)?;
            if !given.is_empty() {
                chart
                    .draw_series(LineSeries::new(
                        given.iter().copied(),
                        LIMIT.stroke_width(2),
                    ))
                    .map_err(drawing)?;
            }
            hover.strips(&chart, &power, |_, m, kw| {
                format!("{} · {} kW", at(m), numbers.fmt(kw, 1))
            });
            let mut chart = panel(&middle, 0.0..span_min, max_kwh, "kWh", &label, numbers)?;
            chart
                .draw_series(LineSeries::new(
                    energy.iter().copied(),
                    ENERGY.stroke_width(2),
                ))
                .map_err(drawing)?;
            hover.strips(&chart, &energy, |_, m, kwh| {
                format!("{} · {} kWh", at(m), numbers.fmt(kwh, 2))
            });
            if let Some(lower) = lower {
                let mut chart = panel(&lower, 0.0..span_min, 100.0, "SoC %", &label, numbers)?;
                chart
                    .draw_series(LineSeries::new(soc.iter().copied(), SOC.stroke_width(2)))
                    .map_err(drawing)?;
                hover.strips(&chart, &soc, |_, m, pct| {
                    format!("{} · {} %", at(m), numbers.fmt(pct, 0))
                });
            }
            root.present().map_err(drawing)?;
        }
        let svg = hover.over(svg);
        Ok(svg)
    }
}

/// What chart to draw.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
#[serde(tag = "chart", rename_all = "snake_case")]
pub enum ChartKind {
    /// One session's power, energy and state of charge.
    Session { transaction_id: i64 },
    /// The depot's load (average kW), stacked per station, between two local dates (included).
    Depot { from: NaiveDate, to: NaiveDate },
    /// The depot's energy and the cost of the sessions that ended, per local day (or month).
    Totals { from: NaiveDate, to: NaiveDate },
    /// One station's energy per local day between two dates (included).
    Station {
        station_id: String,
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// A period of local dates, both included.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A chart as a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ChartFormat {
    #[default]
    Svg,
    Png,
}

/// The fonts PNGs are drawn with: the system's, loaded once.
fn fonts() -> std::sync::Arc<resvg::usvg::fontdb::Database> {
    static FONTS: std::sync::OnceLock<std::sync::Arc<resvg::usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_system_fonts();
            db.set_sans_serif_family("DejaVu Sans");
            std::sync::Arc::new(db)
        })
        .clone()
}

/// An SVG drawn as a PNG of the same size.
pub fn png(svg: &str) -> Result<Vec<u8>> {
    raster(svg)?.encode_png().map_err(drawing)
}

fn raster(svg: &str) -> Result<resvg::tiny_skia::Pixmap> {
    let options = resvg::usvg::Options {
        fontdb: fonts(),
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &options).map_err(drawing)?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| Error::Internal("drawing the chart: empty size".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}

impl Engine {
    /// A chart as SVG.
    pub async fn chart(&self, kind: &ChartKind, size: ChartSize) -> Result<String> {
        match kind {
            ChartKind::Session { transaction_id } => {
                self.session_chart(*transaction_id, size).await
            }
            ChartKind::Depot { from, to } => {
                let period = Period {
                    from: *from,
                    to: *to,
                };
                self.depot_chart(period, size).await
            }
            ChartKind::Totals { from, to } => {
                let period = Period {
                    from: *from,
                    to: *to,
                };
                self.totals_chart(period, size).await
            }
            ChartKind::Station {
                station_id,
                from,
                to,
            } => {
                let period = Period {
                    from: *from,
                    to: *to,
                };
                self.station_chart(station_id, period, size).await
            }
        }
    }
}

/// Totals per currency: decimals and minor units.
type Money = BTreeMap<String, (u32, i64)>;

/// Colours of stacked stations, in turn.
const PALETTE: [RGBColor; 10] = [
    RGBColor(27, 110, 243),
    RGBColor(15, 122, 74),
    RGBColor(176, 84, 0),
    RGBColor(125, 60, 180),
    RGBColor(0, 128, 140),
    RGBColor(196, 40, 90),
    RGBColor(90, 110, 20),
    RGBColor(70, 80, 100),
    RGBColor(200, 140, 0),
    RGBColor(150, 70, 40),
];

/// The first instant of a local date (the first valid minute when a DST change skips midnight).
pub(crate) fn local_midnight(tz: &Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut at = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    loop {
        if let Some(t) = tz.from_local_datetime(&at).earliest() {
            return t.with_timezone(&Utc);
        }
        at += Duration::minutes(1);
    }
}

impl Period {
    /// The UTC instants the period starts and ends at in the depot's time zone.
    pub(crate) fn bounds(self, tz: &Tz) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        crate::error::check_order("period", Some(self.from), Some(self.to))?;
        Ok((
            local_midnight(tz, self.from),
            local_midnight(tz, self.to + Duration::days(1)),
        ))
    }
}

impl Engine {
    /// Price the sessions overlapping `[from, to)` not priced yet (which stores their energy per
    /// hour) and read the running ones' energy per hour off their registers.
    async fn settle(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        station: Option<&str>,
    ) -> Result<Vec<(String, DateTime<Utc>, i64)>> {
        let reader = &self.inner.store.reader;
        let mut running = Vec::new();
        let mut pricer = Pricer::new(self);
        for mut t in transactions::unpriced(reader, from, to, station).await? {
            let b = t.billable();
            if b.stop_ts.is_some() {
                pricer.price(b).await?;
            } else {
                let now = self.now();
                let hours = chargeyard_billing::energy_by_hour(
                    &readings(self, &b, now).await?,
                    b.start_ts,
                    now,
                );
                running.extend(
                    hours
                        .into_iter()
                        .map(|(h, wh)| (b.station_id.clone(), h, wh)),
                );
            }
        }
        pricer.save().await?;
        Ok(running)
    }

    /// Energy per station and bucket (`bucket` seconds: whole hours, or 86 400 for UTC days) over
    /// `[from, to)`: stored per hour and day for priced sessions (those not priced yet are priced
    /// first, which stores theirs), and read off the register for running ones.
    async fn energy(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: i64,
        station: Option<&str>,
    ) -> Result<BTreeMap<(i64, String), i64>> {
        let reader = &self.inner.store.reader;
        let running = self.settle(from, to, station).await?;
        let mut out = BTreeMap::new();
        let daily = bucket >= 86_400;
        for (station, at, wh) in
            meter::energy_by_station(reader, from, to, bucket / 3600, daily, station).await?
        {
            *out.entry((at, station)).or_insert(0) += wh;
        }
        for (station, hour, wh) in running {
            if hour >= from && hour < to {
                let at = hour.timestamp() / bucket * bucket;
                *out.entry((at, station)).or_insert(0) += wh;
            }
        }
        Ok(out)
    }

    /// The depot's load: average kW per bucket (about one a pixel, at least an hour), stacked per
    /// station.
    pub async fn depot_chart(&self, period: Period, size: ChartSize) -> Result<String> {
        let tz = self.time_zone();
        let (from, to) = period.bounds(&tz)?;
        let (w, h) = size.get();
        let span = (to - from).num_seconds();
        // About a bucket a pixel, whole hours; beyond three months, UTC days (a row per station
        // and day is what keeps a year fast).
        let bucket = if span > 90 * 86_400 {
            86_400
        } else {
            ((span / i64::from(w)).max(3600) + 3599) / 3600 * 3600
        };
        let energy = self.energy(from, to, bucket, None).await?;
        let stations: Vec<String> = {
            let mut s: Vec<String> = energy.keys().map(|(_, s)| s.clone()).collect();
            s.sort();
            s.dedup();
            s
        };
        // Stacked: each station's line is the sum of it and the ones before it.
        let first = from.timestamp() / bucket * bucket;
        let buckets = ((to.timestamp() - first) / bucket).max(1) as usize + 1;
        let mut stacks = vec![vec![0.0f64; buckets]; stations.len()];
        for ((at, station), wh) in &energy {
            let i = ((at - first) / bucket).clamp(0, buckets as i64 - 1) as usize;
            let j = stations.binary_search(station).unwrap_or_default();
            stacks[j][i] += *wh as f64 / 1000.0 / (bucket as f64 / 3600.0);
        }
        for j in 1..stacks.len() {
            let (below, this) = stacks.split_at_mut(j);
            for (v, under) in this[0].iter_mut().zip(&below[j - 1]) {
                *v += under;
            }
        }
        // With load management on, the limit charging may use, as it stood in each bucket.
        let site = self.site();
        let limit: Option<Vec<f64>> = site.enabled.then(|| {
            (0..buckets)
                .map(|i| {
                    let at = DateTime::<Utc>::from_timestamp(first + i as i64 * bucket, 0)
                        .unwrap_or(from)
                        .with_timezone(&tz);
                    site.main_limit(&at) * 3.0 * site.voltage_v / 1000.0
                })
                .collect()
        });
        let top = stacks
            .last()
            .map_or(0.0, |s| s.iter().copied().fold(0.0, f64::max))
            .max(limit.iter().flatten().copied().fold(0.0, f64::max))
            .max(1.0)
            * 1.1;
        // Across in hours over a day or two, else in days: the ticks fall on whole hours or on
        // local midnights.
        let unit_min = if span > 2 * 86_400 { 1440.0 } else { 60.0 };
        let width = span as f64 / 60.0 / unit_min;
        // A day bucket may begin before `from` (UTC days): its point sits at the chart's edge.
        let x = |i: usize| {
            ((first + i as i64 * bucket - from.timestamp()) as f64 / 60.0 / unit_min)
                .clamp(0.0, width)
        };
        let numbers = size.numbers();
        let format = if unit_min > 60.0 {
            date_format(period.from, period.to)
        } else {
            "%H:%M"
        };
        let at = |u: f64| {
            (from + Duration::milliseconds((u * unit_min * 60_000.0) as i64))
                .with_timezone(&tz)
                .format(format)
                .to_string()
        };
        let mut svg = String::new();
        let mut hover = Hover::default();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(drawing)?;
            let (plot, side) = root.split_horizontally(w.saturating_sub(150));
            let label = |u: &f64| at(*u);
            let mut chart = panel(&plot, 0.0..width, top, "kW", &label, numbers)?;
            let mut entries = Vec::new();
            for (j, station) in stations.iter().enumerate().rev() {
                let colour = PALETTE[j % PALETTE.len()];
                let points: Vec<(f64, f64)> = (0..buckets).map(|i| (x(i), stacks[j][i])).collect();
                chart
                    .draw_series(
                        AreaSeries::new(points, 0.0, colour.mix(0.55))
                            .border_style(colour.stroke_width(1)),
                    )
                    .map_err(drawing)?;
                entries.push((station.as_str(), colour));
            }
            if let Some(limit) = &limit {
                let points: Vec<(f64, f64)> = (0..buckets).map(|i| (x(i), limit[i])).collect();
                chart
                    .draw_series(LineSeries::new(points, LIMIT.stroke_width(2)))
                    .map_err(drawing)?;
                entries.insert(0, ("Limit", LIMIT));
            }
            legend_column(&side, &entries)?;
            // Each bucket's total, then each station's share of it.
            let totals: Vec<(f64, f64)> = (0..buckets)
                .map(|i| (x(i), stacks.last().map_or(0.0, |s| s[i])))
                .collect();
            hover.strips(&chart, &totals, |i, u, kw| {
                let mut text = format!("{} · {} kW", at(u), numbers.fmt(kw, 1));
                if let Some(limit) = &limit {
                    text.push_str(&format!("\nLimit: {} kW", numbers.fmt(limit[i], 1)));
                }
                for (j, station) in stations.iter().enumerate() {
                    let below = if j == 0 { 0.0 } else { stacks[j - 1][i] };
                    let own = stacks[j][i] - below;
                    if own > 0.0 {
                        text.push_str(&format!("\n{station}: {} kW", numbers.fmt(own, 1)));
                    }
                }
                text
            });
            root.present().map_err(drawing)?;
        }
        let svg = hover.over(svg);
        Ok(svg)
    }

    /// The depot's energy (kWh, bars) and what the sessions that ended cost (total with VAT, line,
    /// in the currency most of it is in) per local day, or per month beyond two months.
    pub async fn totals_chart(&self, period: Period, size: ChartSize) -> Result<String> {
        let tz = self.time_zone();
        let (from, to) = period.bounds(&tz)?;
        let (w, h) = size.get();
        let monthly = (period.to - period.from).num_days() > 62;
        let key = |d: NaiveDate| {
            if monthly {
                d.with_day(1).unwrap_or(d)
            } else {
                d
            }
        };
        let mut periods: BTreeMap<NaiveDate, (f64, Money)> = BTreeMap::new();
        let mut d = period.from;
        while d <= period.to {
            periods.entry(key(d)).or_default();
            d += Duration::days(1);
        }
        let running = self.settle(from, to, None).await?;
        let local = |at: i64| {
            key(DateTime::<Utc>::from_timestamp(at, 0)
                .unwrap_or(from)
                .with_timezone(&tz)
                .date_naive())
        };
        for (at, wh, costs) in meter::hourly_totals(&self.inner.store.reader, from, to).await? {
            if let Some(p) = periods.get_mut(&local(at)) {
                p.0 += wh as f64 / 1000.0;
                for (currency, decimals, total) in costs {
                    let c = p.1.entry(currency).or_insert((decimals, 0));
                    c.1 += total;
                }
            }
        }
        for (_, hour, wh) in running {
            if let Some(p) = periods.get_mut(&local(hour.timestamp())) {
                p.0 += wh as f64 / 1000.0;
            }
        }
        // The currency with the most sessions' money in it is drawn.
        let mut by_currency = Money::new();
        for (_, costs) in periods.values() {
            for (c, (d, t)) in costs {
                let e = by_currency.entry(c.clone()).or_insert((*d, 0));
                e.1 += t;
            }
        }
        let currency = by_currency
            .iter()
            .max_by_key(|(_, (_, t))| *t)
            .map(|(c, (d, _))| (c.clone(), *d));
        let money = |costs: &Money| match &currency {
            Some((c, d)) => costs
                .get(c)
                .map_or(0.0, |(_, t)| *t as f64 / 10f64.powi(*d as i32)),
            None => 0.0,
        };
        let rows: Vec<(NaiveDate, f64, f64)> = periods
            .iter()
            .map(|(d, (kwh, c))| (*d, *kwh, money(c)))
            .collect();
        let numbers = size.numbers();
        let format = if monthly {
            "%m/%Y"
        } else {
            date_format(period.from, period.to)
        };
        let day = |i: usize| rows.get(i).map(|r| r.0.format(format).to_string());
        let name = currency
            .as_ref()
            .map_or("", |(c, _)| c.as_str())
            .to_string();
        let mut svg = String::new();
        let mut hover = Hover::default();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(drawing)?;
            // Energy above, what it cost below: one scale each.
            let (upper, lower) = if currency.is_some() {
                let (a, b) = root.split_vertically(h * 11 / 20);
                (a, Some(b))
            } else {
                (root.clone(), None)
            };
            let label = |x: &f64| bar(*x).and_then(day).unwrap_or_default();
            let kwh: Vec<f64> = rows.iter().map(|r| r.1).collect();
            bar_panel(
                &upper,
                &kwh,
                POWER,
                "kWh",
                &label,
                numbers,
                &mut hover,
                |i, v| format!("{} · {} kWh", day(i).unwrap_or_default(), numbers.fmt(v, 1)),
            )?;
            if let Some(lower) = lower {
                let money: Vec<f64> = rows.iter().map(|r| r.2).collect();
                bar_panel(
                    &lower,
                    &money,
                    SOC,
                    &name,
                    &label,
                    numbers,
                    &mut hover,
                    |i, v| {
                        format!(
                            "{} · {} {name}",
                            day(i).unwrap_or_default(),
                            numbers.fmt(v, 2)
                        )
                    },
                )?;
            }
            root.present().map_err(drawing)?;
        }
        let svg = hover.over(svg);
        Ok(svg)
    }

    /// One station's energy per local day (kWh, bars).
    pub async fn station_chart(
        &self,
        station: &str,
        period: Period,
        size: ChartSize,
    ) -> Result<String> {
        self.station(station).await?;
        let tz = self.time_zone();
        let (from, to) = period.bounds(&tz)?;
        let (w, h) = size.get();
        let days = (period.to - period.from).num_days() as usize + 1;
        let mut per_day = vec![0.0f64; days];
        for ((at, _), wh) in self.energy(from, to, 3600, Some(station)).await? {
            let day = DateTime::<Utc>::from_timestamp(at, 0)
                .unwrap_or(from)
                .with_timezone(&tz)
                .date_naive();
            let i = (day - period.from).num_days();
            if (0..days as i64).contains(&i) {
                per_day[i as usize] += wh as f64 / 1000.0;
            }
        }
        let numbers = size.numbers();
        let format = date_format(period.from, period.to);
        let day = |i: usize| {
            (period.from + Duration::days(i as i64))
                .format(format)
                .to_string()
        };
        let mut svg = String::new();
        let mut hover = Hover::default();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(drawing)?;
            let label = |d: &f64| bar(*d).map(day).unwrap_or_default();
            bar_panel(
                &root,
                &per_day,
                POWER,
                "kWh",
                &label,
                numbers,
                &mut hover,
                |i, v| format!("{} · {} kWh", day(i), numbers.fmt(v, 1)),
            )?;
            root.present().map_err(drawing)?;
        }
        let svg = hover.over(svg);
        Ok(svg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text in a PNG needs a font from the system (fonts-dejavu-core): without one the labels
    /// would silently vanish.
    #[test]
    fn png_labels_are_drawn_with_a_system_font() {
        let svg = r##"<svg width="120" height="40" xmlns="http://www.w3.org/2000/svg"><rect width="120" height="40" fill="#FFFFFF"/><text x="4" y="30" font-family="sans-serif" font-size="24">kWh</text></svg>"##;
        let pixmap = raster(svg).expect("drawn");
        let dark = pixmap
            .pixels()
            .iter()
            .filter(|p| p.red() < 128 && p.alpha() > 0)
            .count();
        assert!(dark > 50, "{dark} dark pixels: no font found?");
        assert_eq!(&png(svg).expect("encoded")[1..4], b"PNG");
    }
}
