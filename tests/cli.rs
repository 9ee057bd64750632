//! The `chaperone` binary as a user runs it: bad input gets one line that says what is wrong and what to
//! do, a non-zero exit, and no panic; good input gets a table, JSON and an annotated image.

mod common;

use std::path::Path;
use std::process::Output;

use common::chaperone;

/// Asserts a failure reported as exactly one line containing every one of `needles`.
fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    for needle in needles {
        assert!(lines[0].contains(needle), "`{needle}` missing from: {}", lines[0]);
    }
}

fn chelsea() -> String {
    common::generated("chelsea.png").display().to_string()
}

#[test]
fn missing_model_file() {
    let out = chaperone(&["detect", &chelsea(), "--model", "/nonexistent/detector.onnx"]);
    assert_one_line_error(&out, &["/nonexistent/detector.onnx", "not found"]);
}

#[test]
fn model_of_the_wrong_family() {
    let model = common::generated("not_a_detector.onnx");
    let out = chaperone(&["detect", &chelsea(), "--model", model.to_str().unwrap()]);
    assert_one_line_error(&out, &["not a supported detector", "YOLO", "x float32 [1, 10]"]);
}

#[test]
fn a_file_that_is_not_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake.onnx");
    std::fs::write(&fake, b"this is not protobuf").unwrap();
    let out = chaperone(&["detect", &chelsea(), "--model", fake.to_str().unwrap()]);
    assert_one_line_error(&out, &["fake.onnx", "not a loadable ONNX model"]);
}

#[test]
fn corrupt_and_empty_images() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.png");
    let mut bytes = std::fs::read(common::generated("chelsea.png")).unwrap();
    bytes.truncate(200);
    std::fs::write(&corrupt, &bytes).unwrap();
    assert_one_line_error(&chaperone(&["detect", corrupt.to_str().unwrap()]), &["corrupt.png", "not a readable image"]);

    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    assert_one_line_error(&chaperone(&["detect", empty.to_str().unwrap()]), &["empty.jpg", "empty"]);

    let missing = dir.path().join("missing.png");
    assert_one_line_error(&chaperone(&["detect", missing.to_str().unwrap()]), &["missing.png"]);
}

#[test]
fn missing_or_wrong_runtime_library() {
    let out = chaperone(&["detect", &chelsea(), "--ort-lib", "/nonexistent/libonnxruntime.so"]);
    assert_one_line_error(&out, &["ONNX Runtime library not found", "scripts/setup.sh"]);

    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a shared library").unwrap();
    let out = chaperone(&["detect", &chelsea(), "--ort-lib", fake.to_str().unwrap()]);
    assert_one_line_error(&out, &["cannot load ONNX Runtime", "1.31.1"]);
}

#[test]
fn bad_config_value() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chaperone.toml");
    std::fs::write(&config, "[roles]\ncat_min_family = 2.0\n").unwrap();
    let out = chaperone(&["detect", &chelsea(), "--config", config.to_str().unwrap()]);
    assert_one_line_error(&out, &["roles.cat_min_family", "between 0 and 1", "2"]);

    std::fs::write(&config, "[detector]\nmodle = \"x\"\n").unwrap();
    let out = chaperone(&["detect", &chelsea(), "--config", config.to_str().unwrap()]);
    assert_one_line_error(&out, &["chaperone.toml:2", "modle"]);
}

/// One bad file among good ones: the good ones are still reported, and the exit code says one failed.
#[test]
fn good_image_json_and_annotation_survive_a_bad_neighbour() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.png");
    std::fs::write(&bad, b"garbage").unwrap();
    let annotated = dir.path().join("annotated");
    let out =
        chaperone(&["detect", &chelsea(), bad.to_str().unwrap(), "--json", "--annotate", annotated.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.png") && !stderr.contains("panicked"), "{stderr}");

    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 1);
    let cats: Vec<&serde_json::Value> =
        reports[0]["detections"].as_array().unwrap().iter().filter(|d| d["role"] == "cat").collect();
    assert_eq!(cats.len(), 1, "{reports:?}");
    assert_eq!(cats[0]["class"], "cat");
    assert_eq!(cats[0]["box"].as_object().unwrap().len(), 4);

    let png = annotated.join("chelsea.annotated.png");
    let drawn = image::open(&png).unwrap().to_rgb8();
    let original = image::open(common::generated("chelsea.png")).unwrap().to_rgb8();
    assert_eq!(drawn.dimensions(), original.dimensions());
    assert_ne!(drawn.as_raw(), original.as_raw(), "boxes must be drawn");
    assert!(!Path::new(&annotated.join("bad.annotated.png")).exists());
}

#[test]
fn table_output_names_role_class_and_score() {
    let out = chaperone(&["detect", &chelsea()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let cat_line = stdout.lines().find(|l| l.trim_start().starts_with("cat ")).expect("a cat line");
    // The table says what --json says: role, class, score (2 decimals), box and the crop's verdict.
    let json = chaperone(&["detect", "--json", &chelsea()]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let cat = &report[0]["detections"][0];
    assert_eq!(cat["role"], "cat", "{cat}");
    let fields: Vec<&str> = cat_line.split_whitespace().collect();
    assert_eq!(&fields[..2], ["cat", cat["class"].as_str().unwrap()], "{cat_line}");
    assert_eq!(fields[2], format!("{:.2}", cat["score"].as_f64().unwrap()), "{cat_line}");
    let b = &cat["box"];
    let corners =
        [b["x1"].as_f64().unwrap(), b["y1"].as_f64().unwrap(), b["x2"].as_f64().unwrap(), b["y2"].as_f64().unwrap()];
    let drawn = format!("[{:.0}, {:.0}, {:.0}, {:.0}]", corners[0], corners[1], corners[2], corners[3]);
    assert!(cat_line.contains(&drawn), "{cat_line} should show the box {drawn}");
    let label = cat["evidence"]["top_label"].as_str().unwrap();
    assert!(cat_line.contains(&format!("crop: {label}")), "{cat_line}");
}

/// `cameras` lists what `live --camera N` can open; on a machine with none (CI), one line saying so and
/// pointing at network cameras, exit 0, and `--json` an empty array.
#[test]
fn cameras_are_listed_or_their_absence_is_said() {
    let has_video_devices =
        std::fs::read_dir("/dev").unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with("video"));
    let out = chaperone(&["cameras"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let json = chaperone(&["cameras", "--json"]);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    if has_video_devices {
        for c in &listed {
            let index = c["index"].as_u64().unwrap();
            assert!(text.contains(&format!("-> live --camera {index}")), "{text}");
        }
    } else {
        assert!(listed.is_empty(), "{listed:?}");
        assert!(text.starts_with("no cameras found") && text.contains("live --source rtsp://"), "{text}");
    }
}
