//! Live sessions: the controller that decides what behaviours mean ([`controller`]), the alarm
//! ([`alarm`]), the session itself ([`live`]) and the record kept across sessions ([`history`]).

pub mod alarm;
pub mod controller;
pub mod history;
pub mod live;
