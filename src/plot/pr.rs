//! Precision-recall curves from `tune`, one panel per behaviour, with each point labelled by the
//! threshold that gave it and the chosen one circled.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Picture;
use crate::error::Result;
use serde::Serialize;

/// One point of a precision-recall curve.
#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    pub value: f64,
    pub precision: f64,
    pub recall: f64,
}

/// A behaviour's precision and recall as its first parameter sweeps its values, the rest of `config` held.
#[derive(Debug, Clone, Serialize)]
pub struct PrCurve {
    pub behaviour: String,
    pub key: String,
    pub chosen: f64,
    pub points: Vec<CurvePoint>,
}

struct PrPicture<'a>(&'a [PrCurve]);

impl Picture for PrPicture<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 300 * self.0.len().div_ceil(4).max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        draw_pr(root, self.0)
    }
}

/// Draws the precision-recall curves, one panel per behaviour, to `STEM.png` and `STEM.svg`.
pub fn pr_curves(curves: &[PrCurve], stem: &Path) -> Result<Vec<PathBuf>> {
    super::save(&PrPicture(curves), stem)
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
