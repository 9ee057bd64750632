//! Renders a scenario into the engine's moments, as a tracker would report it: boxes with jitter,
//! detections dropped now and then, the frame rate and pixel scale of some camera, timestamps that wobble,
//! and spans without frames. Fast (no pixels), so thousands of variations take seconds.

use serde::Serialize;

use super::{Actor, Scenario};
use crate::behaviour::{AnimalView, Moment};
use crate::geometry::BBox;

/// How one rendering differs from the scenario's ideal.
#[derive(Debug, Clone, Serialize)]
pub struct Variation {
    pub seed: u64,
    pub fps: f64,
    /// Standard deviation of each box edge's noise, pixels at scale 1.
    pub jitter_px: f64,
    /// Chance that an animal in sight is missed in a frame.
    pub drop_rate: f64,
    /// Pixel scale: the same scene filmed closer (> 1) or farther (< 1).
    pub scale: f64,
    /// Standard deviation of frame timestamps' wobble, seconds.
    pub time_jitter_s: f64,
}

impl Variation {
    /// The scenario as written: 25 fps, no noise.
    pub fn ideal() -> Variation {
        Variation { seed: 0, fps: 25.0, jitter_px: 0.0, drop_rate: 0.0, scale: 1.0, time_jitter_s: 0.0 }
    }

    /// `n` deterministic variations: frame rates from 10 to 30, box noise up to 3 px, up to 15% missed
    /// detections, half to one-and-a-half times the pixel scale.
    pub fn set(n: usize, seed: u64) -> Vec<Variation> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n)
            .map(|i| Variation {
                seed: seed.wrapping_mul(1000).wrapping_add(i as u64),
                fps: [10.0, 15.0, 25.0, 30.0][rng.usize(0..4)],
                jitter_px: [0.0, 1.0, 2.0, 3.0][rng.usize(0..4)],
                drop_rate: [0.0, 0.05, 0.15][rng.usize(0..3)],
                scale: [0.5, 1.0, 1.5][rng.usize(0..3)],
                time_jitter_s: [0.0, 0.005][rng.usize(0..2)],
            })
            .collect()
    }
}

/// How long a missed cat is still reported (coasting on the prediction) before it is gone, seconds:
/// the tracker's default coast.
const CAT_COAST_S: f64 = 1.0;

/// The moments of `scenario` rendered with `variation`.
pub fn render(scenario: &Scenario, variation: &Variation) -> Vec<Moment> {
    let mut rng = fastrand::Rng::with_seed(variation.seed);
    let s = variation.scale;
    let frame_size = ((scenario.frame[0] as f64 * s).round() as u32, (scenario.frame[1] as f64 * s).round() as u32);
    let mut cat = TrackedActor::default();
    let mut rat = TrackedActor::default();
    let mut moments = Vec::new();
    let frames = (scenario.duration_s * variation.fps).floor() as usize;
    for k in 0..frames {
        let ideal_t = k as f64 / variation.fps;
        if scenario.gaps.iter().any(|[a, b]| ideal_t >= *a && ideal_t < *b) {
            continue;
        }
        let t = (ideal_t + variation.time_jitter_s * gaussian(&mut rng)).max(0.0);
        let mut moment = Moment { time_s: t, frame_size: Some(frame_size), ..Default::default() };
        if let Some(actor) = &scenario.cat {
            let view = cat.observe(actor, ideal_t, variation, &mut rng);
            // A cat missed for longer than the tracker coasts is gone from the tracks.
            moment.cat = view.filter(|v| v.observed || cat.unseen_for(ideal_t) < CAT_COAST_S);
        }
        if let Some(actor) = &scenario.rat {
            // The rat stays where it was last seen, as the tracker keeps a lost track's last box.
            moment.rat = rat.observe(actor, ideal_t, variation, &mut rng);
        }
        moments.push(moment);
    }
    moments
}

/// What the tracker would say of one animal: its noisy box when seen, its last box when not.
#[derive(Default)]
struct TrackedActor {
    last_box: Option<BBox>,
    last_seen_s: f64,
}

impl TrackedActor {
    fn observe(&mut self, actor: &Actor, t: f64, v: &Variation, rng: &mut fastrand::Rng) -> Option<AnimalView> {
        let visible = !actor.hidden_at(t) && rng.f64() >= v.drop_rate;
        if !visible {
            return self.last_box.map(|b| AnimalView::boxed(b, false));
        }
        let b = actor.bbox_at(t);
        let s = v.scale as f32;
        let mut noise = || (v.jitter_px * v.scale * gaussian(rng)) as f32;
        let noisy = BBox::new(b.x1 * s + noise(), b.y1 * s + noise(), b.x2 * s + noise(), b.y2 * s + noise());
        self.last_box = Some(noisy);
        self.last_seen_s = t;
        Some(AnimalView::boxed(noisy, true))
    }

    fn unseen_for(&self, t: f64) -> f64 {
        t - self.last_seen_s
    }
}

/// A standard normal sample (Box-Muller).
fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    let u1 = rng.f64().max(1e-12);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
