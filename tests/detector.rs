//! The real detector (ONNX Runtime, the converted SSD and classifier) on real images.
//! Needs `scripts/setup.sh` to have run; build in release (`cargo test --release`), it touches pixels.

mod common;

use std::sync::{Mutex, OnceLock};

use chaperone::config::Config;
use chaperone::detect::{AnimalDetector, Detection, Detector, RawDetection, Role};
use chaperone::geometry::BBox;
use image::{GrayImage, RgbImage};

/// One detector for the whole test binary: loading the SSD takes seconds.
fn default_detector() -> std::sync::MutexGuard<'static, AnimalDetector> {
    static DETECTOR: OnceLock<Mutex<AnimalDetector>> = OnceLock::new();
    DETECTOR
        .get_or_init(|| {
            Mutex::new(
                {
                    let c = Config::default();
                    AnimalDetector::load(&c.runtime, &c.detector, &c.roles)
                }
                .expect("default models load (run scripts/setup.sh)"),
            )
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn of_role(dets: &[Detection], role: Role) -> Vec<&Detection> {
    dets.iter().filter(|d| d.role == role).collect()
}

#[test]
fn chelsea_is_exactly_one_cat_on_the_true_box_and_no_rat() {
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::repo().join("fixtures/chelsea_truth.json")).unwrap())
            .unwrap();
    let t: Vec<f32> = truth["cat"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    let true_box = BBox::new(t[0], t[1], t[2], t[3]);

    let image = chaperone::source::read_image(&common::generated("chelsea.png")).unwrap();
    let dets = default_detector().detect(&image).unwrap();
    let cats = of_role(&dets, Role::Cat);
    assert_eq!(cats.len(), 1, "exactly one cat expected: {dets:#?}");
    assert!(cats[0].score >= 0.8, "cat score {}", cats[0].score);
    let iou = cats[0].bbox.iou(&true_box);
    assert!(iou >= 0.7, "cat box {:?} overlaps the true box {true_box:?} by IoU {iou:.2}", cats[0].bbox);
    assert!(
        cats[0].evidence.as_ref().is_some_and(|e| e.cat_family >= 0.5),
        "classifier must agree: {:?}",
        cats[0].evidence
    );
    assert!(of_role(&dets, Role::Rat).is_empty(), "no rat in chelsea.png: {dets:#?}");
}

/// The bounding box of the largest 8-connected blob of dark pixels inside `region` (x1, y1, x2, y2):
/// the black mouse on the white open field. Panics unless a mouse-sized blob is there.
fn dark_blob(image: &RgbImage, region: (u32, u32, u32, u32), max_luma: u8) -> BBox {
    let grey: GrayImage = image::DynamicImage::ImageRgb8(image.clone()).to_luma8();
    let (rx1, ry1, rx2, ry2) = region;
    let dark = |x: u32, y: u32| x >= rx1 && y >= ry1 && x < rx2 && y < ry2 && grey.get_pixel(x, y)[0] <= max_luma;
    let mut seen = vec![false; (grey.width() * grey.height()) as usize];
    let mut best: Option<(usize, BBox)> = None;
    for y in ry1..ry2 {
        for x in rx1..rx2 {
            if seen[(y * grey.width() + x) as usize] || !dark(x, y) {
                continue;
            }
            let (mut n, mut b) = (0, BBox::new(x as f32, y as f32, x as f32 + 1.0, y as f32 + 1.0));
            let mut stack = vec![(x, y)];
            seen[(y * grey.width() + x) as usize] = true;
            while let Some((px, py)) = stack.pop() {
                n += 1;
                b = BBox::new(
                    b.x1.min(px as f32),
                    b.y1.min(py as f32),
                    b.x2.max(px as f32 + 1.0),
                    b.y2.max(py as f32 + 1.0),
                );
                for (dx, dy) in [(-1i32, -1i32), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    let (nx, ny) = (px as i32 + dx, py as i32 + dy);
                    if nx < 0 || ny < 0 {
                        continue;
                    }
                    let (nx, ny) = (nx as u32, ny as u32);
                    if dark(nx, ny) && !seen[(ny * grey.width() + nx) as usize] {
                        seen[(ny * grey.width() + nx) as usize] = true;
                        stack.push((nx, ny));
                    }
                }
            }
            if best.as_ref().is_none_or(|(bn, _)| n > *bn) {
                best = Some((n, b));
            }
        }
    }
    let (n, b) = best.expect("no dark pixels at all");
    assert!(n >= 300, "no mouse-sized dark blob found (largest has {n} pixels)");
    b
}

/// Presents `bbox` to the role logic as each animal class the default model mislabels rodents with.
fn roles_of_crop(image: &RgbImage, bbox: BBox) -> Vec<Detection> {
    let mut detector = default_detector();
    let raw: Vec<RawDetection> = [("cat", 0.6), ("dog", 0.9), ("bird", 0.9), ("teddy bear", 0.9)]
        .iter()
        .map(|(class, score)| RawDetection { bbox, score: *score, class_id: detector.class_id(class).unwrap() })
        .collect();
    let mut out = Vec::new();
    for r in raw {
        out.extend(detector.assign_roles(image, &[r]).unwrap());
    }
    out
}

#[test]
fn openfield_mouse_is_never_the_cat() {
    let Some(video) = common::media("mouse-openfield/openfield-mouse.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut as_rat = 0;
    for seconds in [2.0, 20.0, 45.0, 70.0] {
        let image = chaperone::source::read_image(&common::extract_frame(&video, seconds, dir.path())).unwrap();
        let whole = default_detector().detect(&image).unwrap();
        assert!(of_role(&whole, Role::Cat).is_empty(), "t={seconds}: a cat in the open field: {whole:#?}");
        let mouse = dark_blob(&image, (25, 50, 605, 455), 60);
        let crops = roles_of_crop(&image, mouse);
        assert!(
            crops.iter().all(|d| d.role != Role::Cat),
            "t={seconds}: the mouse at {mouse:?} came out as a cat: {crops:#?}"
        );
        // Small and not dog-like it is the rat; the classifier sometimes finds a black mouse from above
        // dog-like (a "Boston bull"), and then it is `other`, never the cat.
        if crops.iter().all(|d| d.role == Role::Rat) {
            as_rat += 1;
        }
    }
    assert!(as_rat >= 2, "the mouse came out as the rat in only {as_rat} of 4 frames");
}

#[test]
fn homecage_mice_are_never_the_cat() {
    let Some(video) = common::media("mice-homecage/two-mice-top.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let image = chaperone::source::read_image(&common::extract_frame(&video, 0.0, dir.path())).unwrap();
    let whole = default_detector().detect(&image).unwrap();
    assert!(of_role(&whole, Role::Cat).is_empty(), "a cat in the home cage: {whole:#?}");
    // Hand-located in the first frame (1280x1024): the white mouse and the black mouse beside it.
    for mouse in [BBox::new(365.0, 540.0, 512.0, 670.0), BBox::new(376.0, 468.0, 525.0, 566.0)] {
        let crops = roles_of_crop(&image, mouse);
        assert!(crops.iter().all(|d| d.role != Role::Cat), "mouse at {mouse:?} came out as a cat: {crops:#?}");
    }
}

#[test]
fn the_dog_is_neither_cat_nor_rat() {
    let Some(video) = common::media("negatives/dog-livingroom.avi") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut dogs_seen = 0;
    for seconds in [1.0, 4.0, 8.0] {
        let image = chaperone::source::read_image(&common::extract_frame(&video, seconds, dir.path())).unwrap();
        let dets = default_detector().detect(&image).unwrap();
        assert!(
            dets.iter().all(|d| d.role == Role::Other),
            "t={seconds}: the dog must be `other` with the default config: {dets:#?}"
        );
        dogs_seen += dets.iter().filter(|d| &*d.class_name == "dog").count();
    }
    assert!(dogs_seen >= 2, "the dog should be detected (as other) in most frames, got {dogs_seen}");
}

#[test]
fn yolo_export_is_decoded_letterboxed_and_suppressed() {
    let mut config = Config::default();
    config.detector.model = common::generated("yolo_known.onnx").display().to_string();
    config.detector.classifier = String::new();
    let mut detector = AnimalDetector::load(&config.runtime, &config.detector, &config.roles).unwrap();
    let image = RgbImage::from_pixel(640, 480, image::Rgb([90, 120, 60]));
    let dets = detector.detect(&image).unwrap();
    // See scripts/make_test_models.py for the table; letterbox 640x480 -> 320x320 is scale 0.5, 40 px
    // padding on top, so frame = ((x, y - 40)) / 0.5.
    let expected = [
        (Role::Rat, "rat", 0.95, BBox::new(50.0, 300.0, 110.0, 340.0)),
        (Role::Cat, "cat", 0.90, BBox::new(120.0, 160.0, 280.0, 280.0)),
        (Role::Rat, "rat", 0.70, BBox::new(160.0, 190.0, 240.0, 250.0)),
        (Role::Cat, "cat", 0.60, BBox::new(470.0, 40.0, 570.0, 120.0)),
        (Role::Rat, "rat", 0.50, BBox::new(210.0, 190.0, 290.0, 250.0)),
    ];
    assert_eq!(dets.len(), expected.len(), "{dets:#?}");
    for (d, (role, class, score, bbox)) in dets.iter().zip(expected) {
        assert_eq!((d.role, &*d.class_name), (role, class));
        assert!((d.score - score).abs() < 1e-5, "{d:?}");
        for (got, want) in [(d.bbox.x1, bbox.x1), (d.bbox.y1, bbox.y1), (d.bbox.x2, bbox.x2), (d.bbox.y2, bbox.y2)] {
            assert!((got - want).abs() < 0.5, "{:?} != {bbox:?}", d.bbox);
        }
    }
}

/// Set-up runs the SSD cut before its own postprocessing (the suppression is done in Rust) and with its
/// score heads reduced to the classes the manifest groups, and keeps the export as converted beside it:
/// on real images (the cat photo, real frames of the open field and of the cat on the armchair) both must
/// find the same boxes of the classes kept, with the same scores, and the cut model no others.
#[test]
fn the_cut_ssd_finds_what_the_whole_export_finds() {
    let cut = std::fs::canonicalize(common::repo().join("models/ssd_mobilenet_v2_coco.onnx"))
        .expect("models/ssd_mobilenet_v2_coco.onnx: run scripts/setup.sh");
    let whole = cut.with_file_name("ssd_mobilenet_v2_coco.onnx");
    assert_ne!(cut, whole, "models/ links the cut model, not the export as converted");
    assert!(whole.is_file(), "set-up keeps the export as converted at {}", whole.display());
    // The export beside a copy of the manifest, which carries the class names.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&whole, dir.path().join("ssd_mobilenet_v2_coco.onnx")).unwrap();
    std::fs::copy(
        common::repo().join("models/ssd_mobilenet_v2_coco.toml"),
        dir.path().join("ssd_mobilenet_v2_coco.toml"),
    )
    .unwrap();
    let mut config = Config::default();
    config.detector.model = dir.path().join("ssd_mobilenet_v2_coco.onnx").display().to_string();
    config.detector.classifier = String::new();
    let mut reference = AnimalDetector::load(&config.runtime, &config.detector, &config.roles).unwrap();
    config.detector.model = "ssd_mobilenet_v2_coco".into();
    let mut ours = AnimalDetector::load(&config.runtime, &config.detector, &config.roles).unwrap();

    let mut images = vec![common::generated("chelsea.png")];
    for (video, at) in [
        (common::media("mouse-openfield/openfield-mouse.mp4"), 20.0),
        (common::media("cat-home/cat-armchair.mp4"), 4.0),
    ] {
        if let Some(video) = video {
            images.push(common::extract_frame(&video, at, dir.path()));
        }
    }
    let mut boxes_seen = 0;
    for path in &images {
        let image = chaperone::source::read_image(path).unwrap();
        let (mut want, got) = (reference.detect(&image).unwrap(), ours.detect(&image).unwrap());
        want.retain(|d| ours.class_id(&d.class_name).is_some());
        let summary = |d: &[Detection]| -> Vec<(String, String)> {
            d.iter().map(|d| (d.class_name.to_string(), format!("{:.4} {:?}", d.score, d.bbox))).collect()
        };
        assert_eq!(got.len(), want.len(), "{}: {:?} vs {:?}", path.display(), summary(&got), summary(&want));
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.class_name, w.class_name, "{}", path.display());
            assert!((g.score - w.score).abs() < 1e-4, "{}: {g:?} vs {w:?}", path.display());
            assert!(g.bbox.iou(&w.bbox) > 0.999, "{}: {g:?} vs {w:?}", path.display());
        }
        boxes_seen += got.len();
    }
    assert!(boxes_seen >= 3, "the images must give boxes to compare, got {boxes_seen}");
}

/// Set-up keeps the default SSD's score heads only for the classes its manifest groups: giving a role to
/// another of its COCO classes would never find anything, so it is refused with what to do.
#[test]
fn a_role_for_a_class_the_reduced_ssd_no_longer_scores_is_refused() {
    let mut config = Config::default();
    config.detector.classifier = String::new();
    config.roles.classes.insert("chair".into(), chaperone::kinds::ClassRole::Animal);
    let error = AnimalDetector::load(&config.runtime, &config.detector, &config.roles).err().expect("refused");
    let message = error.to_string();
    assert!(message.contains("`chair`") && message.contains("scripts/setup.sh"), "{message}");
    // A class it still scores can be given another role.
    config.roles.classes.clear();
    config.roles.classes.insert("teddy bear".into(), chaperone::kinds::ClassRole::Other);
    assert!(AnimalDetector::load(&config.runtime, &config.detector, &config.roles).is_ok());
}

/// The first load of a model saves an optimised copy of it in the cache, and later loads read the copy;
/// a damaged copy is never trusted, and is made again.
#[test]
fn models_load_from_an_optimised_copy_and_a_damaged_copy_is_replaced() {
    let cache = tempfile::tempdir().unwrap();
    let library = chaperone::runtime::resolve_library_path(None).expect("run scripts/setup.sh");
    let detect = || {
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_chaperone"))
            .current_dir(common::repo())
            .env("CHAPERONE_CACHE", cache.path())
            .env("ORT_DYLIB_PATH", &library)
            .args(["detect", "--json", common::generated("chelsea.png").to_str().unwrap()])
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        String::from_utf8(run.stdout).unwrap()
    };
    let copies = || {
        let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(cache.path().join("optimized"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
            .collect();
        names.sort();
        names
    };
    let first = detect();
    assert!(first.contains("\"cat\""), "{first}");
    let made = copies();
    assert_eq!(made.len(), 2, "one copy for the SSD, one for the crop classifier: {made:?}");
    let ssd = made
        .iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("ssd_mobilenet_v2_coco-"))
        .expect("the SSD's copy")
        .clone();
    assert_eq!(detect(), first, "the copy finds what the model finds");

    std::fs::write(&ssd, b"not a model").unwrap();
    assert_eq!(detect(), first, "a damaged copy is not trusted");
    assert!(std::fs::metadata(&ssd).unwrap().len() > 1_000_000, "and is made again");
    assert_eq!(copies(), made, "nothing else is left in the cache");
}
