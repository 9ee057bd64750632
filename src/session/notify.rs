//! Who hears of a session beyond the terminal: the `[notify]` config section. (The sink that sends is
//! `output::notify`.)

use serde::{Deserialize, Serialize};

use crate::checks;
use crate::error::{Error, Result};

/// Which event lines a notifier sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    /// The `stop` line, and episodes that stop a session.
    Stop,
    /// Episodes that warn (freezing, hiding).
    Warn,
    /// Reward cues.
    Cue,
    /// The session starting and ending, and a camera coming back.
    Status,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// An HTTP(S) URL each chosen event line is POSTed to, as JSON (an ntfy topic, a Home Assistant
    /// webhook, a relay of one's own). Unset: no webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// An MQTT broker, `HOST[:PORT]` (or `mqtt://HOST[:PORT]`, port 1883 by default), told in Frigate's
    /// style: each line on `TOPIC/events`, and `TOPIC/status` retained: `online`, then `offline` at the
    /// end or, as the broker's last will, when chaperone dies. Unset: no MQTT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<String>,
    /// The MQTT topic prefix.
    pub mqtt_topic: String,
    /// Desktop notifications (freedesktop, over the session's D-Bus): a stop stays on screen until
    /// dismissed.
    pub desktop: bool,
    /// Which lines go out.
    pub send: Vec<NotifyKind>,
    /// Further tries after a failed delivery, 0.5 s, 1 s, 2 s... apart.
    pub retries: u32,
    /// How long one delivery may take, seconds.
    pub timeout_s: f64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            webhook: None,
            mqtt: None,
            mqtt_topic: "chaperone".into(),
            desktop: false,
            send: vec![NotifyKind::Stop, NotifyKind::Warn, NotifyKind::Status],
            retries: 3,
            timeout_s: 5.0,
        }
    }
}

impl NotifyConfig {
    pub fn check(&self) -> Result<()> {
        checks::positive("notify.timeout_s", self.timeout_s)?;
        checks::within("notify.retries", self.retries as f64, 0.0..=10.0, " tries")?;
        if let Some(url) = &self.webhook
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::Config(format!("notify.webhook must be an http:// or https:// URL, got `{url}`")));
        }
        if let Some(address) = &self.mqtt
            && broker_address(address).is_none()
        {
            return Err(Error::Config(format!("notify.mqtt must be HOST or HOST:PORT (a broker), got `{address}`")));
        }
        if self.mqtt_topic.is_empty() || self.mqtt_topic.contains(['#', '+']) {
            return Err(Error::Config(format!(
                "notify.mqtt_topic must be a topic prefix without wildcards, got `{}`",
                self.mqtt_topic
            )));
        }
        Ok(())
    }
}

/// The host and port of `HOST[:PORT]` or `mqtt://HOST[:PORT]` (port 1883 when not given).
pub fn broker_address(address: &str) -> Option<(String, u16)> {
    let rest = address.strip_prefix("mqtt://").unwrap_or(address).trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (rest, 1883),
    };
    (!host.is_empty() && !host.contains(['/', ' '])).then(|| (host.to_string(), port))
}
