//! The typed configuration, composed of each stage's own settings: every threshold has a name, a
//! documented default and a range check, and each lives beside the stage it tunes (its `check` method
//! says what is allowed). This module only composes them, loads a file (an error names its file and
//! line) and runs every stage's check.
//!
//! Two layers, as in ripgrep: parsing and checking touch no models or files; the stages turn the values
//! into live objects (sessions, zones) when they are built. A config file is TOML with the sections
//! below; any key may be left out to keep its default, and an unknown key is an error (a typo must not
//! silently fall back to a default).

use std::path::Path;

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
}

impl Config {
    /// Reads and checks a config file; `None` gives the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let config = match path {
            None => Config::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                parse_toml(path, &text)?
            }
        };
        config.validate()?;
        Ok(config)
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
