//! Drawing labelled boxes on frames, for `detect --annotate`, annotated videos and the live view.
//! Text uses the public-domain 8x8 bitmap font of `font8x8`, so no font file is needed at run time.

use font8x8::{BASIC_FONTS, UnicodeFonts};
use image::{Rgb, RgbImage};
use imageproc::drawing::draw_line_segment_mut;

use crate::detect::Detection;
use crate::geometry::BBox;
use crate::kinds::Role;
use crate::pipeline::AnalysedFrame;
use crate::track::TrackState;
use crate::zones::{ZoneKind, Zones};

/// Colours that stay apart in greyscale too: the cat dark red, the rat light cyan, others mid grey.
pub fn role_colour(role: Role) -> Rgb<u8> {
    match role {
        Role::Cat => Rgb([200, 30, 30]),
        Role::Rat => Rgb([60, 220, 255]),
        Role::Other => Rgb([150, 150, 150]),
    }
}

/// Draws every detection's box with "role class score" above it.
pub fn draw_detections(image: &mut RgbImage, detections: &[Detection]) {
    for d in detections {
        let colour = role_colour(d.role);
        let label = format!("{} {} {:.2}", d.role, d.class_name, d.score);
        draw_labelled_box(image, &d.bbox, &label, colour);
    }
}

/// A box of 2-pixel lines with `label` on a filled strip above it (inside when at the top edge).
pub fn draw_labelled_box(image: &mut RgbImage, bbox: &BBox, label: &str, colour: Rgb<u8>) {
    let b = bbox.clamp_to(image.width(), image.height());
    let (x1, y1) = (b.x1 as i64, b.y1 as i64);
    let (x2, y2) = ((b.x2 as i64).max(x1 + 1), (b.y2 as i64).max(y1 + 1));
    for t in 0..2 {
        fill_rect(image, x1, y1 + t, x2, y1 + t + 1, colour);
        fill_rect(image, x1, y2 - 1 - t, x2, y2 - t, colour);
        fill_rect(image, x1 + t, y1, x1 + t + 1, y2, colour);
        fill_rect(image, x2 - 1 - t, y1, x2 - t, y2, colour);
    }
    let text_w = 8 * label.chars().count() as i64 + 4;
    let strip_top = if y1 >= 12 { y1 - 12 } else { y1 };
    fill_rect(image, x1, strip_top, x1 + text_w, strip_top + 12, colour);
    let luma = 0.299 * colour[0] as f32 + 0.587 * colour[1] as f32 + 0.114 * colour[2] as f32;
    let ink = if luma > 128.0 { Rgb([0, 0, 0]) } else { Rgb([255, 255, 255]) };
    draw_text(image, x1 + 2, strip_top + 2, label, ink);
}

/// Writes `text` with its top-left corner at (x, y), clipped to the image.
pub fn draw_text(image: &mut RgbImage, x: i64, y: i64, text: &str, colour: Rgb<u8>) {
    for (i, ch) in text.chars().enumerate() {
        let Some(glyph) = BASIC_FONTS.get(ch) else {
            continue;
        };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    put(image, x + i as i64 * 8 + col, y + row as i64, colour);
                }
            }
        }
    }
}

fn fill_rect(image: &mut RgbImage, x1: i64, y1: i64, x2: i64, y2: i64, colour: Rgb<u8>) {
    let (w, h) = (image.width() as i64, image.height() as i64);
    for y in y1.max(0)..y2.min(h) {
        for x in x1.max(0)..x2.min(w) {
            image.put_pixel(x as u32, y as u32, colour);
        }
    }
}

fn put(image: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>) {
    if x >= 0 && y >= 0 && x < image.width() as i64 && y < image.height() as i64 {
        image.put_pixel(x as u32, y as u32, colour);
    }
}

/// The enclosure amber, shelters green: apart from the animals' red and cyan.
pub fn zone_colour(kind: ZoneKind) -> Rgb<u8> {
    match kind {
        ZoneKind::Enclosure => Rgb([255, 190, 0]),
        ZoneKind::Shelter => Rgb([70, 200, 90]),
    }
}

/// Draws each zone's outline (2 pixels) with its name inside its top-left corner.
pub fn draw_zones(canvas: &mut RgbImage, zones: &Zones) {
    let (w, h) = canvas.dimensions();
    for zone in zones.named() {
        let colour = zone_colour(zone.kind);
        let corners = zone.area.corners_px(w, h);
        for (i, &(x1, y1)) in corners.iter().enumerate() {
            let (x2, y2) = corners[(i + 1) % corners.len()];
            for (dx, dy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)] {
                draw_line_segment_mut(canvas, (x1 + dx, y1 + dy), (x2 + dx, y2 + dy), colour);
            }
        }
        let [x1, y1, ..] = zone.area.bounds();
        let (x, y) = ((x1 * w as f32) as i64 + 3, (y1 * h as f32) as i64 + 3);
        let label = zone.label();
        fill_rect(canvas, x - 1, y - 1, x + 8 * label.chars().count() as i64 + 1, y + 9, Rgb([0, 0, 0]));
        draw_text(canvas, x, y, &label, colour);
    }
}

/// Draws the zones, the tracks and the time onto `canvas` (a copy of the frame).
/// `image` as a JPEG of `quality` (1-100): how annotated frames travel to the live view and the clips.
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> image::ImageResult<Vec<u8>> {
    let mut jpeg = Vec::with_capacity(64 * 1024);
    image.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality))?;
    Ok(jpeg)
}

pub fn draw_tracks(canvas: &mut RgbImage, a: &AnalysedFrame) {
    draw_zones(canvas, &a.zones);
    for t in a.tracks.iter().filter(|t| t.state != TrackState::Tentative) {
        let colour = role_colour(t.role);
        let label = match t.state {
            TrackState::Tracked => format!("{} #{} {:.2}", t.role, t.id, t.score),
            TrackState::Coasting => format!("{} #{} predicted", t.role, t.id),
            TrackState::Lost => format!("{} #{} last seen {:.1}s", t.role, t.id, a.frame.time_s - t.last_seen_s),
            TrackState::Tentative => unreachable!(),
        };
        let colour =
            if t.state == TrackState::Tracked { colour } else { Rgb([colour[0] / 2, colour[1] / 2, colour[2] / 2]) };
        draw_labelled_box(canvas, &t.bbox, &label, colour);
    }
    let mut header = format!("t={:.2}s frame {}", a.frame.time_s, a.frame.index);
    if a.motion.scene_changed {
        header.push_str("  scene changed");
    }
    let width = 8 * header.len() as u32 + 6;
    for y in 0..14u32.min(canvas.height()) {
        for x in 0..width.min(canvas.width()) {
            canvas.put_pixel(x, y, Rgb([0, 0, 0]));
        }
    }
    draw_text(canvas, 3, 3, &header, Rgb([255, 255, 255]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn box_edges_take_the_role_colour_and_stay_inside_the_image() {
        let mut img = RgbImage::new(100, 80);
        let det = Detection {
            role: Role::Cat,
            class_name: Arc::from("cat"),
            score: 0.9,
            bbox: BBox::new(10.0, 20.0, 60.0, 70.0),
            evidence: None,
            class_role: crate::kinds::ClassRole::Cat,
        };
        draw_detections(&mut img, std::slice::from_ref(&det));
        assert_eq!(*img.get_pixel(10, 45), role_colour(Role::Cat));
        assert_eq!(*img.get_pixel(59, 45), role_colour(Role::Cat));
        assert_eq!(*img.get_pixel(35, 45), Rgb([0, 0, 0]), "inside stays untouched");
        // A box hanging off the frame must not panic.
        let off = Detection { bbox: BBox::new(-50.0, -50.0, 500.0, 500.0), ..det };
        draw_detections(&mut img, &[off]);
    }
}
