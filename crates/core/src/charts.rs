//! Charts drawn by plotters as SVG: the data is aggregated in SQL to about one point per pixel,
//! and the SVG carries no text from chargers or users (titles are the console's), so it can be
//! shown as it is.

use chargeyard_store::{meter, transactions};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use plotters::prelude::*;
use serde::Deserialize;

use crate::engine::Engine;
use crate::error::{Error, Result};

/// The size to draw at, in pixels (CSS scales the SVG).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct ChartSize {
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl ChartSize {
    fn get(self) -> (u32, u32) {
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

/// Minutes since `start` as local "HH:MM" (with the date when the session spans days).
fn clock(start: DateTime<Utc>, minutes: f64, tz: &Tz, dated: bool) -> String {
    let at = (start + Duration::milliseconds((minutes * 60_000.0) as i64)).with_timezone(tz);
    at.format(if dated { "%d/%m %H:%M" } else { "%H:%M" })
        .to_string()
}

/// A panel with time (minutes from the start, labelled by `label`) across and 0..`y` up, its
/// grid and axes drawn.
fn panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    x: f64,
    y: f64,
    desc: &str,
    label: &dyn Fn(&f64) -> String,
) -> Result<
    ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(52)
        .right_y_label_area_size(52)
        .build_cartesian_2d(0f64..x, 0f64..y)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(label)
        .y_desc(desc)
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(RGBColor(236, 239, 242))
        .draw()
        .map_err(drawing)?;
    Ok(chart)
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
        // Energy starts at 0 with meterStart and ends at meterStop, whatever was sampled between.
        let (mut power, mut energy, mut soc) = (Vec::new(), vec![(0.0, 0.0)], Vec::new());
        for (at, measurand, v) in meter::session_series(reader, id, bucket).await? {
            let x = (at - start_s).max(0) as f64 / 60.0;
            match measurand.as_str() {
                "Power.Active.Import" => power.push((x, v / 1000.0)),
                "Energy.Active.Import.Register" => {
                    energy.push((x, (v - t.meter_start as f64).max(0.0) / 1000.0))
                }
                _ => soc.push((x, v)),
            }
        }
        if let Some(stop) = t.meter_stop {
            energy.push((
                span_s as f64 / 60.0,
                (stop - t.meter_start).max(0) as f64 / 1000.0,
            ));
        }
        let tz = self.time_zone();
        let span_min = span_s as f64 / 60.0;
        let dated = span_s > 20 * 3600;
        let top = |v: &[(f64, f64)]| v.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
        let (max_kw, max_kwh) = (top(&power), top(&energy));
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(drawing)?;
            let (upper, lower) = if soc.is_empty() {
                (root.clone(), None)
            } else {
                let (a, b) = root.split_vertically(h * 2 / 3);
                (a, Some(b))
            };
            let label = |m: &f64| clock(t.start_ts, *m, &tz, dated);
            let mut chart = panel(&upper, span_min, max_kw, "kW", &label)?
                .set_secondary_coord(0f64..span_min, 0f64..max_kwh);
            chart
                .configure_secondary_axes()
                .y_desc("kWh")
                .label_style(("sans-serif", 12))
                .axis_desc_style(("sans-serif", 13))
                .draw()
                .map_err(drawing)?;
            chart
                .draw_series(
                    AreaSeries::new(power.iter().copied(), 0.0, POWER.mix(0.18))
                        .border_style(POWER.stroke_width(2)),
                )
                .map_err(drawing)?
                .label("kW")
                .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], POWER.filled()));
            chart
                .draw_secondary_series(LineSeries::new(
                    energy.iter().copied(),
                    ENERGY.stroke_width(2),
                ))
                .map_err(drawing)?
                .label("kWh")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], ENERGY.stroke_width(2)));
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(208, 213, 218))
                .draw()
                .map_err(drawing)?;
            if let Some(lower) = lower {
                panel(&lower, span_min, 100.0, "SoC %", &label)?
                    .draw_series(LineSeries::new(soc.iter().copied(), SOC.stroke_width(2)))
                    .map_err(drawing)?;
            }
            root.present().map_err(drawing)?;
        }
        Ok(svg)
    }
}

/// What chart to draw.
#[derive(Debug, Clone, Deserialize, ts_rs::TS)]
#[serde(tag = "chart", rename_all = "snake_case")]
pub enum ChartKind {
    /// One session's power, energy and state of charge.
    Session { transaction_id: i64 },
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
        }
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
