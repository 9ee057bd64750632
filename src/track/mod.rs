//! The tracker: stable identities for the cat and the rat, ByteTrack style.
//!
//! Each update, per role: (1) confident detections are matched to tracks by box overlap with a Hungarian
//! solver; (2) weak detections are matched to the tracks still unmatched, so a faint glimpse keeps an
//! animal's track alive; (3) tentative tracks are confirmed or dropped; (4) when the role allows a single
//! animal, its one track takes the best remaining confident detection wherever it is (there is only one
//! rat: a rat seen elsewhere is the same rat); (5) new tracks start from confident leftovers, up to the
//! role's limit; (6) unmatched tracks coast on their prediction for a moment, then turn `lost`, keeping
//! where they were last seen (where the rat was last seen matters to the behaviour engine).
//!
//! Identities are tied to roles: cat detections only ever meet cat tracks, so a cat track can never become
//! the rat's. The tracker owns its ids; nothing is global. It must be updated on every frame, with or
//! without detections, so that absent animals age.

pub mod kalman;

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use serde::{Deserialize, Serialize};

use crate::checks::{at_least, positive, unit};
use crate::detect::Detection;
use crate::error::{Error, Result};
use crate::geometry::BBox;
use crate::kinds::Role;
use kalman::{BoxFilter, KalmanNoise};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerConfig {
    /// Detections from this score up are confident: matched first, and able to start tracks.
    pub high_score: f32,
    /// Detections from this score up can keep an existing track alive.
    pub low_score: f32,
    /// A new track needs a detection at least this confident.
    pub new_track_score: f32,
    /// Least box overlap (IoU) for a confident detection to continue a track.
    pub match_iou: f32,
    /// Least overlap for a weak detection to continue a track (stricter: weak detections are noisier).
    pub weak_match_iou: f32,
    /// Matches a tentative track needs to be confirmed.
    pub confirm_hits: u32,
    /// Matches after which a role's only track may jump to a detection anywhere in the frame (before
    /// that, a few lucky blobs could carry a false track around).
    pub established_hits: u32,
    /// How long an unseen track coasts on its predicted motion before it is `lost`, seconds.
    pub coast_s: f64,
    /// How long a lost track is remembered when its role allows several animals, seconds. A role's only
    /// track is never forgotten.
    pub forget_s: f64,
    /// How many cats and rats there can be.
    pub max_cats: usize,
    pub max_rats: usize,
}

impl TrackerConfig {
    /// Checks every value's range, naming the key and the value found.
    pub fn check(&self) -> Result<()> {
        unit("tracker.high_score", self.high_score)?;
        unit("tracker.low_score", self.low_score)?;
        unit("tracker.new_track_score", self.new_track_score)?;
        unit("tracker.match_iou", self.match_iou)?;
        unit("tracker.weak_match_iou", self.weak_match_iou)?;
        if self.low_score > self.high_score {
            return Err(Error::Config(format!(
                "tracker.low_score ({}) must not exceed tracker.high_score ({})",
                self.low_score, self.high_score
            )));
        }
        positive("tracker.coast_s", self.coast_s)?;
        positive("tracker.forget_s", self.forget_s)?;
        at_least("tracker.confirm_hits", self.confirm_hits as f64, 1.0, " hit")?;
        if self.established_hits < self.confirm_hits {
            return Err(Error::Config(format!(
                "tracker.established_hits ({}) must be at least tracker.confirm_hits ({})",
                self.established_hits, self.confirm_hits
            )));
        }
        // No slot for an animal is an animal never seen: the rules that need it would stay silent.
        at_least("tracker.max_cats", self.max_cats as f64, 1.0, "")?;
        at_least("tracker.max_rats", self.max_rats as f64, 1.0, "")
    }
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            high_score: 0.35,
            low_score: 0.1,
            new_track_score: 0.4,
            match_iou: 0.2,
            weak_match_iou: 0.4,
            confirm_hits: 3,
            established_hits: 10,
            coast_s: 1.0,
            forget_s: 30.0,
            max_cats: 1,
            max_rats: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackState {
    /// Seen once or twice; not yet trusted.
    Tentative,
    /// Seen in this frame.
    Tracked,
    /// Not seen for less than `coast_s`: its box is the prediction.
    Coasting,
    /// Not seen for longer: its box is where it was last seen.
    Lost,
}

/// One animal's track after an update.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Track {
    pub id: u32,
    pub role: Role,
    pub state: TrackState,
    /// Current estimate: observed or predicted (tracked, coasting), or last seen (lost).
    pub bbox: BBox,
    /// The last box a detection gave.
    pub last_seen_box: BBox,
    pub first_seen_s: f64,
    pub last_seen_s: f64,
    /// Score of the last matched detection.
    pub score: f32,
    /// Centre velocity in pixels per second (zero once lost).
    pub velocity: (f32, f32),
    /// Index, in this frame's detections, of the detection that fed the track this frame.
    pub detection: Option<usize>,
}

impl Track {
    /// Seen in this frame and trusted.
    pub fn is_observed(&self) -> bool {
        self.state == TrackState::Tracked && self.detection.is_some()
    }
}

pub struct Tracker {
    config: TrackerConfig,
    noise: KalmanNoise,
    slots: Vec<Slot>,
    next_id: u32,
    last_time_s: Option<f64>,
}

struct Slot {
    track: Track,
    filter: BoxFilter,
    hits: u32,
}

impl Tracker {
    pub fn new(config: &TrackerConfig) -> Tracker {
        Tracker {
            config: config.clone(),
            noise: KalmanNoise::default(),
            slots: Vec::new(),
            next_id: 1,
            last_time_s: None,
        }
    }

    fn max_for(&self, role: Role) -> usize {
        match role {
            Role::Cat => self.config.max_cats,
            Role::Rat => self.config.max_rats,
            Role::Other => 0,
        }
    }

    /// Advances every track to `time_s` and folds in this frame's detections. Returns every track known,
    /// tentative ones included (check `state`).
    pub fn update(&mut self, time_s: f64, detections: &[Detection]) -> Vec<Track> {
        let first_frame = self.last_time_s.is_none();
        let dt = self.last_time_s.map_or(0.0, |t| (time_s - t).max(0.0));
        self.last_time_s = Some(time_s);
        for slot in &mut self.slots {
            slot.track.detection = None;
            if slot.track.state != TrackState::Lost {
                slot.filter.predict(dt);
            }
        }
        for role in [Role::Cat, Role::Rat] {
            self.update_role(role, time_s, detections, first_frame);
        }
        self.age(time_s);
        self.slots.iter().map(|s| s.track.clone()).collect()
    }

    fn update_role(&mut self, role: Role, time_s: f64, detections: &[Detection], first_frame: bool) {
        let c = self.config.clone();
        let mut unmatched: Vec<usize> = (0..detections.len())
            .filter(|&i| detections[i].role == role && detections[i].score >= c.low_score)
            .collect();
        let is_high = |i: usize| detections[i].score >= c.high_score;
        let slots_where = |slots: &[Slot], pred: &dyn Fn(&Track) -> bool| -> Vec<usize> {
            (0..slots.len()).filter(|&s| slots[s].track.role == role && pred(&slots[s].track)).collect()
        };

        // 1. Confident detections against confirmed tracks (lost ones at their last-seen box).
        let confirmed = slots_where(&self.slots, &|t| t.state != TrackState::Tentative);
        let high: Vec<usize> = unmatched.iter().copied().filter(|&i| is_high(i)).collect();
        let matched = self.associate(&confirmed, &high, detections, c.match_iou);
        let mut free_tracks: Vec<usize> =
            confirmed.iter().copied().filter(|s| !matched.iter().any(|(ms, _)| ms == s)).collect();
        self.apply(&matched, detections, time_s, &mut unmatched);

        // 2. Weak detections against tracks still moving (tracked or coasting).
        let moving: Vec<usize> = free_tracks
            .iter()
            .copied()
            .filter(|&s| matches!(self.slots[s].track.state, TrackState::Tracked | TrackState::Coasting))
            .collect();
        let weak: Vec<usize> = unmatched.iter().copied().filter(|&i| !is_high(i)).collect();
        let matched = self.associate(&moving, &weak, detections, c.weak_match_iou);
        free_tracks.retain(|s| !matched.iter().any(|(ms, _)| ms == s));
        self.apply(&matched, detections, time_s, &mut unmatched);

        // 3. Tentative tracks: confirmed by a further confident match, else dropped.
        let tentative = slots_where(&self.slots, &|t| t.state == TrackState::Tentative);
        let high: Vec<usize> = unmatched.iter().copied().filter(|&i| is_high(i)).collect();
        let matched = self.associate(&tentative, &high, detections, c.match_iou);
        self.apply(&matched, detections, time_s, &mut unmatched);
        let dropped: Vec<u32> = tentative
            .iter()
            .filter(|s| !matched.iter().any(|(ms, _)| ms == *s))
            .map(|&s| self.slots[s].track.id)
            .collect();
        self.slots.retain(|s| !dropped.contains(&s.track.id));
        free_tracks = slots_where(&self.slots, &|t| t.state != TrackState::Tentative && t.detection.is_none());

        // 4. A role's only animal: its one track, once established, takes the nearest confident detection
        //    left, wherever it is.
        if self.max_for(role) == 1 && free_tracks.len() == 1 && self.slots[free_tracks[0]].hits >= c.established_hits {
            let s = free_tracks[0];
            let (tx, ty) = self.slots[s].track.bbox.center();
            let nearest = unmatched.iter().copied().filter(|&i| is_high(i)).min_by(|&a, &b| {
                let d = |i: usize| {
                    let (x, y) = detections[i].bbox.center();
                    (x - tx).powi(2) + (y - ty).powi(2)
                };
                d(a).total_cmp(&d(b))
            });
            if let Some(i) = nearest {
                self.apply(&[(s, i)], detections, time_s, &mut unmatched);
            }
        }

        // 5. New tracks from confident leftovers, up to the role's limit.
        let existing = self.slots.iter().filter(|s| s.track.role == role).count();
        let mut fresh: Vec<usize> =
            unmatched.iter().copied().filter(|&i| detections[i].score >= c.new_track_score).collect();
        fresh.sort_by(|&a, &b| detections[b].score.total_cmp(&detections[a].score));
        for (count, i) in (existing..).zip(fresh) {
            if count >= self.max_for(role) {
                break;
            }
            let d = &detections[i];
            // Tracks present from the very first frame are trusted at once, as in ByteTrack.
            let state = if first_frame { TrackState::Tracked } else { TrackState::Tentative };
            self.slots.push(Slot {
                track: Track {
                    id: self.next_id,
                    role,
                    state,
                    bbox: d.bbox,
                    last_seen_box: d.bbox,
                    first_seen_s: time_s,
                    last_seen_s: time_s,
                    score: d.score,
                    velocity: (0.0, 0.0),
                    detection: Some(i),
                },
                filter: BoxFilter::new(&d.bbox, self.noise),
                hits: 1,
            });
            self.next_id += 1;
        }
    }

    /// Hungarian assignment of `tracks` (slot indices) to `dets` (detection indices) maximising total IoU;
    /// pairs under `min_iou` are not matches.
    fn associate(
        &self,
        tracks: &[usize],
        dets: &[usize],
        detections: &[Detection],
        min_iou: f32,
    ) -> Vec<(usize, usize)> {
        if tracks.is_empty() || dets.is_empty() {
            return Vec::new();
        }
        let iou = |t: usize, d: usize| self.slots[tracks[t]].track.bbox.iou(&detections[dets[d]].bbox);
        // kuhn_munkres wants rows <= columns and integer weights: transpose when needed, scale IoU.
        let transpose = tracks.len() > dets.len();
        let (rows, cols) = if transpose { (dets.len(), tracks.len()) } else { (tracks.len(), dets.len()) };
        let weight = |r: usize, c: usize| -> f32 { if transpose { iou(c, r) } else { iou(r, c) } };
        let matrix = Matrix::from_fn(rows, cols, |(r, c)| {
            let w = weight(r, c);
            if w >= min_iou { (w * 1_000_000.0) as i64 } else { 0 }
        });
        let (_, assignment) = kuhn_munkres(&matrix);
        assignment
            .into_iter()
            .enumerate()
            .filter(|&(r, c)| weight(r, c) >= min_iou)
            .map(|(r, c)| if transpose { (tracks[c], dets[r]) } else { (tracks[r], dets[c]) })
            .collect()
    }

    fn apply(&mut self, matches: &[(usize, usize)], detections: &[Detection], time_s: f64, unmatched: &mut Vec<usize>) {
        for &(s, i) in matches {
            let d = &detections[i];
            let slot = &mut self.slots[s];
            if slot.track.state == TrackState::Lost {
                // Back after a long gap: its old motion says nothing about where it is now.
                slot.filter = BoxFilter::new(&d.bbox, self.noise);
            } else {
                slot.filter.update(&d.bbox);
            }
            slot.hits += 1;
            let t = &mut slot.track;
            t.state = if t.state == TrackState::Tentative && slot.hits < self.config.confirm_hits {
                TrackState::Tentative
            } else {
                TrackState::Tracked
            };
            t.bbox = slot.filter.bbox();
            t.last_seen_box = d.bbox;
            t.last_seen_s = time_s;
            t.score = d.score;
            t.velocity = slot.filter.velocity();
            t.detection = Some(i);
            unmatched.retain(|&u| u != i);
        }
    }

    /// 6. Unmatched tracks coast, then turn lost; lost tracks of roles with room for several are forgotten.
    fn age(&mut self, time_s: f64) {
        let (coast_s, forget_s) = (self.config.coast_s, self.config.forget_s);
        let (max_cats, max_rats) = (self.config.max_cats, self.config.max_rats);
        for slot in &mut self.slots {
            let t = &mut slot.track;
            if t.detection.is_some() {
                continue;
            }
            let unseen = time_s - t.last_seen_s;
            if unseen <= coast_s && t.state != TrackState::Lost {
                t.state = TrackState::Coasting;
                t.bbox = slot.filter.bbox();
                t.velocity = slot.filter.velocity();
            } else {
                t.state = TrackState::Lost;
                t.bbox = t.last_seen_box;
                t.velocity = (0.0, 0.0);
            }
        }
        self.slots.retain(|s| {
            let single = match s.track.role {
                Role::Cat => max_cats == 1,
                Role::Rat => max_rats == 1,
                Role::Other => false,
            };
            single || s.track.state != TrackState::Lost || time_s - s.track.last_seen_s <= forget_s
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ClassRole;
    use std::sync::Arc;

    fn det(role: Role, score: f32, x: f32, y: f32, w: f32, h: f32) -> Detection {
        Detection {
            role,
            class_name: Arc::from(if role == Role::Cat { "cat" } else { "motion" }),
            score,
            bbox: BBox::new(x, y, x + w, y + h),
            evidence: None,
            class_role: ClassRole::Animal,
        }
    }

    fn ids(tracks: &[Track], role: Role) -> Vec<u32> {
        tracks.iter().filter(|t| t.role == role).map(|t| t.id).collect()
    }

    #[test]
    fn a_moving_rat_keeps_one_identity() {
        let mut tracker = Tracker::new(&TrackerConfig::default());
        let mut seen = Vec::new();
        for i in 0..50 {
            let t = i as f64 / 25.0;
            let tracks = tracker.update(t, &[det(Role::Rat, 0.6, 100.0 + 4.0 * i as f32, 200.0, 40.0, 25.0)]);
            seen.extend(ids(&tracks, Role::Rat));
        }
        seen.dedup();
        assert_eq!(seen, vec![1]);
    }

    #[test]
    fn cat_and_rat_never_swap_even_when_boxes_cross() {
        let mut tracker = Tracker::new(&TrackerConfig::default());
        let mut cat_ids = Vec::new();
        let mut rat_ids = Vec::new();
        for i in 0..40 {
            let t = i as f64 / 20.0;
            let x = i as f32 * 5.0;
            // The rat runs right under the cat's box.
            let tracks = tracker.update(
                t,
                &[det(Role::Cat, 0.9, 100.0, 100.0, 120.0, 80.0), det(Role::Rat, 0.6, x, 130.0, 30.0, 20.0)],
            );
            for tr in tracks.iter().filter(|t| t.is_observed()) {
                match tr.role {
                    Role::Cat => cat_ids.push(tr.id),
                    Role::Rat => rat_ids.push(tr.id),
                    Role::Other => unreachable!(),
                }
            }
        }
        cat_ids.dedup();
        rat_ids.dedup();
        assert_eq!(cat_ids.len(), 1);
        assert_eq!(rat_ids.len(), 1);
        assert_ne!(cat_ids[0], rat_ids[0]);
    }

    #[test]
    fn a_hidden_rat_coasts_then_is_lost_where_last_seen_then_comes_back_as_itself() {
        let config = TrackerConfig::default();
        let mut tracker = Tracker::new(&config);
        let last = det(Role::Rat, 0.6, 300.0, 200.0, 40.0, 25.0);
        for i in 0..10 {
            tracker.update(i as f64 * 0.1, std::slice::from_ref(&last));
        }
        let coasting = tracker.update(1.4, &[]);
        assert_eq!(coasting[0].state, TrackState::Coasting);
        let lost = tracker.update(3.0, &[]);
        assert_eq!(lost[0].state, TrackState::Lost);
        assert_eq!(lost[0].bbox, last.bbox, "lost keeps the last-seen box");
        assert!((lost[0].last_seen_s - 0.9).abs() < 1e-9);
        // A minute later, far away: still the only rat, so the same track.
        let back = tracker.update(60.0, &[det(Role::Rat, 0.6, 20.0, 20.0, 40.0, 25.0)]);
        assert_eq!(back.len(), 1);
        assert_eq!((back[0].id, back[0].state), (1, TrackState::Tracked));
    }

    #[test]
    fn weak_detections_keep_a_track_but_cannot_start_one() {
        let mut tracker = Tracker::new(&TrackerConfig::default());
        assert!(tracker.update(0.0, &[det(Role::Rat, 0.3, 10.0, 10.0, 30.0, 20.0)]).is_empty());
        tracker.update(0.1, &[det(Role::Rat, 0.7, 100.0, 100.0, 30.0, 20.0)]);
        tracker.update(0.2, &[det(Role::Rat, 0.7, 101.0, 100.0, 30.0, 20.0)]);
        tracker.update(0.25, &[det(Role::Rat, 0.7, 101.5, 100.0, 30.0, 20.0)]);
        let tracks = tracker.update(0.3, &[det(Role::Rat, 0.2, 102.0, 100.0, 30.0, 20.0)]);
        assert!(tracks[0].is_observed(), "{tracks:?}");
    }

    #[test]
    fn a_one_frame_flicker_does_not_become_a_track() {
        let mut tracker = Tracker::new(&TrackerConfig::default());
        tracker.update(0.0, &[]);
        let t = tracker.update(0.1, &[det(Role::Rat, 0.9, 10.0, 10.0, 30.0, 20.0)]);
        assert_eq!(t[0].state, TrackState::Tentative);
        let t = tracker.update(0.2, &[]);
        assert!(t.is_empty(), "an unconfirmed track is dropped: {t:?}");
    }

    #[test]
    fn only_as_many_animals_as_configured() {
        let mut tracker = Tracker::new(&TrackerConfig::default());
        let two_rats = [det(Role::Rat, 0.9, 10.0, 10.0, 30.0, 20.0), det(Role::Rat, 0.8, 300.0, 300.0, 30.0, 20.0)];
        let tracks = tracker.update(0.0, &two_rats);
        assert_eq!(ids(&tracks, Role::Rat).len(), 1);
        let mut two = Tracker::new(&TrackerConfig { max_rats: 2, ..TrackerConfig::default() });
        assert_eq!(ids(&two.update(0.0, &two_rats), Role::Rat).len(), 2);
    }

    #[test]
    fn other_roles_are_never_tracked() {
        let mut tracker = Tracker::new(&TrackerConfig::default());
        assert!(tracker.update(0.0, &[det(Role::Other, 0.99, 0.0, 0.0, 50.0, 50.0)]).is_empty());
    }
}
