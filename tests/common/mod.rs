//! Helpers shared by the integration tests: where the real media and generated fixtures are, and
//! extracting real frames with the real ffmpeg.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file that `scripts/setup.sh` generates under `fixtures/generated/`.
pub fn generated(name: &str) -> PathBuf {
    let path = repo().join("fixtures/generated").join(name);
    assert!(path.exists(), "{} is missing: run `scripts/setup.sh` first", path.display());
    path
}

/// A file under `../shared/media`. Missing: a clear failure under CI (`CI=true`), else `None` with a
/// printed note, so a user's clone without `../shared` says what it did not test.
pub fn media(relative: &str) -> Option<PathBuf> {
    shared("media", relative)
}

/// A real export of another tool under `../shared/formats`, as [`media`] finds media.
pub fn formats(relative: &str) -> Option<PathBuf> {
    shared("formats", relative)
}

/// Any other file under `../shared` (`folder/relative`), as [`media`] finds media.
pub fn shared_file(folder: &str, relative: &str) -> Option<PathBuf> {
    shared(folder, relative)
}

fn shared(folder: &str, relative: &str) -> Option<PathBuf> {
    let path = repo().join("../shared").join(folder).join(relative);
    if path.is_file() {
        return Some(path);
    }
    let message = format!(
        "real file ../shared/{folder}/{relative} is missing (expected at {}); see ../shared/{folder}/SOURCES.md",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{message}");
    }
    eprintln!("NOT TESTED: {message}");
    None
}

/// Decodes the frame at `seconds` of `video` with ffmpeg into a PNG in `dir`. The seek is after `-i`
/// (decode from the start): input seeking lands on undecodable frames in openfield-mouse.mp4.
pub fn extract_frame(video: &Path, seconds: f64, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{}-{seconds:.2}.png", video.file_stem().unwrap().to_string_lossy()));
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(video)
        .args(["-ss", &format!("{seconds}"), "-frames:v", "1"])
        .arg(&out)
        .status()
        .expect("ffmpeg must be installed: run `scripts/setup.sh`");
    assert!(status.success() && out.is_file(), "ffmpeg could not extract a frame of {}", video.display());
    out
}

/// Runs the built `chaperone` binary from the repository root, as a user would.
pub fn chaperone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chaperone")).current_dir(repo()).args(args).output().unwrap()
}

/// A rendered meeting: the real cat photo (chelsea.png) and a dark rodent-sized shape (46x24) on a plain
/// floor, moving per ffmpeg expressions of `t`, with sensor noise, encoded as H.264 at 25 fps.
pub struct Meeting<'a> {
    pub name: &'a str,
    pub seconds: u32,
    pub width: u32,
    /// The cat's width and height (ffmpeg `scale` expressions, evaluated per frame).
    pub cat_size: (&'a str, &'a str),
    pub cat_at: (&'a str, &'a str),
    pub rat_at: (&'a str, &'a str),
    /// A shelter drawn over the rat: (x, y) of a 120x100 box.
    pub shelter: Option<(u32, u32)>,
}

impl Meeting<'_> {
    pub fn render(&self, dir: &Path) -> PathBuf {
        let out = dir.join(format!("{}.mp4", self.name));
        let (s, w) = (self.seconds, self.width);
        let mut graph = format!(
            "[1]scale=w='{}':h='{}':eval=frame[cat];[0][cat]overlay=x='{}':y='{}':shortest=1[s];\
             [s][2]overlay=x='{}':y='{}':shortest=1",
            self.cat_size.0, self.cat_size.1, self.cat_at.0, self.cat_at.1, self.rat_at.0, self.rat_at.1
        );
        if let Some((x, y)) = self.shelter {
            graph.push_str(&format!("[r];[r][3]overlay=x={x}:y={y}:shortest=1"));
        }
        graph.push_str(",noise=alls=6:allf=t");
        let ok = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i", &format!("color=c=0xd9d2c5:s={w}x480:r=25:d={s}")])
            .args(["-loop", "1", "-i"])
            .arg(generated("chelsea.png"))
            .args(["-f", "lavfi", "-i", &format!("color=c=0x3a3028:s=46x24:r=25:d={s}")])
            .args(["-f", "lavfi", "-i", &format!("color=c=0x8a6a3a:s=120x100:r=25:d={s}")])
            .args(["-filter_complex", &graph, "-t", &s.to_string()])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])
            .arg(&out)
            .status()
            .expect("ffmpeg must be installed: run `scripts/setup.sh`");
        assert!(ok.success(), "ffmpeg could not render {}", self.name);
        out
    }
}

/// The cat (200 px long) still for 4 s, then dashing right at 400 px/s (two body lengths per second) at
/// the rodent, which shuffles in place.
pub fn dash_clip(dir: &Path) -> PathBuf {
    Meeting {
        name: "dash",
        seconds: 7,
        width: 640,
        cat_size: ("200", "-1"),
        cat_at: ("if(lt(t,4),20,20+400*(t-4))", "230"),
        rat_at: ("540+15*sin(3*t)", "300+6*sin(2*t)"),
        shelter: None,
    }
    .render(dir)
}

/// The cat walks toward the rat at 0.7 body lengths per second for 2 s, then stares at it from close by.
pub fn stare_clip(dir: &Path) -> PathBuf {
    Meeting {
        name: "stare",
        seconds: 9,
        width: 640,
        cat_size: ("200", "-1"),
        cat_at: ("if(lt(t,2),20+140*t,300)", "230"),
        rat_at: ("540+15*sin(3*t)", "300+6*sin(2*t)"),
        shelter: None,
    }
    .render(dir)
}

/// The cat sits far from the rat (3.5 body lengths) the whole time while the rodent scurries until 3 s
/// and then stops dead.
pub fn freeze_clip(dir: &Path) -> PathBuf {
    Meeting {
        name: "freeze",
        seconds: 9,
        width: 960,
        cat_size: ("180", "-1"),
        cat_at: ("20", "230"),
        rat_at: ("if(lt(t,3),700+40*t+10*sin(5*t),820+10*sin(15))", "300+if(lt(t,3),8*sin(4*t),8*sin(12))"),
        shelter: None,
    }
    .render(dir)
}

/// The cat sits 3.5 body lengths from the rat, swaying a little, while the rat scurries in place, for
/// `seconds`: a calm meeting (`calm.mp4`).
pub fn calm_clip(dir: &Path, seconds: u32) -> PathBuf {
    Meeting {
        name: "calm",
        seconds,
        width: 960,
        cat_size: ("180", "-1"),
        cat_at: ("20+5*sin(t)", "230"),
        rat_at: ("840+15*sin(3*t)", "300+6*sin(2*t)"),
        shelter: None,
    }
    .render(dir)
}

/// The lines of an `events.jsonl`, each parsed (a line that is not JSON fails the test).
pub fn events(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}
pub mod browser;

/// A video's duration in seconds and its frame count, by ffprobe (decoding every frame).
pub fn video_length(video: &Path) -> (f64, u64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "format=duration:stream=nb_read_frames", "-of", "default=nw=1:nk=1"])
        .arg(video)
        .output()
        .expect("ffprobe must be installed: run `scripts/setup.sh`");
    let text = String::from_utf8_lossy(&out.stdout);
    let values: Vec<&str> = text.split_whitespace().collect();
    assert!(out.status.success() && values.len() == 2, "ffprobe on {}: {text}", video.display());
    (values[1].parse().unwrap(), values[0].parse().unwrap())
}
