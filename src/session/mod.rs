//! The session decision stage: what behaviours mean for a meeting ([`controller`]: stop, warn, cue,
//! and the fault states only a live session has), the stage that applies it frame by frame
//! ([`supervisor`]), and the record kept across sessions ([`history`]).

pub mod controller;
pub mod history;
pub mod supervisor;
