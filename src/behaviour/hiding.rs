//! Hiding: the rat out of sight inside or next to a shelter, or its visible part shrinking into one, for
//! longer than a few seconds. Shelters are zones the owner marks in the config, as fractions of the
//! frame. A rat lost anywhere else is not hiding: that is the `rat_unseen` fault (see [`super::visibility`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::bout::Bout;
use super::{AnimalView, Behaviour, Change, Episode, Measure};
use crate::geometry::BBox;
use crate::kinds::Role;
use crate::zones::{Area, Shelter};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HidingConfig {
    /// Shelter zones, each `[x1, y1, x2, y2]` as fractions of the frame (0..1), a polygon, or either
    /// named (see [`Shelter`]). None: no hiding place is known, and a rat out of sight is `rat_unseen`.
    pub shelters: Vec<Shelter>,
    /// "Next to" a shelter: within this many rat body lengths of it.
    pub margin: f64,
    /// Shrinking into a shelter: the visible box at most this share of the rat's usual area.
    pub shrink_ratio: f64,
    /// Out of sight for this long is hiding, seconds.
    pub min_duration_s: f64,
    /// Hiding is a warning when confirmed, and stops the session once it has lasted this long, seconds.
    pub stop_after_s: f64,
}

impl Default for HidingConfig {
    fn default() -> Self {
        HidingConfig { shelters: Vec::new(), margin: 0.5, shrink_ratio: 0.5, min_duration_s: 3.0, stop_after_s: 10.0 }
    }
}

/// The rat's usual area follows its observed boxes over about this long, seconds.
const AREA_BASELINE_S: f64 = 10.0;

pub struct HidingDetector {
    config: HidingConfig,
    usual_area: Option<f64>,
    last_time_s: Option<f64>,
    bout: Bout,
}

impl HidingDetector {
    pub fn new(config: &HidingConfig) -> HidingDetector {
        HidingDetector {
            config: config.clone(),
            usual_area: None,
            last_time_s: None,
            bout: Bout::new(Behaviour::Hiding, Role::Rat, config.min_duration_s, 0.0),
        }
    }

    pub fn active(&self) -> Option<&Episode> {
        self.bout.active()
    }

    pub fn set_shelters(&mut self, shelters: Vec<Shelter>) {
        self.config.shelters = shelters;
    }

    /// Whether the rat's box is in or next to a shelter.
    pub fn at_shelter(&self, rat: &BBox, frame_size: Option<(u32, u32)>) -> bool {
        let Some((w, h)) = frame_size else { return false };
        let reach = self.config.margin as f32 * rat.width().max(rat.height());
        self.config.shelters.iter().any(|shelter| match shelter.area {
            Area::Rect([x1, y1, x2, y2]) => {
                let zone = BBox::new(
                    x1 * w as f32 - reach,
                    y1 * h as f32 - reach,
                    x2 * w as f32 + reach,
                    y2 * h as f32 + reach,
                );
                zone.intersection(rat) > 0.0
            }
            Area::Polygon(_) => shelter.area.distance_px(rat, w, h) <= reach,
        })
    }

    /// Feeds the rat as last known. Returns the change, and whether the rat is out of sight (or
    /// shrinking) at a shelter now: its absence is then accounted for.
    pub fn update(
        &mut self,
        time_s: f64,
        rat: Option<&AnimalView>,
        frame_size: Option<(u32, u32)>,
    ) -> (Option<Change>, bool) {
        let dt = self.last_time_s.map_or(0.0, |t| (time_s - t).clamp(0.0, 1.0));
        self.last_time_s = Some(time_s);
        let Some(rat) = rat else {
            return (self.bout.update(time_s, false, BTreeMap::new), false);
        };
        let area = rat.bbox.area() as f64;
        let at_shelter = self.at_shelter(&rat.bbox, frame_size);
        let shrunk = rat.observed && self.usual_area.is_some_and(|u| area <= self.config.shrink_ratio * u);
        if rat.observed && !at_shelter {
            let usual = self.usual_area.get_or_insert(area);
            *usual += (dt / AREA_BASELINE_S).min(1.0) * (area - *usual);
        }
        let hidden = at_shelter && (!rat.observed || shrunk);
        let change = self.bout.update(time_s, hidden, || {
            BTreeMap::from([(
                Measure::VisibleShareOfUsualArea,
                if rat.observed { self.usual_area.map_or(0.0, |u| area / u) } else { 0.0 },
            )])
        });
        (change, hidden)
    }

    pub fn finish_at(&mut self, end_s: f64) -> Option<Change> {
        self.bout.finish_at(end_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rat_lost_at_a_shelter_is_hiding_and_one_lost_elsewhere_is_not() {
        let config = HidingConfig { shelters: vec![Shelter::from([0.5, 0.5, 0.7, 0.7])], ..Default::default() };
        let frame = Some((1000, 1000));
        for (x, hides) in [(480.0, true), (100.0, false)] {
            let mut d = HidingDetector::new(&config);
            let mut started = None;
            for i in 0..100 {
                let t = i as f64 / 10.0;
                let view = AnimalView::boxed(BBox::new(x, 520.0, x + 40.0, 540.0), t < 2.0);
                if let (Some(Change::Started(e)), _) = d.update(t, Some(&view), frame) {
                    started = Some(e.confirmed_s);
                }
            }
            assert_eq!(started.is_some(), hides, "x = {x}: {started:?}");
            if let Some(t) = started {
                assert!((t - 5.0).abs() < 0.15, "out of sight from 2 s, confirmed 3 s later: {t}");
            }
        }
    }
}
