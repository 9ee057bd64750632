//! Motion inside one animal's box, from pixels: how many pixels of the box changed their grey level by
//! more than a cutoff between now and `lag_s` ago (FreezeFrame compares frames 250-300 ms apart; ezTrack
//! counts changed pixels after a small blur). Measured inside the rat's own box so the cat moving
//! elsewhere in the frame cannot mask a frozen rat.
//!
//! Frames are kept as half-size grey images (each pixel the mean of a 2x2 block, which is also the
//! blur), a second's worth at most: about 77 kB a frame at 640x480.

use std::collections::VecDeque;
use std::sync::Arc;

use image::{GrayImage, RgbImage};

use crate::geometry::BBox;

/// How long frames are kept, seconds.
const KEEP_S: f64 = 1.0;
/// The box is grown by this fraction each way, so an animal shifting a little within it still counts.
const BOX_MARGIN: f32 = 0.1;
/// The floor around a box is taken this far out (a fraction of the box on each side).
const FLOOR_RING: f32 = 0.5;
/// A box whose mean grey is closer than this to the floor around it has no look of its own to lose.
const MIN_CONTRAST: f64 = 8.0;

pub struct PixelChange {
    lag_s: f64,
    cutoff: u8,
    frames: VecDeque<(f64, Arc<GrayImage>)>,
    /// The frame in which the animal was last seen (shared with `frames`: marking it copies nothing).
    seen: Option<Arc<GrayImage>>,
}

impl PixelChange {
    pub fn new(lag_s: f64, cutoff: u8) -> PixelChange {
        PixelChange { lag_s, cutoff, frames: VecDeque::new(), seen: None }
    }

    /// Keeps this frame for later comparisons. Returns false when it is an exact copy of the previous one
    /// (a stalled camera repeating its last picture): it then brings nothing new and is not kept.
    pub fn push(&mut self, time_s: f64, image: &RgbImage) -> bool {
        let grey = half_grey(image);
        if self.frames.back().is_some_and(|(_, last)| **last == grey) {
            return false;
        }
        while self.frames.front().is_some_and(|(t, _)| *t < time_s - KEEP_S || *t > time_s) {
            self.frames.pop_front();
        }
        self.frames.push_back((time_s, Arc::new(grey)));
        true
    }

    /// The animal is seen in the newest frame: later frames can be compared with this one.
    pub fn mark_seen(&mut self) {
        self.seen = self.frames.back().map(|(_, f)| Arc::clone(f));
    }

    /// How much of the look `bbox` had when the animal was last seen in it has gone since: its mean grey
    /// level's move from then to now, over how far it stood from the floor around it then (0: it looks as
    /// it did, the animal is still there; 1: it looks like the floor, the animal has gone). Shift-tolerant,
    /// unlike a count of changed pixels: a rat last seen while it was still coming to a halt has moved a
    /// little within its box, not left it. `None` when the box did not stand out from its surroundings.
    pub fn faded_since_seen(&self, bbox: &BBox) -> Option<f64> {
        let (now, seen) = (&self.frames.back()?.1, self.seen.as_ref()?);
        let inside = half_rect(seen, bbox)?;
        let around = half_rect(seen, &bbox.expand(FLOOR_RING))?;
        let (sum_inside, ring_px) = (sum(seen, inside), area(around) - area(inside));
        if ring_px == 0 {
            return None;
        }
        let seen_inside = sum_inside / area(inside) as f64;
        let floor = (sum(seen, around) - sum_inside) / ring_px as f64;
        let contrast = seen_inside - floor;
        if contrast.abs() < MIN_CONTRAST {
            return None;
        }
        Some(((mean(now, inside) - seen_inside) / -contrast).clamp(0.0, 1.0))
    }

    /// How many pixels of `bbox` (in full-size pixels) changed between the newest frame and the newest one
    /// at least `lag_s` older; `None` until there is such a frame.
    pub fn changed_pixels(&self, bbox: &BBox) -> Option<f64> {
        let (now_t, now) = self.frames.back()?;
        let (_, then) = self.frames.iter().rev().find(|(t, _)| *t <= now_t - self.lag_s)?;
        self.count_changed(now, then, bbox)
    }

    fn count_changed(&self, now: &GrayImage, then: &GrayImage, bbox: &BBox) -> Option<f64> {
        let w = now.width();
        let (x1, y1, x2, y2) = half_rect(now, &bbox.expand(BOX_MARGIN))?;
        let mut changed = 0u32;
        for y in y1..y2 {
            let row = (y * w) as usize;
            let (a, b) =
                (&now.as_raw()[row + x1 as usize..row + x2 as usize], &then.as_raw()[row..][x1 as usize..x2 as usize]);
            changed += a.iter().zip(b).filter(|(p, q)| p.abs_diff(**q) > self.cutoff).count() as u32;
        }
        // Each half-size pixel stands for four.
        Some(4.0 * changed as f64)
    }
}

/// Half-size grey image: each pixel the mean luma of a 2x2 block.
/// `bbox` (frame pixels) in the half-size grey image, clamped to it: (x1, y1, x2, y2), or `None` if empty.
fn half_rect(image: &GrayImage, bbox: &BBox) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = image.dimensions();
    let x1 = ((bbox.x1 / 2.0).floor().max(0.0) as u32).min(w);
    let y1 = ((bbox.y1 / 2.0).floor().max(0.0) as u32).min(h);
    let x2 = ((bbox.x2 / 2.0).ceil().max(0.0) as u32).min(w);
    let y2 = ((bbox.y2 / 2.0).ceil().max(0.0) as u32).min(h);
    (x2 > x1 && y2 > y1).then_some((x1, y1, x2, y2))
}

fn area((x1, y1, x2, y2): (u32, u32, u32, u32)) -> u64 {
    (x2 - x1) as u64 * (y2 - y1) as u64
}

fn sum(image: &GrayImage, (x1, y1, x2, y2): (u32, u32, u32, u32)) -> f64 {
    let w = image.width() as usize;
    (y1..y2)
        .map(|y| image.as_raw()[y as usize * w..][x1 as usize..x2 as usize].iter().map(|&p| p as u64).sum::<u64>())
        .sum::<u64>() as f64
}

fn mean(image: &GrayImage, rect: (u32, u32, u32, u32)) -> f64 {
    sum(image, rect) / area(rect) as f64
}

fn half_grey(image: &RgbImage) -> GrayImage {
    let (w, h) = (image.width() / 2, image.height() / 2);
    let raw = image.as_raw();
    let stride = image.width() as usize * 3;
    let luma = |i: usize| (77 * raw[i] as u32 + 150 * raw[i + 1] as u32 + 29 * raw[i + 2] as u32) >> 8;
    GrayImage::from_fn(w, h, |x, y| {
        let i = (2 * y) as usize * stride + (2 * x) as usize * 3;
        let sum = luma(i) + luma(i + 3) + luma(i + stride) + luma(i + stride + 3);
        image::Luma([(sum / 4) as u8])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dark square at `x` on a light frame, and a corner pixel that differs frame to frame (sensor noise:
    /// no two real frames are identical).
    fn frame_with_square(x: u32, frame: u8) -> RgbImage {
        let mut image = RgbImage::from_fn(200, 100, |px, py| {
            let inside = (x..x + 20).contains(&px) && (40..60).contains(&py);
            if inside { image::Rgb([30, 30, 30]) } else { image::Rgb([200; 3]) }
        });
        image.put_pixel(0, 0, image::Rgb([frame; 3]));
        image
    }

    #[test]
    fn a_still_square_is_unchanged_and_a_moving_one_changes_its_box() {
        let mut still = PixelChange::new(0.25, 10);
        let mut moving = PixelChange::new(0.25, 10);
        for i in 0..10 {
            let t = i as f64 * 0.1;
            still.push(t, &frame_with_square(50, i as u8));
            moving.push(t, &frame_with_square(50 + 4 * i, i as u8));
        }
        let bbox = BBox::new(80.0, 40.0, 100.0, 60.0);
        assert_eq!(still.changed_pixels(&BBox::new(50.0, 40.0, 70.0, 60.0)), Some(0.0));
        // The square moved 12 px in 0.3 s: two 12x20 strips changed.
        let changed = moving.changed_pixels(&bbox).unwrap();
        assert!((300.0..=600.0).contains(&changed), "{changed}");
        // Not enough history yet: no measurement.
        let mut fresh = PixelChange::new(0.25, 10);
        fresh.push(0.0, &frame_with_square(50, 0));
        assert_eq!(fresh.changed_pixels(&bbox), None);
    }

    #[test]
    fn an_exact_repeat_of_the_last_frame_is_not_kept_and_leaving_a_box_shows() {
        let mut p = PixelChange::new(0.25, 10);
        assert!(p.push(0.0, &frame_with_square(50, 0)));
        assert!(!p.push(0.04, &frame_with_square(50, 0)), "a stalled camera's repeat");
        p.mark_seen();
        assert!(p.push(0.08, &frame_with_square(150, 1)));
        let faded = p.faded_since_seen(&BBox::new(50.0, 40.0, 70.0, 60.0)).unwrap();
        assert!(faded > 0.9, "the square left its box: {faded}");
    }

    #[test]
    fn a_square_that_moved_a_little_within_its_box_has_not_faded_from_it() {
        let mut p = PixelChange::new(0.25, 10);
        p.push(0.0, &frame_with_square(50, 0));
        p.mark_seen();
        p.push(0.1, &frame_with_square(54, 1));
        // Its box as last seen, with a little room: most of the square is still in it.
        let faded = p.faded_since_seen(&BBox::new(48.0, 38.0, 72.0, 62.0)).unwrap();
        assert!(faded < 0.3, "{faded}");
    }
}
