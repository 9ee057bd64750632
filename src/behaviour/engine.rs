//! The behaviour engine: one [`Moment`] in, the episodes it started or ended out. It owns one detector
//! per behaviour and the few shared measurements they need (the cat's body length, the gap to the rat).
//! It knows nothing of files, threads or frames: the observe stage turns a video frame's tracks into a
//! moment, the replay module turns recorded tracks into moments, and the session controller and the
//! sinks decide what the changes mean and where they go.

use serde::Serialize;

use super::approach::ApproachDetector;
use super::calm::{CalmDetector, CalmInputs};
use super::fixation::FixationDetector;
use super::freezing::FreezeDetector;
use super::hiding::HidingDetector;
use super::stalking::StalkingDetector;
use super::visibility::VisibilityWatch;
use super::{AnimalView, BehaviourConfig, BodySource, Change, Episode, EpisodeBook, GapTrace, Moment};
use crate::error::Result;
use crate::geometry::BBox;
use crate::kinds::Role;
use crate::observe::plausible::PlausibleRat;
use crate::zones::Shelter;

/// A lost rat's last box has lost at least this much of the look it had when the rat was last seen there
/// (see `Moment::rat_faded_since_seen`): the rat has gone from there. (A rat that vanishes leaves the
/// floor's look; one that shuffles a little as it stops keeps most of its own.)
const LEFT_ITS_BOX: f64 = 0.5;

/// An animal unseen for longer than this (seconds) that is seen again at least [`REAPPEARED_AWAY`] of its
/// body length from where it was last seen has reappeared elsewhere: the jump is not motion.
const REAPPEARED_AFTER_S: f64 = 0.25;
const REAPPEARED_AWAY: f32 = 0.5;

/// A rat box smaller than this share of the rat's body area cannot show the rat still.
const MIN_BODY_IN_BOX: f64 = 0.25;

/// Smoothing of body lengths from observed boxes (a running mean that follows slowly).
const LENGTH_SMOOTHING: f64 = 0.05;

/// What the engine sees now, for the status line and the live view.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EngineStatus {
    pub time_s: f64,
    /// The cat: `not seen yet`, `unseen`, `in view`, `calm`, `APPROACHING`, `STALKING`, `FIXATING`.
    pub cat: &'static str,
    /// The rat: `not seen yet`, `unseen`, `moving`, `still`, `FREEZING`, `HIDING`.
    pub rat: &'static str,
    /// Gap from the cat to the rat, cat body lengths.
    pub gap_body_lengths: Option<f64>,
    /// How fast that gap closes, body lengths per second (negative: opening).
    pub closing_speed: Option<f64>,
    /// Both animals have been seen: unseen faults apply.
    pub meeting: bool,
    pub cat_seen_ever: bool,
    pub rat_seen_ever: bool,
}

pub struct BehaviourEngine {
    config: BehaviourConfig,
    approach: ApproachDetector,
    stalking: StalkingDetector,
    fixation: FixationDetector,
    freezing: FreezeDetector,
    hiding: HidingDetector,
    calm: CalmDetector,
    visibility: VisibilityWatch,
    cat_length: Option<f64>,
    rat_length: Option<f64>,
    /// The rat has been measured moving in pixels at least once.
    rat_seen_moving: bool,
    /// Keeps the rat's view to boxes a rat can have.
    rat_gate: PlausibleRat,
    /// When and where (box centre) the cat and the rat were last observed.
    cat_last_observed: Option<(f64, (f32, f32))>,
    rat_last_observed: Option<(f64, (f32, f32))>,
    pub status: EngineStatus,
}

impl BehaviourEngine {
    pub fn new(config: &BehaviourConfig) -> BehaviourEngine {
        BehaviourEngine {
            config: config.clone(),
            approach: ApproachDetector::new(&config.approach),
            stalking: StalkingDetector::new(&config.stalking),
            fixation: FixationDetector::new(&config.fixation),
            freezing: FreezeDetector::new(&config.freezing, Role::Rat),
            hiding: HidingDetector::new(&config.hiding),
            calm: CalmDetector::new(&config.calm),
            visibility: VisibilityWatch::new(&config.visibility),
            cat_length: None,
            rat_length: None,
            rat_seen_moving: false,
            rat_gate: PlausibleRat::default(),
            cat_last_observed: None,
            rat_last_observed: None,
            status: EngineStatus::default(),
        }
    }

    /// Episodes running now.
    pub fn active(&self) -> Vec<&Episode> {
        [
            self.approach.active(),
            self.stalking.active(),
            self.fixation.active(),
            self.freezing.active(),
            self.hiding.active(),
            self.calm.active(),
        ]
        .into_iter()
        .flatten()
        .chain(self.visibility.active())
        .collect()
    }

    /// New shelters (drawn by the owner during a session), for the moments from now on.
    pub fn set_shelters(&mut self, shelters: Vec<Shelter>) {
        self.hiding.set_shelters(shelters);
    }

    /// One moment in; the episodes confirmed or ended by it out.
    pub fn step(&mut self, m: &Moment) -> Vec<Change> {
        let t = m.time_s;
        let mut changes = Vec::new();
        let cat = m.cat.as_ref();
        let rat_view = self.rat_gate.check(t, m.rat.as_ref(), self.rat_length.unwrap_or(0.0));
        let rat = rat_view.as_ref();
        for (view, length) in [(cat, &mut self.cat_length), (rat, &mut self.rat_length)] {
            if let Some(known) = view.and_then(|v| v.length) {
                *length = Some(known);
            } else if let Some(v) = view.filter(|v| v.observed) {
                let long_side = v.bbox.width().max(v.bbox.height()) as f64;
                let l = length.get_or_insert(long_side);
                *l += LENGTH_SMOOTHING * (long_side - *l);
            }
        }
        let cat_length = self.cat_length.unwrap_or(0.0);
        let rat_box = rat.map(|r| &r.bbox);

        // An animal coming back into sight (from behind the enclosure's frame, out of a shelter) is
        // wherever it went meanwhile: the jump is not motion, and the gap's history starts again.
        let cat_back = reappeared(&mut self.cat_last_observed, t, cat, cat_length);
        let rat_back = reappeared(&mut self.rat_last_observed, t, rat, self.rat_length.unwrap_or(0.0));
        if cat_back || rat_back {
            self.approach.restart();
            self.stalking.restart();
        }
        // Closing speed from the cat's observed boxes only: a tracker's prediction is not evidence, and a
        // jump from a prediction to the next detection would read as a pounce.
        let observed_cat = cat.filter(|c| c.observed).map(|c| &c.bbox);
        changes.extend(self.approach.update(t, observed_cat, cat.is_some(), rat_box, cat_length));
        let fast = self.config.approach.fast_speed;
        let cat_clipped = cat.is_some_and(|c| at_frame_edge(&c.bbox, m.frame_size));
        changes.extend(self.stalking.update(t, cat, cat_clipped, rat_box, cat_length, fast));
        changes.extend(self.fixation.update(t, cat, rat_box, cat_length).into_iter().flatten());

        changes.extend(self.update_freezing(m));
        let (hiding_change, hidden) = self.hiding.update(t, rat, m.frame_size);
        changes.extend(hiding_change);
        let rat_still_in_place = self.freezing.still_now();
        let rat_seen = rat.is_some_and(|r| r.observed);
        let cat_seen = cat.is_some_and(|c| c.observed);
        changes.extend(self.visibility.update(t, rat_seen, hidden || rat_still_in_place, cat_seen));

        let cat_alarm =
            self.approach.active().is_some() || self.stalking.active().is_some() || self.fixation.active().is_some();
        let rat_stressed = self.freezing.active().is_some() || self.hiding.active().is_some();
        let calm_inputs =
            CalmInputs { cat_in_view: cat.is_some(), gap: self.approach.gap, alarm: cat_alarm || rat_stressed };
        changes.extend(self.calm.update(t, &calm_inputs));
        self.update_status(m, cat_alarm);
        changes
    }

    /// Freezing from the rat's keypoints when a pose source gives them, else from the pixels of its box
    /// when there are pixels, else from its box centre.
    fn update_freezing(&mut self, m: &Moment) -> Option<Change> {
        let t = m.time_s;
        let Some(rat) = &m.rat else {
            return self.freezing.update(t, (vec![None], BodySource::BoxCentre), None, self.rat_length.unwrap_or(0.0));
        };
        if !rat.points.is_empty() || !m.pixels {
            return self.freezing.update(t, rat.body_points(), rat.head, self.rat_length.unwrap_or(0.0));
        }
        // A lost rat whose last box is at a shelter or the frame's edge may have gone: no change there says
        // nothing about the rat.
        // Changed pixels as a share of the rat's body (about half its usual box), not of this frame's box:
        // a box grown by a shadow or a merged blob must not dilute the rat's own motion.
        let body_area = 0.5 * self.rat_length.unwrap_or(0.0).powi(2);
        // A lost rat may have gone: from a shelter or the frame's edge, or when its last box no longer
        // looks as it did when the rat was last seen there. No change there then says nothing of the rat.
        let left_its_box = m.rat_faded_since_seen.is_some_and(|faded| faded >= LEFT_ITS_BOX);
        let may_have_gone = !rat.observed
            && (left_its_box
                || self.hiding.at_shelter(&rat.bbox, m.frame_size)
                || at_frame_edge(&rat.bbox, m.frame_size));
        // A box far smaller than the rat's body holds too little of it to say it is still (a reflection, a
        // tail tip, a scrap of blob the track took as the rat walked off).
        let holds_the_body = rat.bbox.area() as f64 >= MIN_BODY_IN_BOX * body_area;
        let share =
            m.rat_changed_px.filter(|_| !may_have_gone && holds_the_body && body_area > 0.0).map(|px| px / body_area);
        // Freezing is a rat that stopped moving. A "rat" never measured moving is more likely a ghost of the
        // background (where the rat was while the background was learnt): no change there means nothing.
        self.rat_seen_moving |= rat.observed && share.is_some_and(|s| s >= self.config.freezing.max_pixel_change);
        self.freezing.update_pixels(t, share.filter(|_| self.rat_seen_moving))
    }

    fn update_status(&mut self, m: &Moment, cat_alarm: bool) {
        let s = &mut self.status;
        s.time_s = m.time_s;
        s.meeting = self.visibility.meeting_started();
        s.cat_seen_ever = self.cat_length.is_some();
        s.rat_seen_ever = self.rat_length.is_some();
        s.gap_body_lengths = self.approach.gap;
        s.closing_speed = self.approach.closing_speed;
        s.cat = if self.approach.active().is_some() {
            "APPROACHING"
        } else if self.stalking.active().is_some() {
            "STALKING"
        } else if self.fixation.active().is_some() {
            "FIXATING"
        } else if self.calm.active().is_some() {
            "calm"
        } else if m.cat.is_some() {
            if cat_alarm { "alert" } else { "in view" }
        } else if self.cat_length.is_some() {
            "unseen"
        } else {
            "not seen yet"
        };
        s.rat = if self.hiding.active().is_some() {
            "HIDING"
        } else if self.freezing.active().is_some() {
            "FREEZING"
        } else if self.freezing.still_now() {
            "still"
        } else if m.rat.as_ref().is_some_and(|r| r.observed) {
            "moving"
        } else if self.rat_length.is_some() {
            "unseen"
        } else {
            "not seen yet"
        };
    }

    /// Ends every running episode at `end_s` (the end of a recording or session).
    pub fn finish(&mut self, end_s: f64) -> Vec<Change> {
        let [fixation, fixation_unknown_facing] = self.fixation.finish_at(end_s);
        let mut changes: Vec<Change> = [
            self.approach.finish_at(end_s),
            self.stalking.finish_at(end_s),
            fixation,
            fixation_unknown_facing,
            self.freezing.finish_at(end_s),
            self.hiding.finish_at(end_s),
            self.calm.finish_at(end_s),
        ]
        .into_iter()
        .flatten()
        .collect();
        changes.extend(self.visibility.finish_at(end_s));
        changes
    }
}

/// What the engine made of a recording's moments.
pub struct Recorded {
    /// Every episode, in the form it ended in (the last ones at the last moment).
    pub episodes: Vec<Episode>,
    /// The cat-rat gap over the recording (unknown throughout when only one animal was recorded).
    pub gap: GapTrace,
}

/// Runs a fresh engine over recorded `moments` (replayed tracks, rendered scenarios), handing each change
/// to `on_change` as it happens, and ends what still runs at the last moment. The one place outside the
/// pipeline where the engine is driven.
pub fn run_recorded(
    config: &BehaviourConfig,
    moments: &[Moment],
    mut on_change: impl FnMut(&Change) -> Result<()>,
) -> Result<Recorded> {
    let mut engine = BehaviourEngine::new(config);
    let mut book = EpisodeBook::default();
    let mut gap = GapTrace::default();
    for m in moments {
        for change in engine.step(m) {
            book.record(&change);
            on_change(&change)?;
        }
        gap.push(m.time_s, engine.status.gap_body_lengths);
    }
    for change in engine.finish(moments.last().map_or(0.0, |m| m.time_s)) {
        book.record(&change);
        on_change(&change)?;
    }
    Ok(Recorded { episodes: book.episodes, gap })
}

/// Notes where an animal (`length` pixels long) is observed at `time_s`; true when it has reappeared
/// elsewhere: after more than [`REAPPEARED_AFTER_S`] out of sight, [`REAPPEARED_AWAY`] of its length or
/// more from where it was last seen. (A rat the motion model loses now and then while it fidgets in one
/// place has not.)
fn reappeared(last: &mut Option<(f64, (f32, f32))>, time_s: f64, view: Option<&AnimalView>, length: f64) -> bool {
    let Some(view) = view.filter(|v| v.observed) else { return false };
    let centre = view.bbox.center();
    let back = last.is_some_and(|(t, (x, y))| {
        time_s - t > REAPPEARED_AFTER_S && (centre.0 - x).hypot(centre.1 - y) >= REAPPEARED_AWAY * length as f32
    });
    *last = Some((time_s, centre));
    back
}

/// Within 2 pixels of the frame's border.
fn at_frame_edge(b: &BBox, frame_size: Option<(u32, u32)>) -> bool {
    frame_size.is_some_and(|(w, h)| b.x1 <= 2.0 || b.y1 <= 2.0 || b.x2 >= w as f32 - 2.0 || b.y2 >= h as f32 - 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::AnimalView;
    use crate::geometry::BBox;
    use crate::kinds::Behaviour;

    /// A cat sitting still at the left, and the rat where `rat` says (box, seen this frame).
    fn moment(t: f64, rat: (BBox, bool)) -> Moment {
        Moment {
            time_s: t,
            cat: Some(AnimalView::boxed(BBox::new(10.0, 230.0, 200.0, 355.0), true)),
            rat: Some(AnimalView::boxed(rat.0, rat.1)),
            frame_size: Some((960, 480)),
            ..Default::default()
        }
    }

    /// Regression (the rendered dog scenario): the rat's track jumped onto the dog leaving the frame near
    /// the cat, then lost it; the track's "last seen" box was the dog's, and the gap to it closed in one
    /// step, which read as a fast approach by a cat that never moved.
    #[test]
    fn a_rat_track_that_took_something_else_is_not_followed_when_it_loses_it() {
        let mut engine = BehaviourEngine::new(&BehaviourConfig::default());
        let rat = BBox::new(860.0, 300.0, 910.0, 335.0);
        let dog_edge = BBox::new(498.0, 453.0, 537.0, 480.0);
        let mut changes = Vec::new();
        for i in 0..=100 {
            changes.extend(engine.step(&moment(i as f64 * 0.04, (rat, true))));
        }
        changes.extend(engine.step(&moment(4.04, (dog_edge, true))));
        for i in 1..=40 {
            changes.extend(engine.step(&moment(4.04 + i as f64 * 0.04, (dog_edge, false))));
        }
        let approach: Vec<_> = changes.iter().filter(|c| c.episode().behaviour == Behaviour::Approach).collect();
        assert!(approach.is_empty(), "{approach:?}");
        assert!(engine.status.gap_body_lengths.is_some_and(|g| g > 3.0), "{:?}", engine.status.gap_body_lengths);
    }

    /// Regression (the real open-field mouse cropped to the left half): walking out of view, the track
    /// took a scrap of blob (the mouse's reflection in the wall) for a few frames, then lost it; nothing
    /// changed in that scrap's box, which read as a frozen rat.
    #[test]
    fn a_box_too_small_for_the_rat_cannot_show_it_frozen() {
        let mut engine = BehaviourEngine::new(&BehaviourConfig::default());
        let moment = |t: f64, bbox: BBox, observed: bool, changed: f64| Moment {
            time_s: t,
            rat: Some(AnimalView::boxed(bbox, observed)),
            rat_changed_px: Some(changed),
            rat_faded_since_seen: (!observed).then_some(0.0),
            pixels: true,
            frame_size: Some((320, 480)),
            ..Default::default()
        };
        let mut changes = Vec::new();
        for i in 0..75 {
            let x = 100.0 + 2.0 * i as f32;
            changes.extend(engine.step(&moment(i as f64 * 0.04, BBox::new(x, 200.0, x + 60.0, 230.0), true, 400.0)));
        }
        let scrap = BBox::new(255.0, 205.0, 263.0, 213.0);
        for i in 75..78 {
            changes.extend(engine.step(&moment(i as f64 * 0.04, scrap, true, 0.0)));
        }
        for i in 78..200 {
            changes.extend(engine.step(&moment(i as f64 * 0.04, scrap, false, 0.0)));
        }
        let freezing: Vec<_> = changes.iter().filter(|c| c.episode().behaviour == Behaviour::Freezing).collect();
        assert!(freezing.is_empty(), "{freezing:?}");
    }

    /// A rat seen walking, then lost where no pixel changes: frozen there, unless its last box lost the
    /// look it had (`rat_faded_since_seen` past half way: it left) or lies at the frame's edge (it may have
    /// walked out). Returns whether freezing was confirmed.
    fn freezing_after_losing_a_walking_rat(last_box: BBox, faded: f64) -> bool {
        let mut engine = BehaviourEngine::new(&BehaviourConfig::default());
        let moment = |t: f64, bbox: BBox, observed: bool, changed: f64| Moment {
            time_s: t,
            rat: Some(AnimalView::boxed(bbox, observed)),
            rat_changed_px: Some(changed),
            rat_faded_since_seen: (!observed).then_some(faded),
            pixels: true,
            frame_size: Some((640, 480)),
            ..Default::default()
        };
        let mut changes = Vec::new();
        // Walking 2 s toward where it is lost, its pixels changing, then 3 s lost there with none changing.
        for i in 0..50 {
            let k = (50 - i) as f32;
            let walking = BBox::new(last_box.x1 - 2.0 * k, last_box.y1, last_box.x2 - 2.0 * k, last_box.y2);
            changes.extend(engine.step(&moment(i as f64 * 0.04, walking, true, 600.0)));
        }
        for i in 50..125 {
            changes.extend(engine.step(&moment(i as f64 * 0.04, last_box, false, 0.0)));
        }
        changes.iter().any(|c| matches!(c, Change::Started(e) if e.behaviour == Behaviour::Freezing))
    }

    #[test]
    fn a_lost_rat_is_frozen_only_if_it_can_still_be_in_its_box() {
        let mid_floor = BBox::new(300.0, 200.0, 360.0, 235.0);
        assert!(freezing_after_losing_a_walking_rat(mid_floor, 0.1), "still there, unchanged: frozen");
        assert!(!freezing_after_losing_a_walking_rat(mid_floor, 0.8), "its box faded to the floor: it left");
        let at_edge = BBox::new(580.0, 200.0, 640.0, 235.0);
        assert!(!freezing_after_losing_a_walking_rat(at_edge, 0.1), "at the frame's edge: it may have walked out");
    }
}
