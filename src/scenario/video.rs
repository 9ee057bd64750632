//! Renders a scenario into a real video: sprites of a real cat (`chelsea.png`, CC0), a real rat and a
//! dog (Tux Paint stamps, GPL-2, from Debian) composited over a floor, moving per the scenario, with
//! sensor noise, encoded by ffmpeg. What comes out is run through the real detector and tracker.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::{Rgb, RgbImage, RgbaImage, imageops};

use super::{Actor, Scenario};
use crate::error::{Error, Result};

/// The pictures the renderer composites.
pub struct Sprites {
    pub cat: RgbaImage,
    pub rat: RgbaImage,
    pub dog: RgbaImage,
}

impl Sprites {
    /// `chelsea.png`, `rat.png` and `dog.png` from `dir` (set-up puts them in `fixtures/generated`).
    pub fn load(dir: &Path) -> Result<Sprites> {
        let read = |name: &str| -> Result<RgbaImage> {
            let path = dir.join(name);
            image::open(&path).map(|i| i.to_rgba8()).map_err(|e| Error::Image {
                path: path.clone(),
                message: format!("cannot read this sprite ({e}); run scripts/setup.sh, which fetches it"),
            })
        };
        Ok(Sprites { cat: read("chelsea.png")?, rat: read("rat.png")?, dog: read("dog.png")? })
    }

    /// The sprites set-up fetched: `fixtures/generated` here, else in the source tree.
    pub fn default_dir() -> PathBuf {
        let here = PathBuf::from("fixtures/generated");
        if here.join("rat.png").is_file() {
            here
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/generated")
        }
    }
}

/// Grey-level noise added to every pixel of every frame, like a camera sensor's (plus or minus).
const SENSOR_NOISE: i16 = 6;

/// Renders `scenario` to `out` (H.264 MP4) at `fps`. During the scenario's gaps (camera stutter) the
/// last frame repeats, as a stalled camera's picture does.
pub fn render(scenario: &Scenario, sprites: &Sprites, out: &Path, fps: f64) -> Result<()> {
    let [w, h] = scenario.frame;
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", &format!("{w}x{h}")])
        .args(["-r", &fps.to_string(), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])
        .arg(out)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::output(out, format!("cannot start ffmpeg ({e}); run scripts/setup.sh, which installs it"))
        })?;
    let mut stdin = ffmpeg.stdin.take().expect("ffmpeg's stdin is piped");
    let floor = floor(w, h);
    let mut cache = SpriteCache::default();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut last: Option<RgbImage> = None;
    let frames = (scenario.duration_s * fps).round() as usize;
    let mut written = Ok(());
    for k in 0..frames {
        let t = k as f64 / fps;
        let stutter = scenario.gaps.iter().any(|[a, b]| t >= *a && t < *b);
        let frame = match (&last, stutter) {
            (Some(previous), true) => previous.clone(),
            _ => {
                let mut frame = floor.clone();
                let actors =
                    [(&scenario.dog, &sprites.dog), (&scenario.cat, &sprites.cat), (&scenario.rat, &sprites.rat)];
                for (actor, sprite) in actors {
                    if let Some(a) = actor.as_ref().filter(|a| !a.hidden_at(t)) {
                        draw(&mut frame, a, t, sprite, &mut cache);
                    }
                }
                for zone in &scenario.shelters {
                    draw_shelter(&mut frame, *zone);
                }
                add_noise(&mut frame, &mut rng);
                frame
            }
        };
        written = stdin.write_all(frame.as_raw());
        if written.is_err() {
            break;
        }
        last = Some(frame);
    }
    drop(stdin);
    let status = ffmpeg.wait().map_err(|e| Error::output(out, format!("ffmpeg failed: {e}")))?;
    match (written, status.success()) {
        (Ok(()), true) => Ok(()),
        (Err(e), _) => Err(Error::output(out, format!("ffmpeg stopped taking frames: {e}"))),
        (_, false) => Err(Error::output(out, format!("ffmpeg could not encode the video ({status})"))),
    }
}

/// Resized (and mirrored) sprites, by size: most frames draw the same sizes again.
#[derive(Default)]
struct SpriteCache {
    sized: HashMap<(usize, u32, u32, bool), RgbaImage>,
}

fn draw(frame: &mut RgbImage, actor: &Actor, t: f64, sprite: &RgbaImage, cache: &mut SpriteCache) {
    let b = actor.bbox_at(t);
    let (w, h) = (b.width().round().max(1.0) as u32, b.height().round().max(1.0) as u32);
    // Sprites face right; an animal moving left is mirrored.
    let ahead = actor.bbox_at(t + 0.1).x1 - actor.bbox_at(t - 0.1).x1;
    let key = (sprite.as_ptr() as usize, w, h, ahead < -1.0);
    let sized = cache.sized.entry(key).or_insert_with(|| {
        let resized = imageops::resize(sprite, w, h, imageops::FilterType::Triangle);
        if key.3 { imageops::flip_horizontal(&resized) } else { resized }
    });
    let (x0, y0) = (b.x1.round() as i64, b.y1.round() as i64);
    for (sx, sy, p) in sized.enumerate_pixels() {
        let (x, y) = (x0 + sx as i64, y0 + sy as i64);
        if x < 0 || y < 0 || x >= frame.width() as i64 || y >= frame.height() as i64 {
            continue;
        }
        let alpha = p[3] as u32;
        if alpha == 0 {
            continue;
        }
        let dst = frame.get_pixel_mut(x as u32, y as u32);
        for c in 0..3 {
            dst[c] = ((p[c] as u32 * alpha + dst[c] as u32 * (255 - alpha)) / 255) as u8;
        }
    }
}

/// A wooden hide, drawn over whatever is under it.
fn draw_shelter(frame: &mut RgbImage, [x1, y1, x2, y2]: [f32; 4]) {
    let (w, h) = frame.dimensions();
    let (xa, ya) = ((x1 * w as f32) as u32, (y1 * h as f32) as u32);
    let (xb, yb) = (((x2 * w as f32) as u32).min(w), ((y2 * h as f32) as u32).min(h));
    for y in ya..yb {
        for x in xa..xb {
            let grain = ((x * 7 + y * 3) % 23) as u8;
            frame.put_pixel(x, y, Rgb([128 + grain, 96 + grain / 2, 56]));
        }
    }
}

/// A light floor with a soft gradient and a fixed texture.
fn floor(w: u32, h: u32) -> RgbImage {
    let mut rng = fastrand::Rng::with_seed(3);
    RgbImage::from_fn(w, h, |x, y| {
        let shade = 200.0 + 20.0 * (x as f32 / w as f32) - 15.0 * (y as f32 / h as f32);
        let texture = rng.i16(-4..=4) as f32;
        let v = (shade + texture).clamp(0.0, 255.0);
        Rgb([v as u8, (v * 0.96) as u8, (v * 0.9) as u8])
    })
}

fn add_noise(frame: &mut RgbImage, rng: &mut fastrand::Rng) {
    for p in frame.pixels_mut() {
        let n = rng.i16(-SENSOR_NOISE..=SENSOR_NOISE);
        for c in 0..3 {
            p[c] = (p[c] as i16 + n).clamp(0, 255) as u8;
        }
    }
}
