//! The areas an owner marks on the picture: the rat's enclosure and its shelters. Each is a rectangle
//! (`[x1, y1, x2, y2]`) or a polygon (`[[x, y], ...]`), in fractions of the frame's width and height so
//! that it holds at any camera resolution. The config, the drawing, `chaperone zones` and the live
//! view's editor all share these types.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geometry::BBox;

/// An area of the frame, in fractions of its width and height.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Area {
    /// `[x1, y1, x2, y2]`, top-left and bottom-right corners.
    Rect([f32; 4]),
    /// `[[x, y], ...]`: three corners or more, in order around the area.
    Polygon(Vec<[f32; 2]>),
}

/// Corners a polygon may have: every frame tests the rat against each edge.
const MAX_CORNERS: usize = 64;

/// A point in pixels.
type Px = (f32, f32);

impl Area {
    /// Refuses an area with a corner outside the frame, an inverted rectangle, or a polygon of fewer
    /// than three corners or of no area; `key` names it in the message.
    pub fn check(&self, key: &str) -> Result<()> {
        match self {
            Area::Rect(r) => crate::checks::fractions_box(key, *r),
            Area::Polygon(points) => {
                let inside = points.iter().flatten().all(|v| (0.0..=1.0).contains(v));
                if (3..=MAX_CORNERS).contains(&points.len()) && inside && signed_area(points).abs() > 1e-6 {
                    Ok(())
                } else {
                    Err(Error::Config(format!(
                        "{key} must be [x1, y1, x2, y2] or a polygon [[x, y], [x, y], [x, y], ...] of 3 to \
                         {MAX_CORNERS} corners, in fractions of the frame (0 to 1) and enclosing some area, got {points:?}"
                    )))
                }
            }
        }
    }

    /// The corners in pixels of a `width` x `height` frame, in order around the area.
    pub fn corners_px(&self, width: u32, height: u32) -> Vec<Px> {
        let (w, h) = (width as f32, height as f32);
        match self {
            Area::Rect([x1, y1, x2, y2]) => {
                vec![(x1 * w, y1 * h), (x2 * w, y1 * h), (x2 * w, y2 * h), (x1 * w, y2 * h)]
            }
            Area::Polygon(points) => points.iter().map(|[x, y]| (x * w, y * h)).collect(),
        }
    }

    /// The smallest rectangle holding the area, in fractions.
    pub fn bounds(&self) -> [f32; 4] {
        match self {
            Area::Rect(r) => *r,
            Area::Polygon(points) => points.iter().fold([1.0, 1.0, 0.0, 0.0], |[x1, y1, x2, y2], [x, y]| {
                [x1.min(*x), y1.min(*y), x2.max(*x), y2.max(*y)]
            }),
        }
    }

    /// Whether `bbox` overlaps the area grown by `fraction` of its size: a rectangle grown on every side
    /// as [`BBox::expand`] grows a box; a polygon by that share of its larger side all round (never by
    /// scaling it, which would move the inner edges of a U-shaped enclosure out of its arms).
    pub fn near_px(&self, bbox: &BBox, fraction: f32, width: u32, height: u32) -> bool {
        let [x1, y1, x2, y2] = self.bounds();
        match self {
            Area::Rect(_) => {
                let (dx, dy) = ((x2 - x1) * fraction, (y2 - y1) * fraction);
                Area::Rect([x1 - dx, y1 - dy, x2 + dx, y2 + dy]).distance_px(bbox, width, height) == 0.0
            }
            Area::Polygon(_) => {
                let reach = fraction * ((x2 - x1) * width as f32).max((y2 - y1) * height as f32);
                self.distance_px(bbox, width, height) <= reach
            }
        }
    }

    /// Whether the pixel point (x, y) lies in the area, on a `width` x `height` frame.
    pub fn contains_px(&self, (x, y): Px, width: u32, height: u32) -> bool {
        let corners = self.corners_px(width, height);
        let mut inside = false;
        for (i, &(xi, yi)) in corners.iter().enumerate() {
            let (xj, yj) = corners[(i + corners.len() - 1) % corners.len()];
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
        inside || on_outline(&corners, (x, y))
    }

    /// The distance in pixels from `bbox` to the area: 0 when they overlap.
    pub fn distance_px(&self, bbox: &BBox, width: u32, height: u32) -> f32 {
        let corners = self.corners_px(width, height);
        let box_corners = [(bbox.x1, bbox.y1), (bbox.x2, bbox.y1), (bbox.x2, bbox.y2), (bbox.x1, bbox.y2)];
        let overlap = box_corners.iter().any(|&p| self.contains_px(p, width, height))
            || corners.iter().any(|&(x, y)| bbox.contains_point(x, y))
            || edges(&corners).any(|a| edges(&box_corners).any(|b| segments_cross(a, b)));
        if overlap {
            return 0.0;
        }
        let from_area = corners.iter().map(|&p| box_distance(bbox, p));
        let from_box =
            box_corners.iter().map(|&p| edges(&corners).map(|e| segment_distance(e, p)).fold(f32::MAX, f32::min));
        from_area.chain(from_box).fold(f32::MAX, f32::min)
    }

    /// The share of the frame it covers.
    pub fn share_of_frame(&self) -> f32 {
        match self {
            Area::Rect([x1, y1, x2, y2]) => (x2 - x1) * (y2 - y1),
            Area::Polygon(points) => signed_area(points).abs(),
        }
    }

    /// "rectangle" or "polygon of N corners", as the owner is told.
    pub fn describe(&self) -> String {
        match self {
            Area::Rect(_) => "rectangle".into(),
            Area::Polygon(points) => format!("polygon of {} corners", points.len()),
        }
    }

    /// Its TOML form, as the config file holds it.
    pub fn to_toml(&self) -> toml_edit::Value {
        let round = |v: f32| ((v as f64) * 10_000.0).round() / 10_000.0;
        match self {
            Area::Rect(r) => r.iter().map(|v| round(*v)).collect::<toml_edit::Array>().into(),
            Area::Polygon(points) => points
                .iter()
                .map(|[x, y]| toml_edit::Value::from([round(*x), round(*y)].into_iter().collect::<toml_edit::Array>()))
                .collect::<toml_edit::Array>()
                .into(),
        }
    }
}

fn edges(corners: &[Px]) -> impl Iterator<Item = (Px, Px)> + '_ {
    corners.iter().enumerate().map(|(i, &a)| (a, corners[(i + 1) % corners.len()]))
}

fn signed_area(points: &[[f32; 2]]) -> f32 {
    let n = points.len();
    (0..n).map(|i| points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]).sum::<f32>() / 2.0
}

fn on_outline(corners: &[Px], p: Px) -> bool {
    edges(corners).any(|e| segment_distance(e, p) < 1e-3)
}

fn segment_distance(((ax, ay), (bx, by)): (Px, Px), (px, py): Px) -> f32 {
    let (dx, dy) = (bx - ax, by - ay);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 { (((px - ax) * dx + (py - ay) * dy) / length2).clamp(0.0, 1.0) } else { 0.0 };
    ((ax + t * dx - px).powi(2) + (ay + t * dy - py).powi(2)).sqrt()
}

fn box_distance(b: &BBox, (x, y): Px) -> f32 {
    let dx = (b.x1 - x).max(x - b.x2).max(0.0);
    let dy = (b.y1 - y).max(y - b.y2).max(0.0);
    (dx * dx + dy * dy).sqrt()
}

fn segments_cross((a, b): (Px, Px), (c, d): (Px, Px)) -> bool {
    let side = |(px, py): Px, (qx, qy): Px, (rx, ry): Px| (qx - px) * (ry - py) - (qy - py) * (rx - px);
    let (d1, d2) = (side(c, d, a), side(c, d, b));
    let (d3, d4) = (side(a, b, c), side(a, b, d));
    (d1 > 0.0) != (d2 > 0.0) && (d3 > 0.0) != (d4 > 0.0) && d1 != 0.0 && d2 != 0.0 && d3 != 0.0 && d4 != 0.0
}

/// A shelter: where the rat may go out of sight without that being a worry. Written in the config as
/// a bare area (`[x1, y1, x2, y2]` or a polygon) or, named, as `{ name = "tube", area = ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "ShelterEntry", into = "ShelterEntry")]
pub struct Shelter {
    pub name: Option<String>,
    pub area: Area,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ShelterEntry {
    Bare(Area),
    Named(NamedShelter),
}

/// `{ name = "tube", area = ... }`; any other key is refused, as everywhere in the config.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedShelter {
    name: String,
    area: Area,
}

impl From<ShelterEntry> for Shelter {
    fn from(entry: ShelterEntry) -> Shelter {
        match entry {
            ShelterEntry::Bare(area) => Shelter { name: None, area },
            ShelterEntry::Named(NamedShelter { name, area }) => Shelter { name: Some(name), area },
        }
    }
}

impl From<Shelter> for ShelterEntry {
    fn from(s: Shelter) -> ShelterEntry {
        match s.name {
            Some(name) => ShelterEntry::Named(NamedShelter { name, area: s.area }),
            None => ShelterEntry::Bare(s.area),
        }
    }
}

impl From<[f32; 4]> for Shelter {
    fn from(rect: [f32; 4]) -> Shelter {
        Shelter { name: None, area: Area::Rect(rect) }
    }
}

/// What a zone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// Where the rat lives: motion and boxes outside it are not the rat.
    Enclosure,
    /// Where the rat may hide.
    Shelter,
}

impl ZoneKind {
    pub fn name(self) -> &'static str {
        match self {
            ZoneKind::Enclosure => "enclosure",
            ZoneKind::Shelter => "shelter",
        }
    }

    /// What marking such a zone turns on, in words.
    pub fn enables(self) -> &'static str {
        match self {
            ZoneKind::Enclosure => "motion and boxes outside it (grown by roles.enclosure_margin) are never the rat",
            ZoneKind::Shelter => {
                "hiding: the rat out of sight in or next to it is hiding, not lost (no rat_unseen stop while it lasts)"
            }
        }
    }
}

/// Every zone of a config, named, as drawn and listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Zones {
    pub enclosure: Option<Area>,
    pub shelters: Vec<Shelter>,
}

/// One zone with the name it is shown by.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedZone<'a> {
    pub kind: ZoneKind,
    pub name: String,
    pub area: &'a Area,
}

impl NamedZone<'_> {
    /// How it is labelled: "enclosure", "shelter 2", "shelter: tube" (unnamed zones are already called
    /// by their kind).
    pub fn label(&self) -> String {
        match self.name.starts_with(self.kind.name()) {
            true => self.name.clone(),
            false => format!("{}: {}", self.kind.name(), self.name),
        }
    }
}

impl Zones {
    /// The enclosure first, then the shelters (unnamed ones as "shelter 1", "shelter 2"...).
    pub fn named(&self) -> Vec<NamedZone<'_>> {
        let enclosure =
            self.enclosure.iter().map(|area| NamedZone { kind: ZoneKind::Enclosure, name: "enclosure".into(), area });
        let shelters = self.shelters.iter().enumerate().map(|(i, s)| NamedZone {
            kind: ZoneKind::Shelter,
            name: s.name.clone().unwrap_or_else(|| format!("shelter {}", i + 1)),
            area: &s.area,
        });
        enclosure.chain(shelters).collect()
    }

    /// Problems worth a warning: a shelter outside the enclosure, two shelters with one name.
    pub fn warnings(&self, enclosure_margin: f32) -> Vec<String> {
        let mut out = Vec::new();
        let named = self.named();
        if let Some(enclosure) = &self.enclosure {
            for z in named.iter().filter(|z| z.kind == ZoneKind::Shelter) {
                // Checked on a notional 1000 x 1000 frame: the fractions are all that matter.
                let [x1, y1, x2, y2] = z.area.bounds().map(|v| v * 1000.0);
                if !enclosure.near_px(&BBox::new(x1, y1, x2, y2), enclosure_margin, 1000, 1000) {
                    out.push(format!(
                        "{} lies outside the enclosure: a rat there is never seen (motion outside the enclosure is \
                         not the rat), so hiding there cannot be judged",
                        z.name
                    ));
                }
            }
        }
        for (i, z) in named.iter().enumerate() {
            if named[..i].iter().any(|o| o.name == z.name) {
                out.push(format!("two zones are named {:?}: name them apart to tell them apart", z.name));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triangle() -> Area {
        Area::Polygon(vec![[0.1, 0.1], [0.5, 0.1], [0.1, 0.5]])
    }

    #[test]
    fn a_point_is_in_a_polygon_only_inside_its_outline() {
        let t = triangle();
        assert!(t.contains_px((20.0, 20.0), 100, 100));
        assert!(t.contains_px((10.0, 30.0), 100, 100), "on the outline counts");
        assert!(!t.contains_px((40.0, 40.0), 100, 100), "beyond the long side");
        assert!(!t.contains_px((5.0, 20.0), 100, 100));
    }

    #[test]
    fn distance_is_zero_on_overlap_and_euclidean_apart() {
        let t = triangle();
        assert_eq!(t.distance_px(&BBox::new(15.0, 15.0, 18.0, 18.0), 100, 100), 0.0, "inside");
        assert_eq!(t.distance_px(&BBox::new(0.0, 0.0, 100.0, 100.0), 100, 100), 0.0, "around it");
        assert_eq!(t.distance_px(&BBox::new(25.0, 0.0, 28.0, 50.0), 100, 100), 0.0, "edges cross");
        let d = t.distance_px(&BBox::new(60.0, 5.0, 70.0, 15.0), 100, 100);
        assert!((d - 10.0).abs() < 1e-3, "{d}");
        let rect = Area::Rect([0.5, 0.5, 0.7, 0.7]);
        let d = rect.distance_px(&BBox::new(0.0, 0.0, 47.0, 46.0), 100, 100);
        assert!((d - 5.0).abs() < 1e-3, "corner to corner, 3-4-5: {d}");
    }

    #[test]
    fn near_grows_a_rectangle_as_a_box_and_never_loses_a_concave_polygons_inside() {
        let point = |x: f32, y: f32| BBox::new(x, y, x, y);
        let rect = Area::Rect([0.2, 0.2, 0.6, 0.4]);
        // Grown by 10% of its width (40) and height (20): 16..64 by 18..42, on a 100 x 100 frame.
        assert!(rect.near_px(&point(16.5, 18.5), 0.1, 100, 100));
        assert!(!rect.near_px(&point(15.0, 30.0), 0.1, 100, 100));
        // A U: arms x 0..0.2 and 0.8..1, joined along the bottom.
        let u = Area::Polygon(vec![
            [0.0, 0.0],
            [0.2, 0.0],
            [0.2, 0.8],
            [0.8, 0.8],
            [0.8, 0.0],
            [1.0, 0.0],
            [1.0, 1.0],
            [0.0, 1.0],
        ]);
        assert!(u.near_px(&point(18.0, 30.0), 0.1, 100, 100), "inside an arm");
        assert!(u.near_px(&point(29.0, 30.0), 0.1, 100, 100), "within 10 of the arm");
        assert!(!u.near_px(&point(50.0, 30.0), 0.1, 100, 100), "between the arms");
    }

    #[test]
    fn bad_areas_are_refused_by_name() {
        for bad in [
            Area::Polygon(vec![[0.1, 0.1], [0.5, 0.1]]),
            Area::Polygon(vec![[0.1, 0.1], [0.5, 0.1], [0.9, 0.1]]),
            Area::Polygon(vec![[0.1, 0.1], [1.5, 0.1], [0.1, 0.5]]),
            Area::Rect([0.5, 0.1, 0.2, 0.9]),
        ] {
            let err = bad.check("roles.enclosure").unwrap_err().to_string();
            assert!(err.contains("roles.enclosure"), "{err}");
        }
        triangle().check("x").unwrap();
    }

    #[test]
    fn shelters_read_bare_or_named_rectangles_and_polygons() {
        #[derive(Deserialize)]
        struct File {
            shelters: Vec<Shelter>,
        }
        let file: File = toml::from_str(
            "shelters = [[0.1, 0.1, 0.2, 0.2], [[0.1, 0.1], [0.5, 0.1], [0.1, 0.5]], { name = \"tube\", area = [0.5, 0.5, 0.6, 0.6] }]",
        )
        .unwrap();
        assert_eq!(file.shelters[0], Shelter::from([0.1, 0.1, 0.2, 0.2]));
        assert_eq!(file.shelters[1].area, triangle());
        assert_eq!(file.shelters[2].name.as_deref(), Some("tube"));
        let typo: std::result::Result<File, _> =
            toml::from_str("shelters = [{ name = \"tube\", area = [0.5, 0.5, 0.6, 0.6], nmae = 1 }]");
        assert!(typo.is_err(), "an unknown key in a named shelter is refused");
        let zones = Zones { enclosure: Some(Area::Rect([0.0, 0.0, 0.4, 1.0])), shelters: file.shelters };
        let names: Vec<String> = zones.named().into_iter().map(|z| z.name).collect();
        assert_eq!(names, ["enclosure", "shelter 1", "shelter 2", "tube"]);
        let warnings = zones.warnings(0.1);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("tube lies outside the enclosure"), "{warnings:?}");
    }
}
