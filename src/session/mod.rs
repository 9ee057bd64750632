//! The session decision stage: what behaviours mean for a meeting ([`controller`]: stop, warn, cue,
//! and the fault states only a live session has), the stage that applies it frame by frame
//! ([`supervisor`]), the record kept across sessions ([`history`]), and who hears of it beyond the
//! terminal ([`notify`]).

pub mod controller;
pub mod history;
pub mod notify;
pub mod supervisor;
