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
    // Each curve sweeps a threshold that moves it: the scenarios' boxes do not feel the keypoints'
    // freezing.max_speed, so freezing's curve is drawn over the box centre's threshold.
    let svg = std::fs::read_to_string(dir.path().join("tuned.pr.svg")).unwrap();
    assert!(svg.contains("freezing (freezing.max_box_speed)"), "the freezing panel's title");

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

/// A labelled recording of tracks: a rat box (40 x 20 px) circling at about two body lengths a second at
/// 25 fps, still (with a pixel of jitter) through each of `freezes` (seconds), the freezes labelled in
/// plain seconds. Returns the scenario file.
fn labelled_recording(dir: &std::path::Path, name: &str, freezes: &[(f64, f64)]) -> std::path::PathBuf {
    let mut rows = vec!["time_s,frame,track_id,role,x1,y1,x2,y2,score".to_string()];
    let (mut angle, mut rng) = (0.0f64, fastrand::Rng::with_seed(name.len() as u64));
    for frame in 0..1000 {
        let t = frame as f64 / 25.0;
        if !freezes.iter().any(|&(a, b)| t >= a && t <= b) {
            angle += 80.0 / 25.0 / 150.0;
        }
        let (cx, cy) = (320.0 + 150.0 * angle.cos() + rng.f64() - 0.5, 240.0 + 150.0 * angle.sin() + rng.f64() - 0.5);
        rows.push(format!(
            "{t:.3},{frame},1,rat,{:.1},{:.1},{:.1},{:.1},0.9",
            cx - 20.0,
            cy - 10.0,
            cx + 20.0,
            cy + 10.0
        ));
    }
    std::fs::write(dir.join(format!("{name}.tracks.csv")), rows.join("\n") + "\n").unwrap();
    let labels: Vec<String> = freezes.iter().map(|(a, b)| format!("{a},{b}")).collect();
    std::fs::write(dir.join(format!("{name}.labels.csv")), format!("start_s,end_s\n{}\n", labels.join("\n"))).unwrap();
    let scenario = dir.join(format!("{name}.toml"));
    let toml =
        format!("description = \"{name}\"\nlabels = \"{name}.labels.csv\"\n\n[tracks]\nrat = \"{name}.tracks.csv\"\n");
    std::fs::write(&scenario, toml).unwrap();
    scenario
}

#[test]
fn tuning_on_labelled_recordings_holds_each_one_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = [
        labelled_recording(dir.path(), "rec-a", &[(5.0, 9.0), (20.0, 26.0)]),
        labelled_recording(dir.path(), "rec-b", &[(8.0, 11.0), (25.0, 33.0)]),
        labelled_recording(dir.path(), "rec-c", &[(3.0, 7.0), (15.0, 18.0), (30.0, 36.0)]),
    ];
    let out = dir.path().join("tuned.toml");
    let mut args = vec!["tune", "--out", out.to_str().unwrap(), "--rounds", "1"];
    args.extend(recordings.iter().map(|p| p.to_str().unwrap()));
    let run = common::chaperone(&args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("held-out recordings (leave-one-recording-out, 3 folds"), "{stdout}");
    for name in ["rec-a", "rec-b", "rec-c"] {
        assert!(stdout.contains(&format!("  {name} (held out): freezing per-frame F1")), "{stdout}");
    }
    // The split, as the product wrote it: every recording held out once, and never trained on in its fold.
    let folds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tuned.folds.json")).unwrap()).unwrap();
    let folds = folds["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let mut held_once = Vec::new();
    for fold in folds {
        let held: Vec<&str> = fold["held_out"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let trained: Vec<&str> = fold["trained_on"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!((held.len(), trained.len()), (1, 2), "{fold}");
        assert!(!trained.contains(&held[0]), "a leak: {fold}");
        assert_eq!(fold["held_out_scores"][0]["recording"], held[0], "{fold}");
        held_once.push(held[0].to_string());
    }
    held_once.sort();
    assert_eq!(held_once, ["rec-a", "rec-b", "rec-c"]);
    let header = std::fs::read_to_string(&out).unwrap();
    assert!(header.contains("# Goal on the held-out recordings"), "{header}");
    // The written config is one the program reads.
    let run = common::chaperone(&["--config", out.to_str().unwrap(), "eval", recordings[0].to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    // One recording cannot be held out whole and still tuned on: refused, in one line.
    let run = common::chaperone(&["tune", "--out", out.to_str().unwrap(), recordings[0].to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("needs two or more") && stderr.lines().count() == 1, "{stderr}");
}
