//! Resizing frames into model inputs with `fast_image_resize` (SIMD; about 15x faster than `image`'s
//! resize), writing into buffers the caller keeps, so nothing is allocated per frame.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::error::{Error, Result};
use crate::geometry::BBox;

pub struct FrameResizer {
    resizer: Resizer,
}

impl Default for FrameResizer {
    fn default() -> Self {
        FrameResizer { resizer: Resizer::new() }
    }
}

impl FrameResizer {
    /// Resizes `src`, or the `crop` of it, bilinearly into `dst`, an RGB buffer of `dst_w` x `dst_h`.
    pub fn resize_into(
        &mut self,
        src: &RgbImage,
        crop: Option<BBox>,
        dst: &mut [u8],
        dst_w: u32,
        dst_h: u32,
    ) -> Result<()> {
        let fail = |what: &str, e: &dyn std::fmt::Display| Error::inference("frame resize", format!("{what}: {e}"));
        let src_view =
            ImageRef::new(src.width(), src.height(), src.as_raw(), PixelType::U8x3).map_err(|e| fail("source", &e))?;
        let mut dst_view =
            Image::from_slice_u8(dst_w, dst_h, dst, PixelType::U8x3).map_err(|e| fail("destination", &e))?;
        let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        if let Some(b) = crop {
            // In f64 and cut to the image: f32 boxes at the right or bottom edge can overshoot it by a
            // rounding error, which the resizer rejects.
            let (w, h) = (src.width() as f64, src.height() as f64);
            let left = (b.x1 as f64).clamp(0.0, w - 1.0);
            let top = (b.y1 as f64).clamp(0.0, h - 1.0);
            let width = (b.x2 as f64 - left).clamp(1.0, w - left);
            let height = (b.y2 as f64 - top).clamp(1.0, h - top);
            options = options.crop(left, top, width, height);
        }
        self.resizer.resize(&src_view, &mut dst_view, &options).map_err(|e| fail("resize", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_touching_or_past_the_edges_resize() {
        let src = RgbImage::from_fn(640, 480, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut dst = vec![0; 32 * 32 * 3];
        let mut resizer = FrameResizer::default();
        for crop in [
            BBox::new(0.3, 0.7, 640.0, 480.0),
            BBox::new(600.1, 400.2, 700.0, 500.0),
            BBox::new(640.0, 480.0, 640.0, 480.0),
            BBox::new(-10.0, -10.0, 5.0, 5.0),
        ] {
            resizer.resize_into(&src, Some(crop), &mut dst, 32, 32).unwrap_or_else(|e| panic!("{crop:?}: {e}"));
        }
    }

    #[test]
    fn resize_keeps_colours() {
        let src = RgbImage::from_pixel(64, 48, image::Rgb([10, 200, 30]));
        let mut dst = vec![0; 16 * 16 * 3];
        FrameResizer::default().resize_into(&src, None, &mut dst, 16, 16).unwrap();
        assert!(dst.chunks_exact(3).all(|p| p == [10, 200, 30]));
    }
}
