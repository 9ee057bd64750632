//! `chaperone analyze` end to end on real video: the real ffmpeg, the real models, the real tracker.
//! Release build (`cargo test --release`): it decodes and runs inference on thousands of frames.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn analyze(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .current_dir(common::repo())
        .arg("analyze")
        .args(args)
        .output()
        .unwrap()
}

struct Row {
    time_s: f64,
    frame: u64,
    track_id: u32,
    role: String,
}

fn read_tracks(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("time_s,frame,track_id,role,x1,y1,x2,y2,score"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 9, "{l}");
            Row {
                time_s: f[0].parse().unwrap(),
                frame: f[1].parse().unwrap(),
                track_id: f[2].parse().unwrap(),
                role: f[3].to_string(),
            }
        })
        .collect()
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn frames_with(rows: &[Row], role: &str) -> BTreeSet<u64> {
    rows.iter().filter(|r| r.role == role).map(|r| r.frame).collect()
}

fn ids_of(rows: &[Row], role: &str) -> BTreeSet<u32> {
    rows.iter().filter(|r| r.role == role).map(|r| r.track_id).collect()
}

#[test]
fn openfield_mouse_is_one_rat_track_through_the_clip_and_never_a_cat() {
    let Some(video) = common::media("mouse-openfield/openfield-mouse.mp4") else { return };
    let out = tempfile::tempdir().unwrap();
    let run = analyze(&[video.to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--no-video", "--quiet"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = out.path().join("openfield-mouse");
    let s = summary(&dir);
    assert_eq!(s["frames"], 2330);
    assert_eq!(s["complete"], true);
    // A rodent alone: the detector looks twice a second (78 s at 30 frames/s: about 156 frames, plus
    // frames where it had to look again), motion follows the mouse in between.
    let looked = s["detector_frames"].as_u64().unwrap();
    assert!((150..=600).contains(&looked), "the detector looked at {looked} of 2330 frames");
    let rows = read_tracks(&dir.join("tracks.csv"));
    let found = frames_with(&rows, "rat").len() as f64 / 2330.0;
    assert!(found >= 0.95, "the mouse was found in {:.1}% of frames", 100.0 * found);
    assert_eq!(ids_of(&rows, "rat").len(), 1, "identity switches: {:?}", ids_of(&rows, "rat"));
    assert!(frames_with(&rows, "cat").is_empty(), "a cat in the open field");
    assert_eq!(s["animals"]["rat"]["track_ids"].as_array().unwrap().len(), 1);
    // The run at a glance, listed with the other outputs.
    let outputs = s["outputs"].to_string();
    assert!(outputs.contains("timeline.png") && outputs.contains("timeline.svg"), "{outputs}");
    let picture = image::open(dir.join("timeline.png")).unwrap();
    assert!(picture.width() >= 1000, "a readable picture");
    let svg = std::fs::read_to_string(dir.join("timeline.svg")).unwrap();
    assert!(svg.contains("rat: freezing") && svg.contains("time (s)"), "lanes and axis named");
}

#[test]
fn climbing_cat_is_one_cat_track_and_never_a_rat_with_a_playable_annotated_video() {
    let Some(video) = common::media("cat-home/cat-armchair.mp4") else { return };
    let out = tempfile::tempdir().unwrap();
    let run = analyze(&[video.to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--quiet"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = out.path().join("cat-armchair");
    let rows = read_tracks(&dir.join("tracks.csv"));
    let present = frames_with(&rows, "cat").len() as f64 / 223.0;
    assert!(present >= 0.90, "the cat was tracked in {:.1}% of frames", 100.0 * present);
    assert_eq!(ids_of(&rows, "cat").len(), 1);
    assert!(frames_with(&rows, "rat").is_empty(), "a moving cat is not a rodent: {:?}", frames_with(&rows, "rat"));

    // The annotated video decodes, frame for frame, at the source's size.
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0"])
        .arg(dir.join("annotated.mp4"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "640,338,223");
    assert_cat_box_drawn(&video, &dir, 120);
    let s = summary(&dir);
    // The cat is in view throughout: the detector follows it at every frame.
    assert_eq!(s["detector_frames"], s["frames"], "{s}");
    for stage in ["decode", "inference", "motion", "track", "output"] {
        assert!(s["timings_ms_per_frame"][stage].as_f64().is_some(), "timing for {stage}");
    }
}

#[test]
fn empty_chamber_in_an_odd_codec_has_no_animals() {
    let Some(video) = common::media("negatives/empty-chamber.wmv") else { return };
    let out = tempfile::tempdir().unwrap();
    let run = analyze(&[video.to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--no-video", "--quiet"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = out.path().join("empty-chamber");
    assert!(read_tracks(&dir.join("tracks.csv")).is_empty());
    let s = summary(&dir);
    assert!(s["frames"].as_u64().unwrap() >= 290, "{s}");
    assert_eq!(s["source"]["width"], 320);
}

#[test]
fn the_dog_in_the_room_becomes_neither_animal() {
    let Some(video) = common::media("negatives/dog-livingroom.avi") else { return };
    let out = tempfile::tempdir().unwrap();
    let run = analyze(&[video.to_str().unwrap(), "--out", out.path().to_str().unwrap(), "--no-video", "--quiet"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let rows = read_tracks(&out.path().join("dog-livingroom/tracks.csv"));
    assert!(rows.is_empty(), "{} rows, roles {:?}", rows.len(), rows.iter().map(|r| &r.role).collect::<BTreeSet<_>>());
}

/// Bad inputs among good ones: each bad one is one clear line, the good one is still analysed, partial
/// results of a truncated file are kept and marked, and the exit code says something failed.
#[test]
fn bad_inputs_are_reported_and_the_rest_still_processed() {
    let Some(video) = common::media("cat-home/cat-armchair.mp4") else { return };
    let work = tempfile::tempdir().unwrap();
    let garbage = work.path().join("garbage.mp4");
    std::fs::write(&garbage, b"not a video at all").unwrap();
    // A Matroska copy cut in half: decodable up to the cut.
    let truncated = work.path().join("truncated.mkv");
    let ok = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&video)
        .args(["-c", "copy"])
        .arg(&truncated)
        .status()
        .unwrap();
    assert!(ok.success());
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    // A valid file with no video stream at all.
    let no_video = work.path().join("silence.wav");
    let ok = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i", "anullsrc=d=1"])
        .arg(&no_video)
        .status()
        .unwrap();
    assert!(ok.success());

    let out = work.path().join("out");
    let run = analyze(&[
        garbage.to_str().unwrap(),
        truncated.to_str().unwrap(),
        no_video.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-video",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.lines().any(|l| l.contains("garbage.mp4") && l.contains("not a readable video")), "{stderr}");
    assert!(stderr.lines().any(|l| l.contains("silence.wav") && l.contains("no video stream")), "{stderr}");
    assert!(stderr.lines().any(|l| l.contains("truncated.mkv") && l.contains("truncated")), "{stderr}");

    let s = summary(&out.join("truncated"));
    assert_eq!(s["complete"], false);
    let frames = s["frames"].as_u64().unwrap();
    assert!(frames > 20 && frames < 223, "{frames} frames kept");
    let rows = read_tracks(&out.join("truncated/tracks.csv"));
    assert!(!frames_with(&rows, "cat").is_empty(), "partial results are kept");
}

#[test]
fn unwritable_output_directory_is_one_clear_line() {
    let Some(video) = common::media("negatives/empty-chamber.wmv") else { return };
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let run = analyze(&[video.to_str().unwrap(), "--out", file.to_str().unwrap(), "--quiet"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot create the output directory"), "{stderr}");
}

#[test]
fn a_directory_of_images_is_a_source_too() {
    let Some(video) = common::media("cat-home/cat-armchair.mp4") else { return };
    let work = tempfile::tempdir().unwrap();
    let frames = work.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    let ok = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-i"])
        .arg(&video)
        .args(["-vf", "select='lt(n\\,40)'", "-fps_mode", "passthrough"])
        .arg(frames.join("%04d.png"))
        .status()
        .unwrap();
    assert!(ok.success());
    let out = work.path().join("out");
    let run = analyze(&[frames.to_str().unwrap(), "--fps", "25", "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let s = summary(&out.join("frames"));
    assert_eq!(s["frames"], 40);
    assert!((s["duration_s"].as_f64().unwrap() - 1.6).abs() < 1e-6, "{s}");
    assert!(!frames_with(&read_tracks(&out.join("frames/tracks.csv")), "cat").is_empty());
}

/// `kill` (SIGTERM) during a batch: the input being analysed keeps what was analysed, marked incomplete
/// for that reason (not blamed on the file), the inputs not reached are named, and the exit is 143.
#[test]
fn sigterm_keeps_what_was_analysed_and_says_so() {
    let work = tempfile::tempdir().unwrap();
    let long = work.path().join("long.mp4");
    // Inputs are analysed sorted by path: both live in one folder, so `long` comes first wherever the
    // clone is (the bundled demo's own path may sort before or after the temporary folder).
    let bundled = common::generated("demo-meeting.mp4");
    let demo = work.path().join("meeting.mp4");
    std::fs::copy(&bundled, &demo).unwrap();
    let made = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-stream_loop", "9", "-i"])
        .arg(&demo)
        .args(["-c", "copy"])
        .arg(&long)
        .status()
        .unwrap();
    assert!(made.success());
    let out = work.path().join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_chaperone"))
        .current_dir(common::repo())
        .args(["analyze", "--no-video", "--quiet", "--out"])
        .arg(&out)
        .arg(&long)
        .arg(&demo)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let events = out.join("long/events.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !events.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(143), "{stderr}");
    let s = summary(&out.join("long"));
    assert_eq!(s["complete"], false, "{s}");
    let problems: Vec<&str> = s["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(problems.len() == 1 && problems[0].contains("interrupted"), "{problems:?}");
    let frames = s["frames"].as_u64().unwrap();
    assert!(frames > 0 && frames < 3000, "{s}");
    // The tracks of the frames analysed are on disk, up to the last of them.
    let last = read_tracks(&out.join("long/tracks.csv")).iter().map(|r| r.frame).max().unwrap();
    assert!(last < frames && last + 25 >= frames, "last track row at frame {last} of {frames}");
    assert!(stderr.contains("meeting.mp4: not analysed, SIGTERM ended the program"), "{stderr}");
    assert!(!out.join("meeting").exists());
}

/// Time is the frame's presentation time, never its index over a frame rate: real footage made variable
/// (the open field's first 3 s as they were, the next 3 s stretched to 7.5 s, kept frame by frame) must
/// give each analysed frame the time ffprobe gives it.
#[test]
fn a_variable_frame_rate_clip_keeps_each_frames_presentation_time() {
    let Some(video) = common::media("mouse-openfield/openfield-mouse.mp4") else { return };
    let work = tempfile::tempdir().unwrap();
    let clip = work.path().join("vfr.mp4");
    let made = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&video)
        .args(["-vf", "trim=duration=6,setpts='if(lt(T,3),PTS-STARTPTS,(3+2.5*(T-3))/TB)'", "-fps_mode", "vfr"])
        .args(["-an", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(made.success());
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(&clip)
        .output()
        .unwrap();
    let pts: Vec<f64> = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    assert!(pts.len() >= 175, "the clip's frames: {pts:?}");
    let gaps: Vec<f64> = pts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().any(|g| *g > 0.08) && gaps.iter().any(|g| *g < 0.04), "not variable: {gaps:?}");

    let out = work.path().join("out");
    let run = analyze(&[clip.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-video", "--quiet"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let rows = read_tracks(&out.join("vfr/tracks.csv"));
    let rat: Vec<&Row> = rows.iter().filter(|r| r.role == "rat").collect();
    assert!(rat.len() >= 170, "the mouse is tracked through the clip: {} rows", rat.len());
    for r in rat {
        let want = pts[r.frame as usize] - pts[0];
        assert!((r.time_s - want).abs() < 1e-3, "frame {} at {} s, ffprobe says {want} s", r.frame, r.time_s);
    }
}

/// Frame `frame` of `dir/annotated.mp4` shows the cat's box from `tracks.csv` in the cat's colour (dark
/// red), where the source frame has none: the annotated video is drawn on, not a copy of the source.
fn assert_cat_box_drawn(source: &Path, dir: &Path, frame: u64) {
    let tracks = std::fs::read_to_string(dir.join("tracks.csv")).unwrap();
    let row: Vec<f64> = tracks
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[1] == frame.to_string() && f[3] == "cat")
        .unwrap_or_else(|| panic!("the cat is tracked in frame {frame}"))[4..8]
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    let grab = |video: &Path, name: &str| -> image::RgbImage {
        let png = dir.join(name);
        let ok = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-i"])
            .arg(video)
            .args(["-vf", &format!("select=eq(n\\,{frame})"), "-frames:v", "1"])
            .arg(&png)
            .status()
            .unwrap();
        assert!(ok.success());
        image::open(&png).unwrap().to_rgb8()
    };
    let (annotated, original) = (grab(&dir.join("annotated.mp4"), "annotated.png"), grab(source, "source.png"));
    // Down the box's left edge (its 2-pixel line), away from the label strip and the corners; within a
    // few pixels of the written box (the drawn box is the frame's, rounded; the file's has one decimal).
    let ys: Vec<u32> = (row[1] as u32 + 15..row[3] as u32 - 15).step_by(3).collect();
    assert!(ys.len() >= 10, "a box tall enough to sample: {row:?}");
    let cat_red = |img: &image::RgbImage, x: u32, y: u32| {
        let [r, g, b] = img.get_pixel(x, y).0.map(|v| v as f32);
        ((r - 200.0).powi(2) + (g - 30.0).powi(2) + (b - 30.0).powi(2)).sqrt() < 80.0
    };
    let best_share = |img: &image::RgbImage| {
        let x0 = row[0].max(3.0) as u32;
        (x0 - 3..=x0 + 3)
            .map(|x| ys.iter().filter(|&&y| cat_red(img, x, y)).count() as f64 / ys.len() as f64)
            .fold(0.0, f64::max)
    };
    let (drawn, before) = (best_share(&annotated), best_share(&original));
    assert!(drawn >= 0.8, "the cat's box is drawn near x={}: {drawn:.2} of its left edge", row[0]);
    assert!(before <= 0.2, "the source is not already red there: {before:.2}");
}

/// The number after `label` on the line of `report` that starts with `line`.
fn number_after(report: &str, line: &str, label: &str) -> f64 {
    let text = report.lines().find(|l| l.starts_with(line)).unwrap_or_else(|| panic!("no `{line}` line in:\n{report}"));
    let rest = &text[text.find(label).unwrap_or_else(|| panic!("no `{label}` in `{text}`")) + label.len()..];
    let number: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    number.parse().unwrap_or_else(|_| panic!("no number after `{label}` in `{text}`"))
}

#[test]
fn bench_reports_the_cold_start_the_whole_process_and_the_cadence_that_analyze_uses() {
    let Some(video) = common::media("mouse-openfield/openfield-mouse.mp4") else { return };
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("of150.mp4");
    let cut = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&video)
        .args(["-frames:v", "150", "-c:v", "libx264", "-preset", "veryfast"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(cut.success());
    let run = common::chaperone(&["bench", clip.to_str().unwrap(), "--frames", "10"]);
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{report}{}", String::from_utf8_lossy(&run.stderr));
    assert!(number_after(&report, "video:", "(640x480,") == 150.0, "{report}");
    let cold = number_after(&report, "cold start", "analysed):");
    let whole = number_after(&report, "whole process", "--no-video`):");
    assert!(cold > 0.0 && cold < whole, "cold start {cold} s in a whole process of {whole} s");
    assert!(number_after(&report, "in the loop (", "outputs):") > 0.0, "{report}");
    assert!(number_after(&report, "bare inference", "memory):") > 0.0, "{report}");
    // The cadence bench reports is what `analyze` does on the same clip: the run is deterministic.
    let out = dir.path().join("out");
    let analysed = analyze(&[clip.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-video", "--quiet"]);
    assert!(analysed.status.success(), "{}", String::from_utf8_lossy(&analysed.stderr));
    let s = summary(&out.join("of150"));
    let looked = number_after(&report, "detector cadence", "looked at");
    assert_eq!(looked as u64, s["detector_frames"].as_u64().unwrap(), "{report}");
    assert!(looked < 150.0, "the detector skipped no frame of a rodent alone: {report}");
    assert!(s["first_frame_after_launch_s"].as_f64().is_some_and(|t| t > 0.0), "{s}");

    // A Python without the peer's packages (no site-packages): one line saying what to check, and a
    // failure exit.
    let Some(peer) = common::shared_file("peers", "py_pipeline.py") else { return };
    let bare_python = dir.path().join("bare-python");
    std::fs::write(&bare_python, "#!/bin/sh\nexec python3 -S -I \"$@\"\n").unwrap();
    let mut permissions = std::fs::metadata(&bare_python).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&bare_python, permissions).unwrap();
    let run = common::chaperone(&[
        "bench",
        clip.to_str().unwrap(),
        "--frames",
        "5",
        "--vs-peer",
        bare_python.to_str().unwrap(),
        "--peer-script",
        peer.to_str().unwrap(),
    ]);
    let said = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert!(said.contains("the peer") && said.contains("peers/README.md"), "{said}");
}
