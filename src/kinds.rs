//! The closed sets every stage shares: which animal a thing is ([`Role`]), what a detector class means
//! before evidence ([`ClassRole`]), what happened ([`Behaviour`]) and what it means for a session
//! ([`Severity`]). They sit in the lowest layer, beside the error type and the geometry, so that any
//! stage can name them without importing a stage above it.
//!
//! Each is serialised under the lowercase names the output files have always used (`events.jsonl`,
//! `tracks.csv`, `summary.json`, config keys), so the files do not change.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which of our animals a detection, a track or an episode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Cat,
    Rat,
    Other,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Cat => "cat",
            Role::Rat => "rat",
            Role::Other => "other",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a detector class means for this program, before evidence is weighed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassRole {
    /// The model says cat; the crop classifier and size can still overrule it (a rat seen as "cat").
    Cat,
    /// The model has a real rodent class: trusted as the rat.
    Rat,
    /// Some animal (COCO's dog, bird, teddy bear...): cat, rat or other, decided by evidence.
    Animal,
    /// Never an animal of ours (people, furniture).
    #[default]
    Other,
}

/// Everything the engine and the session controller can report: the animals' behaviours, then the
/// fault states (the program cannot see or keep up). The order is the ethogram's, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// The cat closes the gap to the rat fast (or pounces).
    Approach,
    /// The cat's body lowered while it creeps closer.
    Stalking,
    /// The cat still and oriented at the rat.
    Fixation,
    /// The cat ignoring the rat: a moment to reward.
    Calm,
    /// The rat not moving but for breathing.
    Freezing,
    /// The rat out of sight at a shelter.
    Hiding,
    RatUnseen,
    CatUnseen,
    CameraLost,
    Overload,
    PipelineFailed,
}

impl Behaviour {
    pub const ALL: [Behaviour; 11] = [
        Behaviour::Approach,
        Behaviour::Stalking,
        Behaviour::Fixation,
        Behaviour::Calm,
        Behaviour::Freezing,
        Behaviour::Hiding,
        Behaviour::RatUnseen,
        Behaviour::CatUnseen,
        Behaviour::CameraLost,
        Behaviour::Overload,
        Behaviour::PipelineFailed,
    ];

    /// The name in `events.jsonl`, configs and scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Approach => "approach",
            Behaviour::Stalking => "stalking",
            Behaviour::Fixation => "fixation",
            Behaviour::Calm => "calm",
            Behaviour::Freezing => "freezing",
            Behaviour::Hiding => "hiding",
            Behaviour::RatUnseen => "rat_unseen",
            Behaviour::CatUnseen => "cat_unseen",
            Behaviour::CameraLost => "camera_lost",
            Behaviour::Overload => "overload",
            Behaviour::PipelineFailed => "pipeline_failed",
        }
    }

    /// The behaviour called `name`, as written in files.
    pub fn from_name(name: &str) -> Option<Behaviour> {
        Behaviour::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The animal it concerns (`other` for the machine's own faults).
    pub fn animal(self) -> Role {
        match self {
            Behaviour::Approach | Behaviour::Stalking | Behaviour::Fixation | Behaviour::Calm => Role::Cat,
            Behaviour::CatUnseen => Role::Cat,
            Behaviour::Freezing | Behaviour::Hiding | Behaviour::RatUnseen => Role::Rat,
            Behaviour::CameraLost | Behaviour::Overload | Behaviour::PipelineFailed => Role::Other,
        }
    }

    /// The program cannot see or keep up: not something an animal did.
    pub fn is_fault(self) -> bool {
        matches!(
            self,
            Behaviour::RatUnseen
                | Behaviour::CatUnseen
                | Behaviour::CameraLost
                | Behaviour::Overload
                | Behaviour::PipelineFailed
        )
    }

    /// What it means when nothing in the config overrides it.
    pub fn default_severity(self) -> Severity {
        match self {
            // Stress signs: a warning at once, a stop once they last (`stop_after_s`).
            Behaviour::Freezing | Behaviour::Hiding => Severity::Warn,
            Behaviour::Calm => Severity::Cue,
            _ => Severity::Stop,
        }
    }

    /// Its lane label in pictures.
    pub fn label(self) -> &'static str {
        match self {
            Behaviour::Approach => "cat: fast approach",
            Behaviour::Stalking => "cat: stalking",
            Behaviour::Fixation => "cat: fixation",
            Behaviour::Calm => "cat: calm (reward)",
            Behaviour::Freezing => "rat: freezing",
            Behaviour::Hiding => "rat: hiding",
            _ => "can't see / keep up",
        }
    }

    /// All names, for messages that list them.
    pub fn names() -> String {
        Behaviour::ALL.map(Behaviour::name).join(", ")
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an episode means for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// End the session now.
    Stop,
    /// Tell the owner; the session goes on.
    Warn,
    /// Prompt the owner to reward the cat.
    Cue,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviours_are_written_under_their_file_names() {
        for b in Behaviour::ALL {
            assert_eq!(serde_json::to_value(b).unwrap(), b.name());
            assert_eq!(Behaviour::from_name(b.name()), Some(b));
        }
        assert_eq!(Behaviour::ALL.iter().filter(|b| b.is_fault()).count(), 5);
    }
}
