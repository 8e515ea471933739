//! The run as a PNG: oracle price with liquidations and ADL marked, insurance vault balance, and
//! open interest, on one time axis.

use std::path::Path;

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

/// Draws `rows` to `path`; `lots_per_base` converts lots to base units (1,000 for 0.001 BTC lots).
pub fn draw(path: &Path, title: &str, rows: &[Row], lots_per_base: f64) -> anyhow::Result<()> {
    register_fonts()?;
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, (FONT, 26).into_font().style(FontStyle::Bold))?;
    let panels = root.split_evenly((3, 1));
    let minutes = |r: &Row| r.time_secs as f64 / 60.0;
    let x_end = rows.last().map_or(1.0, minutes).max(1.0 / 60.0);
    let x_range = 0.0..x_end;

    // Price, with each step's liquidations and ADL fills marked on the line.
    let (low, high) = range_of(rows.iter().map(|r| r.oracle_usd));
    let mut price = ChartBuilder::on(&panels[0])
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .caption("Oracle price", (FONT, 20))
        .build_cartesian_2d(x_range.clone(), low..high)?;
    price
        .configure_mesh()
        .x_desc("time (minutes)")
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_desc("price (USD)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    price
        .draw_series(LineSeries::new(
            rows.iter().map(|r| (minutes(r), r.oracle_usd)),
            BLUE.stroke_width(2),
        ))?
        .label("oracle price")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    price
        .draw_series(rows.iter().filter(|r| r.liquidations > 0).map(|r| {
            EmptyElement::at((minutes(r), r.oracle_usd))
                + Circle::new((0, LIQUIDATION_OFFSET), 5, RGBColor(255, 140, 0).filled())
        }))?
        .label("liquidations")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, RGBColor(255, 140, 0).filled()));
    price
        .draw_series(rows.iter().filter(|r| r.bankruptcies > 0).map(|r| {
            EmptyElement::at((minutes(r), r.oracle_usd))
                + Cross::new((0, BANKRUPTCY_OFFSET), 5, BLACK.stroke_width(2))
        }))?
        .label("bankruptcies")
        .legend(|(x, y)| Cross::new((x + 10, y), 5, BLACK.stroke_width(2)));
    price
        .draw_series(rows.iter().filter(|r| r.adl_fills > 0).map(|r| {
            EmptyElement::at((minutes(r), r.oracle_usd))
                + TriangleMarker::new((0, ADL_OFFSET), 8, RED.filled())
        }))?
        .label("ADL fills")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 8, RED.filled()));
    price
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;

    // Insurance vault.
    let insurance = |r: &Row| r.insurance_atoms as f64 / 1e6;
    let (low, high) = range_of(rows.iter().map(insurance));
    let mut vault = ChartBuilder::on(&panels[1])
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .caption("Insurance vault", (FONT, 20))
        .build_cartesian_2d(x_range.clone(), low.max(0.0)..high)?;
    vault
        .configure_mesh()
        .x_desc("time (minutes)")
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_desc("balance (USDC)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    vault.draw_series(LineSeries::new(
        rows.iter().map(|r| (minutes(r), insurance(r))),
        GREEN.stroke_width(2),
    ))?;
    vault.draw_series(
        rows.iter()
            .filter(|r| r.adl_fills > 0)
            .map(|r| TriangleMarker::new((minutes(r), insurance(r)), 10, RED.filled())),
    )?;

    // Open interest.
    let open_interest = |r: &Row| r.open_interest_lots as f64 / lots_per_base;
    let (low, high) = range_of(rows.iter().map(open_interest));
    let mut oi = ChartBuilder::on(&panels[2])
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .caption("Open interest (each side)", (FONT, 20))
        .build_cartesian_2d(x_range, low.max(0.0)..high)?;
    oi.configure_mesh()
        .x_desc("time (minutes)")
        .x_label_formatter(&|v| format!("{v:.1}"))
        .y_desc("open interest (BTC)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(WHITE)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    oi.draw_series(LineSeries::new(
        rows.iter().map(|r| (minutes(r), open_interest(r))),
        MAGENTA.stroke_width(2),
    ))?;
    oi.draw_series(
        rows.iter()
            .filter(|r| r.adl_fills > 0)
            .map(|r| TriangleMarker::new((minutes(r), open_interest(r)), 10, RED.filled())),
    )?;
    root.present()?;
    Ok(())
}
