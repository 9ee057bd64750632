//! Keeping the rat's view to boxes a rat can have: a rat track that suddenly grows far past the rat's
//! size or jumps faster than a rat runs has taken something else (an undetected dog's motion, a merged
//! blob), and the rat is then taken as unseen where it was last plausibly seen. It guards every source of
//! moments (video, replayed tracks, rendered scenarios), so the behaviour engine applies it to each.

use super::AnimalView;

/// A rat box this many times the rat's usual area is not the rat.
const RAT_AREA_JUMP: f64 = 4.0;
/// Faster than this, in rat body lengths per second, a rat box's jump is another object (a rat sprints at
/// about 10).
const RAT_MAX_SPEED: f64 = 20.0;
/// How fast the rat's usual area follows its observed boxes, per frame.
const RAT_AREA_SMOOTHING: f64 = 0.02;

/// What is known of the rat's plausible boxes so far.
#[derive(Debug, Clone, Default)]
pub struct PlausibleRat {
    /// The rat's usual box area (a slow running mean).
    usual_area: Option<f64>,
    /// Its last box of a plausible size, and when it was seen.
    last_plausible: Option<AnimalView>,
    last_plausible_s: Option<f64>,
    /// The rat's track last saw something that was not the rat.
    took_other: bool,
}

impl PlausibleRat {
    /// The rat's view at `t` (`rat_length`: its body length in pixels, 0 when unknown), unless its box
    /// suddenly grew far beyond the rat's usual size or jumped faster than a rat runs: then the track has
    /// taken something else, and the rat is taken as unseen where it was last plausibly seen.
    pub fn check(&mut self, t: f64, rat: Option<&AnimalView>, rat_length: f64) -> Option<AnimalView> {
        let view = rat?;
        let area = view.bbox.area() as f64;
        let teleported = self.last_plausible.as_ref().zip(self.last_plausible_s).is_some_and(|(last, t0)| {
            let ((x0, y0), (x1, y1)) = (last.bbox.center(), view.bbox.center());
            let speed = ((x1 - x0) as f64).hypot((y1 - y0) as f64) / (t - t0).max(1e-3);
            rat_length > 0.0 && speed > RAT_MAX_SPEED * rat_length
        });
        let usual = self.usual_area.get_or_insert(area);
        let implausible = view.observed && (area > RAT_AREA_JUMP * *usual || teleported);
        // Once the track has taken something else, its predictions and its "last seen" box come from that
        // thing too, until it sees a plausible rat again.
        let remembers_other = !view.observed && self.took_other;
        if implausible || remembers_other {
            self.took_other = true;
            return Some(self.last_plausible.clone().map_or_else(
                || AnimalView { observed: false, head: None, ..view.clone() },
                |last| AnimalView { observed: false, points: vec![None; last.points.len()], head: None, ..last },
            ));
        }
        if view.observed {
            *usual += RAT_AREA_SMOOTHING * (area - *usual);
            self.last_plausible = Some(view.clone());
            self.last_plausible_s = Some(t);
            self.took_other = false;
        }
        Some(view.clone())
    }
}
