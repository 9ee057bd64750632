//! Freezing: "suppression of all movement except respiration".
//!
//! Measured per moment as the mean speed of the body's keypoints (or of the box centre when there are
//! none), in body lengths per second. Keypoint positions jitter from frame to frame far more than a
//! freezing animal moves, so each position is first averaged over `smoothing_s`, and speed is taken
//! between smoothed positions `lag_s` apart (FreezeFrame compares frames 250-300 ms apart for the same
//! reason). When the pose has a nose and ears, the head must be still too: an animal that stands still
//! while it turns its head to scan or sniff is not freezing (BehaviorDEPOT's second test, head angle
//! change). A smoothed position stands for the middle of the samples it averages, and a still
//! measurement says the body did not move between its two smoothed positions' moments, so a run of still
//! measurements is a bout from the first one's earlier moment to the last one's later moment. Freezing is
//! confirmed once that has lasted `min_duration_s` (BehaviorDEPOT's minimum bout is 0.9 s); its onset is
//! back-dated to when the stillness began. Being causal, the detector runs the same live and on
//! recordings.
//!
//! `max_speed` is BehaviorDEPOT's published velocity threshold (0.52 cm/s) for a mouse's body length
//! (about 7 cm nose to tail base): 0.08 body lengths per second, so that one default holds for a rat (twice
//! as long, at its own scale) and at any pixel scale.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::{Behaviour, Change, Episode, Measure};
use crate::kinds::Role;
use crate::observe::{BodyPoints, BodySource};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FreezeConfig {
    /// Positions are averaged over this long before speeds are taken, seconds.
    pub smoothing_s: f64,
    /// Speed is measured between smoothed positions this far apart, seconds.
    pub lag_s: f64,
    /// Below this mean speed of the body's keypoints the animal counts as still, body lengths per second.
    pub max_speed: f64,
    /// Below this speed of its box's centre (no keypoints, no pixels: a tracks file) the animal counts
    /// as still, body lengths per second. A box's centre wanders with its edges (a tail or a leg moving
    /// changes the box), so it needs a wider margin than the trunk's keypoints.
    pub max_box_speed: f64,
    /// With a pose that has a nose and ears: above this turn of the head (ears to nose), degrees per
    /// second, the animal is not still, however still its body.
    pub max_head_turn_deg_s: f64,
    /// Stillness must last this long to be freezing, seconds.
    pub min_duration_s: f64,
    /// With pixels (video): a grey level must change by more than this to count as changed (after a 2x2
    /// average, which takes out sensor noise; ezTrack's cutoff is 10).
    pub pixel_cutoff: u8,
    /// With pixels: below this many changed pixels over `lag_s`, as a share of the rat's body area (half
    /// the square of its length), the rat counts as still. (A walking mouse in real footage changes
    /// several times this; ezTrack's 200-pixel default is of this order for a mouse-sized animal.)
    pub max_pixel_change: f64,
    /// Freezing is a warning when confirmed, and stops the session once it has lasted this long, seconds.
    pub stop_after_s: f64,
}

impl Default for FreezeConfig {
    fn default() -> Self {
        FreezeConfig {
            smoothing_s: 0.15,
            lag_s: 0.2,
            max_speed: 0.08,
            max_box_speed: 0.12,
            max_head_turn_deg_s: 30.0,
            min_duration_s: 0.9,
            pixel_cutoff: 10,
            max_pixel_change: 0.05,
            stop_after_s: 3.0,
        }
    }
}

/// What a freezing episode from keypoints records, and its threshold.
const SPEED: (Measure, Measure) = (Measure::SpeedBodyLengthsPerS, Measure::ThresholdSpeedBodyLengthsPerS);
/// What a freezing episode from pixels records, and its threshold.
const PIXELS: (Measure, Measure) = (Measure::ChangedShareOfBody, Measure::ThresholdChangedShareOfBody);

pub struct FreezeDetector {
    config: FreezeConfig,
    animal: Role,
    raw: VecDeque<(f64, Posture)>,
    /// Smoothed postures: the moment each stands for (the middle of the samples averaged), and the mean.
    smoothed: VecDeque<(f64, f64, Posture)>,
    /// When the current stillness began, if the animal is still now.
    still_since: Option<f64>,
    /// The end of the last span measured still.
    last_still: f64,
    active: Option<Episode>,
    /// The last speed measured, body lengths per second.
    pub last_speed: Option<f64>,
    /// The last share of the box measured changing (pixels).
    pub last_pixel_change: Option<f64>,
}

impl FreezeDetector {
    pub fn new(config: &FreezeConfig, animal: Role) -> FreezeDetector {
        FreezeDetector {
            config: config.clone(),
            animal,
            raw: VecDeque::new(),
            smoothed: VecDeque::new(),
            still_since: None,
            last_still: 0.0,
            active: None,
            last_speed: None,
            last_pixel_change: None,
        }
    }

    pub fn is_freezing(&self) -> bool {
        self.active.is_some()
    }

    /// Measured still at the last measurement (freezing or not yet).
    pub fn still_now(&self) -> bool {
        self.still_since.is_some()
    }

    /// The running episode, if the animal is freezing now.
    pub fn active(&self) -> Option<&Episode> {
        self.active.as_ref()
    }

    /// Feeds the body's points at `time_s`, and the head's direction when the pose tells it;
    /// `body_length` is in the points' units (pixels).
    pub fn update(
        &mut self,
        time_s: f64,
        (points, source): (BodyPoints, BodySource),
        head: Option<(f32, f32)>,
        body_length: f64,
    ) -> Option<Change> {
        let c = &self.config;
        self.raw.push_back((time_s, Posture { points, head }));
        while self.raw.front().is_some_and(|(t, _)| *t <= time_s - c.smoothing_s) {
            self.raw.pop_front();
        }
        let smoothed = Posture::mean(self.raw.iter().map(|(_, p)| p));
        let oldest = self.raw.front().map_or(time_s, |(t, _)| *t);
        self.smoothed.push_back((time_s, (oldest + time_s) / 2.0, smoothed));
        // Keep one smoothed sample at or before `time_s - lag_s`, to measure against.
        while self.smoothed.len() > 2 && self.smoothed[1].0 <= time_s - c.lag_s {
            self.smoothed.pop_front();
        }
        let (t_ref, then_at, then) = self.smoothed.front()?;
        let (now_at, now) = self.smoothed.back().map(|(_, at, p)| (*at, p))?;
        // A still measurement says the body did not move between the moments the two means stand for.
        let span = (*then_at, now_at);
        let dt = time_s - t_ref;
        if dt < c.lag_s * 0.5 || body_length <= 0.0 {
            return None; // not enough history yet
        }
        let speeds: Vec<f64> = then
            .points
            .iter()
            .zip(&now.points)
            .filter_map(|(a, b)| Some(((*a)?, (*b)?)))
            .map(|((x0, y0), (x1, y1))| ((x1 - x0) as f64).hypot((y1 - y0) as f64) / dt / body_length)
            .collect();
        let head_turn = then.head.zip(now.head).map(|(a, b)| angle_between_deg(a, b) / dt);
        let speed = (!speeds.is_empty()).then(|| speeds.iter().sum::<f64>() / speeds.len() as f64);
        self.last_speed = speed;
        let max_speed = match source {
            BodySource::Keypoints => c.max_speed,
            BodySource::BoxCentre => c.max_box_speed,
        };
        let max_turn = c.max_head_turn_deg_s;
        let still = speed.map(|s| (s < max_speed && head_turn.is_none_or(|turn| turn < max_turn), s));
        self.judge(time_s, span, still, SPEED, max_speed)
    }

    /// Feeds a measurement from pixels instead of points: the pixels of the animal's box that changed over
    /// the last `lag_s`, as a share of its body's area (`None` when it could not be measured). Motion inside the animal's
    /// own box, so a moving cat elsewhere cannot hide a frozen rat (ezTrack's whole-frame count can).
    pub fn update_pixels(&mut self, time_s: f64, changed_share: Option<f64>) -> Option<Change> {
        let span = (time_s - self.config.lag_s, time_s);
        self.last_pixel_change = changed_share;
        let max = self.config.max_pixel_change;
        self.judge(time_s, span, changed_share.map(|s| (s < max, s)), PIXELS, max)
    }

    /// Applies one stillness judgement made at `time_s` (`None`: not seen well enough to say) about the
    /// span of time `(from, to)`.
    fn judge(
        &mut self,
        time_s: f64,
        (span_start, span_end): (f64, f64),
        still: Option<(bool, f64)>,
        (measure, threshold_measure): (Measure, Measure),
        threshold: f64,
    ) -> Option<Change> {
        match still {
            Some((true, value)) => {
                let since = *self.still_since.get_or_insert(span_start.max(0.0));
                self.last_still = span_end;
                if self.active.is_none() && span_end - since >= self.config.min_duration_s {
                    let episode = Episode::new(Behaviour::Freezing, self.animal, since, time_s)
                        .with(measure, value)
                        .with(threshold_measure, threshold);
                    self.active = Some(episode.clone());
                    return Some(Change::Started(episode));
                }
                None
            }
            // Moving, or not seen well enough to say it is still: any stillness is over.
            _ => {
                self.still_since = None;
                self.finish_at(self.last_still)
            }
        }
    }

    /// Ends a running episode at `end_s` (also for the end of a recording).
    pub fn finish_at(&mut self, end_s: f64) -> Option<Change> {
        let mut episode = self.active.take()?;
        episode.end_s = Some(end_s.max(episode.onset_s));
        Some(Change::Ended(episode))
    }
}

/// The body's points and the head's direction at one moment.
struct Posture {
    points: BodyPoints,
    /// Unit vector from the ears to the nose.
    head: Option<(f32, f32)>,
}

impl Posture {
    /// Per point, the mean of its sightings across `samples`; the head's mean direction.
    fn mean<'a>(samples: impl Iterator<Item = &'a Posture>) -> Posture {
        let mut sums: Vec<(f64, f64, u32)> = Vec::new();
        let mut head = (0.0f64, 0.0f64);
        for posture in samples {
            let points = &posture.points;
            if sums.len() < points.len() {
                sums.resize(points.len(), (0.0, 0.0, 0));
            }
            for (s, p) in sums.iter_mut().zip(points) {
                if let Some((x, y)) = p {
                    *s = (s.0 + *x as f64, s.1 + *y as f64, s.2 + 1);
                }
            }
            if let Some((x, y)) = posture.head {
                head = (head.0 + x as f64, head.1 + y as f64);
            }
        }
        let points =
            sums.into_iter().map(|(x, y, n)| (n > 0).then(|| ((x / n as f64) as f32, (y / n as f64) as f32))).collect();
        // Directions average as vectors; a mean near zero (the head swung round within the window) has
        // no direction.
        let length = head.0.hypot(head.1);
        let head = (length > 1e-6).then(|| ((head.0 / length) as f32, (head.1 / length) as f32));
        Posture { points, head }
    }
}

/// The angle between two unit vectors, degrees.
fn angle_between_deg(a: (f32, f32), b: (f32, f32)) -> f64 {
    let cross = (a.0 * b.1 - a.1 * b.0) as f64;
    let dot = (a.0 * b.0 + a.1 * b.1) as f64;
    cross.atan2(dot).abs().to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the detector over a body (two points 100 px apart) whose x follows `x_at(t)`, at `fps`.
    fn episodes(fps: f64, seconds: f64, x_at: impl Fn(f64) -> f64) -> Vec<Episode> {
        let mut d = FreezeDetector::new(&FreezeConfig::default(), Role::Rat);
        let mut out = Vec::new();
        let mut t = 0.0;
        while t < seconds {
            let x = x_at(t) as f32;
            if let Some(Change::Ended(e)) =
                d.update(t, (vec![Some((x, 50.0)), Some((x + 100.0, 50.0))], BodySource::Keypoints), None, 100.0)
            {
                out.push(e);
            }
            t += 1.0 / fps;
        }
        if let Some(Change::Ended(e)) = d.finish_at(t) {
            out.push(e);
        }
        out
    }

    /// Walks at one body length per second, stands still from 3 s to 6 s, walks on.
    fn walk_stop_walk(t: f64) -> f64 {
        100.0
            * if t < 3.0 {
                t
            } else if t < 6.0 {
                3.0
            } else {
                t - 3.0
            }
    }

    #[test]
    fn a_stop_of_three_seconds_is_one_episode_at_any_frame_rate() {
        for fps in [10.0, 15.0, 30.0, 50.0, 120.0] {
            let e = episodes(fps, 9.0, walk_stop_walk);
            assert_eq!(e.len(), 1, "{fps} fps: {e:?}");
            let (onset, end) = (e[0].onset_s, e[0].end_s.unwrap());
            assert!((onset - 3.0).abs() < 0.25, "{fps} fps: onset {onset}");
            assert!((end - 6.0).abs() < 0.25, "{fps} fps: end {end}");
            assert!(e[0].confirmed_s >= onset + 0.9 && e[0].confirmed_s < onset + 1.4, "{fps} fps: {:?}", e[0]);
        }
    }

    #[test]
    fn jitter_alone_is_still_and_a_short_pause_is_not_freezing() {
        // +-2 px of keypoint jitter on a 100 px body, never moving: freezing throughout.
        let e = episodes(30.0, 5.0, |t| 200.0 + 2.0 * ((t * 97.0).sin()));
        assert_eq!(e.len(), 1);
        // A 0.5 s pause in a walk is not freezing.
        let e = episodes(30.0, 6.0, |t| {
            100.0
                * if t < 3.0 {
                    t
                } else if t < 3.5 {
                    3.0
                } else {
                    t - 0.5
                }
        });
        assert!(e.is_empty(), "{e:?}");
    }

    /// When the first freezing episode began, for 10 s of samples at 30 fps: `sample(t)` gives the body's
    /// points and head direction at `t`, with a body `body_length` long.
    fn first_onset(body_length: f64, sample: impl Fn(f64) -> (BodyPoints, Option<(f32, f32)>)) -> Option<f64> {
        let mut d = FreezeDetector::new(&FreezeConfig::default(), Role::Rat);
        (0..300).find_map(|i| {
            let t = i as f64 / 30.0;
            let (points, head) = sample(t);
            match d.update(t, (points, BodySource::Keypoints), head, body_length) {
                Some(Change::Started(e)) => Some(e.onset_s),
                _ => None,
            }
        })
    }

    #[test]
    fn same_threshold_holds_at_another_scale() {
        // Twice the pixels per body length, twice the speed in pixels: the same episodes.
        let started = first_onset(200.0, |t| {
            let x = 2.0 * walk_stop_walk(t) as f32;
            (vec![Some((x, 0.0)), Some((x + 200.0, 0.0))], None)
        });
        assert!(started.is_some_and(|s| (s - 3.0).abs() < 0.25), "{started:?}");
    }

    #[test]
    fn unseen_points_are_not_stillness() {
        let mut d = FreezeDetector::new(&FreezeConfig::default(), Role::Rat);
        for i in 0..100 {
            assert!(d.update(i as f64 / 30.0, (vec![None, None], BodySource::Keypoints), None, 100.0).is_none());
        }
        assert!(!d.is_freezing());
    }

    #[test]
    fn a_still_body_that_turns_its_head_is_not_freezing() {
        // The body stands still throughout; its head sweeps 45 degrees a second for the first 3 s.
        let onset = first_onset(100.0, |t| {
            let angle = (45.0 * t.min(3.0)).to_radians();
            (vec![Some((0.0, 0.0)), Some((100.0, 0.0))], Some((angle.cos() as f32, angle.sin() as f32)))
        });
        assert!(onset.is_some_and(|s| s > 2.7 && s < 3.3), "freezing once the head stopped: {onset:?}");
    }
}
