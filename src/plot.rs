//! Pictures (plotters): precision-recall curves from `tune`, as PNG and SVG. Text needs a font: DejaVu
//! Sans from the system (Debian's `fonts-dejavu-core`, installed by set-up) or `$CHAPERONE_FONT`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::tune::PrCurve;

const FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Registers the font once; an error says what to install.
fn font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let candidates: Vec<PathBuf> = std::env::var_os("CHAPERONE_FONT")
                .map(PathBuf::from)
                .into_iter()
                .chain(FONT_PATHS.iter().map(PathBuf::from))
                .collect();
            let path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
                "no font for the pictures' text: install fonts-dejavu-core (scripts/setup.sh does) or set CHAPERONE_FONT to a .ttf file".to_string()
            })?;
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            // Plotters keeps fonts for the life of the program.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("{}: not a usable font", path.display()))
        })
        .clone()
        .map_err(Error::Config)
}

/// Draws the precision-recall curves, one panel per behaviour, to `STEM.png` and `STEM.svg`.
pub fn pr_curves(curves: &[PrCurve], stem: &Path) -> Result<Vec<PathBuf>> {
    font()?;
    let size = (1200u32, 300 * curves.len().div_ceil(4).max(1) as u32);
    let png = PathBuf::from(format!("{}.png", stem.display()));
    let svg = PathBuf::from(format!("{}.svg", stem.display()));
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        draw_pr(&root, curves).map_err(|e| Error::Config(format!("cannot draw {}: {e}", png.display())))?;
    }
    image::RgbImage::from_raw(size.0, size.1, pixels)
        .expect("the buffer has the picture's size")
        .save(&png)
        .map_err(|e| Error::Image { path: png.clone(), message: format!("cannot write: {e}") })?;
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw_pr(&root, curves).map_err(|e| Error::Config(format!("cannot write {}: {e}", svg.display())))?;
    }
    Ok(vec![png, svg])
}

fn draw_pr<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[PrCurve],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let panels = root.split_evenly((curves.len().div_ceil(4).max(1), 4));
    for (panel, curve) in panels.iter().zip(curves) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{} ({})", curve.behaviour, curve.key), ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(38)
            .build_cartesian_2d(0.0..1.05f64, 0.0..1.05f64)?;
        chart
            .configure_mesh()
            .x_desc("recall")
            .y_desc("precision")
            .label_style(("sans-serif", 11))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let points: Vec<(f64, f64)> = curve.points.iter().map(|p| (p.recall, p.precision)).collect();
        chart.draw_series(LineSeries::new(points.clone(), BLACK.stroke_width(1)))?;
        chart.draw_series(points.iter().map(|&(x, y)| Circle::new((x, y), 3, BLACK.filled())))?;
        for p in &curve.points {
            let label = format!("{}", p.value);
            chart.draw_series(std::iter::once(Text::new(label, (p.recall, p.precision), ("sans-serif", 10))))?;
        }
        if let Some(chosen) = curve.points.iter().find(|p| (p.value - curve.chosen).abs() < 1e-9) {
            let at = (chosen.recall, chosen.precision);
            chart.draw_series(std::iter::once(Circle::new(at, 7, RED.stroke_width(2))))?;
        }
    }
    root.present()
}
