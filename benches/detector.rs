//! Per-frame cost of the default detector's steps on a 640x480 frame (release, divan):
//! `cargo bench --bench detector`. Needs `scripts/setup.sh` to have run.
//!
//! The target: preprocessing + postprocessing under 5% of inference.

use std::sync::{LazyLock, Mutex};

use chaperone::config::Config;
use chaperone::detect::{AnimalDetector, Detector, RawDetection};
use divan::Bencher;
use image::RgbImage;

fn main() {
    divan::main();
}

static DETECTOR: LazyLock<Mutex<AnimalDetector>> = LazyLock::new(|| {
    Mutex::new(
        {
            let c = Config::default();
            AnimalDetector::load(&c.runtime, &c.detector, &c.roles)
        }
        .expect("default models load (run scripts/setup.sh)"),
    )
});

/// chelsea.png stretched to 640x480: a real cat, at the webcam resolution the product targets.
static FRAME: LazyLock<RgbImage> = LazyLock::new(|| {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/generated/chelsea.png");
    let image = chaperone::source::read_image(&path).expect("run scripts/setup.sh");
    image::imageops::resize(&image, 640, 480, image::imageops::FilterType::Triangle)
});

#[divan::bench(sample_count = 200)]
fn preprocess(bencher: Bencher) {
    let mut detector = DETECTOR.lock().unwrap();
    let model = detector.object_model();
    bencher.bench_local(|| model.preprocess(&FRAME).unwrap());
}

#[divan::bench(sample_count = 40, sample_size = 1)]
fn inference(bencher: Bencher) {
    let mut detector = DETECTOR.lock().unwrap();
    let model = detector.object_model();
    model.preprocess(&FRAME).unwrap();
    model.infer().unwrap(); // warm-up: first run allocates ONNX Runtime's arenas
    bencher.bench_local(|| model.infer().unwrap());
}

#[divan::bench(sample_count = 200)]
fn postprocess(bencher: Bencher) {
    let mut detector = DETECTOR.lock().unwrap();
    let model = detector.object_model();
    model.preprocess(&FRAME).unwrap();
    model.infer().unwrap();
    let mut out: Vec<RawDetection> = Vec::new();
    bencher.bench_local(|| {
        model.postprocess(0.2, &mut out);
        out.len()
    });
}

/// The whole detector, crop classifier and roles included.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn detect_with_roles(bencher: Bencher) {
    let mut detector = DETECTOR.lock().unwrap();
    detector.detect(&FRAME).unwrap();
    bencher.bench_local(|| detector.detect(&FRAME).unwrap().len());
}
