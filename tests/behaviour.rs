//! The behaviour engine inside `analyze`, on rendered clips run through the real detector and tracker:
//! a cat dashing at the rat is a fast approach, confirmed within half a second; a calm meeting is not.

mod common;

#[test]
fn a_dash_at_the_rat_is_an_approach_and_a_calm_meeting_is_not() {
    let work = tempfile::tempdir().unwrap();
    let dash = common::dash_clip(work.path());
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

    let dash_events = common::events(&out.join("dash/events.jsonl"));
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

    assert!(common::events(&out.join("demo-meeting/events.jsonl")).is_empty(), "a slow drift is not an approach");
}
