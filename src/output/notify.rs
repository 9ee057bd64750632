//! Alerts that leave the machine: each chosen event line (the very line `events.jsonl` gets) POSTed as
//! JSON to the `[notify] webhook`, from a thread of its own, so a slow or dead receiver never slows
//! supervision. A failed delivery is retried and said on stderr; at the session's end the sink waits a
//! little for what is still queued (the stop above all), then leaves it, saying so.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde_json::Value;

use super::event_log::EventLines;
use crate::error::Result;
use crate::pipeline::{AnalysedFrame, RunEnd, RunStart, Sink};
use crate::session::controller::SessionConfig;
use crate::session::notify::{NotifyConfig, NotifyKind};

/// Lines waiting for delivery; beyond this many, new ones are dropped (and counted) rather than let a
/// dead receiver hold memory or time.
const QUEUE: usize = 64;

/// How long the end of a session waits for the queue to drain.
const FINISH_WAIT: Duration = Duration::from_secs(10);

/// The webhook notifier, as a pipeline sink.
pub struct NotifySink {
    lines: EventLines,
    send: Vec<NotifyKind>,
    url: String,
    queue: Option<Sender<Value>>,
    /// Closed by the delivery thread when it has sent (or given up on) everything.
    drained: Receiver<()>,
    dropped: usize,
}

impl NotifySink {
    /// The notifier `config` asks for, or `None` when it names no webhook.
    pub fn new(config: &NotifyConfig, session: &SessionConfig) -> Option<NotifySink> {
        let url = config.webhook.clone()?;
        let (queue, pending) = crossbeam_channel::bounded::<Value>(QUEUE);
        let (done, drained) = crossbeam_channel::bounded::<()>(0);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs_f64(config.timeout_s)))
            .build()
            .into();
        let (target, retries) = (url.clone(), config.retries);
        std::thread::spawn(move || {
            for line in pending.iter() {
                deliver(&agent, &target, &line, retries);
            }
            drop(done);
        });
        let lines = EventLines::new(session);
        Some(NotifySink { lines, send: config.send.clone(), url, queue: Some(queue), drained, dropped: 0 })
    }

    fn offer(&mut self, lines: Vec<Value>) {
        let Some(queue) = &self.queue else { return };
        for line in lines.into_iter().filter(|l| kind_of(l).is_some_and(|k| self.send.contains(&k))) {
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = queue.try_send(line) {
                if self.dropped == 0 {
                    eprintln!("chaperone: notify: {} is not keeping up; dropping events for it", self.url);
                }
                self.dropped += 1;
            }
        }
    }
}

/// What a line is, for choosing which to send; `None` for lines no notifier sends.
fn kind_of(line: &Value) -> Option<NotifyKind> {
    match line["event"].as_str()? {
        "stop" => Some(NotifyKind::Stop),
        "confirmed" => match line["severity"].as_str()? {
            "stop" => Some(NotifyKind::Stop),
            "warn" => Some(NotifyKind::Warn),
            "cue" => Some(NotifyKind::Cue),
            _ => None,
        },
        "session_started" | "session_ended" | "camera_reconnected" => Some(NotifyKind::Status),
        _ => None,
    }
}

/// POSTs one line, with `retries` further tries 0.5 s, 1 s, 2 s... apart; a failure is said, never
/// raised.
fn deliver(agent: &ureq::Agent, url: &str, line: &Value, retries: u32) {
    let event = line["event"].as_str().unwrap_or("event");
    let mut pause = Duration::from_millis(500);
    for attempt in 0..=retries {
        let sent = agent.post(url).header("Content-Type", "application/json").send(line.to_string());
        match sent {
            Ok(_) => return,
            Err(e) if attempt < retries => {
                eprintln!("chaperone: notify: the `{event}` line did not reach {url} ({e}); trying again");
                std::thread::sleep(pause);
                pause *= 2;
            }
            Err(e) => eprintln!("chaperone: notify: gave up sending the `{event}` line to {url}: {e}"),
        }
    }
}

impl Sink for NotifySink {
    fn begin(&mut self, start: &RunStart) -> Result<()> {
        let lines = self.lines.start(start);
        self.offer(lines);
        Ok(())
    }

    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        if !a.changes.is_empty() || a.stop().is_some() || a.frame.reconnected_after_s.is_some() {
            let lines = self.lines.frame(a);
            self.offer(lines);
        }
        Ok(true)
    }

    fn finish(&mut self, end: &RunEnd) -> Result<()> {
        let lines = self.lines.end(end);
        self.offer(lines);
        // Closing the queue lets the delivery thread end once it is empty.
        let queued = self.queue.take().map_or(0, |q| q.len());
        if self.drained.recv_timeout(FINISH_WAIT).is_err_and(|e| e.is_timeout()) {
            eprintln!(
                "chaperone: notify: {} still does not answer after {} s; leaving up to {queued} event(s) unsent",
                self.url,
                FINISH_WAIT.as_secs()
            );
        }
        if self.dropped > 0 {
            eprintln!("chaperone: notify: {} event(s) were dropped for {}", self.dropped, self.url);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_sent_by_what_they_mean() {
        let line = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        assert_eq!(kind_of(&line(r#"{"event":"stop","behaviour":"approach"}"#)), Some(NotifyKind::Stop));
        assert_eq!(kind_of(&line(r#"{"event":"confirmed","severity":"warn"}"#)), Some(NotifyKind::Warn));
        assert_eq!(kind_of(&line(r#"{"event":"confirmed","severity":"cue"}"#)), Some(NotifyKind::Cue));
        assert_eq!(kind_of(&line(r#"{"event":"confirmed","severity":"stop"}"#)), Some(NotifyKind::Stop));
        assert_eq!(kind_of(&line(r#"{"event":"session_ended"}"#)), Some(NotifyKind::Status));
        assert_eq!(kind_of(&line(r#"{"event":"ended","severity":"warn"}"#)), None);
    }
}
