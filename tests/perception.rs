//! Perception judged by where the box is, on real footage nobody on this project made: the rat's box
//! must hold the animal's reference position (`chaperone eval` with `positions`), a resting animal must
//! leave no ghost, and an animal walking out of view (or walking at all) is not freezing.

mod common;

use std::path::Path;
use std::process::Command;

/// Runs `chaperone eval PATHS --json` and returns its position scores.
fn position_scores(paths: &[&Path]) -> Vec<serde_json::Value> {
    let mut args = vec!["eval", "--json", "--variations", "0"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let run = common::chaperone(&args);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    report["scenarios"]["positions"].as_array().cloned().unwrap_or_default()
}

/// Runs `chaperone analyze VIDEO` into `out` (no annotated video) and returns the input's output folder.
fn analyze(video: &Path, out: &Path) -> std::path::PathBuf {
    analyze_all(&[video], out);
    out.join(video.file_stem().unwrap())
}

/// Runs `chaperone analyze VIDEOS...` into `out` (no annotated video), which must succeed; returns what
/// it printed on stderr.
fn analyze_all(videos: &[&Path], out: &Path) -> String {
    let mut args = vec!["analyze"];
    args.extend(videos.iter().map(|v| v.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap(), "--no-video", "--quiet"]);
    let run = common::chaperone(&args);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stderr).into_owned()
}

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg").args(["-loglevel", "error", "-y"]).args(args).status().expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// The reference positions of openfield-mouse.mp4, as (frame, x, y).
fn reference(path: &Path) -> Vec<(usize, f64, f64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f[0].parse().ok()?, f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?))
        })
        .collect()
}

#[test]
fn the_rat_box_holds_the_real_mouse_in_the_open_field() {
    let Some(_) = common::media("mouse-openfield/openfield-mouse.ref.csv") else { return };
    let scores = position_scores(&[&common::repo().join("fixtures/recordings/openfield-mouse.toml")]);
    assert_eq!(scores.len(), 1, "{scores:?}");
    let s = &scores[0];
    assert_eq!(s["animal"], "rat");
    assert_eq!(s["frames_in_view"], 2330);
    let held = s["held_share"].as_f64().unwrap();
    let error = s["median_centre_error_px"].as_f64().unwrap();
    assert!(held >= 0.98, "the box held the mouse in {:.1}% of frames: {s}", 100.0 * held);
    // 6.1 px measured (the box is drawn round the body, the tail and its thick base opened away), from
    // 39.8 px before; the bar is the 12 px.
    assert!(error <= 12.0, "median centre error {error:.1} px: {s}");
    assert_eq!(s["identity_swaps"], 0, "{s}");
}

/// The real mouse held still for the first 30 s (its first frame, repeated), then 20 s of its walk: the
/// background learnt over the clip holds the resting mouse, so where it rested becomes a blob once it
/// walks off. That blob must not become the rat.
#[test]
fn a_mouse_that_rested_while_the_background_was_learnt_leaves_no_ghost() {
    let (Some(video), Some(ref_csv)) = (
        common::media("mouse-openfield/openfield-mouse.mp4"),
        common::media("mouse-openfield/openfield-mouse.ref.csv"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("rested.mp4");
    ffmpeg(&[
        "-i",
        video.to_str().unwrap(),
        "-vf",
        "trim=duration=20,setpts=PTS-STARTPTS,tpad=start_duration=30:start_mode=clone",
        "-an",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    // Scored once it moves: frame 900 + k of the clip is frame k of the original.
    let held_frames = 900;
    let mut positions = String::from("frame,x,y\n");
    for (k, x, y) in reference(&ref_csv).into_iter().filter(|(k, _, _)| *k < 600) {
        positions += &format!("{},{x},{y}\n", held_frames + k);
    }
    std::fs::write(dir.path().join("rested.ref.csv"), positions).unwrap();
    let scenario = dir.path().join("rested.toml");
    std::fs::write(
        &scenario,
        "duration_s = 50.0\nframe = [640, 480]\nvideo = \"rested.mp4\"\n[positions]\nrat = \"rested.ref.csv\"\n",
    )
    .unwrap();
    let scores = position_scores(&[&scenario]);
    let s = &scores[0];
    let held = s["held_share"].as_f64().unwrap();
    assert!(held >= 0.95, "after it moved, the box held the mouse in {:.1}% of frames: {s}", 100.0 * held);
}

/// The real mouse in the left half of the field only: it walks out of view through the edge and back.
/// Leaving the view is not freezing.
#[test]
fn a_mouse_walking_out_of_view_is_not_freezing() {
    let Some(video) = common::media("mouse-openfield/openfield-mouse.mp4") else { return };
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("left-half.mp4");
    ffmpeg(&[
        "-i",
        video.to_str().unwrap(),
        "-vf",
        "crop=320:480:0:0",
        "-an",
        "-pix_fmt",
        "yuv420p",
        clip.to_str().unwrap(),
    ]);
    let events = common::events(&analyze(&clip, &dir.path().join("out")).join("events.jsonl"));
    let freezing: Vec<_> = events.iter().filter(|e| e["behaviour"] == "freezing").collect();
    assert!(freezing.is_empty(), "a mouse out of view was called freezing: {freezing:?}");
}

/// Real mice walking (B-SOiD's *locomote* clip, three arenas side by side, seen from below) are the rat,
/// and not freezing. (Real footage with no rodent in it, the cat, the dog and the empty chamber, is held to
/// no rat at all in `tests/analyze.rs`.)
#[test]
fn walking_mice_are_the_rat_and_not_freezing() {
    let Some(video) = common::media("mice-bsoid/locomote_hstacked.mp4") else { return };
    let work = tempfile::tempdir().unwrap();
    let dir = analyze(&video, &work.path().join("out"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let rat = summary["animals"]["rat"]["fraction_of_frames"].as_f64().unwrap();
    assert!(rat >= 0.9, "the walking mice: {}", summary["animals"]);
    let freezing: Vec<_> =
        summary["episodes"].as_array().unwrap().iter().filter(|e| e["behaviour"] == "freezing").collect();
    assert!(freezing.is_empty(), "walking mice called freezing: {freezing:?}");
}

/// Mice still from the first frame (B-SOiD's *inactive* clip) cannot be found by motion, and the default
/// detector has no rodent class: `analyze` must say so, in `summary.json` and in one printed line, rather
/// than leave "no rat" to read as "nothing the matter". Where a rat was found, nothing is said.
#[test]
fn a_rat_never_seen_is_explained_not_left_silent() {
    let Some(still) = common::media("mice-bsoid/inactive_hstacked.mp4") else { return };
    let Some(walking) = common::media("mice-bsoid/locomote_hstacked.mp4") else { return };
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let stderr = analyze_all(&[&still, &walking], &out);
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("chaperone: no rat in ")).collect();
    assert_eq!(said.len(), 1, "one line, for the still mice only: {stderr}");
    assert!(said[0].contains("inactive_hstacked.mp4") && said[0].contains("rodent class"), "{}", said[0]);
    let summary = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(name).join("summary.json")).unwrap()).unwrap()
    };
    let rat = &summary("inactive_hstacked")["animals"]["rat"];
    assert_eq!(rat["frames_seen"], 0, "{rat}");
    assert!(rat["why_unseen"].as_str().is_some_and(|w| w.contains("still from the first frame")), "{rat}");
    let found = &summary("locomote_hstacked")["animals"]["rat"];
    assert!(found["frames_seen"].as_u64().unwrap() > 0 && found.get("why_unseen").is_none(), "{found}");
}
