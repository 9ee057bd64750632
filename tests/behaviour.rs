//! The behaviour engine inside `analyze`, on rendered clips run through the real detector and tracker:
//! a cat dashing at the rat is a fast approach, confirmed within half a second; a calm meeting is not.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The real cat photo (chelsea.png) on a floor, still for 4 s and then dashing right at 400 px/s (two of
/// its 200 px body lengths per second) at a dark rodent-sized shape that shuffles in place.
fn dash_clip(dir: &Path) -> PathBuf {
    let out = dir.join("dash.mp4");
    let graph = "[1]scale=200:-1[cat];[0][cat]overlay=x='if(lt(t,4),20,20+400*(t-4))':y=230:shortest=1[s];\
                 [s][2]overlay=x='540+15*sin(3*t)':y='300+6*sin(2*t)':shortest=1,noise=alls=6:allf=t";
    let ok = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=0xd9d2c5:s=640x480:r=25:d=7", "-loop", "1"])
        .arg("-i")
        .arg(common::generated("chelsea.png"))
        .args(["-f", "lavfi", "-i", "color=c=0x3a3028:s=46x24:r=25:d=7", "-filter_complex", graph])
        .args(["-t", "7", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success(), "ffmpeg could not render the clip");
    out
}

fn events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn a_dash_at_the_rat_is_an_approach_and_a_calm_meeting_is_not() {
    let work = tempfile::tempdir().unwrap();
    let dash = dash_clip(work.path());
    let calm = common::generated("demo-meeting.mp4");
    let out = work.path().join("out");
    let run = common::chaperone(&[
        "analyze",
        dash.to_str().unwrap(),
        calm.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-video",
        "--quiet",
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let dash_events = events(&out.join("dash/events.jsonl"));
    let confirmed: Vec<&serde_json::Value> =
        dash_events.iter().filter(|e| e["event"] == "confirmed" && e["behaviour"] == "approach").collect();
    assert_eq!(confirmed.len(), 1, "{dash_events:?}");
    let at = confirmed[0]["confirmed_s"].as_f64().unwrap();
    assert!(at > 4.0 && at <= 4.6, "the dash starts at 4.0 s; approach confirmed at {at}");
    assert!(confirmed[0]["onset_s"].as_f64().unwrap() <= at);
    assert_eq!(confirmed[0]["animal"], "cat");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dash/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["episodes"].as_array().unwrap().len(), 1);

    assert!(events(&out.join("demo-meeting/events.jsonl")).is_empty(), "a slow drift is not an approach");
}
