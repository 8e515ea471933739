//! The run as a PNG: oracle price with liquidations and ADL marked, insurance vault balance, and
//! open interest, on one time axis.

use std::path::Path;

use plotters::chart::SeriesAnno;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::report::Row;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1050;
const FONT: &str = "sans-serif";
/// Pixel offsets of the event markers from the price line, so events of one step stay apart:
/// ADL above the line, liquidations and bankruptcies below.
const ADL_OFFSET: i32 = -16;
const LIQUIDATION_OFFSET: i32 = 16;
const BANKRUPTCY_OFFSET: i32 = 30;

/// Registers the embedded DejaVu Sans (no system fonts are needed).
fn register_fonts() -> anyhow::Result<()> {
    plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| anyhow::anyhow!("embedded font rejected"))?;
    plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
        .map_err(|_| anyhow::anyhow!("embedded font rejected"))
}

/// Extends `[low, high]` by a margin so lines do not touch the frame.
fn padded(low: f64, high: f64) -> (f64, f64) {
    let margin = ((high - low) * 0.08).max(high.abs() * 0.01).max(1e-6);
    (low - margin, high + margin)
}

fn range_of(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        (0.0, 1.0)
    } else {
        padded(low, high)
    }
}

type Panel<'a> = ChartContext<'a, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn minutes(r: &Row) -> f64 {
    r.time_secs as f64 / 60.0
}

/// One panel of the chart: `value` over time as a line, axes labelled.
fn panel<'a>(
    area: &DrawingArea<BitMapBackend<'a>, Shift>,
    caption: &str,
    y_desc: &str,
    rows: &[Row],
    value: &dyn Fn(&Row) -> f64,
    color: RGBColor,
) -> anyhow::Result<Panel<'a>> {
    let x_end = rows.last().map_or(1.0, minutes).max(1.0 / 60.0);
    let (low, high) = range_of(rows.iter().map(value));
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .caption(caption, (FONT, 20))
        .build_cartesian_2d(0.0..x_end, low.max(0.0)..high)?;
    chart
        .configure_mesh()
        .x_desc("time (minutes)")
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_desc(y_desc)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            rows.iter().map(|r| (minutes(r), value(r))),
            color.stroke_width(2),
        ))?
        .label(caption.to_lowercase())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    Ok(chart)
}

/// Marks the steps with `count(row) > 0` beside a panel's line (the marker's own pixel offset).
fn mark<'a, 'c, E>(
    chart: &'c mut Panel<'a>,
    rows: &[Row],
    value: &dyn Fn(&Row) -> f64,
    count: fn(&Row) -> u64,
    marker: impl Fn() -> E,
) -> anyhow::Result<&'c mut SeriesAnno<'a, BitMapBackend<'a>>>
where
    E: Drawable<BitMapBackend<'a>> + 'a,
    for<'b> &'b E: PointCollection<'b, (i32, i32)>,
{
    Ok(chart.draw_series(
        rows.iter()
            .filter(|r| count(r) > 0)
            .map(|r| EmptyElement::at((minutes(r), value(r))) + marker()),
    )?)
}

/// Draws `rows` to `path`; `lots_per_base` converts lots to base units (1,000 for 0.001 BTC lots).
pub fn draw(path: &Path, title: &str, rows: &[Row], lots_per_base: f64) -> anyhow::Result<()> {
    register_fonts()?;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, (FONT, 26).into_font().style(FontStyle::Bold))?;
    let panels = root.split_evenly((3, 1));
    let orange = RGBColor(255, 140, 0);
    let adl = || TriangleMarker::new((0, ADL_OFFSET), 8, RED.filled());

    // Price, with each step's liquidations, bankruptcies and ADL fills marked beside the line.
    let price = |r: &Row| r.oracle_usd;
    let mut chart = panel(
        &panels[0],
        "Oracle price",
        "price (USD)",
        rows,
        &price,
        BLUE,
    )?;
    mark(
        &mut chart,
        rows,
        &price,
        |r| r.liquidations,
        || Circle::new((0, LIQUIDATION_OFFSET), 5, orange.filled()),
    )?
    .label("liquidations")
    .legend(move |(x, y)| Circle::new((x + 10, y), 5, orange.filled()));
    mark(
        &mut chart,
        rows,
        &price,
        |r| r.bankruptcies,
        || Cross::new((0, BANKRUPTCY_OFFSET), 5, BLACK.stroke_width(2)),
    )?
    .label("bankruptcies")
    .legend(|(x, y)| Cross::new((x + 10, y), 5, BLACK.stroke_width(2)));
    mark(&mut chart, rows, &price, |r| r.adl_fills, adl)?
        .label("ADL fills")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 8, RED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;

    let insurance = |r: &Row| r.insurance_atoms as f64 / 1e6;
    let mut chart = panel(
        &panels[1],
        "Insurance vault",
        "balance (USDC)",
        rows,
        &insurance,
        GREEN,
    )?;
    mark(&mut chart, rows, &insurance, |r| r.adl_fills, adl)?;

    let open_interest = |r: &Row| r.open_interest_lots as f64 / lots_per_base;
    let mut chart = panel(
        &panels[2],
        "Open interest (each side)",
        "open interest (BTC)",
        rows,
        &open_interest,
        MAGENTA,
    )?;
    mark(&mut chart, rows, &open_interest, |r| r.adl_fills, adl)?;
    root.present()?;
    Ok(())
}
