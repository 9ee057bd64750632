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
