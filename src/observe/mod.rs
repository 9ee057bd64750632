//! The observe stage: tracks (and, from video, pixels) in, one [`Moment`] out: what the behaviour engine
//! is told about the cat and the rat at one instant. Video frames go through [`VideoObserver`]; recorded
//! tracks (`analyze-tracks`) and rendered scenarios build moments of their own, so the engine never knows
//! where a moment came from.

pub mod pixel_change;
pub mod plausible;

use crate::geometry::BBox;
use crate::kinds::Role;
use crate::source::Frame;
use crate::track::{Track, TrackState};
use pixel_change::PixelChange;

/// The track of `role` the engine follows, and the box it takes for the animal: for the cat, a track
/// seen or coasting, at its box; for the rat, any confirmed track, as last seen even when lost (where it
/// was is what the cat heads for, and where a frozen rat still is), at its prediction while coasting.
pub fn engine_box(tracks: &[Track], role: Role) -> Option<(&Track, BBox)> {
    match role {
        Role::Cat => tracks
            .iter()
            .find(|t| t.role == Role::Cat && matches!(t.state, TrackState::Tracked | TrackState::Coasting))
            .map(|t| (t, t.bbox)),
        Role::Rat => tracks.iter().find(|t| t.role == Role::Rat && t.state != TrackState::Tentative).map(|t| {
            let bbox = if t.is_observed() || t.state == TrackState::Lost { t.last_seen_box } else { t.bbox };
            (t, bbox)
        }),
        Role::Other => None,
    }
}

/// Points of the body at one moment: `None` where a point was not seen (or not trusted).
pub type BodyPoints = Vec<Option<(f32, f32)>>;

/// Where a body's points come from, which sets how still they must be to count as still.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySource {
    /// A pose's trunk keypoints.
    Keypoints,
    /// The centre of the animal's box.
    BoxCentre,
}

/// One animal at one moment, as the engine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnimalView {
    /// Where the animal is: its box this frame when `observed`, else the tracker's prediction or the last
    /// box seen.
    pub bbox: BBox,
    /// Seen in this frame, not predicted or remembered.
    pub observed: bool,
    /// Body points from a pose source (DeepLabCut); empty when there are none, and the box centre stands
    /// in for the body.
    pub points: BodyPoints,
    /// Unit vector the animal faces, when a pose source tells (nose ahead of the body).
    pub heading: Option<(f32, f32)>,
    /// Unit vector of the head's own direction (ears to nose), when a pose source has a nose and ears:
    /// freezing asks that the head be still too.
    pub head: Option<(f32, f32)>,
    /// Body length in pixels, when the source knows it better than the box does (a pose's nose to tail
    /// base); else the engine follows the box's long side.
    pub length: Option<f64>,
}

impl AnimalView {
    /// A box without keypoints, as the video pipeline gives.
    pub fn boxed(bbox: BBox, observed: bool) -> AnimalView {
        AnimalView { bbox, observed, points: Vec::new(), heading: None, head: None, length: None }
    }

    /// The body points, or the box centre when there are none; and which of the two they are.
    pub fn body_points(&self) -> (BodyPoints, BodySource) {
        if self.points.is_empty() {
            let centre = if self.observed { vec![Some(self.bbox.center())] } else { vec![None] };
            (centre, BodySource::BoxCentre)
        } else {
            (self.points.clone(), BodySource::Keypoints)
        }
    }
}

/// Everything the engine is told about one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Moment {
    /// Capture time, seconds.
    pub time_s: f64,
    pub cat: Option<AnimalView>,
    /// The rat, observed or as last seen (a lost rat is still somewhere near where it was last seen).
    pub rat: Option<AnimalView>,
    /// When there are pixels: how many pixels of the rat's box changed over the last `freezing.lag_s`
    /// (see [`pixel_change`]).
    pub rat_changed_px: Option<f64>,
    /// When there are pixels and the rat is not seen now: how much of the look its last box had when the
    /// rat was last seen there has gone (0: as it was, the rat is still there; 1: floor, it has gone; see
    /// [`PixelChange::faded_since_seen`]).
    pub rat_faded_since_seen: Option<f64>,
    /// The moment comes from video (pixels were looked at), not from recorded tracks.
    pub pixels: bool,
    /// Frame size in pixels, when known: zones are given as fractions of it.
    pub frame_size: Option<(u32, u32)>,
}

/// Turns analysed video frames into moments: the cat and rat tracks as animal views, and the pixel
/// change inside the rat's box.
pub struct VideoObserver {
    pixels: PixelChange,
}

impl VideoObserver {
    /// `lag_s`: how far apart the frames compared for pixel change are; `cutoff`: the grey-level change
    /// that counts as a changed pixel (the freezing detector's settings).
    pub fn new(lag_s: f64, cutoff: u8) -> VideoObserver {
        VideoObserver { pixels: PixelChange::new(lag_s, cutoff) }
    }

    /// The moment of an analysed frame; `None` for an exact copy of the previous frame (a stalled camera
    /// repeating itself), which tells nothing new and would make the next real frame look like a jump.
    pub fn observe(&mut self, frame: &Frame, tracks: &[Track]) -> Option<Moment> {
        let image = &frame.image;
        if !self.pixels.push(frame.time_s, image) {
            return None;
        }
        let cat = engine_box(tracks, Role::Cat).map(|(t, bbox)| AnimalView::boxed(bbox, t.is_observed()));
        let rat = engine_box(tracks, Role::Rat).map(|(t, bbox)| AnimalView::boxed(bbox, t.is_observed()));
        let rat_changed_px = rat.as_ref().and_then(|r| self.pixels.changed_pixels(&r.bbox));
        let mut rat_faded_since_seen = None;
        match &rat {
            Some(r) if r.observed => self.pixels.mark_seen(),
            Some(r) => rat_faded_since_seen = self.pixels.faded_since_seen(&r.bbox),
            None => {}
        }
        Some(Moment {
            time_s: frame.time_s,
            cat,
            rat,
            rat_changed_px,
            rat_faded_since_seen,
            pixels: true,
            frame_size: Some(image.dimensions()),
        })
    }
}
