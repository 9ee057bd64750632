//! Every range-checked config key, one bad value each: the exact one-line message, through the same
//! loading the binary does (`Config::load` on a file). A key whose bad value loads silently, or a new
//! range-checked key missing from the table, fails the test.

use std::collections::BTreeMap;

use chaperone::config::Config;

/// Every numeric leaf of the default config, by dotted key, with its TOML value.
fn numeric_leaves(value: &toml::Value, prefix: &str, out: &mut BTreeMap<String, toml::Value>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                numeric_leaves(v, &key, out);
            }
        }
        toml::Value::Integer(_) | toml::Value::Float(_) => {
            out.insert(prefix.to_string(), value.clone());
        }
        _ => {}
    }
}

/// The message `Config::load` gives for a file setting `key` to `value` (TOML text), the file's path
/// written as FILE; `None` if it loads.
fn load_error(key: &str, value: &str) -> Option<String> {
    let (section, name) = key.rsplit_once('.').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chaperone.toml");
    std::fs::write(&path, format!("[{section}]\n{name} = {value}\n")).unwrap();
    Config::load(Some(&path)).err().map(|e| e.to_string().replace(&path.display().to_string(), "FILE"))
}

/// (key, a bad value as TOML, the exact message). Every numeric key of the default config has a row: the
/// numbers get -1 (or 0 for counts), the cross-key rules show both values.
const BAD_VALUES: &[(&str, &str, &str)] = &[
    (
        "behaviour.approach.calm_speed",
        "-1.0",
        "config: behaviour.approach needs 0 <= calm_speed (-1) < fast_speed (1.5) and max_gap (4) > 0",
    ),
    (
        "behaviour.approach.fast_speed",
        "-1.0",
        "config: behaviour.approach needs 0 <= calm_speed (0.3) < fast_speed (-1) and max_gap (4) > 0",
    ),
    (
        "behaviour.approach.max_gap",
        "-1.0",
        "config: behaviour.approach needs 0 <= calm_speed (0.3) < fast_speed (1.5) and max_gap (-1) > 0",
    ),
    (
        "behaviour.approach.window_s",
        "-1.0",
        "config: behaviour.approach.window_s must be a positive number of seconds, got -1",
    ),
    ("behaviour.calm.end_grace_s", "-1.0", "config: behaviour.calm.end_grace_s must be zero or more seconds, got -1"),
    (
        "behaviour.calm.max_closing_speed",
        "-1.0",
        "config: behaviour.calm.max_closing_speed must be zero or more, got -1",
    ),
    (
        "behaviour.calm.min_duration_s",
        "-1.0",
        "config: behaviour.calm.min_duration_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.calm.min_gap",
        "-1.0",
        "config: behaviour.calm.min_gap must be a positive number of body lengths, got -1",
    ),
    ("behaviour.calm.window_s", "-1.0", "config: behaviour.calm.window_s must be a positive number of seconds, got -1"),
    (
        "behaviour.fixation.end_grace_s",
        "-1.0",
        "config: behaviour.fixation.end_grace_s must be zero or more seconds, got -1",
    ),
    (
        "behaviour.fixation.heading_move",
        "-1.0",
        "config: behaviour.fixation.heading_move must be a positive number of body lengths, got -1",
    ),
    (
        "behaviour.fixation.max_angle_deg",
        "-1.0",
        "config: behaviour.fixation.max_angle_deg must be between 0 and 180 degrees, got -1",
    ),
    (
        "behaviour.fixation.max_gap",
        "-1.0",
        "config: behaviour.fixation.max_gap must be a positive number of body lengths, got -1",
    ),
    (
        "behaviour.fixation.max_speed",
        "-1.0",
        "config: behaviour.fixation.max_speed must be a positive number of body lengths per second, got -1",
    ),
    (
        "behaviour.fixation.min_duration_s",
        "-1.0",
        "config: behaviour.fixation.min_duration_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.fixation.speed_window_s",
        "-1.0",
        "config: behaviour.fixation.speed_window_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.fixation.unknown_facing_max_gap",
        "-1.0",
        "config: behaviour.fixation.unknown_facing_max_gap must be a positive number of body lengths, got -1",
    ),
    (
        "behaviour.fixation.unknown_facing_min_s",
        "-1.0",
        "config: behaviour.fixation.unknown_facing_min_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.fixation.unknown_facing_stop_s",
        "-1.0",
        "config: behaviour.fixation.unknown_facing_stop_s (-1) must be at least unknown_facing_min_s (8)",
    ),
    (
        "behaviour.freezing.lag_s",
        "-1.0",
        "config: behaviour.freezing.lag_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.freezing.max_box_speed",
        "-1.0",
        "config: behaviour.freezing.max_box_speed must be a positive number of body lengths per second, got -1",
    ),
    (
        "behaviour.freezing.max_head_turn_deg_s",
        "-1.0",
        "config: behaviour.freezing.max_head_turn_deg_s must be a positive number of degrees per second, got -1",
    ),
    (
        "behaviour.freezing.max_pixel_change",
        "-1.0",
        "config: behaviour.freezing.max_pixel_change must be a share of the body's area, above 0 and at most 1, got -1",
    ),
    (
        "behaviour.freezing.max_speed",
        "-1.0",
        "config: behaviour.freezing.max_speed must be a positive number of body lengths per second, got -1",
    ),
    (
        "behaviour.freezing.min_duration_s",
        "-1.0",
        "config: behaviour.freezing.min_duration_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.freezing.pixel_cutoff",
        "0",
        "config: behaviour.freezing.pixel_cutoff must be at least 1 grey level, got 0",
    ),
    (
        "behaviour.freezing.smoothing_s",
        "-1.0",
        "config: behaviour.freezing.smoothing_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.freezing.stop_after_s",
        "-1.0",
        "config: behaviour.freezing.stop_after_s must be a positive number of seconds, got -1",
    ),
    ("behaviour.hiding.margin", "-1.0", "config: behaviour.hiding.margin must be zero or more, got -1"),
    (
        "behaviour.hiding.min_duration_s",
        "-1.0",
        "config: behaviour.hiding.min_duration_s must be a positive number of seconds, got -1",
    ),
    ("behaviour.hiding.shrink_ratio", "-1.0", "config: behaviour.hiding.shrink_ratio must be between 0 and 1, got -1"),
    (
        "behaviour.hiding.stop_after_s",
        "-1.0",
        "config: behaviour.hiding.stop_after_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.stalking.baseline_min_s",
        "-1.0",
        "config: behaviour.stalking.baseline_min_s must be zero or more seconds, got -1",
    ),
    (
        "behaviour.stalking.baseline_s",
        "-1.0",
        "config: behaviour.stalking.baseline_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.stalking.end_grace_s",
        "-1.0",
        "config: behaviour.stalking.end_grace_s must be zero or more seconds, got -1",
    ),
    (
        "behaviour.stalking.lowered_ratio",
        "-1.0",
        "config: behaviour.stalking.lowered_ratio must be between 0 and 1, got -1",
    ),
    (
        "behaviour.stalking.max_creep_speed",
        "-1.0",
        "config: behaviour.stalking.max_creep_speed (-1) must be above min_creep_speed (0.1)",
    ),
    (
        "behaviour.stalking.max_gap",
        "-1.0",
        "config: behaviour.stalking.max_gap must be a positive number of body lengths, got -1",
    ),
    (
        "behaviour.stalking.min_creep_speed",
        "-1.0",
        "config: behaviour.stalking.min_creep_speed must be a positive number of body lengths per second, got -1",
    ),
    (
        "behaviour.stalking.min_duration_s",
        "-1.0",
        "config: behaviour.stalking.min_duration_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.stalking.window_s",
        "-1.0",
        "config: behaviour.stalking.window_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.visibility.cat_unseen_s",
        "-1.0",
        "config: behaviour.visibility.cat_unseen_s must be a positive number of seconds, got -1",
    ),
    (
        "behaviour.visibility.rat_unseen_s",
        "-1.0",
        "config: behaviour.visibility.rat_unseen_s must be a positive number of seconds, got -1",
    ),
    ("detector.evidence_refresh_s", "-1.0", "config: detector.evidence_refresh_s must be zero or more seconds, got -1"),
    ("detector.idle_interval_s", "-0.5", "config: detector.idle_interval_s must be zero or more seconds, got -0.5"),
    ("detector.min_score", "-1.0", "config: detector.min_score must be between 0 and 1, got -1"),
    ("detector.nms_iou", "-1.0", "config: detector.nms_iou must be between 0 and 1, got -1"),
    ("motion.background_tau_s", "-1.0", "config: motion.background_tau_s must be a positive number of seconds, got -1"),
    ("motion.candidate_score", "-1.0", "config: motion.candidate_score must be between 0 and 1, got -1"),
    ("motion.diff_threshold", "0", "config: motion.diff_threshold must be at least 1 grey level, got 0"),
    ("motion.edge_candidate_score", "-1.0", "config: motion.edge_candidate_score must be between 0 and 1, got -1"),
    ("motion.init_frames", "0", "config: motion.init_frames must be at least 1 frame, got 0"),
    ("motion.max_area", "-1.0", "config: motion.max_area must be between 0 and 1, got -1"),
    (
        "motion.max_elongation",
        "-1.0",
        "config: motion.max_elongation must be at least 1 (long side over short side), got -1",
    ),
    ("motion.max_unexplained", "-1.0", "config: motion.max_unexplained must be between 0 and 1, got -1"),
    ("motion.min_area", "-1.0", "config: motion.min_area must be between 0 and 1, got -1"),
    ("motion.min_fill", "-1.0", "config: motion.min_fill must be between 0 and 1, got -1"),
    ("motion.work_width", "0", "config: motion.work_width must be at least 32 pixels, got 0"),
    ("roles.animal_min_score", "-1.0", "config: roles.animal_min_score must be between 0 and 1, got -1"),
    ("roles.cat_min_family", "-1.0", "config: roles.cat_min_family must be between 0 and 1, got -1"),
    ("roles.cat_min_frame_area", "-1.0", "config: roles.cat_min_frame_area must be between 0 and 1, got -1"),
    ("roles.cat_min_score", "-1.0", "config: roles.cat_min_score must be between 0 and 1, got -1"),
    ("roles.cat_min_support", "-1.0", "config: roles.cat_min_support must be between 0 and 1, got -1"),
    ("roles.dog_min_family", "-1.0", "config: roles.dog_min_family must be between 0 and 1, got -1"),
    ("pose.min_likelihood", "1.5", "config: pose.min_likelihood must be between 0 and 1, got 1.5"),
    ("pose.rat", "\" \"", "config: pose.rat must name an individual or track, got an empty name"),
    ("notify.timeout_s", "0.0", "config: notify.timeout_s must be a positive number of seconds, got 0"),
    ("notify.retries", "11", "config: notify.retries must be between 0 and 10 tries, got 11"),
    ("notify.mqtt", "\"mqtt://\"", "config: notify.mqtt must be HOST or HOST:PORT (a broker), got `mqtt://`"),
    (
        "notify.mqtt_topic",
        "\"home/#\"",
        "config: notify.mqtt_topic must be a topic prefix without wildcards, got `home/#`",
    ),
    (
        "notify.webhook",
        "\"ntfy.sh/chaperone\"",
        "config: notify.webhook must be an http:// or https:// URL, got `ntfy.sh/chaperone`",
    ),
    ("roles.enclosure_margin", "-1.0", "config: roles.enclosure_margin must be between 0 and 10, got -1"),
    ("roles.rat_max_cat_area_ratio", "-1.0", "config: roles.rat_max_cat_area_ratio must be between 0 and 1, got -1"),
    ("roles.rat_max_frame_area", "-1.0", "config: roles.rat_max_frame_area must be between 0 and 1, got -1"),
    ("roles.rat_min_rodent_like", "-1.0", "config: roles.rat_min_rodent_like must be between 0 and 1, got -1"),
    (
        "session.camera_timeout_s",
        "-1.0",
        "config: session.camera_timeout_s must be a positive number of seconds, got -1",
    ),
    ("session.clip_after_s", "31.0", "config: session.clip_after_s must be between 0 and 30 seconds, got 31"),
    ("session.clip_before_s", "-1.0", "config: session.clip_before_s must be between 0 and 30 seconds, got -1"),
    ("session.first_sight_s", "-1.0", "config: session.first_sight_s must be a positive number of seconds, got -1"),
    ("session.max_latency_s", "-1.0", "config: session.max_latency_s must be a positive number of seconds, got -1"),
    ("session.overload_s", "-1.0", "config: session.overload_s must be a positive number of seconds, got -1"),
    ("tracker.coast_s", "-1.0", "config: tracker.coast_s must be a positive number of seconds, got -1"),
    ("tracker.confirm_hits", "0", "config: tracker.confirm_hits must be at least 1 hit, got 0"),
    ("tracker.established_hits", "0", "config: tracker.established_hits (0) must be at least tracker.confirm_hits (3)"),
    ("tracker.forget_s", "-1.0", "config: tracker.forget_s must be a positive number of seconds, got -1"),
    ("tracker.high_score", "-1.0", "config: tracker.high_score must be between 0 and 1, got -1"),
    ("tracker.low_score", "-1.0", "config: tracker.low_score must be between 0 and 1, got -1"),
    ("tracker.match_iou", "-1.0", "config: tracker.match_iou must be between 0 and 1, got -1"),
    ("tracker.max_cats", "0", "config: tracker.max_cats must be at least 1, got 0"),
    ("tracker.max_rats", "0", "config: tracker.max_rats must be at least 1, got 0"),
    ("tracker.new_track_score", "-1.0", "config: tracker.new_track_score must be between 0 and 1, got -1"),
    ("tracker.weak_match_iou", "-1.0", "config: tracker.weak_match_iou must be between 0 and 1, got -1"),
    ("runtime.threads", "0", "config: runtime.threads must be at least 1"),
    ("detector.model", "\" \"", "config: detector.model must name a model or an .onnx path"),
    (
        "roles.enclosure",
        "[0.5, 0.5, 0.2, 0.9]",
        "config: roles.enclosure must be [x1, y1, x2, y2] fractions of the frame with x1 < x2 and y1 < y2, got [0.5, 0.5, 0.2, 0.9]",
    ),
    (
        "behaviour.hiding.shelters",
        "[[0.1, 0.1, 0.3, 0.3], [0.5, 0.5, 0.2, 1.2]]",
        "config: behaviour.hiding.shelters[1] must be [x1, y1, x2, y2] fractions of the frame with x1 < x2 and y1 < y2, got [0.5, 0.5, 0.2, 1.2]",
    ),
    // A value of the wrong type is refused while reading, with the file and line.
    ("motion.diff_threshold", "300", "config: FILE:2: invalid value: integer `300`, expected u8"),
    ("session.camera_timeout_s", "\"3 s\"", "config: FILE:2: invalid type: string \"3 s\", expected f64"),
];

#[test]
fn every_range_checked_key_refuses_a_bad_value_with_its_exact_message() {
    let mut failures = Vec::new();
    for (key, value, expected) in BAD_VALUES {
        match load_error(key, value) {
            Some(message) if message == *expected => {}
            Some(message) => failures.push(format!("{key} = {value}: got  {message}\n    expected {expected}")),
            None => failures.push(format!("{key} = {value}: loaded without complaint")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_numeric_key_and_the_defaults_load() {
    assert!(Config::load(None).is_ok());
    let mut leaves = BTreeMap::new();
    numeric_leaves(&toml::Value::try_from(Config::default()).unwrap(), "", &mut leaves);
    let missing: Vec<&String> = leaves.keys().filter(|k| !BAD_VALUES.iter().any(|(key, ..)| key == k)).collect();
    assert!(missing.is_empty(), "numeric config keys with no bad-value row: {missing:?}");
    // Each key's default written out as a file loads again (the checks accept what they ship).
    for (key, value) in &leaves {
        assert_eq!(load_error(key, &value.to_string()), None, "{key} = {value}");
    }
}
