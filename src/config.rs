//! The typed configuration, composed of each stage's own settings: every threshold has a name, a
//! documented default and a range check, and each lives beside the stage it tunes (its `check` method
//! says what is allowed). This module only composes them, loads a file (an error names its file and
//! line) and runs every stage's check.
//!
//! Two layers, as in ripgrep: parsing and checking touch no models or files; the stages turn the values
//! into live objects (sessions, zones) when they are built. A config file is TOML with the sections
//! below; any key may be left out to keep its default, and an unknown key is an error (a typo must not
//! silently fall back to a default).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::behaviour::BehaviourConfig;
use crate::detect::{DetectorConfig, RoleConfig};
use crate::error::{Error, Result};
use crate::fusion::motion::MotionConfig;
use crate::labels::{LabelsConfig, PoseConfig};
use crate::runtime::RuntimeConfig;
use crate::session::controller::SessionConfig;
use crate::session::notify::NotifyConfig;
use crate::track::TrackerConfig;
use crate::zones::Zones;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub runtime: RuntimeConfig,
    pub detector: DetectorConfig,
    pub roles: RoleConfig,
    pub motion: MotionConfig,
    pub tracker: TrackerConfig,
    pub behaviour: BehaviourConfig,
    pub session: SessionConfig,
    pub labels: LabelsConfig,
    pub pose: PoseConfig,
    pub notify: NotifyConfig,
    /// The file this was read from, if any: where zones drawn in the live view are saved.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

impl Config {
    /// Reads and checks a config file; `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let config = match path {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                Config { file: Some(path.to_path_buf()), ..parse_toml(path, &text)? }
            }
        };
        config.validate()?;
        Ok(config)
    }

    /// The enclosure and the shelters, as drawn and listed.
    pub fn zones(&self) -> Zones {
        Zones { enclosure: self.roles.enclosure.clone(), shelters: self.behaviour.hiding.shelters.clone() }
    }

    /// Checks every section's values, each by the stage that owns it.
    pub fn validate(&self) -> Result<()> {
        self.detector.check()?;
        self.motion.check()?;
        self.tracker.check()?;
        self.behaviour.check()?;
        self.session.check()?;
        self.runtime.check()?;
        self.pose.check()?;
        self.notify.check()?;
        self.roles.check()
    }
}

/// Writes `zones` into the config file at `path` (made when missing) as `roles.enclosure` and
/// `behaviour.hiding.shelters`, keeping everything else in it (comments, other keys, their order) as it
/// was. The new text must load as a valid config before it replaces the old file, which it does in one
/// rename: a failure leaves the file as it was.
pub fn save_zones(path: &Path, zones: &Zones) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e| Error::Config(format!("{}: cannot edit it: {e}", path.display())))?;
    match &zones.enclosure {
        Some(area) => {
            set_value(table_at(path, &mut doc, &["roles"])?, "enclosure", area.to_toml());
        }
        None => remove_key(&mut doc, &["roles"], "enclosure"),
    }
    if zones.shelters.is_empty() {
        remove_key(&mut doc, &["behaviour", "hiding"], "shelters");
    } else {
        let shelters: toml_edit::Array = zones
            .shelters
            .iter()
            .map(|s| match &s.name {
                Some(name) => {
                    let mut entry = toml_edit::InlineTable::new();
                    entry.insert("name", name.as_str().into());
                    entry.insert("area", s.area.to_toml());
                    toml_edit::Value::from(entry)
                }
                None => s.area.to_toml(),
            })
            .collect();
        set_value(table_at(path, &mut doc, &["behaviour", "hiding"])?, "shelters", shelters.into());
    }
    let edited = doc.to_string();
    let config: Config = parse_toml(path, &edited)?;
    config.validate()?;
    // The file a link points to is the one replaced, and it keeps its permissions (a config with a
    // webhook's secret may be readable by its owner alone).
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let temporary = target.with_extension("toml.saving");
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        std::io::Write::write_all(&mut file, edited.as_bytes())?;
        if let Ok(old) = std::fs::metadata(&target) {
            file.set_permissions(old.permissions())?;
        }
        file.sync_all()
    })();
    written.map_err(|e| Error::io(&temporary, e))?;
    std::fs::rename(&temporary, &target).map_err(|e| Error::io(&target, e))
}

/// The table at `keys` (`[behaviour.hiding]`), made at the end of the file when missing; a parent made
/// for it is implicit (no empty `[behaviour]` above `[behaviour.hiding]`).
fn table_at<'a>(
    path: &Path,
    doc: &'a mut toml_edit::DocumentMut,
    keys: &[&str],
) -> Result<&'a mut dyn toml_edit::TableLike> {
    let mut item = doc.as_item_mut();
    for (depth, key) in keys.iter().enumerate() {
        let not_a_table = || Error::Config(format!("{}: `{}` is not a table", path.display(), keys[..depth].join(".")));
        let parent = item.as_table_like_mut().ok_or_else(not_a_table)?;
        item = parent.entry(key).or_insert_with(|| {
            let mut table = toml_edit::Table::new();
            table.set_implicit(depth + 1 < keys.len());
            toml_edit::Item::Table(table)
        });
    }
    item.as_table_like_mut()
        .ok_or_else(|| Error::Config(format!("{}: `{}` is not a table", path.display(), keys.join("."))))
}

/// Sets `key` to `value`; a key already there keeps its comments (the lines above it, the one after it).
fn set_value(table: &mut dyn toml_edit::TableLike, key: &str, mut value: toml_edit::Value) {
    match table.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
        Some(old) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None => {
            table.insert(key, toml_edit::Item::Value(value));
        }
    }
}

fn remove_key(doc: &mut toml_edit::DocumentMut, keys: &[&str], key: &str) {
    let mut item = doc.as_item_mut();
    for k in keys {
        match item.as_table_like_mut().and_then(|t| t.get_mut(k)) {
            Some(next) => item = next,
            None => return,
        }
    }
    if let Some(table) = item.as_table_like_mut() {
        table.remove(key);
    }
}

/// Parses a TOML file's text; an error names the file and line.
pub fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let message = e.message().to_string();
        match e.span().map(|s| text[..s.start].matches('\n').count() + 1) {
            Some(line) => Error::Config(format!("{}:{line}: {message}", path.display())),
            None => Error::Config(format!("{}: {message}", path.display())),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ClassRole;

    fn parse(text: &str) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| Error::Config(e.message().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn saved_zones_keep_the_files_comments_and_load_back() {
        use crate::zones::{Area, Shelter};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chaperone.toml");
        let original =
            "# my room\n[roles]\n# the cage\nenclosure = [0.1, 0.1, 0.9, 0.9]\ncat_min_family = 0.35 # tuned\n";
        std::fs::write(&path, original).unwrap();
        let zones = Zones {
            enclosure: Some(Area::Polygon(vec![[0.1, 0.1], [0.8, 0.1], [0.5, 0.9]])),
            shelters: vec![
                Shelter { name: Some("tube".into()), area: Area::Rect([0.2, 0.2, 0.3, 0.3]) },
                Shelter::from([0.4, 0.4, 0.5, 0.5]),
            ],
        };
        save_zones(&path, &zones).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for kept in ["# my room", "# the cage", "cat_min_family = 0.35 # tuned"] {
            assert!(text.contains(kept), "{kept:?} kept:\n{text}");
        }
        assert!(!text.contains("\n[behaviour]\n"), "no empty parent table:\n{text}");
        let back = Config::load(Some(&path)).unwrap();
        assert_eq!(back.zones(), zones, "{text}");
        assert_eq!(back.roles.cat_min_family, 0.35);
        // Taking them away again, and a file that did not exist.
        save_zones(&path, &Zones::default()).unwrap();
        assert_eq!(Config::load(Some(&path)).unwrap().zones(), Zones::default());
        let fresh = dir.path().join("new.toml");
        save_zones(&fresh, &zones).unwrap();
        assert_eq!(Config::load(Some(&fresh)).unwrap().zones(), zones);
    }

    #[test]
    fn zones_that_would_make_the_config_invalid_leave_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[roles]\nenclosure = [0.1, 0.1, 0.9, 0.9]\n").unwrap();
        let bad = Zones { enclosure: Some(crate::zones::Area::Rect([0.9, 0.1, 0.1, 0.9])), shelters: vec![] };
        let err = save_zones(&path, &bad).unwrap_err().to_string();
        assert!(err.contains("roles.enclosure"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[roles]\nenclosure = [0.1, 0.1, 0.9, 0.9]\n");
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = parse("[roles]\ncat_min_family = 0.5\nclasses = { \"teddy bear\" = \"other\" }\n").unwrap();
        assert_eq!(c.roles.cat_min_family, 0.5);
        assert_eq!(c.roles.classes["teddy bear"], ClassRole::Other);
        assert_eq!(c.detector.model, "ssd_mobilenet_v2_coco");
    }

    #[test]
    fn out_of_range_value_names_key_and_value() {
        let err = parse("[roles]\ncat_min_family = 1.5\n").unwrap_err().to_string();
        assert!(err.contains("roles.cat_min_family") && err.contains("1.5"), "{err}");
    }

    #[test]
    fn unknown_key_is_refused() {
        let err = parse("[roles]\ncat_min_famly = 0.5\n").unwrap_err().to_string();
        assert!(err.contains("cat_min_famly"), "{err}");
    }

    #[test]
    fn inverted_enclosure_is_refused() {
        let err = parse("[roles]\nenclosure = [0.5, 0.1, 0.2, 0.9]\n").unwrap_err().to_string();
        assert!(err.contains("roles.enclosure"), "{err}");
    }
}
