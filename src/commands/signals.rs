//! The signals that ask the program to end: Ctrl-C (SIGINT), `kill` and `systemctl stop` (SIGTERM), a
//! closed terminal (SIGHUP). The first one asks the running session or analysis to end at its next
//! frame, so that everything it observed is written (events, summary, timeline, history); a second one
//! ends the program at once.

use std::sync::atomic::{AtomicI32, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::session::supervisor;

/// The first ending signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Which signal asked the program to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Ctrl-C: the owner ending a session by hand.
    Interrupt,
    /// SIGTERM or SIGHUP: the system (or a script) ending the program.
    Terminate(i32),
}

impl Ending {
    pub fn name(self) -> &'static str {
        match self {
            Ending::Interrupt => "Ctrl-C",
            Ending::Terminate(SIGHUP) => "SIGHUP",
            Ending::Terminate(_) => "SIGTERM",
        }
    }

    /// The shell's convention for a program ended by a signal: 128 + its number.
    pub fn exit_code(self) -> u8 {
        let number = match self {
            Ending::Interrupt => SIGINT,
            Ending::Terminate(n) => n,
        };
        (128 + number) as u8
    }
}

/// Starts listening. `what` names the work that will end ("the session", "the analysis").
pub fn install(what: &'static str) {
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("Ctrl-C and SIGTERM will end the program without writing what it observed: {e}");
            return;
        }
    };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            let ending = ending_of(signal);
            if supervisor::interrupt() {
                std::process::exit(ending.exit_code().into());
            }
            RECEIVED.store(signal, Ordering::Relaxed);
            eprintln!(
                "\n{}: ending {what} at the next frame, writing what was observed (again to quit at once)",
                ending.name()
            );
        }
    });
}

/// The signal that asked the program to end, if one did.
pub fn received() -> Option<Ending> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        signal => Some(ending_of(signal)),
    }
}

fn ending_of(signal: i32) -> Ending {
    if signal == SIGINT { Ending::Interrupt } else { Ending::Terminate(signal) }
}
