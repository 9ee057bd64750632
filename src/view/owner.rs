//! What the owner does from the page during a live session: draw the enclosure and shelters on the
//! picture (saved into the config file, keeping its comments, and in force from the next frame),
//! acknowledge what the page shows, and end the session as Ctrl-C would.
//!
//! - `GET /api/zones`: the zones in force, the file they are saved to, and whether they may be edited;
//! - `POST /api/zones`: new zones (JSON, as `GET` gives them);
//! - `POST /api/acknowledge`: `{"what": "..."}`, logged as an `acknowledged` event;
//! - `POST /api/end`: `{}`, ends the session, writing everything observed.
//!
//! Every `POST` takes a JSON body, so a page elsewhere cannot send one without the browser asking this
//! server first (which it refuses); the guard also refuses a foreign `Origin`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crossbeam_channel::Sender;
use serde::Deserialize;

use super::Shared;
use crate::config;
use crate::pipeline::OwnerInput;
use crate::session::supervisor;
use crate::zones::Zones;

/// What the page may change in a running session.
#[derive(Debug, Clone)]
pub struct OwnerControls {
    /// The config file the zones are saved into (made when missing).
    pub config_file: PathBuf,
    /// The zones in force.
    pub zones: Zones,
    /// `roles.enclosure_margin`, for the warnings.
    pub enclosure_margin: f32,
    /// To the pipeline: what the owner did, for the next frame.
    pub inputs: Sender<OwnerInput>,
}

fn refused(status: StatusCode, message: String) -> Response {
    (status, format!("{message}\n")).into_response()
}

fn not_live() -> Response {
    refused(
        StatusCode::CONFLICT,
        "no live session is running: zones are drawn, and sessions ended, while one runs".into(),
    )
}

pub(super) async fn get_zones(State(shared): State<Arc<Shared>>) -> Response {
    let controls = shared.controls();
    let body = match controls.as_ref() {
        Some(c) => serde_json::json!({
            "editable": true,
            "file": c.config_file.display().to_string(),
            "zones": c.zones,
            "warnings": c.zones.warnings(c.enclosure_margin),
        }),
        None => serde_json::json!({ "editable": false }),
    };
    Json(body).into_response()
}

pub(super) async fn put_zones(State(shared): State<Arc<Shared>>, Json(zones): Json<Zones>) -> Response {
    let mut controls = shared.controls();
    let Some(c) = controls.as_mut() else { return not_live() };
    let checks = zones
        .enclosure
        .iter()
        .map(|a| a.check("the enclosure"))
        .chain(zones.shelters.iter().enumerate().map(|(i, s)| s.area.check(&format!("shelter {}", i + 1))));
    if let Some(Err(e)) = checks.into_iter().find(Result::is_err) {
        return refused(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
    }
    if let Err(e) = config::save_zones(&c.config_file, &zones) {
        return refused(StatusCode::INTERNAL_SERVER_ERROR, format!("the zones were not saved: {e}"));
    }
    if c.inputs.send(OwnerInput::Zones(zones.clone())).is_err() {
        return refused(StatusCode::CONFLICT, "saved, but the session has ended: they hold from the next one".into());
    }
    eprintln!(
        "live view: zones saved to {} ({}), in force from the next frame",
        c.config_file.display(),
        describe(&zones)
    );
    let warnings = zones.warnings(c.enclosure_margin);
    c.zones = zones;
    Json(serde_json::json!({ "file": c.config_file.display().to_string(), "warnings": warnings })).into_response()
}

fn describe(zones: &Zones) -> String {
    let names: Vec<String> = zones.named().iter().map(|z| z.label()).collect();
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

#[derive(Deserialize)]
pub(super) struct Acknowledgement {
    what: String,
}

pub(super) async fn acknowledge(State(shared): State<Arc<Shared>>, Json(a): Json<Acknowledgement>) -> Response {
    let controls = shared.controls();
    let Some(c) = controls.as_ref() else { return not_live() };
    let what: String = a.what.chars().take(500).collect();
    match c.inputs.send(OwnerInput::Acknowledge { what }) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => not_live(),
    }
}

pub(super) async fn end(State(shared): State<Arc<Shared>>, Json(_): Json<serde_json::Value>) -> Response {
    if shared.controls().is_none() {
        return not_live();
    }
    if !supervisor::interrupt() {
        eprintln!("\nlive view: the owner ended the session; writing what was observed");
    }
    StatusCode::NO_CONTENT.into_response()
}
