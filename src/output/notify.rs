//! Alerts that leave the terminal: each chosen event line (the very line `events.jsonl` gets) POSTed as
//! JSON to the `[notify] webhook`, published to the `[notify] mqtt` broker and shown as a desktop
//! notification (`[notify] desktop`), from a thread of its own, so a slow or dead receiver never slows supervision. A failed delivery is retried and said on
//! stderr; at the session's end the sink waits a little for what is still queued (the stop above all),
//! then leaves it, saying so.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde_json::Value;

use super::event_log::EventLines;
use crate::error::Result;
use crate::pipeline::{AnalysedFrame, RunEnd, RunStart, Sink};
use crate::session::controller::SessionConfig;
use crate::session::notify::{NotifyConfig, NotifyKind, broker_address};

/// Lines waiting for delivery; beyond this many, new ones are dropped (and counted) rather than let a
/// dead receiver hold memory or time.
const QUEUE: usize = 64;

/// How long the end of a session waits for the queue to drain.
const FINISH_WAIT: Duration = Duration::from_secs(10);

/// The notifiers, as a pipeline sink.
pub struct NotifySink {
    lines: EventLines,
    send: Vec<NotifyKind>,
    /// What the notifiers are, for messages.
    url: String,
    queue: Option<Sender<Value>>,
    /// Closed by the delivery thread when it has sent (or given up on) everything.
    drained: Receiver<()>,
    dropped: usize,
}

impl NotifySink {
    /// The notifiers `config` asks for, or `None` when it names none.
    pub fn new(config: &NotifyConfig, session: &SessionConfig) -> Option<NotifySink> {
        let webhook = config.webhook.clone().map(|url| {
            let timeout = Some(Duration::from_secs_f64(config.timeout_s));
            let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(timeout).build().into();
            (agent, url)
        });
        let mqtt = config.mqtt.as_deref().and_then(|address| Mqtt::connect(address, &config.mqtt_topic));
        let desktop = config.desktop;
        if webhook.is_none() && mqtt.is_none() && !desktop {
            return None;
        }
        let names: Vec<String> = webhook
            .iter()
            .map(|(_, url)| url.clone())
            .chain(config.mqtt.clone())
            .chain(desktop.then(|| "the desktop".to_string()))
            .collect();
        let (queue, pending) = crossbeam_channel::bounded::<Value>(QUEUE);
        let (done, drained) = crossbeam_channel::bounded::<()>(0);
        let retries = config.retries;
        // The desktop on a thread of its own: a session without a notification service must not hold up
        // the webhook's and the broker's lines while it retries.
        let (to_desktop, for_desktop) = crossbeam_channel::bounded::<Value>(QUEUE);
        let desktop = desktop.then(|| {
            std::thread::spawn(move || {
                for line in for_desktop.iter() {
                    show_on_desktop(&line, retries);
                }
            })
        });
        std::thread::spawn(move || {
            for line in pending.iter() {
                if let Some((agent, url)) = &webhook {
                    deliver(agent, url, &line, retries);
                }
                if let Some(mqtt) = &mqtt {
                    mqtt.publish(&line);
                }
                if desktop.is_some() {
                    let _ = to_desktop.try_send(line.clone());
                }
            }
            if let Some(mqtt) = mqtt {
                mqtt.close();
            }
            drop(to_desktop);
            if let Some(desktop) = desktop {
                let _ = desktop.join();
            }
            drop(done);
        });
        let lines = EventLines::new(session);
        let url = names.join(" and ");
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

/// POSTs one line.
fn deliver(agent: &ureq::Agent, url: &str, line: &Value, retries: u32) {
    with_retries(line, url, retries, || {
        agent.post(url).header("Content-Type", "application/json").send(line.to_string()).map(drop)
    });
}

/// Runs `send` with `retries` further tries 0.5 s, 1 s, 2 s... apart; a failure is said, never raised.
fn with_retries<E: std::fmt::Display>(line: &Value, to: &str, retries: u32, mut send: impl FnMut() -> Result<(), E>) {
    let event = line["event"].as_str().unwrap_or("event");
    let mut pause = Duration::from_millis(500);
    for attempt in 0..=retries {
        match send() {
            Ok(()) => return,
            Err(e) if attempt < retries => {
                eprintln!("chaperone: notify: the `{event}` line did not reach {to} ({e}); trying again");
                std::thread::sleep(pause);
                pause *= 2;
            }
            Err(e) => eprintln!("chaperone: notify: gave up sending the `{event}` line to {to}: {e}"),
        }
    }
}

/// A line as a desktop notification (freedesktop, over the session's D-Bus): a stop is critical and
/// stays until dismissed.
fn show_on_desktop(line: &Value, retries: u32) {
    let Some((summary, body, critical)) = desktop_words(line) else { return };
    let mut note = notify_rust::Notification::new();
    note.appname("chaperone").summary(&summary).body(&body).icon("dialog-warning");
    #[cfg(all(unix, not(target_os = "macos")))]
    note.urgency(if critical { notify_rust::Urgency::Critical } else { notify_rust::Urgency::Normal });
    if critical {
        note.timeout(notify_rust::Timeout::Never);
    }
    with_retries(line, "the desktop (is a notification service running in this session?)", retries, || {
        note.show().map(drop)
    });
}

/// The notification's title and text, and whether it is critical.
fn desktop_words(line: &Value) -> Option<(String, String, bool)> {
    let text = |key: &str| line[key].as_str().unwrap_or("").to_string();
    let seconds = |key: &str| line[key].as_f64().unwrap_or(0.0);
    Some(match line["event"].as_str()? {
        "stop" => ("chaperone: SESSION STOPPED".into(), text("words"), true),
        "confirmed" => {
            let severity = text("severity");
            let title = match severity.as_str() {
                "stop" => "chaperone: STOP".to_string(),
                "warn" => "chaperone: warning".to_string(),
                _ => "chaperone: reward the cat".to_string(),
            };
            let body = format!("{} ({}) at {:.1} s", text("behaviour"), text("animal"), seconds("confirmed_s"));
            (title, body, severity == "stop")
        }
        "session_started" => ("chaperone: session started".into(), text("source"), false),
        "session_ended" => ("chaperone: session ended".into(), text("outcome").replace('_', " "), false),
        "camera_reconnected" => {
            ("chaperone: camera back".into(), format!("after {:.1} s without frames", seconds("silent_s")), false)
        }
        _ => return None,
    })
}

/// An MQTT broker told in Frigate's style: each line on `TOPIC/events`; `TOPIC/status` retained,
/// `online` while the session runs and `offline` after it, or as the broker's last will when this
/// program dies without saying goodbye.
struct Mqtt {
    client: rumqttc::Client,
    events: String,
    status: String,
    address: String,
    /// Closed when the connection's thread ends.
    closed: Receiver<()>,
}

impl Mqtt {
    fn connect(address: &str, prefix: &str) -> Option<Mqtt> {
        use rumqttc::{Event, LastWill, MqttOptions, Outgoing, QoS};
        let (host, port) = broker_address(address)?;
        let (events, status) = (format!("{prefix}/events"), format!("{prefix}/status"));
        let mut options = MqttOptions::new(format!("chaperone-{}", std::process::id()), host, port);
        options.set_keep_alive(Duration::from_secs(5));
        options.set_last_will(LastWill::new(&status, "offline", QoS::AtLeastOnce, true));
        let (client, mut connection) = rumqttc::Client::new(options, QUEUE);
        let (done, closed) = crossbeam_channel::bounded::<()>(0);
        let broker = address.to_string();
        // The connection makes progress only while it is polled; it reconnects by itself after an error.
        // After the goodbye it is polled on until the broker closes it, so the goodbye is surely sent.
        std::thread::spawn(move || {
            let (mut down, mut leaving) = (false, false);
            for event in connection.iter() {
                match event {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => leaving = true,
                    Ok(_) => down = false,
                    Err(_) if leaving => break,
                    Err(e) => {
                        if !down {
                            eprintln!("chaperone: notify: MQTT broker {broker}: {e}; trying again");
                        }
                        down = true;
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
            drop(done);
        });
        let mqtt = Mqtt { client, events, status, address: address.to_string(), closed };
        mqtt.say_status("online");
        Some(mqtt)
    }

    fn say_status(&self, status: &str) {
        if let Err(e) = self.client.try_publish(&self.status, rumqttc::QoS::AtLeastOnce, true, status) {
            eprintln!("chaperone: notify: cannot publish `{status}` to {}: {e}", self.address);
        }
    }

    fn publish(&self, line: &Value) {
        let published = self.client.try_publish(&self.events, rumqttc::QoS::AtLeastOnce, false, line.to_string());
        if let Err(e) = published {
            let event = line["event"].as_str().unwrap_or("event");
            eprintln!("chaperone: notify: cannot publish the `{event}` line to {}: {e}", self.address);
        }
    }

    /// `offline`, then a clean goodbye (so the broker does not send the last will), waiting a moment
    /// for the connection to flush.
    fn close(self) {
        self.say_status("offline");
        let _ = self.client.disconnect();
        let _ = self.closed.recv_timeout(Duration::from_secs(3));
    }
}

impl Sink for NotifySink {
    fn begin(&mut self, start: &RunStart) -> Result<()> {
        let lines = self.lines.start(start);
        self.offer(lines);
        Ok(())
    }

    fn frame(&mut self, a: &AnalysedFrame) -> Result<bool> {
        let lines = self.lines.frame(a);
        self.offer(lines);
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
