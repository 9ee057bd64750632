//! Scenarios rendered into real videos (real cat and rat sprites) and scored through the whole pipeline:
//! real detector, motion, tracker and engine.

mod common;

#[test]
fn rendered_scenarios_score_through_the_real_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = common::repo().join("fixtures/scenarios");
    let picked: Vec<String> = ["dash", "hide", "peek-out", "walk-past"]
        .iter()
        .map(|n| scenarios.join(format!("{n}.toml")).display().to_string())
        .collect();
    let out = dir.path().join("rendered");
    let mut args = vec!["render", "--out", out.to_str().unwrap()];
    args.extend(picked.iter().map(String::as_str));
    let run = common::chaperone(&args);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for name in ["dash", "hide", "peek-out", "walk-past"] {
        assert!(out.join(format!("{name}.mp4")).is_file() && out.join(format!("{name}.toml")).is_file(), "{name}");
    }

    let run = common::chaperone(&["eval", out.to_str().unwrap(), "--json"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let report = &report["scenarios"];
    assert_eq!(report["runs"], 4, "one pipeline run per video: {report}");
    let score = |name: &str| report["behaviours"].as_array().unwrap().iter().find(|b| b["behaviour"] == name).cloned();
    let approach = score("approach").expect("the dash is scored");
    assert_eq!(approach["recall"], 1.0, "{approach}");
    assert_eq!(
        approach["false_alarms"], 0,
        "no approach while the cat walks past or the rat comes out of its shelter: {approach}"
    );
    assert!(approach["latency_median_s"].as_f64().unwrap() < 0.6, "{approach}");
    let hiding = score("hiding").expect("the hide is scored");
    assert_eq!(hiding["recall"], 1.0, "{hiding}");
}
