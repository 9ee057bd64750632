//! `chaperone history --plot`: the sessions over days. The top panel has a bar per session, as long as it
//! ran, shaded by how it ended, over a hollow bar for the length planned; the bottom panel the share of
//! each session the cat spent calm. Days are told apart by bands, each named by its date.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::Picture;
use crate::error::Result;
use crate::session::history::{HistoryEntry, Outcome};

/// Shades far apart in grey (luma about 190, 80, 0 and 150), each also named in the legend.
const COMPLETED: RGBColor = RGBColor(166, 217, 106);
const STOPPED: RGBColor = RGBColor(200, 30, 30);
const FAULT: RGBColor = RGBColor(0, 0, 0);
const EARLY: RGBColor = RGBColor(150, 150, 150);

fn shade(outcome: Outcome) -> RGBColor {
    match outcome {
        Outcome::Completed => COMPLETED,
        Outcome::Stopped => STOPPED,
        Outcome::Fault => FAULT,
        Outcome::Interrupted | Outcome::SourceEnded => EARLY,
    }
}

struct HistoryPicture<'a>(&'a [HistoryEntry]);

/// Draws the history to `STEM.png` and `STEM.svg`.
pub fn write(entries: &[HistoryEntry], stem: &Path) -> Result<Vec<PathBuf>> {
    super::save(&HistoryPicture(entries), stem)
}

/// The UTC day (`YYYY-MM-DD`) and time (`HH:MM`) of an RFC 3339 timestamp.
fn day_and_time(started: &str) -> (&str, &str) {
    (started.get(..10).unwrap_or(started), started.get(11..16).unwrap_or(""))
}

type DrawResult<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

impl Picture for HistoryPicture<'_> {
    fn size(&self) -> (u32, u32) {
        // Wide enough for every session's bar to be seen, at least a page wide.
        (1100u32.max(120 + 28 * self.0.len() as u32), 620)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let entries = self.0;
        root.fill(&WHITE)?;
        let (title, rest) = root.split_vertically(34);
        let stops = entries.iter().filter(|e| e.outcome == Outcome::Stopped).count();
        let heading = format!(
            "{} session{}, {} stopped by the animals, {} by faults",
            entries.len(),
            if entries.len() == 1 { "" } else { "s" },
            stops,
            entries.iter().filter(|e| e.outcome == Outcome::Fault).count()
        );
        title.draw(&Text::new(heading, (10, 8), ("sans-serif", 18).into_font().color(&BLACK)))?;
        let (lengths, rest) = rest.split_vertically(330);
        let (calm, legend) = rest.split_vertically(210);
        draw_lengths(&lengths, entries)?;
        draw_calm(&calm, entries)?;
        draw_legend(&legend)?;
        root.present()
    }
}

type SessionChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// Sessions are numbered left to right; each day's first session names the day, and about a dozen
/// others are named by their time.
fn session_label(entries: &[HistoryEntry], i: f64) -> String {
    let step = entries.len().div_ceil(12).max(1);
    let k = i.round();
    if (i - k).abs() > 1e-6 || k < 0.0 || k as usize >= entries.len() {
        return String::new();
    }
    let k = k as usize;
    let (day, time) = day_and_time(&entries[k].started);
    let new_day = k == 0 || day_and_time(&entries[k - 1].started).0 != day;
    if new_day {
        format!("{day} {time}")
    } else if k.is_multiple_of(step) {
        time.to_string()
    } else {
        String::new()
    }
}

/// Every other day shaded, so sessions of one day group together.
fn day_bands<DB: DrawingBackend>(chart: &mut SessionChart<DB>, entries: &[HistoryEntry], top: f64) -> DrawResult<DB> {
    let mut day_index = 0;
    for (k, e) in entries.iter().enumerate() {
        if k > 0 && day_and_time(&entries[k - 1].started).0 != day_and_time(&e.started).0 {
            day_index += 1;
        }
        if day_index % 2 == 1 {
            let r = Rectangle::new([(k as f64 - 0.5, 0.0), (k as f64 + 0.5, top)], RGBColor(240, 240, 240).filled());
            chart.draw_series(std::iter::once(r))?;
        }
    }
    Ok(())
}

/// Each session's length as a bar shaded by how it ended, inside its planned length's outline.
fn draw_lengths<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[HistoryEntry]) -> DrawResult<DB> {
    let n = entries.len().max(1) as f64;
    let longest_s = entries.iter().map(|e| e.planned_s.max(e.length_s)).fold(1.0f64, f64::max);
    // Minutes, unless every session is shorter than two.
    let (unit_s, unit) = if longest_s < 120.0 { (1.0, "seconds") } else { (60.0, "minutes") };
    let longest = longest_s / unit_s * 1.1;
    let mut chart = ChartBuilder::on(area)
        .margin_left(10)
        .margin_right(20)
        .margin_top(6)
        .y_label_area_size(70)
        .x_label_area_size(44)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..longest)?;
    let label = |i: &f64| session_label(entries, *i);
    super::quiet_mesh(&mut chart.configure_mesh())
        .y_desc(format!("session length ({unit})"))
        .x_desc("sessions, by UTC start")
        .x_labels(entries.len() + 1)
        .x_label_formatter(&label)
        .disable_x_mesh()
        .draw()?;
    day_bands(&mut chart, entries, longest)?;
    for (k, e) in entries.iter().enumerate() {
        let x0 = k as f64 - 0.35;
        let x1 = k as f64 + 0.35;
        let planned = Rectangle::new([(x0, 0.0), (x1, e.planned_s / unit_s)], BLACK.stroke_width(1));
        let ran = Rectangle::new([(x0, 0.0), (x1, e.length_s / unit_s)], shade(e.outcome).filled());
        let ran_edge = Rectangle::new([(x0, 0.0), (x1, e.length_s / unit_s)], BLACK.stroke_width(1));
        chart.draw_series([ran, ran_edge, planned])?;
    }
    Ok(())
}

/// The calm share of each session, as a line.
fn draw_calm<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[HistoryEntry]) -> DrawResult<DB> {
    let n = entries.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin_top(14)
        .margin_left(10)
        .margin_right(20)
        .y_label_area_size(70)
        .x_label_area_size(10)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..100.0)?;
    super::quiet_mesh(&mut chart.configure_mesh()).y_desc("calm, % of session").x_labels(0).disable_x_mesh().draw()?;
    day_bands(&mut chart, entries, 100.0)?;
    let share: Vec<(f64, f64)> = entries
        .iter()
        .enumerate()
        .map(|(k, e)| (k as f64, if e.length_s > 0.0 { (100.0 * e.calm_s / e.length_s).min(100.0) } else { 0.0 }))
        .collect();
    chart.draw_series(LineSeries::new(share.clone(), BLACK.stroke_width(2)))?;
    chart.draw_series(share.iter().map(|&p| Circle::new(p, 4, BLACK.filled())))?;
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(legend: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let text = |s: &str, x: i32| Text::new(s.to_string(), (x, 16), ("sans-serif", 12).into_font().color(&BLACK));
    let mut x = 80;
    for (colour, name) in [
        (COMPLETED, "completed"),
        (STOPPED, "stopped by the animals"),
        (FAULT, "fault (could not supervise)"),
        (EARLY, "ended early"),
    ] {
        legend.draw(&Rectangle::new([(x, 14), (x + 22, 28)], colour.filled()))?;
        legend.draw(&Rectangle::new([(x, 14), (x + 22, 28)], BLACK.stroke_width(1)))?;
        legend.draw(&text(name, x + 28))?;
        x += 40 + 7 * name.len() as i32;
    }
    legend.draw(&Rectangle::new([(x, 14), (x + 22, 28)], BLACK.stroke_width(1)))?;
    legend.draw(&text("planned length (outline)", x + 28))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(started: &str, length_s: f64, outcome: Outcome, calm_s: f64) -> HistoryEntry {
        HistoryEntry {
            started: started.into(),
            ended: started.into(),
            source: "camera 0".into(),
            planned_s: 120.0,
            length_s,
            outcome,
            reason: None,
            episodes: Vec::new(),
            calm_s,
            out_dir: "x".into(),
        }
    }

    #[test]
    fn the_outcomes_stay_apart_in_a_grey_print() {
        let shades = [COMPLETED, STOPPED, FAULT, EARLY, WHITE];
        assert!(super::super::apart_in_grey(&shades, 30.0), "{:?}", shades.map(super::super::luma));
    }

    #[test]
    fn each_session_is_a_bar_shaded_by_how_it_ended() {
        let dir = tempfile::tempdir().unwrap();
        let entries = [
            entry("2026-11-24T10:00:00Z", 120.0, Outcome::Completed, 60.0),
            entry("2026-11-24T15:00:00Z", 30.0, Outcome::Stopped, 0.0),
            entry("2026-11-25T09:30:00Z", 120.0, Outcome::Fault, 30.0),
        ];
        let written = write(&entries, &dir.path().join("history")).unwrap();
        let png = image::open(&written[0]).unwrap().to_rgb8();
        let picture = HistoryPicture(&entries);
        assert_eq!((png.width(), png.height()), picture.size());
        let svg = std::fs::read_to_string(&written[1]).unwrap();
        for words in [
            "3 sessions, 1 stopped by the animals, 1 by faults",
            "2026-11-24 10:00",
            "2026-11-25 09:30",
            "calm, % of session",
        ] {
            assert!(svg.contains(words), "the SVG says {words:?}");
        }
        // Each shade is on the picture.
        let has = |c: RGBColor| png.pixels().any(|p| p.0 == [c.0, c.1, c.2]);
        assert!(has(COMPLETED) && has(STOPPED));
    }
}
