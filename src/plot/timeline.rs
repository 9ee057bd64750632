//! `timeline.png` and `timeline.svg`: what happened in a session or an analysed video, at a glance.
//!
//! The top panel is the gap from the cat to the rat (cat body lengths) over time; below it, an ethogram:
//! one lane per behaviour and animal, a bar per episode from its onset to its end, pale before the engine
//! confirmed it and solid after. Bars are shaded by what the episode means (stop, warning, reward cue,
//! fault), darkest for the most serious, so the picture survives being printed in grey; markers carry
//! the same meaning by shape (a triangle for a warning, a circle for a reward cue, a cross for a fault),
//! and vertical lines mark the alarms, the session's stop thickest.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Picture;
use crate::behaviour::{Episode, GapTrace};
use crate::error::Result;
use crate::kinds::{Behaviour, Severity};
use crate::session::controller::{SessionConfig, StopReason};

/// Everything a timeline shows.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The heading: the input or session, and how it ended.
    pub title: String,
    pub start_s: f64,
    pub end_s: f64,
    pub gap: GapTrace,
    pub episodes: Vec<Episode>,
    /// What each episode means (its severities).
    pub session: SessionConfig,
    /// The session's stop, when a live session stopped.
    pub stop: Option<StopReason>,
    /// Intervals labelled by people, each set in a lane of its own under the ethogram (e.g. "labels:
    /// freezing"), so the engine's episodes can be read against them.
    pub labelled: Vec<(String, Vec<(f64, f64)>)>,
}

impl Timeline {
    /// A run from `start_s` to `end_s`, with what each behaviour means taken from `session`.
    pub fn new(
        title: String,
        (start_s, end_s): (f64, f64),
        gap: GapTrace,
        episodes: Vec<Episode>,
        session: &SessionConfig,
        stop: Option<StopReason>,
    ) -> Timeline {
        Timeline { title, start_s, end_s, gap, episodes, session: session.clone(), stop, labelled: Vec::new() }
    }

    /// The ethogram's lanes and then the labelled ones.
    fn lane_count(&self) -> usize {
        LANES.len() + self.labelled.len()
    }

    fn lane_name(&self, lane: usize) -> String {
        match LANES.get(lane) {
            Some(lane) => lane.map_or(FAULT_LABEL, Behaviour::label).to_string(),
            None => self.labelled.get(lane - LANES.len()).map_or_else(String::new, |(name, _)| name.clone()),
        }
    }

    fn severity(&self, episode: &Episode) -> Severity {
        self.session.severity_of(episode)
    }
}

type TimeChart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// Draws `timeline` to `STEM.png` and `STEM.svg`.
pub fn write(timeline: &Timeline, stem: &Path) -> Result<Vec<PathBuf>> {
    super::save(timeline, stem)
}

/// The ethogram's lanes, top to bottom: (behaviour, animal, label). Faults share the last lane.
const LANES: [Option<Behaviour>; 7] = [
    Some(Behaviour::Approach),
    Some(Behaviour::Stalking),
    Some(Behaviour::Fixation),
    Some(Behaviour::Calm),
    Some(Behaviour::Freezing),
    Some(Behaviour::Hiding),
    None,
];
/// The last lane: every fault shares it.
const FAULT_LABEL: &str = "can't see / keep up";
const FAULT_LANE: usize = LANES.len() - 1;

fn lane_of(e: &Episode) -> usize {
    if e.behaviour.is_fault() {
        return FAULT_LANE;
    }
    LANES.iter().position(|b| *b == Some(e.behaviour)).unwrap_or(FAULT_LANE)
}

/// Shades whose grey values stay apart (luma about 80, 140, 190 and 0), so a grey print still tells them.
const STOP_COLOUR: RGBColor = RGBColor(200, 30, 30);
const WARN_COLOUR: RGBColor = RGBColor(230, 120, 0);
const CUE_COLOUR: RGBColor = RGBColor(166, 217, 106);
const FAULT_COLOUR: RGBColor = RGBColor(0, 0, 0);
/// Intervals labelled by people: neutral, so they never read as a meaning of their own.
const LABELLED_COLOUR: RGBColor = RGBColor(110, 110, 110);

fn colour_for(e: &Episode, severity: Severity) -> RGBColor {
    if e.behaviour.is_fault() {
        return FAULT_COLOUR;
    }
    match severity {
        Severity::Stop => STOP_COLOUR,
        Severity::Warn => WARN_COLOUR,
        Severity::Cue => CUE_COLOUR,
    }
}

/// A colour washed toward white: the part of an episode before the engine confirmed it.
fn pale(c: RGBColor) -> RGBColor {
    let mix = |v: u8| (v as f64 + (255.0 - v as f64) * 0.6) as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

const WIDTH: u32 = 1200;
const TITLE_H: u32 = 34;
const GAP_PANEL_H: u32 = 200;
const LANE_H: u32 = 30;
const AXIS_H: u32 = 40;
const LEGEND_H: u32 = 44;
/// Room for the lanes' names left of both panels, so their time axes line up.
const LABEL_W: u32 = 150;

type DrawResult<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

impl Picture for Timeline {
    fn size(&self) -> (u32, u32) {
        (WIDTH, TITLE_H + GAP_PANEL_H + LANE_H * self.lane_count() as u32 + AXIS_H + LEGEND_H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let (title, rest) = root.split_vertically(TITLE_H);
        title.draw(&Text::new(self.title.clone(), (10, 8), ("sans-serif", 18).into_font().color(&BLACK)))?;
        let (gap_area, rest) = rest.split_vertically(GAP_PANEL_H);
        let (lanes_area, legend) = rest.split_vertically(LANE_H * self.lane_count() as u32 + AXIS_H);
        let end = if self.end_s > self.start_s { self.end_s } else { self.start_s + 1.0 };
        // A little room after the end, so that a stop at the very end is seen as a line, not the frame.
        let x_range = self.start_s..end + (end - self.start_s) * 0.02;
        self.draw_gap(&gap_area, x_range.clone())?;
        self.draw_lanes(&lanes_area, x_range)?;
        draw_legend(&legend)?;
        root.present()
    }
}

impl Timeline {
    /// Alarm moments: (time, words, is the session's own stop).
    fn alarms(&self) -> Vec<(f64, String, bool)> {
        let mut alarms: Vec<(f64, String, bool)> = self
            .episodes
            .iter()
            .filter(|e| !e.behaviour.is_fault() && self.severity(e) == Severity::Stop)
            .map(|e| (e.confirmed_s, format!("alarm: {}", e.behaviour), false))
            .collect();
        if let Some(stop) = &self.stop {
            alarms.retain(|(t, _, _)| (t - stop.time_s).abs() > 1e-6);
            let kind = if stop.fault { "FAULT" } else { "STOPPED" };
            alarms.push((stop.time_s, format!("{kind}: {}", stop.behaviour.name().replace('_', " ")), true));
        }
        alarms
    }

    fn draw_gap<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, x: std::ops::Range<f64>) -> DrawResult<DB> {
        let known = self.gap.samples.iter().filter_map(|(_, g)| *g);
        // Far-apart animals do not need the scale: the part that matters is the last few body lengths.
        let top = known.fold(1.0f64, f64::max).min(15.0).ceil() + 0.5;
        let mut chart = ChartBuilder::on(area)
            .margin_left(10)
            .margin_right(20)
            .margin_top(6)
            .y_label_area_size(LABEL_W)
            .x_label_area_size(0)
            .build_cartesian_2d(x.clone(), 0.0..top)?;
        super::quiet_mesh(&mut chart.configure_mesh())
            .y_desc("cat-rat gap (cat body lengths)")
            .y_labels(8)
            .x_labels(0)
            .draw()?;
        // One line per stretch where the gap was known: unknown stretches stay blank.
        let mut stretch: Vec<(f64, f64)> = Vec::new();
        let mut stretches = Vec::new();
        for &(t, g) in &self.gap.samples {
            match g {
                Some(g) => stretch.push((t, g.min(top))),
                None if !stretch.is_empty() => stretches.push(std::mem::take(&mut stretch)),
                None => {}
            }
        }
        stretches.push(stretch);
        for (i, s) in stretches.into_iter().filter(|s| !s.is_empty()).enumerate() {
            let series = chart.draw_series(LineSeries::new(s, BLACK.stroke_width(2)))?;
            if i == 0 {
                series
                    .label("cat-rat gap")
                    .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(2)));
            }
        }
        if self.gap.samples.iter().all(|(_, g)| g.is_none()) {
            let middle = (x.start + (x.end - x.start) * 0.35, top * 0.5);
            chart.draw_series(std::iter::once(Text::new(
                "gap unknown: the cat and the rat were never both in view",
                middle,
                ("sans-serif", 14).into_font().color(&RGBColor(90, 90, 90)),
            )))?;
        }
        for (t, words, own) in self.alarms() {
            let style = if own { BLACK.stroke_width(3) } else { STOP_COLOUR.stroke_width(2) };
            chart.draw_series(LineSeries::new([(t, 0.0), (t, top)], style))?;
            // Labels stand right of their line, or left of it in the right half, to stay on the picture.
            let leftward = t > (x.start + x.end) / 2.0;
            let anchor = if leftward { HPos::Right } else { HPos::Left };
            let label_style = ("sans-serif", if own { 14 } else { 12 })
                .into_font()
                .color(if own { &BLACK } else { &STOP_COLOUR })
                .pos(Pos::new(anchor, VPos::Top));
            let words = if leftward { format!("{words} ") } else { format!(" {words}") };
            chart.draw_series(std::iter::once(Text::new(words, (t, top), label_style)))?;
        }
        Ok(())
    }

    fn draw_lanes<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, x: std::ops::Range<f64>) -> DrawResult<DB> {
        let lanes = self.lane_count() as f64;
        let mut chart = ChartBuilder::on(area)
            .margin_left(10)
            .margin_right(20)
            .y_label_area_size(LABEL_W)
            .x_label_area_size(AXIS_H)
            .build_cartesian_2d(x.clone(), 0.0..lanes)?;
        // Lane i (from the top) spans [lanes - i - 1, lanes - i); its name sits at its middle.
        let lane_name = |y: &f64| {
            let from_top = lanes - y - 0.5;
            let i = from_top.round();
            if (from_top - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < self.lane_count() {
                self.lane_name(i as usize)
            } else {
                String::new()
            }
        };
        super::quiet_mesh(&mut chart.configure_mesh())
            .x_desc("time (s)")
            .y_labels(self.lane_count() * 2 + 1)
            .y_label_formatter(&lane_name)
            .disable_y_mesh()
            .x_labels(12)
            .draw()?;
        let lane_y = |lane: usize| (lanes - lane as f64 - 1.0, lanes - lane as f64);
        // Alternate lanes lightly shaded, so a bar is read against the right name.
        for lane in (0..self.lane_count()).step_by(2) {
            let (y0, y1) = lane_y(lane);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x.start, y0), (x.end, y1)],
                RGBColor(246, 246, 246).filled(),
            )))?;
        }
        for e in &self.episodes {
            self.draw_episode(&mut chart, e, lane_y(lane_of(e)), x.end)?;
        }
        for (k, (_, intervals)) in self.labelled.iter().enumerate() {
            let (y0, y1) = lane_y(LANES.len() + k);
            let (b0, b1) = (y0 + 0.18, y1 - 0.18);
            for &(from, to) in intervals {
                chart.draw_series([
                    Rectangle::new([(from, b0), (to, b1)], LABELLED_COLOUR.filled()),
                    Rectangle::new([(from, b0), (to, b1)], BLACK.stroke_width(1)),
                ])?;
            }
        }
        for (t, _, own) in self.alarms() {
            let style = if own { BLACK.stroke_width(3) } else { STOP_COLOUR.stroke_width(2) };
            chart.draw_series(LineSeries::new([(t, 0.0), (t, lanes)], style))?;
        }
        Ok(())
    }

    /// One episode's bar in its lane (`y0..y1`), pale until confirmed, with its marker.
    fn draw_episode<DB: DrawingBackend>(
        &self,
        chart: &mut TimeChart<DB>,
        e: &Episode,
        (y0, y1): (f64, f64),
        x_end: f64,
    ) -> DrawResult<DB> {
        let (b0, b1) = (y0 + 0.18, y1 - 0.18);
        let severity = self.severity(e);
        let colour = colour_for(e, severity);
        let end = e.end_s.unwrap_or(x_end).min(x_end);
        let confirmed = e.confirmed_s.clamp(e.onset_s, end.max(e.onset_s));
        if confirmed > e.onset_s {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(e.onset_s, b0), (confirmed, b1)],
                pale(colour).filled(),
            )))?;
        }
        if end > confirmed {
            chart.draw_series(std::iter::once(Rectangle::new([(confirmed, b0), (end, b1)], colour.filled())))?;
        }
        chart.draw_series(std::iter::once(Rectangle::new(
            [(e.onset_s, b0), (end.max(e.onset_s), b1)],
            BLACK.stroke_width(1),
        )))?;
        let mid = (y0 + y1) / 2.0;
        let at = (e.confirmed_s, mid);
        match (e.behaviour.is_fault(), severity) {
            (true, _) => {
                chart.draw_series(std::iter::once(Cross::new(at, 6, WHITE.stroke_width(3))))?;
                chart.draw_series(std::iter::once(Cross::new(at, 6, BLACK.stroke_width(1))))?;
                let name = e.behaviour.name().replace('_', " ");
                chart.draw_series(std::iter::once(Text::new(
                    name,
                    (end.max(e.onset_s), y1 - 0.1),
                    ("sans-serif", 11).into_font().color(&BLACK),
                )))?;
            }
            (false, Severity::Warn) => {
                chart.draw_series(std::iter::once(TriangleMarker::new(at, 9, BLACK.filled())))?;
                chart.draw_series(std::iter::once(TriangleMarker::new(at, 6, WARN_COLOUR.filled())))?;
            }
            (false, Severity::Cue) => {
                chart.draw_series(std::iter::once(Circle::new(at, 5, WHITE.filled())))?;
                chart.draw_series(std::iter::once(Circle::new(at, 5, BLACK.stroke_width(2))))?;
            }
            (false, Severity::Stop) => {}
        }
        Ok(())
    }
}

/// The key along the bottom: what the shades, markers and lines mean.
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let text = |s: &str, x: i32| Text::new(s.to_string(), (x, 16), ("sans-serif", 12).into_font().color(&BLACK));
    let swatch = |x: i32, c: RGBColor| Rectangle::new([(x, 14), (x + 22, 28)], c.filled());
    let outline = |x: i32| Rectangle::new([(x, 14), (x + 22, 28)], BLACK.stroke_width(1));
    let mut x = 10 + LABEL_W as i32;
    for (colour, name) in [
        (STOP_COLOUR, "stop"),
        (WARN_COLOUR, "warning"),
        (CUE_COLOUR, "reward cue"),
        (FAULT_COLOUR, "fault"),
        (pale(WARN_COLOUR), "before confirmation"),
    ] {
        area.draw(&swatch(x, colour))?;
        area.draw(&outline(x))?;
        area.draw(&text(name, x + 28))?;
        x += 36 + 7 * name.len() as i32;
    }
    area.draw(&TriangleMarker::new((x + 6, 21), 9, BLACK.filled()))?;
    area.draw(&TriangleMarker::new((x + 6, 21), 6, WARN_COLOUR.filled()))?;
    area.draw(&text("warned", x + 18))?;
    x += 76;
    area.draw(&Circle::new((x + 6, 21), 5, BLACK.stroke_width(2)))?;
    area.draw(&text("reward cue", x + 18))?;
    x += 98;
    area.draw(&PathElement::new([(x, 21), (x + 22, 21)], STOP_COLOUR.stroke_width(2)))?;
    area.draw(&text("alarm", x + 28))?;
    x += 74;
    area.draw(&PathElement::new([(x, 21), (x + 22, 21)], BLACK.stroke_width(3)))?;
    area.draw(&text("session stopped", x + 28))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Role;

    fn timeline() -> Timeline {
        let mut gap = GapTrace::default();
        for i in 0..=100 {
            let t = i as f64 * 0.1;
            gap.push(t, if (4.0..5.0).contains(&t) { None } else { Some(6.0 - 0.5 * t) });
        }
        let mut freezing = Episode::new(Behaviour::Freezing, Role::Rat, 2.0, 2.9);
        freezing.end_s = Some(4.0);
        Timeline {
            title: "test".into(),
            start_s: 0.0,
            end_s: 10.0,
            gap,
            episodes: vec![
                freezing,
                Episode::new(Behaviour::Approach, Role::Cat, 8.0, 8.3),
                Episode::new(Behaviour::Calm, Role::Cat, 0.5, 1.5),
            ],
            session: SessionConfig::default(),
            stop: Some(StopReason {
                behaviour: Behaviour::Approach,
                animal: Role::Cat,
                fault: false,
                time_s: 8.3,
                words: "the cat approached the rat fast".into(),
            }),
            labelled: vec![("labels: freezing".into(), vec![(2.1, 4.2)])],
        }
    }

    #[test]
    fn the_meanings_stay_apart_in_a_grey_print() {
        let shades = [STOP_COLOUR, WARN_COLOUR, CUE_COLOUR, FAULT_COLOUR, WHITE];
        assert!(super::super::apart_in_grey(&shades, 40.0), "{:?}", shades.map(super::super::luma));
    }

    #[test]
    fn the_gap_trace_keeps_one_sample_a_tenth_of_a_second_and_every_break() {
        let mut g = GapTrace::default();
        for i in 0..100 {
            g.push(i as f64 * 0.01, Some(1.0));
        }
        assert_eq!(g.samples.len(), 10);
        g.push(1.001, None);
        assert_eq!(g.samples.last(), Some(&(1.001, None)), "a break is kept at once");
    }

    #[test]
    fn the_picture_shows_each_episode_in_its_lane_and_shade() {
        let dir = tempfile::tempdir().unwrap();
        let t = timeline();
        let written = write(&t, &dir.path().join("timeline")).unwrap();
        assert_eq!(written.len(), 2);
        let png = image::open(&written[0]).unwrap().to_rgb8();
        assert_eq!((png.width(), png.height()), t.size());
        // Where on the picture a time and a lane are: the lanes' chart spans from LABEL_W + 10 to the
        // right margin, under the title and the gap panel.
        let plot_x0 = 10.0 + LABEL_W as f64;
        let plot_w = WIDTH as f64 - 20.0 - plot_x0;
        let px = |t: f64| (plot_x0 + plot_w * t / 10.2) as u32;
        let lanes_top = TITLE_H + GAP_PANEL_H;
        let lane_mid = |lane: u32| lanes_top + lane * LANE_H + LANE_H / 2;
        let at = |t: f64, lane: u32| *png.get_pixel(px(t), lane_mid(lane));
        assert_eq!(at(3.5, 4), image::Rgb([WARN_COLOUR.0, WARN_COLOUR.1, WARN_COLOUR.2]), "freezing: a warning");
        let p = pale(WARN_COLOUR);
        assert_eq!(at(2.4, 4), image::Rgb([p.0, p.1, p.2]), "before its confirmation, pale");
        assert_eq!(at(9.0, 0), image::Rgb([STOP_COLOUR.0, STOP_COLOUR.1, STOP_COLOUR.2]), "approach: a stop");
        assert_ne!(at(6.0, 4), image::Rgb([WARN_COLOUR.0, WARN_COLOUR.1, WARN_COLOUR.2]), "freezing ended at 4 s");
        let svg = std::fs::read_to_string(&written[1]).unwrap();
        assert_eq!(
            at(3.0, 7),
            image::Rgb([LABELLED_COLOUR.0, LABELLED_COLOUR.1, LABELLED_COLOUR.2]),
            "the labels' lane"
        );
        for words in
            ["cat: fast approach", "rat: freezing", "labels: freezing", "cat-rat gap", "STOPPED: approach", "time (s)"]
        {
            assert!(svg.contains(words), "the SVG says {words:?}");
        }
    }
}
