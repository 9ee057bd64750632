//! The behaviour engine inside `analyze`, on rendered meetings run through the real detector, motion
//! detection and tracker: each clip shows one behaviour, which must be confirmed in its time window and
//! nothing else with it; the demo meeting shows only a warning for a cat sitting still close by.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::Meeting;

/// Shelter zone of the hiding clip, as a config: the box drawn at (780, 280), 120x100, in a 960x480 frame.
const SHELTER_CONFIG: &str = "[behaviour.hiding]\nshelters = [[0.8125, 0.5833, 0.9375, 0.7917]]\n";

fn analyze(inputs: &[PathBuf], out: &Path, config: Option<&Path>) {
    let mut args: Vec<String> = Vec::new();
    if let Some(c) = config {
        args.extend(["--config".into(), c.display().to_string()]);
    }
    args.push("analyze".into());
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), out.display().to_string(), "--no-video".into(), "--quiet".into()]);
    let run = common::chaperone(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
}

/// The behaviours confirmed in `dir/events.jsonl`, and when.
fn confirmed(dir: &Path) -> Vec<(String, f64, f64)> {
    common::events(&dir.join("events.jsonl"))
        .iter()
        .filter(|e| e["event"] == "confirmed")
        .map(|e| {
            (
                e["behaviour"].as_str().unwrap().to_string(),
                e["onset_s"].as_f64().unwrap(),
                e["confirmed_s"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn expect_one(out: &Path, clip: &str, behaviour: &str, window: (f64, f64)) {
    let found = confirmed(&out.join(clip));
    let kinds: BTreeSet<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(kinds, BTreeSet::from([behaviour]), "{clip}: {found:?}");
    let (_, onset, at) = &found[0];
    assert!(*at >= window.0 && *at <= window.1, "{clip}: {behaviour} confirmed at {at}, expected {window:?}");
    assert!(onset <= at, "{clip}: onset {onset} after confirmation {at}");
}

#[test]
fn each_rendered_behaviour_is_confirmed_in_time_and_alone() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let clips = vec![
        common::dash_clip(dir),
        common::freeze_clip(dir),
        common::stare_clip(dir),
        // Sits upright for 4 s, then crouches (flatter and longer) and creeps at a quarter body length per
        // second toward the rat.
        Meeting {
            name: "stalk",
            seconds: 10,
            width: 960,
            cat_size: ("if(lt(t,4),200,250)", "if(lt(t,4),150,95)"),
            cat_at: ("if(lt(t,4),100+3*sin(2*t),100+50*(t-4))", "if(lt(t,4),230,285)"),
            rat_at: ("800+15*sin(3*t)", "340+6*sin(2*t)"),
            shelter: None,
        }
        .render(dir),
        common::calm_clip(dir, 9),
        common::generated("demo-meeting.mp4"),
    ];
    let hide = Meeting {
        name: "hide",
        seconds: 10,
        width: 960,
        cat_size: ("180", "-1"),
        cat_at: ("20", "230"),
        rat_at: ("if(lt(t,3),600+70*t,810+5*sin(3*t))", "310+6*sin(2*t)"),
        shelter: Some((780, 280)),
    }
    .render(dir);
    let out = dir.join("out");
    analyze(&clips, &out, None);
    let config = dir.join("shelter.toml");
    std::fs::write(&config, SHELTER_CONFIG).unwrap();
    analyze(&[hide], &out, Some(&config));

    // The dash starts at 4.0 s: an approach is immediate.
    expect_one(&out, "dash", "approach", (4.0, 4.6));
    // Still from 2 s; the speed window takes a second to see it, then 3 s of stare.
    expect_one(&out, "stare", "fixation", (5.0, 6.5));
    expect_one(&out, "stalk", "stalking", (4.5, 8.0));
    // Calm for 5 s from the start (the gap's trend needs a moment).
    expect_one(&out, "calm", "calm", (5.0, 8.0));
    // Stops dead at 3.0 s: freezing 0.9 s later.
    expect_one(&out, "freeze", "freezing", (3.5, 4.5));
    // Into the shelter at about 2.5 s: hiding 3 s later.
    expect_one(&out, "hide", "hiding", (5.0, 6.5));
    // The demo's cat drifts slowly, half a body length from the rat, never seen walking: which way it
    // faces is unknown, so once it has sat there 8 s it is taken as a stare, a warning and not yet a stop.
    expect_one(&out, "demo-meeting", "fixation", (8.0, 9.5));
    let stare =
        common::events(&out.join("demo-meeting/events.jsonl")).into_iter().find(|e| e["event"] == "confirmed").unwrap();
    assert_eq!(stare["measurements"]["facing_known"], 0.0, "{stare}");
    assert_eq!(stare["severity"], "warn", "{stare}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dash/summary.json")).unwrap()).unwrap();
    let episodes = summary["episodes"].as_array().unwrap();
    assert_eq!(episodes.len(), 1, "{episodes:?}");
    assert_eq!(episodes[0]["animal"], "cat");
    assert!(episodes[0]["end_s"].as_f64().is_some(), "ended by the end of the video");
}
