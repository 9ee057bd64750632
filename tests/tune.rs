//! `chaperone tune`: a search that writes a config the program accepts, pictures of the trade-off, and
//! scores on a held-out set.

mod common;

#[test]
fn tune_writes_a_usable_config_pictures_and_held_out_scores() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tuned.toml");
    let run = common::chaperone(&["tune", "--out", out.to_str().unwrap(), "--variations", "6"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("held-out set") && stdout.contains("goal: training"), "{stdout}");
    // The search ran: it evaluated candidates and reports the training goal before and after, never worse;
    // where it improved, some threshold moved, and the written config says which.
    let number_before = |marker: &str| -> f64 {
        let line = stdout.lines().find(|l| l.contains(marker)).unwrap_or_else(|| panic!("no `{marker}`: {stdout}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == marker.split_whitespace().next().unwrap()).unwrap();
        words[at - 1].parse().unwrap_or_else(|_| panic!("{line}"))
    };
    assert!(number_before("evaluations on") >= 20.0, "{stdout}");
    let goal = stdout.lines().find(|l| l.starts_with("goal: training")).unwrap();
    let numbers: Vec<f64> = goal.split_whitespace().filter_map(|w| w.trim_end_matches(',').parse().ok()).collect();
    let (before, after) = (numbers[0], numbers[1]);
    assert!(after >= before, "{goal}");
    if after > before {
        assert!(stdout.lines().any(|l| l.trim_start().contains(" -> ") && l.starts_with("  ")), "what moved: {stdout}");
    }
    for picture in ["tuned.pr.png", "tuned.pr.svg"] {
        let len = std::fs::metadata(dir.path().join(picture)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{picture}: {len} bytes");
    }
    let png = image::open(dir.path().join("tuned.pr.png")).unwrap();
    assert_eq!(png.width(), 1200);

    // The written config is one the program reads, and it scores at least as well as the defaults on
    // the scenarios (the search only moves a threshold when the goal improves).
    let score = |config: Option<&str>| -> f64 {
        let mut args = Vec::new();
        if let Some(c) = config {
            args.extend(["--config", c]);
        }
        args.extend(["eval", "--json", "--variations", "6"]);
        let run = common::chaperone(&args);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let f1: Vec<f64> = report["scenarios"]["behaviours"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["true_intervals"].as_u64().unwrap() > 0)
            .map(|b| b["f1"].as_f64().unwrap())
            .collect();
        f1.iter().sum::<f64>() / f1.len() as f64
    };
    let (defaults, tuned) = (score(None), score(Some(out.to_str().unwrap())));
    assert!(tuned >= defaults - 1e-9, "mean F1: defaults {defaults:.3}, tuned {tuned:.3}");
}
