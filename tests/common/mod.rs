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
