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
    let path = repo().join("../shared/media").join(relative);
    if path.is_file() {
        return Some(path);
    }
    let message = format!(
        "real media ../shared/media/{relative} is missing (expected at {}); see ../shared/media/SOURCES.md",
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

/// The real cat photo (chelsea.png) on a floor, still for 4 s and then dashing right at 400 px/s (two of
/// its 200 px body lengths per second) at a dark rodent-sized shape that shuffles in place.
pub fn dash_clip(dir: &Path) -> PathBuf {
    let out = dir.join("dash.mp4");
    let graph = "[1]scale=200:-1[cat];[0][cat]overlay=x='if(lt(t,4),20,20+400*(t-4))':y=230:shortest=1[s];\
                 [s][2]overlay=x='540+15*sin(3*t)':y='300+6*sin(2*t)':shortest=1,noise=alls=6:allf=t";
    let ok = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=0xd9d2c5:s=640x480:r=25:d=7", "-loop", "1"])
        .arg("-i")
        .arg(generated("chelsea.png"))
        .args(["-f", "lavfi", "-i", "color=c=0x3a3028:s=46x24:r=25:d=7", "-filter_complex", graph])
        .args(["-t", "7", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success(), "ffmpeg could not render the clip");
    out
}

/// The lines of an `events.jsonl`, each parsed (a line that is not JSON fails the test).
pub fn events(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}
