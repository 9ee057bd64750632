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
        Ok(())
    }
}
