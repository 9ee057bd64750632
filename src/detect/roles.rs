//! Deciding which detection is the cat, which is the rat, and which are neither.
//!
//! The default COCO model has no rodent class: a real rat shows up, when at all, as "dog", "bird",
//! "teddy bear" or even "cat". So a role is weighed from three kinds of evidence:
//! 1. the class, mapped by config/manifest to `cat`, `rat`, `animal` or `other`;
//! 2. the crop classifier's cat-, rodent- and dog-ness of the box's pixels;
//! 3. size: a cat is never a speck, and a rat is far smaller than a cat and than the room.
//!
//! People and furniture never become animals: their classes map to `other` before any evidence is read.

use std::collections::BTreeMap;
use std::sync::Arc;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::classifier::EvidenceSource;
use super::manifest::ModelManifest;
use super::{Detection, RawDetection, Role, RoleEvidence};
use crate::checks;
use crate::error::{Error, Result};
use crate::geometry::BBox;
use crate::kinds::ClassRole;
use crate::zones::Area;

/// How detections become `cat`, `rat` or `other`. See `detect::roles` for the decision itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleConfig {
    /// Per class name, overriding the model manifest's grouping, e.g. `{ "teddy bear" = "other" }`.
    pub classes: BTreeMap<String, ClassRole>,
    /// Animal-class detections are considered from this score up (below `detector.min_score`, since the
    /// default model sees rodents only faintly).
    pub animal_min_score: f32,
    /// The classifier's summed cat-breed probability that makes any animal a cat.
    pub cat_min_family: f32,
    /// A detector "cat" without strong classifier support still counts as a cat from this score up,
    /// unless the classifier finds it more rodent-like or dog-like than cat-like.
    pub cat_min_score: f32,
    /// A rat-sized detector "cat" (no larger than `rat_max_frame_area`) also needs at least this much
    /// classifier cat-ness: the model calls small dark rodents "cat" when the classifier sees no cat at all.
    pub cat_min_support: f32,
    /// Smallest share of the frame a cat can take (a cat is never a speck).
    pub cat_min_frame_area: f32,
    /// The classifier's summed rodent-like probability (hamster, guinea pig, squirrel, mink...) that
    /// makes a non-cat animal a rat whatever its size.
    pub rat_min_rodent_like: f32,
    /// A non-cat animal no larger than this share of the frame is taken for the rat.
    pub rat_max_frame_area: f32,
    /// ...or no larger than this share of a cat seen in the same frame (a rat is far smaller than a cat).
    pub rat_max_cat_area_ratio: f32,
    /// The classifier's summed dog probability that makes an animal `other` (a dog in the room).
    pub dog_min_family: f32,
    /// Where the rat's enclosure is, as `[x1, y1, x2, y2]` fractions of the frame or a polygon
    /// `[[x, y], ...]`; a rat must be in or near it. Unset: anywhere.
    pub enclosure: Option<Area>,
    /// How far outside the enclosure (fraction of its size) a rat may still be.
    pub enclosure_margin: f32,
}

impl Default for RoleConfig {
    fn default() -> Self {
        RoleConfig {
            classes: BTreeMap::new(),
            animal_min_score: 0.2,
            cat_min_family: 0.3,
            cat_min_score: 0.25,
            cat_min_support: 0.08,
            cat_min_frame_area: 0.005,
            rat_min_rodent_like: 0.2,
            rat_max_frame_area: 0.06,
            rat_max_cat_area_ratio: 0.4,
            dog_min_family: 0.4,
            enclosure: None,
            enclosure_margin: 0.1,
        }
    }
}

impl RoleConfig {
    pub fn check(&self) -> Result<()> {
        checks::unit("roles.animal_min_score", self.animal_min_score)?;
        checks::unit("roles.cat_min_family", self.cat_min_family)?;
        checks::unit("roles.cat_min_score", self.cat_min_score)?;
        checks::unit("roles.cat_min_support", self.cat_min_support)?;
        checks::unit("roles.cat_min_frame_area", self.cat_min_frame_area)?;
        checks::unit("roles.rat_min_rodent_like", self.rat_min_rodent_like)?;
        checks::unit("roles.rat_max_frame_area", self.rat_max_frame_area)?;
        checks::unit("roles.rat_max_cat_area_ratio", self.rat_max_cat_area_ratio)?;
        checks::unit("roles.dog_min_family", self.dog_min_family)?;
        if !(0.0..=10.0).contains(&self.enclosure_margin) {
            return Err(Error::Config(format!(
                "roles.enclosure_margin must be between 0 and 10, got {}",
                self.enclosure_margin
            )));
        }
        if let Some(enclosure) = &self.enclosure {
            enclosure.check("roles.enclosure")?;
        }
        Ok(())
    }
}

/// Class names that mean something to us in any model that has no manifest saying otherwise.
/// "mouse" is deliberately absent: in COCO it is the computer mouse.
const CAT_NAMES: &[&str] = &["cat", "kitten", "domestic cat"];
const RAT_NAMES: &[&str] = &["rat", "rodent", "hamster", "mouse (animal)", "mouse_animal", "pet rat"];
const ANIMAL_NAMES: &[&str] = &[
    "dog",
    "bird",
    "teddy bear",
    "sheep",
    "bear",
    "horse",
    "cow",
    "squirrel",
    "rabbit",
    "ferret",
    "guinea pig",
    "animal",
];

pub struct RoleResolver {
    config: RoleConfig,
    class_names: Vec<Arc<str>>,
    class_roles: Vec<ClassRole>,
}

/// One detection as the decision sees it.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub class_role: ClassRole,
    pub score: f32,
    pub bbox: BBox,
    /// Box area over frame area.
    pub frame_area: f32,
    pub evidence: Option<&'a RoleEvidence>,
}

impl RoleResolver {
    pub fn new(config: &RoleConfig, class_names: &[Arc<str>], manifest: Option<&ModelManifest>) -> RoleResolver {
        let class_roles = class_names.iter().map(|name| class_role(name, config, manifest)).collect();
        RoleResolver { config: config.clone(), class_names: class_names.to_vec(), class_roles }
    }

    /// Turns raw detections into detections with roles, running the classifier on animal candidates.
    pub fn resolve(
        &self,
        image: &RgbImage,
        raw: &[RawDetection],
        mut classifier: Option<&mut dyn EvidenceSource>,
    ) -> Result<Vec<Detection>> {
        let frame_area = (image.width() as f32 * image.height() as f32).max(1.0);
        let mut kept: Vec<(RawDetection, ClassRole, Option<RoleEvidence>)> = Vec::with_capacity(raw.len());
        for det in raw {
            let class_role = self.class_roles.get(det.class_id).copied().unwrap_or(ClassRole::Other);
            let is_candidate = matches!(class_role, ClassRole::Cat | ClassRole::Animal);
            let threshold =
                if is_candidate || class_role == ClassRole::Rat { self.config.animal_min_score } else { 0.0 };
            if det.score < threshold {
                continue;
            }
            let evidence = match (&mut classifier, is_candidate) {
                (Some(c), true) => Some(c.evidence(image, &det.bbox)?),
                _ => None,
            };
            kept.push((*det, class_role, evidence));
        }
        let candidates: Vec<Candidate> = kept
            .iter()
            .map(|(det, class_role, evidence)| Candidate {
                class_role: *class_role,
                score: det.score,
                bbox: det.bbox,
                frame_area: det.bbox.area() / frame_area,
                evidence: evidence.as_ref(),
            })
            .collect();
        let roles = decide_roles(&self.config, &candidates);
        let mut detections: Vec<Detection> = kept
            .iter()
            .zip(roles)
            .map(|((det, class_role, evidence), role)| Detection {
                role,
                class_role: *class_role,
                class_name: self.class_names.get(det.class_id).cloned().unwrap_or_else(|| Arc::from("unknown")),
                score: det.score,
                bbox: det.bbox,
                evidence: evidence.clone(),
            })
            .collect();
        detections.sort_by(|a, b| b.score.total_cmp(&a.score));
        drop_duplicate_animals(&mut detections);
        Ok(detections)
    }
}

/// Boxes overlapping more than this with a better-scored box of the same animal role are one animal
/// seen twice under two class names (COCO often calls one cat both "cat" and "teddy bear").
const DUPLICATE_IOU: f32 = 0.7;

/// Keeps the best-scored of each group of same-role animal boxes that are the same animal.
/// `detections` must be sorted by score, best first.
fn drop_duplicate_animals(detections: &mut Vec<Detection>) {
    let mut kept: Vec<Detection> = Vec::with_capacity(detections.len());
    for d in detections.drain(..) {
        let duplicate =
            d.role != Role::Other && kept.iter().any(|k| k.role == d.role && k.bbox.iou(&d.bbox) > DUPLICATE_IOU);
        if !duplicate {
            kept.push(d);
        }
    }
    *detections = kept;
}

fn class_role(name: &str, config: &RoleConfig, manifest: Option<&ModelManifest>) -> ClassRole {
    if let Some(role) = config.classes.get(name) {
        return *role;
    }
    let has = |list: &[String]| list.iter().any(|n| n == name);
    if let Some(m) = manifest {
        return if has(&m.classes.cat) {
            ClassRole::Cat
        } else if has(&m.classes.rat) {
            ClassRole::Rat
        } else if has(&m.classes.animal) {
            ClassRole::Animal
        } else {
            ClassRole::Other
        };
    }
    let lower = name.to_lowercase();
    if CAT_NAMES.contains(&lower.as_str()) {
        ClassRole::Cat
    } else if RAT_NAMES.contains(&lower.as_str()) {
        ClassRole::Rat
    } else if ANIMAL_NAMES.contains(&lower.as_str()) {
        ClassRole::Animal
    } else {
        ClassRole::Other
    }
}

/// The role of every candidate, in order. Cats are decided first, since a rat is judged by its size
/// against the cat.
pub fn decide_roles(config: &RoleConfig, candidates: &[Candidate]) -> Vec<Role> {
    let cats: Vec<bool> = candidates.iter().map(|c| is_cat(config, c)).collect();
    let largest_cat_area = candidates
        .iter()
        .zip(&cats)
        .filter(|(_, is)| **is)
        .map(|(c, _)| c.bbox.area())
        .fold(None, |m: Option<f32>, a| Some(m.map_or(a, |m| m.max(a))));
    candidates
        .iter()
        .zip(&cats)
        .map(|(c, &cat)| {
            if cat {
                Role::Cat
            } else if is_rat(config, c, largest_cat_area) {
                Role::Rat
            } else {
                Role::Other
            }
        })
        .collect()
}

fn is_cat(config: &RoleConfig, c: &Candidate) -> bool {
    if !matches!(c.class_role, ClassRole::Cat | ClassRole::Animal) || c.frame_area < config.cat_min_frame_area {
        return false;
    }
    match c.evidence {
        Some(e) => {
            let looks_cat =
                e.cat_family >= config.cat_min_family && e.cat_family >= e.dog_family && e.cat_family >= e.rodent_like;
            let rat_sized = c.frame_area <= config.rat_max_frame_area;
            let model_says_cat_uncontradicted = c.class_role == ClassRole::Cat
                && c.score >= config.cat_min_score
                && e.cat_family >= e.rodent_like
                && e.dog_family < config.dog_min_family
                && (!rat_sized || e.cat_family >= config.cat_min_support);
            looks_cat || model_says_cat_uncontradicted
        }
        None => c.class_role == ClassRole::Cat && c.score >= config.cat_min_score,
    }
}

/// (The enclosure is applied after detection, in `fusion`, to the detector's rats and to motion alike,
/// so that an enclosure drawn during a session holds at once for both.)
fn is_rat(config: &RoleConfig, c: &Candidate, largest_cat_area: Option<f32>) -> bool {
    match c.class_role {
        ClassRole::Rat => return true,
        ClassRole::Other => return false,
        ClassRole::Cat | ClassRole::Animal => {}
    }
    let smaller_than_cat = |ratio: f32| largest_cat_area.is_none_or(|cat| c.bbox.area() <= ratio * cat);
    if let Some(e) = c.evidence {
        if e.dog_family >= config.dog_min_family {
            return false;
        }
        if e.rodent_like >= config.rat_min_rodent_like && smaller_than_cat(1.0) {
            return true;
        }
    }
    let small_in_frame = c.frame_area <= config.rat_max_frame_area;
    let small_beside_cat = largest_cat_area.is_some_and(|cat| c.bbox.area() <= config.rat_max_cat_area_ratio * cat);
    (small_in_frame && smaller_than_cat(config.rat_max_cat_area_ratio)) || small_beside_cat
}

/// The box's centre lies in or near the rat's enclosure (within its margin), or no enclosure is
/// configured.
pub fn in_enclosure(config: &RoleConfig, bbox: &BBox, frame_w: u32, frame_h: u32) -> bool {
    let Some(enclosure) = &config.enclosure else {
        return true;
    };
    let (x, y) = bbox.center();
    enclosure.near_px(&BBox::new(x, y, x, y), config.enclosure_margin, frame_w, frame_h)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 640;
    const H: u32 = 480;

    fn evidence(cat: f32, rodent: f32, dog: f32) -> RoleEvidence {
        RoleEvidence { cat_family: cat, rodent_like: rodent, dog_family: dog, top_label: "x".into(), top_score: 0.5 }
    }

    fn cand(class_role: ClassRole, score: f32, bbox: BBox, e: Option<&RoleEvidence>) -> Candidate<'_> {
        Candidate { class_role, score, bbox, frame_area: bbox.area() / (W * H) as f32, evidence: e }
    }

    fn roles(cands: &[Candidate]) -> Vec<Role> {
        decide_roles(&RoleConfig::default(), cands)
    }

    const BIG: BBox = BBox { x1: 100.0, y1: 100.0, x2: 400.0, y2: 400.0 }; // 29% of the frame
    const SMALL: BBox = BBox { x1: 450.0, y1: 300.0, x2: 520.0, y2: 340.0 }; // 0.9%

    #[test]
    fn cat_confirmed_by_classifier_is_cat() {
        let e = evidence(0.86, 0.0, 0.02);
        assert_eq!(roles(&[cand(ClassRole::Cat, 0.91, BIG, Some(&e))]), vec![Role::Cat]);
    }

    #[test]
    fn small_cat_detection_the_classifier_cannot_place_is_the_rat() {
        // Seen on the black mouse of mice-homecage: COCO "cat" 0.6, classifier "cowboy boot".
        let e = evidence(0.027, 0.016, 0.047);
        assert_eq!(roles(&[cand(ClassRole::Cat, 0.6, SMALL, Some(&e))]), vec![Role::Rat]);
        // The same weak evidence on a cat-sized box keeps the model's word (a cat seen from behind).
        assert_eq!(roles(&[cand(ClassRole::Cat, 0.6, BIG, Some(&e))]), vec![Role::Cat]);
    }

    #[test]
    fn small_rodent_looking_cat_detection_is_the_rat() {
        // COCO calls a rat "cat" at 0.45; the classifier sees a squirrel-like animal.
        let e = evidence(0.05, 0.5, 0.1);
        assert_eq!(roles(&[cand(ClassRole::Cat, 0.45, SMALL, Some(&e))]), vec![Role::Rat]);
    }

    #[test]
    fn rat_seen_as_dog_beside_a_cat() {
        let cat = evidence(0.8, 0.0, 0.05);
        let rat = evidence(0.02, 0.12, 0.2);
        let got =
            roles(&[cand(ClassRole::Cat, 0.9, BIG, Some(&cat)), cand(ClassRole::Animal, 0.97, SMALL, Some(&rat))]);
        assert_eq!(got, vec![Role::Cat, Role::Rat]);
    }

    #[test]
    fn a_dog_is_other_whatever_its_size() {
        let e = evidence(0.01, 0.02, 0.9);
        assert_eq!(roles(&[cand(ClassRole::Animal, 0.9, BIG, Some(&e))]), vec![Role::Other]);
        assert_eq!(roles(&[cand(ClassRole::Animal, 0.9, SMALL, Some(&e))]), vec![Role::Other]);
        // even when the detector says "cat"
        assert_eq!(roles(&[cand(ClassRole::Cat, 0.7, BIG, Some(&e))]), vec![Role::Other]);
    }

    #[test]
    fn people_and_furniture_never_become_animals() {
        let e = evidence(0.9, 0.9, 0.0);
        assert_eq!(roles(&[cand(ClassRole::Other, 0.99, SMALL, Some(&e))]), vec![Role::Other]);
        assert_eq!(roles(&[cand(ClassRole::Other, 0.99, BIG, None)]), vec![Role::Other]);
    }

    #[test]
    fn large_unknown_animal_is_not_the_rat() {
        let e = evidence(0.05, 0.05, 0.1);
        assert_eq!(roles(&[cand(ClassRole::Animal, 0.8, BIG, Some(&e))]), vec![Role::Other]);
    }

    #[test]
    fn a_speck_is_never_the_cat() {
        let speck = BBox::new(10.0, 10.0, 20.0, 20.0);
        let e = evidence(0.9, 0.0, 0.0);
        assert_ne!(roles(&[cand(ClassRole::Cat, 0.9, speck, Some(&e))]), vec![Role::Cat]);
    }

    #[test]
    fn without_classifier_the_class_and_size_decide() {
        assert_eq!(roles(&[cand(ClassRole::Cat, 0.8, BIG, None)]), vec![Role::Cat]);
        assert_eq!(roles(&[cand(ClassRole::Animal, 0.5, SMALL, None)]), vec![Role::Rat]);
        assert_eq!(roles(&[cand(ClassRole::Animal, 0.5, BIG, None)]), vec![Role::Other]);
    }

    #[test]
    fn a_model_rat_class_is_trusted() {
        assert_eq!(roles(&[cand(ClassRole::Rat, 0.6, BIG, None)]), vec![Role::Rat]);
    }

    #[test]
    fn one_cat_seen_under_two_class_names_is_reported_once() {
        let det = |class: &str, score: f32, bbox: BBox, role: Role| Detection {
            role,
            class_role: ClassRole::Animal,
            class_name: Arc::from(class),
            score,
            bbox,
            evidence: None,
        };
        let mut dets = vec![
            det("cat", 0.82, BIG, Role::Cat),
            det("teddy bear", 0.80, BIG.expand(0.02), Role::Cat),
            det("chair", 0.7, BIG, Role::Other),
            det("dog", 0.6, SMALL, Role::Rat),
        ];
        drop_duplicate_animals(&mut dets);
        let names: Vec<&str> = dets.iter().map(|d| &*d.class_name).collect();
        assert_eq!(names, vec!["cat", "chair", "dog"]);
    }

    #[test]
    fn class_mapping_prefers_config_then_manifest_then_names() {
        let config = RoleConfig {
            classes: [("teddy bear".to_string(), ClassRole::Other)].into_iter().collect(),
            ..RoleConfig::default()
        };
        assert_eq!(class_role("teddy bear", &config, None), ClassRole::Other);
        assert_eq!(class_role("rat", &RoleConfig::default(), None), ClassRole::Rat);
        assert_eq!(class_role("mouse", &RoleConfig::default(), None), ClassRole::Other);
        assert_eq!(class_role("Dog", &RoleConfig::default(), None), ClassRole::Animal);
    }
}
