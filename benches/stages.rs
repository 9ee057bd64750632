//! Per-step cost of the stages after the detector (release, divan): `cargo bench --bench stages`.
//! Decoding needs `scripts/setup.sh` to have run (it renders the demo meeting).
//! The detector's own steps (preprocess, inference, postprocess) are in `benches/detector.rs`; the
//! accuracy benchmark over the scenario set is `chaperone eval`.

use std::sync::Arc;

use chaperone::behaviour::BehaviourConfig;
use chaperone::behaviour::engine::BehaviourEngine;
use chaperone::behaviour::{AnimalView, Moment};
use chaperone::detect::{Detection, Role};
use chaperone::geometry::BBox;
use chaperone::kinds::ClassRole;
use chaperone::source::FrameSource;
use chaperone::source::video::VideoFile;
use chaperone::track::{Tracker, TrackerConfig};
use divan::Bencher;

fn main() {
    divan::main();
}

/// Decoding the 640x480 demo meeting through ffmpeg, per frame (25 frames a sample).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn decode_25_frames(bencher: Bencher) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/generated/demo-meeting.mp4");
    bencher.bench_local(|| {
        let mut video = VideoFile::open(&path).expect("run scripts/setup.sh");
        for _ in 0..25 {
            divan::black_box(video.next_frame().unwrap());
        }
    });
}

fn detection(role: Role, x: f32, y: f32) -> Detection {
    Detection {
        role,
        class_name: Arc::from(if role == Role::Cat { "cat" } else { "motion" }),
        score: 0.8,
        bbox: BBox::new(x, y, x + 40.0, y + 30.0),
        evidence: None,
        class_role: ClassRole::Animal,
    }
}

/// One tracker update with `n` animals moving (half cats, half rats), after 50 frames of history.
#[divan::bench(args = [2, 20])]
fn tracker_update(bencher: Bencher, n: usize) {
    let config = TrackerConfig { max_cats: n, max_rats: n, ..Default::default() };
    let mut tracker = Tracker::new(&config);
    let at = |frame: usize| -> Vec<Detection> {
        (0..n)
            .map(|i| {
                let role = if i % 2 == 0 { Role::Cat } else { Role::Rat };
                detection(role, 60.0 * i as f32 + frame as f32, 40.0 * (i % 5) as f32 + 100.0)
            })
            .collect()
    };
    for f in 0..50 {
        tracker.update(f as f64 / 25.0, &at(f));
    }
    let mut frame = 50;
    bencher.bench_local(|| {
        frame += 1;
        divan::black_box(tracker.update(frame as f64 / 25.0, &at(frame % 200)));
    });
}

/// One behaviour engine step with both animals in view.
#[divan::bench]
fn engine_step(bencher: Bencher) {
    let mut engine = BehaviourEngine::new(&BehaviourConfig::default());
    let mut t = 0.0;
    bencher.bench_local(|| {
        t += 0.04;
        let x = 100.0 + 20.0 * (t as f32).sin();
        let moment = Moment {
            time_s: t,
            cat: Some(AnimalView::boxed(BBox::new(x, 100.0, x + 180.0, 220.0), true)),
            rat: Some(AnimalView::boxed(BBox::new(600.0, 300.0, 672.0, 334.0), true)),
            frame_size: Some((960, 480)),
            ..Default::default()
        };
        divan::black_box(engine.step(&moment));
    });
}

/// One frame of the motion detector (greyscale working copy, mask, denoising, blobs, background update)
/// on real 640x480 open-field frames, the background seeded from them.
#[divan::bench(sample_count = 20, sample_size = 10)]
fn motion_analyse(bencher: Bencher) {
    use chaperone::fusion::motion::{MotionConfig, MotionDetector};
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/media/mouse-openfield/openfield-mouse.mp4");
    let mut video = VideoFile::open(&path).expect("../shared/media/mouse-openfield/openfield-mouse.mp4");
    let frames: Vec<_> = (0..30).map(|_| video.next_frame().unwrap().unwrap()).collect();
    let (w, h) = frames[0].image.dimensions();
    let mut motion = MotionDetector::new(&MotionConfig::default(), w, h);
    let copies: Vec<_> = frames.iter().map(|f| motion.working_copy(&f.image)).collect();
    motion.seed_background(&copies);
    let mut i = 0;
    bencher.bench_local(|| {
        let frame = &frames[i % frames.len()];
        i += 1;
        divan::black_box(motion.analyse(&frame.image, i as f64 / 30.0, &[], &[], true));
    });
}
