//! Range checks shared by every stage's settings. Each stage checks its own section of the config (its
//! `check` method, beside its defaults); these helpers make every message name the key, the value found
//! and what was expected, in one voice.

use crate::error::{Error, Result};

/// `[x1, y1, x2, y2]` as fractions of the frame, a box of some size.
pub fn fractions_box(key: &str, [x1, y1, x2, y2]: [f32; 4]) -> Result<()> {
    let inside = [x1, y1, x2, y2].iter().all(|v| (0.0..=1.0).contains(v));
    if inside && x1 < x2 && y1 < y2 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{key} must be [x1, y1, x2, y2] fractions of the frame with x1 < x2 and y1 < y2, got {:?}",
            [x1, y1, x2, y2]
        )))
    }
}

/// A positive amount in the named unit.
pub fn amount(key: &str, v: f64, unit_name: &str) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be a positive number of {unit_name}, got {v}")))
    }
}

/// Zero or more, in the named unit (`" seconds"`, or `""` for a plain number such as a margin).
pub fn zero_or_more(key: &str, v: f64, unit_name: &str) -> Result<()> {
    if v >= 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be zero or more{unit_name}, got {v}")))
    }
}

/// At least `min`, in the named unit (counts, grey levels, ratios).
pub fn at_least(key: &str, v: f64, min: f64, unit_name: &str) -> Result<()> {
    if v >= min && v.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be at least {min}{unit_name}, got {v}")))
    }
}

/// A share of something, above 0 and at most 1.
pub fn share(key: &str, v: f64, of_what: &str) -> Result<()> {
    if v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be a share of {of_what}, above 0 and at most 1, got {v}")))
    }
}

/// A share, probability or score: between 0 and 1.
pub fn unit(key: &str, v: f32) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be between 0 and 1, got {v}")))
    }
}

/// A duration: positive seconds.
pub fn positive(key: &str, v: f64) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be a positive number of seconds, got {v}")))
    }
}

/// Within `range`, inclusive.
pub fn within(key: &str, v: f64, range: std::ops::RangeInclusive<f64>, unit_name: &str) -> Result<()> {
    if range.contains(&v) {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} must be between {} and {}{unit_name}, got {v}", range.start(), range.end())))
    }
}
