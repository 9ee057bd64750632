//! The per-frame table a lab loads (`behaviour.csv`) agrees with `events.jsonl` frame by frame, and
//! every JSON output says which version of the formats and of chaperone wrote it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

/// `behaviour.csv`: its header and, per row, the time and each column's 0/1.
fn read_table(path: &Path) -> (Vec<String>, Vec<(f64, Vec<bool>)>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells.len(), header.len(), "row `{l}`");
            (cells[0].parse().unwrap(), cells[2..].iter().map(|c| *c == "1").collect())
        })
        .collect();
    (header, rows)
}

/// Checks each row of the table against the `ended` episodes of the event log; returns the frames
/// set per column.
fn agrees_with_events(dir: &Path) -> BTreeMap<String, usize> {
    let (header, rows) = read_table(&dir.join("behaviour.csv"));
    assert_eq!(header[..2], ["time_s", "frame"]);
    let events = common::events(&dir.join("events.jsonl"));
    let ended: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "ended").collect();
    let mut set = BTreeMap::new();
    for (k, column) in header[2..].iter().enumerate() {
        let behaviour = column.strip_prefix("cat_").or_else(|| column.strip_prefix("rat_")).unwrap_or(column);
        // rat_unseen and cat_unseen keep their animal in the behaviour's name.
        let behaviour = if behaviour == "unseen" { column.as_str() } else { behaviour };
        let mine: Vec<(f64, f64)> = ended
            .iter()
            .filter(|e| e["behaviour"] == behaviour)
            .map(|e| (e["onset_s"].as_f64().unwrap(), e["end_s"].as_f64().unwrap()))
            .collect();
        for (t, values) in &rows {
            let expected = mine.iter().any(|(a, b)| t >= a && t <= b);
            assert_eq!(values[k], expected, "{column} at {t} s: table and events.jsonl disagree");
        }
        set.insert(column.clone(), rows.iter().filter(|(_, v)| v[k]).count());
    }
    set
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn assert_versioned(json: &serde_json::Value) {
    assert_eq!(json["schema_version"], 1, "{json}");
    assert_eq!(json["chaperone_version"], env!("CARGO_PKG_VERSION"), "{json}");
}

#[test]
fn the_behaviour_table_of_a_video_run_is_its_event_log_frame_by_frame() {
    let work = tempfile::tempdir().unwrap();
    let dash = common::dash_clip(work.path());
    let out_root = work.path().join("out");
    let run =
        common::chaperone(&["analyze", dash.to_str().unwrap(), "--out", out_root.to_str().unwrap(), "--no-video"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let out = out_root.join("dash");
    let set = agrees_with_events(&out);
    assert!(set["cat_approach"] > 0, "the dash is in the table: {set:?}");
    let summary = summary(&out);
    assert_versioned(&summary);
    let frames = summary["frames"].as_u64().unwrap() as usize;
    let (_, rows) = read_table(&out.join("behaviour.csv"));
    assert_eq!(rows.len(), frames, "a row per analysed frame");
    assert!(summary["outputs"].as_array().unwrap().iter().any(|o| o.as_str().unwrap().ends_with("behaviour.csv")));
    // The frames wait in a file beside the table while the run goes on (memory stays flat); it goes.
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().ends_with(".frames")), "{left:?}");
}

#[test]
fn the_behaviour_table_of_replayed_tracks_is_its_event_log_frame_by_frame() {
    let Some(tracks) = common::media("freezing-labels/demo1_tracking.csv") else { return };
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let run =
        common::chaperone(&["analyze-tracks", tracks.to_str().unwrap(), "--fps", "50", "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let set = agrees_with_events(&out);
    assert!(set["rat_freezing"] > 500, "the mouse freezes for seconds: {set:?}");
    let (_, rows) = read_table(&out.join("behaviour.csv"));
    assert_eq!(rows.len(), 6000);
    assert_versioned(&summary(&out));
}

#[test]
fn json_reports_say_their_versions() {
    let run = common::chaperone(&["eval", "--json", "--variations", "0", "fixtures/scenarios/dash.toml"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_versioned(&serde_json::from_slice(&run.stdout).unwrap());
}

/// `chaperone report DIR` as CSV.
fn report(dir: &Path) -> String {
    let run = common::chaperone(&["report", dir.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn three_slurm_shards_report_what_one_unsharded_run_reports() {
    let work = tempfile::tempdir().unwrap();
    let videos = work.path().join("videos");
    std::fs::create_dir(&videos).unwrap();
    // Three rendered meetings (one with a dash, one with a rat freezing, one calm) and a fourth, so the
    // shards are uneven.
    common::dash_clip(&videos);
    common::freeze_clip(&videos);
    common::calm_clip(&videos, 4);
    std::fs::copy(videos.join("dash.mp4"), videos.join("again.mp4")).unwrap();

    let whole = work.path().join("whole");
    let mut inputs: Vec<String> =
        std::fs::read_dir(&videos).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    inputs.sort();
    let mut args = vec!["analyze", "--quiet", "--no-video", "--out", whole.to_str().unwrap()];
    args.extend(inputs.iter().map(String::as_str));
    let run = common::chaperone(&args);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(whole.join("summary.csv").is_file(), "a batch writes its table");

    // The example Slurm script, run as Slurm runs an array task: --array=1-3 (shards from the first index).
    let sharded = work.path().join("sharded");
    for task in 1..=3 {
        let run = std::process::Command::new("bash")
            .arg(common::repo().join("scripts/cluster/slurm-analyze.sh"))
            .arg(&videos)
            .arg(&sharded)
            .env("CHAPERONE", env!("CARGO_BIN_EXE_chaperone"))
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "3")
            .env("SLURM_ARRAY_TASK_MIN", "1")
            .output()
            .unwrap();
        assert!(run.status.success(), "task {task}: {}", String::from_utf8_lossy(&run.stderr));
    }
    let (whole_report, sharded_report) = (report(&whole), report(&sharded));
    assert_eq!(whole_report.lines().count(), 5, "a header and four recordings:\n{whole_report}");
    assert!(
        whole_report.lines().any(|l| l.starts_with("dash,")) && whole_report.contains(",1,"),
        "episodes are counted:\n{whole_report}"
    );
    assert_eq!(sharded_report, whole_report);
    // A shard beyond the inputs is not an error; a malformed one is.
    let run = common::chaperone(&["analyze", "--shard", "3/3", "--out", "x", inputs[0].as_str()]);
    assert!(!run.status.success() && String::from_utf8_lossy(&run.stderr).contains("0 <= K < N"));
}
