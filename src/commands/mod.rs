//! The subcommands, one module each: the command line's arguments for it (`Args`, parsed by clap in
//! `main.rs`) and its `run`, which does the work through the library and prints what a person reads.
//! Each returns how the program should exit ([`Exit`]).

pub mod analyze;
pub mod analyze_tracks;
pub mod bench;
pub mod cameras;
pub mod detect;
pub mod eval;
pub mod history;
pub mod labels;
pub mod live;
pub mod render;
pub mod report;
pub mod signals;
pub mod tune;
pub mod zones;

use std::path::PathBuf;

use crate::config::Config;
use crate::error::Result;
use crate::view::ViewServer;

/// How the program ends; the codes are documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// A fatal problem (bad config, missing model or runtime, unreadable input), or some inputs failed.
    Failed,
    /// `live`: the session stopped because of an animal's behaviour.
    Stopped,
    /// `live`: the session stopped because it could not supervise (camera lost, an animal unseen,
    /// overload, the model failing).
    Fault,
    /// Ended by a signal (SIGTERM, SIGHUP; Ctrl-C during `analyze`), after writing what was observed:
    /// 128 + the signal's number, as a shell reports it.
    Signalled(signals::Ending),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Stopped => 3,
            Exit::Fault => 4,
            Exit::Signalled(ending) => ending.exit_code(),
        }
    }
}

#[derive(clap::Args)]
pub struct CommonArgs {
    /// TOML config file (see README: every key is optional).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The ONNX Runtime library (overrides the config and ORT_DYLIB_PATH).
    #[arg(long, global = true, value_name = "PATH")]
    ort_lib: Option<PathBuf>,
    /// Detection model: a name in models/ or a path to an .onnx file (overrides the config).
    #[arg(long, global = true, value_name = "NAME|PATH")]
    model: Option<String>,
    /// Crop classifier: a name in models/, a path, or "none" (overrides the config).
    #[arg(long, global = true, value_name = "NAME|PATH|none")]
    classifier: Option<String>,
}

/// The config file with the command line's overrides applied.
pub fn load_config(common: &CommonArgs) -> Result<Config> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(lib) = &common.ort_lib {
        config.runtime.ort_lib = Some(lib.clone());
    }
    if let Some(model) = &common.model {
        config.detector.model = model.clone();
    }
    if let Some(classifier) = &common.classifier {
        config.detector.classifier = if classifier == "none" { String::new() } else { classifier.clone() };
    }
    config.validate()?;
    Ok(config)
}

#[derive(clap::Args)]
pub struct ViewArgs {
    /// Serve the live view: a web page with the annotated stream, the status and the events.
    #[arg(long)]
    view: bool,
    /// Where the view listens. Default 127.0.0.1:8470 (this machine only). An address beyond loopback
    /// (e.g. 0.0.0.0:8470, to watch from a phone) requires the access token printed at the start.
    #[arg(long, value_name = "IP:PORT")]
    view_addr: Option<std::net::SocketAddr>,
}

/// How long the program waits at its end for a watching browser to fetch how the run ended.
const VIEW_LINGER: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts the live view when asked (or `by_default`), and says where to open it.
fn start_view(args: &ViewArgs, wanted: bool) -> Result<Option<ViewServer>> {
    if !wanted && args.view_addr.is_none() {
        return Ok(None);
    }
    let server = match args.view_addr {
        Some(addr) => ViewServer::start(addr)?,
        None => ViewServer::start_or_any_port(crate::view::DEFAULT_ADDR.parse().expect("a valid address"))?,
    };
    if server.addr().ip().is_loopback() {
        eprintln!("live view: {} (open it in a browser on this machine)", server.url());
    } else {
        eprintln!(
            "live view on the network: {} (anyone with this address and token can watch; requests without the token are refused)",
            server.url()
        );
        if let Some(code) = qr_code(&server.url()) {
            eprintln!("scan it with the phone:\n{code}");
        }
    }
    Ok(Some(server))
}

/// `text` as a QR code of Unicode half blocks, light on dark as phones read them from a terminal.
fn qr_code(text: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(code.render::<Dense1x2>().dark_color(Dense1x2::Light).light_color(Dense1x2::Dark).quiet_zone(true).build())
}
