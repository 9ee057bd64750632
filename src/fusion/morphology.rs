//! Opening and closing of binary masks by a square, as `imageproc::morphology` does them with the L∞
//! norm, but in two running-count passes (rows, then columns) instead of two distance transforms: the
//! motion detector runs four of these on every frame, and the distance transforms were most of its time.
//!
//! The result is the same pixel for pixel (the tests compare both): a pixel is foreground when it is
//! non-zero; the square window is clipped to the image, so the border neither erodes nor dilates.

use image::GrayImage;

/// Whether a window keeps a pixel when any of it is foreground (dilation) or only when all of it is
/// (erosion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Dilate,
    Erode,
}

/// Erosion then dilation by the (2r+1)-square: takes away what is thinner than the square.
pub fn open(mask: &mut GrayImage, radius: u8, scratch: &mut Vec<u8>) {
    square(mask, radius, Filter::Erode, scratch);
    square(mask, radius, Filter::Dilate, scratch);
}

/// Dilation then erosion by the (2r+1)-square: fills gaps narrower than the square.
pub fn close(mask: &mut GrayImage, radius: u8, scratch: &mut Vec<u8>) {
    square(mask, radius, Filter::Dilate, scratch);
    square(mask, radius, Filter::Erode, scratch);
}

/// One dilation or erosion, in place: the clipped square is the product of a clipped row window and a
/// clipped column window, so a pass along the rows (into `scratch`) and one along the columns (back into
/// `mask`) give the square's result. On 0/255 masks a window's dilation is its maximum and its erosion
/// its minimum; each pass takes them over shifted copies, which the compiler vectorises.
fn square(mask: &mut GrayImage, radius: u8, filter: Filter, scratch: &mut Vec<u8>) {
    let (w, h) = (mask.width() as usize, mask.height() as usize);
    if w == 0 || h == 0 {
        return;
    }
    debug_assert!(mask.iter().all(|&v| v == 0 || v == 255), "morphology works on 0/255 masks");
    scratch.clear();
    scratch.extend_from_slice(mask);
    for (src, dst) in mask.chunks_exact(w).zip(scratch.chunks_exact_mut(w)) {
        shifted_pass(src, dst, 1, radius as usize, filter);
    }
    // Columns: rows `d` apart are `d * w` apart in the buffer, so the same pass over the whole buffer
    // with a stride of `w` combines each pixel with those above and below it.
    mask.copy_from_slice(scratch);
    shifted_pass(scratch, mask, w, radius as usize, filter);
}

/// Combines each value of `dst` (a copy of `src`) with the values of `src` up to `radius` steps of
/// `stride` either side that exist: a window clipped to the slice.
fn shifted_pass(src: &[u8], dst: &mut [u8], stride: usize, radius: usize, filter: Filter) {
    // One loop per filter, each with its operation known at compile time: chosen at run time as a
    // function pointer, it was left a call per pixel in some builds, and the motion stage ran 4x slower.
    match filter {
        Filter::Dilate => shifted_pass_with(src, dst, stride, radius, |a, b| a.max(b)),
        Filter::Erode => shifted_pass_with(src, dst, stride, radius, |a, b| a.min(b)),
    }
}

fn shifted_pass_with(src: &[u8], dst: &mut [u8], stride: usize, radius: usize, combine: impl Fn(u8, u8) -> u8) {
    let n = src.len();
    for d in 1..=radius {
        let offset = d * stride;
        if offset >= n {
            break;
        }
        dst[..n - offset].iter_mut().zip(&src[offset..]).for_each(|(o, &v)| *o = combine(*o, v));
        dst[offset..].iter_mut().zip(&src[..n - offset]).for_each(|(o, &v)| *o = combine(*o, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imageproc::distance_transform::Norm;

    /// A reproducible mask: blobs, specks and thin lines, as a foreground mask has them.
    fn mask(w: u32, h: u32, seed: u64) -> GrayImage {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let mut m = GrayImage::new(w, h);
        for _ in 0..(w * h / 40).max(1) {
            let (x, y) = (next() % w, next() % h);
            let (bw, bh) = (1 + next() % 9, 1 + next() % 9);
            for yy in y..(y + bh).min(h) {
                for xx in x..(x + bw).min(w) {
                    m.put_pixel(xx, yy, image::Luma([255]));
                }
            }
        }
        m
    }

    #[test]
    fn opening_and_closing_match_imageproc_pixel_for_pixel() {
        let mut scratch = Vec::new();
        for (w, h) in [(320, 240), (17, 5), (1, 9), (9, 1), (3, 3)] {
            for seed in 0..4 {
                // (imageproc takes w + h for "no such pixel in the image", so a radius that large would
                // find one: a quirk of tiny images, not a difference that matters.)
                for radius in [1u8, 2, 4, 7].into_iter().filter(|&r| (r as u32) < w + h) {
                    let original = mask(w, h, seed);
                    let (mut ours, mut theirs) = (original.clone(), original.clone());
                    open(&mut ours, radius, &mut scratch);
                    imageproc::morphology::open_mut(&mut theirs, Norm::LInf, radius);
                    assert_eq!(ours, theirs, "open r={radius} {w}x{h} seed {seed}");
                    let (mut ours, mut theirs) = (original.clone(), original);
                    close(&mut ours, radius, &mut scratch);
                    imageproc::morphology::close_mut(&mut theirs, Norm::LInf, radius);
                    assert_eq!(ours, theirs, "close r={radius} {w}x{h} seed {seed}");
                }
            }
        }
    }

    #[test]
    fn an_empty_and_a_full_mask_stay_as_they_are() {
        let mut scratch = Vec::new();
        for value in [0u8, 255] {
            let mut m = GrayImage::from_pixel(12, 7, image::Luma([value]));
            open(&mut m, 2, &mut scratch);
            close(&mut m, 2, &mut scratch);
            assert!(m.iter().all(|&p| p == value));
        }
    }
}
