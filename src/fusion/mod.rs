//! The fusion stage: the detector's boxes and the motion model's blobs become one list of candidates
//! for the tracker. All the policy of who owns which motion lives here: the cat's motion is the cat's
//! (even on a frame where the detector missed it), a person's legs are the person's for a while after
//! they were last seen, a dog's motion is the dog's; what is left over and rodent-sized becomes a `rat`
//! candidate.
//!
//! Its input: the frame and the detector's [`Detection`]s; its output: the fused detections and the
//! frame's [`MotionResult`]. What it learns from the tracker (where the tracked animals are, so the
//! background never learns them) comes back through [`Fusion::tracked`].

mod morphology;
pub mod motion;

use std::path::Path;
use std::sync::Arc;

use image::{GrayImage, RgbImage};

use crate::detect::roles::in_enclosure;
use crate::detect::{Detection, RoleConfig};
use crate::error::Result;
use crate::geometry::BBox;
use crate::kinds::{ClassRole, Role};
use crate::source::{Frame, SourceInfo, video};
use crate::zones::Area;
use motion::{MOTION_CLASS, MotionConfig, MotionDetector, MotionResult};

/// How long a detected person keeps owning the motion where they were, seconds.
const PERSON_MEMORY_S: f64 = 3.0;
/// A "person" box at least this sure is remembered: faint "person" boxes are often the rodent itself.
const CLEAR_PERSON_SCORE: f32 = 0.5;
/// The COCO class whose motion is a person's.
const PERSON_CLASS: &str = "person";
/// How many frames spread over a video seed its background.
const BACKGROUND_SAMPLES: usize = 25;

/// The fusion stage's state from frame to frame.
pub struct Fusion {
    /// `None` when motion candidates are turned off (`motion.enabled = false`).
    motion: Option<MotionDetector>,
    motion_config: MotionConfig,
    roles: RoleConfig,
    frame_size: (u32, u32),
    /// Boxes of tracked animals from the last frame: never learnt into the background.
    protected: Vec<BBox>,
    /// Boxes of the tracked cat from the last frame: its motion is its own even when the detector
    /// missed it this frame.
    cat_boxes: Vec<BBox>,
    /// Boxes of the tracked rat from the last frame: a still box there is the rat, frozen.
    rat_boxes: Vec<BBox>,
    /// People seen in the last `PERSON_MEMORY_S` (time seen, box): a person the detector misses for a
    /// few frames still owns the motion of their legs. (The cat's track plays that part for the cat.)
    recent_people: Vec<(f64, BBox)>,
    /// The last frame the detector looked at held something it must follow frame by frame: the cat, a
    /// person or another animal whose motion is theirs, or a rat of a model with a real rodent class. A
    /// rat that is one only by its size (the default model's "bird" for a mouse seen from above) is
    /// motion's to follow, and so is an animal box that owns no motion.
    detector_has_work: bool,
}

impl Fusion {
    pub fn new(motion: &MotionConfig, roles: &RoleConfig, frame_w: u32, frame_h: u32) -> Fusion {
        Fusion {
            motion: motion.enabled.then(|| MotionDetector::new(motion, frame_w, frame_h)),
            motion_config: motion.clone(),
            roles: roles.clone(),
            frame_size: (frame_w, frame_h),
            protected: Vec::new(),
            cat_boxes: Vec::new(),
            rat_boxes: Vec::new(),
            recent_people: Vec::new(),
            detector_has_work: false,
        }
    }

    /// The motion model, for tools that look inside it.
    pub fn motion(&mut self) -> Option<&mut MotionDetector> {
        self.motion.as_mut()
    }

    /// Seeds the background from frames spread across a recording (`input`), as ezTrack does: a median
    /// of them holds no animal that moves. A directory of images, or a camera, learns it as it goes.
    pub fn seed_background(&mut self, input: &Path, info: &SourceInfo) -> Result<()> {
        if let Some(samples) = sample_background(input, info, &self.motion_config)? {
            self.seed_background_from(&samples);
        }
        Ok(())
    }

    /// Seeds the background from the working copies [`sample_background`] took.
    pub fn seed_background_from(&mut self, samples: &[GrayImage]) {
        if let Some(motion) = &mut self.motion {
            motion.seed_background(samples);
        }
    }

    /// Motion for one frame, fused with its detections.
    /// `detections` is `None` on a frame the detector did not look at: the tracked cat and the people
    /// remembered still own their motion, and a frame that changed more than they explain waits for the
    /// detector instead of relearning the background.
    pub fn fuse(&mut self, frame: &Frame, detections: Option<Vec<Detection>>) -> (Vec<Detection>, MotionResult) {
        let detector_looked = detections.is_some();
        let mut detections = detections.unwrap_or_default();
        let (w, h) = self.frame_size;
        for d in detections.iter_mut().filter(|d| d.role == Role::Rat && !in_enclosure(&self.roles, &d.bbox, w, h)) {
            d.role = Role::Other;
        }
        let motion = match &mut self.motion {
            Some(m) => {
                let now = frame.time_s;
                self.recent_people.retain(|(t, _)| *t <= now && now - *t <= PERSON_MEMORY_S);
                self.recent_people.extend(detections.iter().filter(|d| is_clear_person(d)).map(|d| (now, d.bbox)));
                let mut owners = motion_owners(&detections, &self.roles, w, h);
                if detector_looked {
                    let real_rat = detections.iter().any(|d| d.role == Role::Rat && d.class_role == ClassRole::Rat);
                    self.detector_has_work = !owners.is_empty() || real_rat;
                }
                owners.extend(self.recent_people.iter().map(|(_, b)| *b));
                owners.extend_from_slice(&self.cat_boxes);
                m.analyse(&frame.image, frame.time_s, &owners, &self.protected, detector_looked)
            }
            None => MotionResult::default(),
        };
        if self.motion.is_some() && !motion.learning && !motion.scene_changed {
            keep_still_rats_to_tracks(&mut detections, &motion, &self.rat_boxes, &self.roles);
        }
        fuse(&mut detections, &motion, &self.motion_config, &self.roles, self.frame_size);
        (detections, motion)
    }

    /// A new enclosure (drawn by the owner during a session), for the frames from now on.
    pub fn set_enclosure(&mut self, enclosure: Option<Area>) {
        self.roles.enclosure = enclosure;
    }

    /// Whether the detector must look at every frame for what it saw when it last looked (see
    /// `detector.idle_interval_s`).
    pub fn detector_has_work(&self) -> bool {
        self.detector_has_work
    }

    /// Where the tracker holds animals now (tracked or coasting; `role` for each): the background never
    /// learns them, and the cat's box owns its motion on the next frame.
    pub fn tracked<'a>(&mut self, animals: impl Iterator<Item = (Role, &'a BBox)>) {
        self.protected.clear();
        self.cat_boxes.clear();
        self.rat_boxes.clear();
        for (role, bbox) in animals {
            self.protected.push(*bbox);
            match role {
                Role::Cat => self.cat_boxes.push(*bbox),
                Role::Rat => self.rat_boxes.push(*bbox),
                Role::Other => {}
            }
        }
    }
}

/// The area of the largest cat detected (0 when none): a rat is far smaller.
fn largest_cat_area(detections: &[Detection]) -> f32 {
    detections.iter().filter(|d| d.role == Role::Cat).map(|d| d.bbox.area()).fold(0.0f32, f32::max)
}

/// A person seen clearly enough to be remembered.
fn is_clear_person(d: &Detection) -> bool {
    &*d.class_name == PERSON_CLASS && d.score >= CLEAR_PERSON_SCORE
}

/// The boxes whose motion is theirs, not the rat's: the cat, people, and other animals the classifier
/// finds dog-like (or, with no classifier, any other animal larger than a rat can be). An animal box the
/// classifier cannot place owns nothing, however large: the default model calls a mouse seen from above,
/// tail and all, "bird", and its motion is the rat's.
fn motion_owners(detections: &[Detection], roles: &RoleConfig, frame_w: u32, frame_h: u32) -> Vec<BBox> {
    let frame_area = (frame_w as f32 * frame_h as f32).max(1.0);
    let largest_cat = largest_cat_area(detections);
    // An animal of a rat's size (beside the cat, or in the frame when no cat is seen) owns no motion, even
    // when the classifier finds it dog-like: a rat seen small and blurred reads as a dog to it.
    let rat_sized = |d: &Detection| match largest_cat > 0.0 {
        true => d.bbox.area() <= roles.rat_max_cat_area_ratio * largest_cat,
        false => d.bbox.area() / frame_area <= roles.rat_max_frame_area,
    };
    detections
        .iter()
        .filter(|d| {
            let other_animal = d.role == Role::Other && matches!(d.class_role, ClassRole::Animal | ClassRole::Cat);
            let owns = match &d.evidence {
                Some(e) => e.dog_family >= roles.dog_min_family && !rat_sized(d),
                None => d.bbox.area() / frame_area > roles.rat_max_frame_area,
            };
            d.role == Role::Cat || &*d.class_name == PERSON_CLASS || (other_animal && owns)
        })
        .map(|d| d.bbox)
        .collect()
}

/// A box that is the rat only by its size (the classifier does not find it rodent-like and the model has
/// no rodent class) must move, or lie where a rat is already tracked, to stay the rat: a cushion or a toy
/// the detector sees faintly is rat-sized too, and it never moves. Otherwise it is `other`.
fn keep_still_rats_to_tracks(
    detections: &mut [Detection],
    motion: &MotionResult,
    tracked: &[BBox],
    roles: &RoleConfig,
) {
    let overlaps = |a: &BBox, b: &BBox| a.iou(b) > 0.1 || a.contains_point(b.center().0, b.center().1);
    for d in detections.iter_mut().filter(|d| d.role == Role::Rat && d.class_role != ClassRole::Rat) {
        let rodent_like = d.evidence.as_ref().is_some_and(|e| e.rodent_like >= roles.rat_min_rodent_like);
        let moving = motion.candidates.iter().any(|blob| overlaps(&d.bbox, &blob.bbox));
        let tracked_there = tracked.iter().any(|t| overlaps(t, &d.bbox));
        if !(rodent_like || moving || tracked_there) {
            d.role = Role::Other;
        }
    }
}

/// Adds motion candidates to the detections as `rat` detections, unless a rat detection at least as
/// sure already covers them. A candidate as large as the cat is not the rat, and neither is one outside
/// the rat's enclosure when one is configured (a person's hand, a toy rolling across the room).
fn fuse(
    detections: &mut Vec<Detection>,
    motion: &MotionResult,
    config: &MotionConfig,
    roles: &RoleConfig,
    (frame_w, frame_h): (u32, u32),
) {
    let largest_cat = largest_cat_area(detections);
    let class_name: Arc<str> = Arc::from(MOTION_CLASS);
    for blob in &motion.candidates {
        let score = if blob.at_edge { config.edge_candidate_score } else { config.candidate_score };
        // Covered by a rat detection at least as sure: that detection stands for it. A fainter one does
        // not (the tracker may ignore it, and the rat with it).
        let covered = detections.iter().any(|d| {
            d.role == Role::Rat
                && d.score >= score
                && (d.bbox.iou(&blob.bbox) > 0.1 || d.bbox.contains_point(blob.bbox.center().0, blob.bbox.center().1))
        });
        let too_big = largest_cat > 0.0 && blob.bbox.area() > roles.rat_max_cat_area_ratio * largest_cat;
        if covered || too_big || !in_enclosure(roles, &blob.bbox, frame_w, frame_h) {
            continue;
        }
        detections.push(Detection {
            role: Role::Rat,
            class_name: class_name.clone(),
            score,
            bbox: blob.bbox,
            evidence: None,
            class_role: ClassRole::Rat,
        });
    }
}

/// Frames spread across a recording (`input`), as the motion model's working copies, to seed its
/// background from; `None` for a directory of images, or with motion turned off. Decoding them is most of
/// the wait before a recording's first frame, so it can run on a thread of its own while the models load.
pub fn sample_background(input: &Path, info: &SourceInfo, motion: &MotionConfig) -> Result<Option<Vec<GrayImage>>> {
    if !motion.enabled || input.is_dir() {
        return Ok(None);
    }
    let shrink = |frame: &RgbImage| motion::working_copy(motion, frame);
    video::sample_frames(input, info.expected_frames, BACKGROUND_SAMPLES, shrink).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::RoleEvidence;
    use motion::MotionBlob;
    use motion::tests::{H, W, scene, seeded};

    #[test]
    fn motion_inside_the_cat_belongs_to_the_cat() {
        let mut m = seeded();
        let cat = Detection {
            role: Role::Cat,
            class_name: Arc::from("cat"),
            score: 0.9,
            bbox: BBox::new(280.0, 180.0, 400.0, 280.0),
            evidence: None,
            class_role: ClassRole::Cat,
        };
        let owners = motion_owners(&[cat], &RoleConfig::default(), W, H);
        let r = m.analyse(&scene(&[(300, 200, 360, 240)]), 0.1, &owners, &[], true);
        assert!(r.candidates.is_empty(), "{r:?}");
    }

    #[test]
    fn a_large_unplaced_animal_does_not_own_the_rats_motion() {
        let det = |evidence: RoleEvidence| Detection {
            role: Role::Other,
            class_name: Arc::from("bird"),
            score: 0.9,
            bbox: BBox::new(200.0, 200.0, 440.0, 380.0), // 14% of the frame
            evidence: Some(evidence),
            class_role: ClassRole::Animal,
        };
        let ev = |dog: f32| RoleEvidence {
            cat_family: 0.0,
            rodent_like: 0.01,
            dog_family: dog,
            top_label: "x".into(),
            top_score: 0.2,
        };
        let roles = RoleConfig::default();
        assert!(motion_owners(&[det(ev(0.0))], &roles, W, H).is_empty());
        assert_eq!(motion_owners(&[det(ev(0.9))], &roles, W, H).len(), 1, "a dog owns its motion");
    }

    #[test]
    fn fusion_adds_uncovered_blobs_as_rats_only() {
        let config = MotionConfig::default();
        let blob = |x: f32| MotionBlob { bbox: BBox::new(x, 100.0, x + 40.0, 130.0), area: 0.004, at_edge: false };
        let motion = MotionResult { candidates: vec![blob(100.0), blob(400.0)], ..Default::default() };
        let rat_seen_as_dog = |score| Detection {
            role: Role::Rat,
            class_name: Arc::from("dog"),
            score,
            bbox: BBox::new(95.0, 95.0, 145.0, 135.0),
            evidence: None,
            class_role: ClassRole::Animal,
        };
        let mut dets = vec![rat_seen_as_dog(0.7)];
        fuse(&mut dets, &motion, &config, &RoleConfig::default(), (W, H));
        assert_eq!(dets.len(), 2);
        assert_eq!(&*dets[1].class_name, MOTION_CLASS);
        assert_eq!(dets[1].bbox, blob(400.0).bbox);
    }

    /// Regression (a real kitten on a blanket): a cushion the detector saw faintly, rat-sized, became the
    /// rat in a third of the frames. What is the rat by its size alone must move or be the tracked rat.
    #[test]
    fn a_still_rat_sized_box_is_not_the_rat_unless_it_moves_or_is_tracked() {
        let cushion = || Detection {
            role: Role::Rat,
            class_name: Arc::from("teddy bear"),
            score: 0.3,
            bbox: BBox::new(300.0, 200.0, 360.0, 240.0),
            evidence: None,
            class_role: ClassRole::Animal,
        };
        let still = MotionResult::default();
        let mut dets = vec![cushion()];
        keep_still_rats_to_tracks(&mut dets, &still, &[], &RoleConfig::default());
        assert_eq!(dets[0].role, Role::Other, "never moved, never tracked");
        let mut dets = vec![cushion()];
        keep_still_rats_to_tracks(&mut dets, &still, &[BBox::new(305.0, 205.0, 355.0, 238.0)], &RoleConfig::default());
        assert_eq!(dets[0].role, Role::Rat, "where the rat is tracked (a frozen rat)");
        let moving = MotionResult {
            candidates: vec![MotionBlob { bbox: BBox::new(310.0, 205.0, 350.0, 235.0), area: 0.004, at_edge: false }],
            ..Default::default()
        };
        let mut dets = vec![cushion()];
        keep_still_rats_to_tracks(&mut dets, &moving, &[], &RoleConfig::default());
        assert_eq!(dets[0].role, Role::Rat, "moving");
    }

    #[test]
    fn motion_outside_the_enclosure_is_not_the_rat() {
        let blob = |x: f32| MotionBlob { bbox: BBox::new(x, 100.0, x + 40.0, 130.0), area: 0.004, at_edge: false };
        let motion = MotionResult { candidates: vec![blob(100.0), blob(500.0)], ..Default::default() };
        // The enclosure is the frame's left half (with the default 10% margin).
        let roles = RoleConfig { enclosure: Some(Area::Rect([0.0, 0.0, 0.5, 1.0])), ..RoleConfig::default() };
        let mut dets = Vec::new();
        fuse(&mut dets, &motion, &MotionConfig::default(), &roles, (W, H));
        assert_eq!(dets.iter().map(|d| d.bbox).collect::<Vec<_>>(), vec![blob(100.0).bbox]);
    }

    #[test]
    fn a_detectors_rat_outside_the_enclosure_is_other_and_a_new_enclosure_holds_at_once() {
        let roles = RoleConfig { enclosure: Some(Area::Rect([0.0, 0.0, 0.3, 0.3])), ..RoleConfig::default() };
        let motion = MotionConfig { enabled: false, ..MotionConfig::default() };
        let mut fusion = Fusion::new(&motion, &roles, W, H);
        let frame = crate::source::Frame {
            index: 0,
            time_s: 0.0,
            image: image::RgbImage::new(W, H),
            captured_at: std::time::Instant::now(),
            reconnected_after_s: None,
        };
        let rat = Detection {
            role: Role::Rat,
            class_name: Arc::from("rat"),
            score: 0.6,
            bbox: BBox::new(500.0, 400.0, 540.0, 430.0),
            evidence: None,
            class_role: ClassRole::Rat,
        };
        let (dets, _) = fusion.fuse(&frame, Some(vec![rat.clone()]));
        assert_eq!(dets[0].role, Role::Other, "outside the enclosure");
        fusion.set_enclosure(Some(Area::Polygon(vec![[0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.6, 1.0]])));
        let (dets, _) = fusion.fuse(&frame, Some(vec![rat]));
        assert_eq!(dets[0].role, Role::Rat, "inside the one drawn since");
    }

    /// Regression (a rendered rat seen faintly as "dog"): a detection fainter than the motion candidate it
    /// covered took its place, the tracker ignored it, and the rat was lost while it ran.
    #[test]
    fn a_fainter_detection_does_not_hide_a_motion_candidate() {
        let config = MotionConfig::default();
        let blob = MotionBlob { bbox: BBox::new(100.0, 100.0, 140.0, 130.0), area: 0.004, at_edge: false };
        let motion = MotionResult { candidates: vec![blob], ..Default::default() };
        let mut dets = vec![Detection {
            role: Role::Rat,
            class_name: Arc::from("dog"),
            score: 0.25,
            bbox: BBox::new(95.0, 95.0, 145.0, 135.0),
            evidence: None,
            class_role: ClassRole::Animal,
        }];
        fuse(&mut dets, &motion, &config, &RoleConfig::default(), (W, H));
        assert_eq!(dets.len(), 2);
        assert_eq!((&*dets[1].class_name, dets[1].score), (MOTION_CLASS, config.candidate_score));
    }
}
