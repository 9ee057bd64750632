//! `chaperone analyze-tracks`: the behaviour engine on tracks recorded by another tool, scored against
//! human labels.

mod common;

use std::process::Output;

fn analyze_tracks(args: &[&str]) -> Output {
    common::chaperone(&[&["analyze-tracks"], args].concat())
}

#[test]
fn freezing_agrees_with_human_scoring_on_real_deeplabcut_tracks() {
    let (Some(tracks), Some(labels)) = (
        common::media("freezing-labels/demo1_tracking.csv"),
        common::media("freezing-labels/demo1_freezing_bouts_1based.csv"),
    ) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let run = analyze_tracks(&[
        tracks.to_str().unwrap(),
        "--fps",
        "50",
        "--out",
        out.path().to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap()).unwrap();
    let f1 = summary["freezing_vs_labels"]["f1"].as_f64().unwrap();
    assert!(f1 >= 0.85, "per-frame F1 {f1:.3} against the human bouts: {}", summary["freezing_vs_labels"]);
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
