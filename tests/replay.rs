//! `chaperone analyze-tracks`: the behaviour engine on tracks recorded by another tool, scored against
//! human labels.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use chaperone::replay::pose::PoseTrack;

fn analyze_tracks(args: &[&str]) -> Output {
    common::chaperone(&[&["analyze-tracks"], args].concat())
}

/// BehaviorDEPOT's demo: real DeepLabCut tracks of a mouse (50 fps) and a human's freezing bouts.
fn demo_tracks_and_human_bouts() -> Option<(PathBuf, PathBuf)> {
    Some((
        common::media("freezing-labels/demo1_tracking.csv")?,
        common::media("freezing-labels/demo1_freezing_bouts_1based.csv")?,
    ))
}

/// `analyze-tracks` of `tracks` at `fps` scored against `labels`, into `out`: its summary.
fn scored_against_labels(tracks: &Path, fps: &str, labels: &Path, out: &Path) -> serde_json::Value {
    let [tracks, labels, out] = [tracks, labels, out].map(|p| p.to_str().unwrap());
    let run = analyze_tracks(&[tracks, "--fps", fps, "--out", out, "--labels", labels]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    serde_json::from_str(&std::fs::read_to_string(Path::new(out).join("summary.json")).unwrap()).unwrap()
}

#[test]
fn freezing_agrees_with_human_scoring_on_real_deeplabcut_tracks() {
    let Some((tracks, labels)) = demo_tracks_and_human_bouts() else { return };
    let out = tempfile::tempdir().unwrap();
    let summary = scored_against_labels(&tracks, "50", &labels, out.path());
    let f1 = summary["freezing_vs_labels"]["f1"].as_f64().unwrap();
    // At the experts' agreement with each other (0.93-0.955), above BehaviorDEPOT's own classifier (0.903).
    assert!(f1 >= 0.93, "per-frame F1 {f1:.3} against the human bouts: {}", summary["freezing_vs_labels"]);
    // The timeline sets the human bouts in a lane under the engine's.
    let svg = std::fs::read_to_string(out.path().join("timeline.svg")).unwrap();
    assert!(svg.contains("labels: freezing") && svg.contains("rat: freezing"), "both lanes on the timeline");
    assert!(summary["outputs"].to_string().contains("timeline.png"), "{}", summary["outputs"]);

    // events.jsonl holds a confirmation and an end per episode, each a valid JSON line, in time order.
    let events = std::fs::read_to_string(out.path().join("events.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let episodes = summary["episodes"].as_array().unwrap().len();
    assert_eq!(lines.len(), 2 * episodes);
    for e in &lines {
        assert_eq!(e["behaviour"], "freezing");
        assert!(e["confirmed_s"].as_f64().unwrap() >= e["onset_s"].as_f64().unwrap());
    }
}

/// The same defaults at a quarter of the frame rate: the rule is in seconds and body lengths, not frames.
#[test]
fn freezing_holds_on_the_same_tracks_at_a_quarter_of_the_frame_rate() {
    let Some((tracks, labels)) = demo_tracks_and_human_bouts() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Every 4th row, renumbered; each human bout mapped onto the frames kept (1-based, ends included).
    let text = std::fs::read_to_string(&tracks).unwrap();
    let (header, rows): (Vec<&str>, Vec<&str>) = (text.lines().take(3).collect(), text.lines().skip(3).collect());
    let mut thinned: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for (i, row) in rows.iter().step_by(4).enumerate() {
        thinned.push(format!("{i},{}", row.split_once(',').unwrap().1));
    }
    let thinned_tracks = dir.path().join("thinned.csv");
    std::fs::write(&thinned_tracks, thinned.join("\n") + "\n").unwrap();
    let mut bouts = vec!["start_frame,end_frame".to_string()];
    for line in std::fs::read_to_string(&labels).unwrap().lines().skip(1) {
        let (a, b) = line.split_once(',').unwrap();
        let (a, b): (usize, usize) = (a.trim().parse().unwrap(), b.trim().parse().unwrap());
        let (first, last) = ((a - 1).div_ceil(4), (b - 1) / 4);
        if last >= first {
            bouts.push(format!("{},{}", first + 1, last + 1));
        }
    }
    let thinned_labels = dir.path().join("bouts.csv");
    std::fs::write(&thinned_labels, bouts.join("\n") + "\n").unwrap();
    let summary = scored_against_labels(&thinned_tracks, "12.5", &thinned_labels, &dir.path().join("out"));
    let f1 = summary["freezing_vs_labels"]["f1"].as_f64().unwrap();
    assert!(f1 >= 0.9, "per-frame F1 {f1:.3} at 12.5 fps: {}", summary["freezing_vs_labels"]);
}

#[test]
fn a_deeplabcut_file_needs_its_frame_rate_and_a_wrong_file_is_named() {
    let Some(tracks) = common::media("freezing-labels/demo1_tracking.csv") else { return };
    let out = tempfile::tempdir().unwrap();
    let run = analyze_tracks(&[tracks.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("--fps") && stderr.lines().count() == 1, "{stderr}");

    let wrong = out.path().join("wrong.csv");
    std::fs::write(&wrong, "a,b,c\n1,2,3\n").unwrap();
    let run = analyze_tracks(&[wrong.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("wrong.csv") && stderr.contains("tracks.csv") && stderr.lines().count() == 1, "{stderr}");
}

/// A body part's position as a function of time.
type BodyPath<'a> = dyn Fn(f64) -> (f64, f64) + 'a;

/// A DeepLabCut CSV of `frames` frames at 25 fps: each body part's (x, y) as a function of time.
fn dlc_csv(path: &std::path::Path, parts: &[(&str, &BodyPath<'_>)], frames: usize) {
    let mut text = String::from("scorer");
    text += &",synthetic,synthetic,synthetic".repeat(parts.len());
    text += "\nbodyparts";
    for (name, _) in parts {
        text += &format!(",{name},{name},{name}");
    }
    text += "\ncoords";
    text += &",x,y,likelihood".repeat(parts.len());
    for i in 0..frames {
        let t = i as f64 / 25.0;
        text += &format!("\n{i}");
        for (_, at) in parts {
            let (x, y) = at(t);
            text += &format!(",{x:.2},{y:.2},0.99");
        }
    }
    std::fs::write(path, text + "\n").unwrap();
}

#[test]
fn two_deeplabcut_files_give_a_fixation_only_when_the_cat_faces_the_rat() {
    let dir = tempfile::tempdir().unwrap();
    // The rat (30 px long) potters round a small circle the whole time.
    let rat = dir.path().join("rat.csv");
    let circle = |t: f64, r: f64| (600.0 + r * t.cos(), 300.0 + r * t.sin());
    dlc_csv(&rat, &[("nose", &|t| circle(t, 20.0)), ("tailbase", &|t| circle(t - 0.5, 20.0))], 250);
    // The cat (100 px nose to tail base) walks toward the rat for 2 s and stops 1.75 body lengths away;
    // it then faces the rat, or turns its head away.
    let tail = |t: f64| 200.0 + 70.0 * t.min(2.0);
    for (name, nose_ahead, fixates) in [("facing", 100.0, true), ("turned", -100.0, false)] {
        let cat = dir.path().join(format!("{name}.csv"));
        let nose = move |t: f64| (tail(t) + if t < 2.0 { 100.0 } else { nose_ahead }, 300.0);
        let mid = |t: f64| (tail(t) + 50.0, 290.0);
        dlc_csv(&cat, &[("nose", &nose), ("mid-back", &mid), ("tailbase", &|t| (tail(t), 300.0))], 250);
        let out = dir.path().join(format!("out-{name}"));
        let run = analyze_tracks(&[
            rat.to_str().unwrap(),
            "--other",
            cat.to_str().unwrap(),
            "--fps",
            "25",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let events = common::events(&out.join("events.jsonl"));
        let fixation = events.iter().find(|e| e["event"] == "confirmed" && e["behaviour"] == "fixation");
        assert_eq!(fixation.is_some(), fixates, "{name}: {events:?}");
        if let Some(f) = fixation {
            let at = f["confirmed_s"].as_f64().unwrap();
            assert!((5.0..6.5).contains(&at), "{name}: confirmed at {at}");
        }
        assert!(!events.iter().any(|e| e["behaviour"] == "freezing"), "the rat keeps moving: {events:?}");
    }
}

#[test]
fn tracks_written_by_analyze_replay_to_the_same_behaviour() {
    let work = tempfile::tempdir().unwrap();
    let clip = common::stare_clip(work.path());
    let out = work.path().join("video");
    let run = common::chaperone(&["analyze", clip.to_str().unwrap(), "--out", out.to_str().unwrap(), "--no-video"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let replayed = work.path().join("replay");
    let tracks = out.join("stare/tracks.csv");
    let run = analyze_tracks(&[tracks.to_str().unwrap(), "--out", replayed.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let confirmed = |path: std::path::PathBuf| -> Vec<(String, f64)> {
        common::events(&path)
            .iter()
            .filter(|e| e["event"] == "confirmed")
            .map(|e| (e["behaviour"].as_str().unwrap().to_string(), e["confirmed_s"].as_f64().unwrap()))
            .collect()
    };
    let from_video = confirmed(out.join("stare/events.jsonl"));
    let from_tracks = confirmed(replayed.join("events.jsonl"));
    assert_eq!(from_video.iter().map(|c| &c.0).collect::<Vec<_>>(), ["fixation"], "{from_video:?}");
    assert!(from_tracks.iter().any(|c| c.0 == "fixation" && (c.1 - from_video[0].1).abs() < 0.5), "{from_tracks:?}");
}

#[test]
fn a_multi_animal_deeplabcut_file_gives_each_individual_its_role() {
    let Some(file) = common::formats("dlc_multi/deepof_testDLC_csv_table_madlc.csv") else { return };
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let path = file.to_str().unwrap();
    // Which animal is which must be said: the file names two.
    let run = common::chaperone(&["analyze-tracks", path, "--fps", "30", "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("mouse_black_tail, mouse_white_tail") && stderr.lines().count() == 1, "{stderr}");
    let run = common::chaperone(&[
        "analyze-tracks",
        path,
        "--fps",
        "30",
        "--individual",
        "mouse_black_tail",
        "--other-individual",
        "mouse_white_tail",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["frames"], 97, "{summary}");
    assert_eq!(summary["animals"], serde_json::json!(["rat", "cat"]));
    // A body length from the trusted points (DeepOF writes missing points as 0,0,0: never trusted).
    let length = summary["body_length"].as_f64().unwrap();
    assert!((20.0..400.0).contains(&length), "{length}");
}

/// Every frame of `a` equals the first frames of `b`, body part by body part (by name: pandas may have
/// sorted the columns of one of them).
fn same_poses(a: &PoseTrack, b: &PoseTrack, frames: usize) {
    assert_eq!(a.bodyparts.len(), b.bodyparts.len(), "{:?} / {:?}", a.bodyparts, b.bodyparts);
    for (k, part) in a.bodyparts.iter().enumerate() {
        let j = b.bodyparts.iter().position(|p| p == part).unwrap_or_else(|| panic!("{part} missing"));
        for f in 0..frames {
            let (p, q) = (a.frames[f][k], b.frames[f][j]);
            let same = |u: f32, v: f32| u == v || u.is_nan() && v.is_nan();
            assert!(same(p.0, q.0) && same(p.1, q.1) && p.2 == q.2, "frame {f}, {part}: {p:?} / {q:?}");
        }
    }
}

#[test]
fn deeplabcut_h5_files_read_as_their_csv_twins() {
    // (the .h5, the CSV with the same values, an individual, the frames the CSV has)
    let pairs = [
        (
            "dlc_multi/deepof_testDLC_h5_table_madlc.h5",
            "dlc_multi/deepof_testDLC_csv_table_madlc.csv",
            Some("mouse_white_tail"),
            97,
        ),
        (
            "dlc_multi/deepof_testDLC_h5_table_madlc.h5",
            "dlc_multi/deepof_testDLC_csv_table_madlc.csv",
            Some("mouse_black_tail"),
            97,
        ),
        (
            "dlc_multi_legacy_prefixed/deepof_testDLC_h5_table_multi.h5",
            "dlc_multi_legacy_prefixed/deepof_testDLC_csv_table_multi.csv",
            None,
            98,
        ),
    ];
    for (h5, csv, individual, frames) in pairs {
        let (Some(h5), Some(csv)) = (common::formats(h5), common::formats(csv)) else { return };
        let from_h5 = PoseTrack::read(&h5, individual).unwrap();
        let from_csv = PoseTrack::read(&csv, individual).unwrap();
        assert_eq!(from_h5.frames.len(), 100, "{}", h5.display());
        assert_eq!(from_csv.frames.len(), frames, "{}", csv.display());
        same_poses(&from_csv, &from_h5, frames);
        // The columns of the fixed layout are stored sorted; the body parts keep the file's order.
        assert_eq!(from_h5.bodyparts[0], from_csv.bodyparts[0]);
    }
}

#[test]
fn a_deeplabcut_h5_in_pandas_table_layout_reads_every_frame() {
    let Some(h5) = common::formats("dlc_single/deepof_testDLC_square_arena.h5") else { return };
    let pose = PoseTrack::read(&h5, None).unwrap();
    assert_eq!(pose.frames.len(), 451);
    assert_eq!(pose.bodyparts.len(), 14);
    assert_eq!(pose.bodyparts[..3], ["Nose", "Left_ear", "Right_ear"]);
    // Frame 0's nose, as pandas reads it.
    let (x, y, l) = pose.frames[0][0];
    assert!((x - 225.90167).abs() < 1e-3 && (y - 253.35968).abs() < 1e-3 && (l - 0.99999535).abs() < 1e-6);
    let err = PoseTrack::read(&h5, Some("mouse")).unwrap_err().to_string();
    assert!(err.contains("names no individuals"), "{err}");
}

#[test]
fn a_sleap_analysis_file_reads_by_track_and_its_labels_file_is_refused_with_what_to_do() {
    let (Some(analysis), Some(slp)) = (
        common::formats("sleap_analysis/deepof_testDLC_sleap.analysis.h5"),
        common::formats("sleap_analysis/deepof_testDLC_sleap.slp"),
    ) else {
        return;
    };
    let pose = PoseTrack::read(&analysis, Some("track_0")).unwrap();
    assert_eq!(pose.frames.len(), 101);
    assert_eq!(pose.bodyparts.len(), 14);
    assert_eq!(pose.bodyparts[0], "Nose");
    // Frame 0's nose and its score, as h5py reads them (tracks[0, :, 0, 0], point_scores[0, 0, 0]).
    let (x, y, score) = pose.frames[0][0];
    assert!((x - 319.14166).abs() < 1e-3 && (y - 277.00745).abs() < 1e-3 && (score - 0.98784643).abs() < 1e-6);
    let err = PoseTrack::read(&analysis, Some("track_9")).unwrap_err().to_string();
    assert!(err.contains("no individual `track_9`: the file has track_0"), "{err}");
    // Replayed as the rat, through the binary.
    let out = tempfile::tempdir().unwrap();
    let run = analyze_tracks(&[analysis.to_str().unwrap(), "--fps", "30", "--out", out.path().to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["frames"], 101, "{summary}");
    let run = analyze_tracks(&[slp.to_str().unwrap(), "--fps", "30", "--out", out.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sleap-convert --format analysis") && stderr.lines().count() == 1, "{stderr}");
}

#[test]
fn a_sleap_csv_with_an_unassigned_instance_and_unscored_points_reads() {
    let Some(csv) =
        common::formats("sleap_analysis/sleap_tests_minimal_instance.000_centered_pair_low_quality.analysis.csv")
    else {
        return;
    };
    let pose = PoseTrack::read(&csv, None).unwrap();
    assert_eq!(pose.bodyparts, ["A", "B"]);
    let [(ax, ay, a_score), (bx, _, _)] = pose.frames[0][..] else { panic!("{:?}", pose.frames) };
    assert!((ax - 205.93005).abs() < 1e-3 && (ay - 187.88964).abs() < 1e-3 && (bx - 278.63522).abs() < 1e-3);
    assert_eq!(a_score, 1.0, "a point with no score (placed by a person) is trusted");
}

#[test]
fn the_config_names_each_individuals_role_once_for_every_command() {
    let Some(h5) = common::formats("dlc_multi/deepof_testDLC_h5_table_madlc.h5") else { return };
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("lab.toml");
    std::fs::write(&config, "[pose]\nrat = \"mouse_black_tail\"\ncat = \"mouse_white_tail\"\n").unwrap();
    let (by_config, by_flags) = (work.path().join("by-config"), work.path().join("by-flags"));
    let h5 = h5.to_str().unwrap();
    let run = analyze_tracks(&[
        h5,
        "--fps",
        "30",
        "--config",
        config.to_str().unwrap(),
        "--out",
        by_config.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let flags = ["--individual", "mouse_black_tail", "--other-individual", "mouse_white_tail"];
    let run = analyze_tracks(&[&[h5, "--fps", "30", "--out", by_flags.to_str().unwrap()][..], &flags].concat());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary = |dir: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
    };
    let (a, b) = (summary(&by_config), summary(&by_flags));
    assert_eq!(a["animals"], serde_json::json!(["rat", "cat"]), "{a}");
    assert_eq!(a["frames"], 100);
    assert_eq!((&a["episodes"], a["body_length"].as_f64()), (&b["episodes"], b["body_length"].as_f64()));
}
