//! The live view, in a real headless Chromium: the page loads, shows frames that change and the status,
//! and raises its alarm with the last frames when a replayed session stops; beyond loopback, requests
//! without the printed token are refused. Also the MJPEG stream and the timeline pictures.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::browser::{Browser, read_head, request};

/// Real-time sessions share two cores: one at a time.
static ONE_SESSION_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A `chaperone live` (or other) run in the background, its stderr read line by line; killed if the test
/// fails.
struct Session {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Session {
    fn start(args: &[&str], data_dir: &Path) -> Session {
        Session::start_command("live", args, data_dir)
    }

    /// A 60 s real-time session on `clip`, its view on a free loopback port, written to `out`.
    fn watched(clip: &Path, out: &Path, more: &[&str], data_dir: &Path) -> Session {
        let (clip, out) = (clip.to_str().unwrap(), out.to_str().unwrap());
        let view = ["--view", "--view-addr", "127.0.0.1:0"];
        let args = ["--source", clip, "--realtime", "--duration", "60", "--no-sound", "--no-history", "--out", out];
        Session::start(&[&args[..], &view, more].concat(), data_dir)
    }

    fn start_command(command: &str, args: &[&str], data_dir: &Path) -> Session {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chaperone"))
            .current_dir(common::repo())
            .env("CHAPERONE_DATA_DIR", data_dir)
            .arg(command)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Session { child, lines, seen: Vec::new() }
    }

    /// The first stderr line containing `needle`.
    fn line_with(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line with {needle:?} in {timeout:?}; stderr so far:\n{}", self.seen.join("\n"));
    }

    /// The view's address: `(host:port to connect to, full URL printed)`.
    fn view_url(&mut self) -> (String, String) {
        let line = self.line_with("live view", Duration::from_secs(30));
        let url = line.split_whitespace().find(|w| w.starts_with("http://")).expect("a URL").to_string();
        let port =
            url.trim_start_matches("http://").split(['/', '?']).next().unwrap().rsplit(':').next().unwrap().to_string();
        (format!("127.0.0.1:{port}"), url)
    }

    fn wait(mut self, timeout: Duration) -> (Option<i32>, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                self.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return (status.code(), format!("{out}\n{}", self.seen.join("\n")));
            }
            assert!(Instant::now() < deadline, "the session did not end within {timeout:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_page_shows_changing_frames_and_an_unmissable_stop_with_the_last_frames() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(browser) = Browser::start() else { return };
    let work = tempfile::tempdir().unwrap();
    let dash = common::dash_clip(work.path());
    let out = work.path().join("session");
    let mut session = Session::watched(&dash, &out, &[], work.path());
    let (addr, url) = session.view_url();
    assert!(url.starts_with("http://127.0.0.1:") && !url.contains("token"), "loopback needs no token: {url}");

    // A page elsewhere cannot reach the view through a name pointed at loopback.
    let rebound = request("GET", &addr, "evil.example:80", "/api/state", &[], None);
    assert_eq!(rebound.status, 403, "{}", rebound.text());

    browser.goto(&url);
    assert_eq!(browser.eval("return document.title"), "chaperone");
    // Frames that change: the page counts the frames it has shown and names the newest.
    let first = browser.wait_for(
        "return Number(document.body.dataset.frames || 0) >= 2 && document.getElementById('frame-info').textContent",
        Duration::from_secs(40),
        "two frames",
    );
    let later = browser.wait_for(
        &format!("const t = document.getElementById('frame-info').textContent; return t !== {first} && t"),
        Duration::from_secs(10),
        "a newer frame",
    );
    assert!(later.as_str().unwrap().starts_with("frame "), "{later}");
    // The status panel is live: a frame rate, a latency, the cat seen.
    browser.wait_for(
        "return /ms$/.test(document.getElementById('latency').textContent) && document.getElementById('cat').textContent !== '-'",
        Duration::from_secs(10),
        "the latency and the cat's state",
    );

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(artifacts.join("view-live.png"), browser.screenshot()).unwrap();

    // The dash: the session stops, and the page says so in a way nobody can miss.
    let stopped = browser.wait_for("return document.body.dataset.stopped", Duration::from_secs(40), "the stop");
    assert_eq!(stopped, "approach");
    let alarm = browser.eval(
        "const a = document.getElementById('alarm'); const r = a.getBoundingClientRect();
         return { display: getComputedStyle(a).display,
                  covers: r.left <= 0 && r.top <= 0 && r.right >= document.documentElement.clientWidth && r.bottom >= document.documentElement.clientHeight,
                  reason: document.getElementById('alarm-reason').textContent, title: document.title }",
    );
    assert_eq!(alarm["display"], "block", "{alarm}");
    assert_eq!(alarm["covers"], true, "it covers the whole window: {alarm}");
    assert!(alarm["reason"].as_str().unwrap().contains("the cat approached the rat fast"), "{alarm}");
    assert!(alarm["title"].as_str().unwrap().starts_with("STOPPED"), "{alarm}");
    // The last frames before the stop, kept in the page.
    let shown = browser.wait_for(
        "const imgs = [...document.querySelectorAll('#filmstrip img')];
         return imgs.length >= 2 && imgs.every(i => i.complete && i.naturalWidth > 0) && imgs.length",
        Duration::from_secs(10),
        "the last frames before the stop",
    );
    assert!(shown.as_u64().unwrap() <= 8, "{shown}");
    let events = browser.eval("return document.getElementById('events').textContent");
    assert!(events.as_str().unwrap().contains("SESSION STOPPED"), "the stop is in the events: {events}");

    let png = browser.screenshot();
    let artifact = artifacts.join("view-stop.png");
    std::fs::write(&artifact, &png).unwrap();
    eprintln!("screenshot of the stopped session: {}", artifact.display());
    let shot = image::load_from_memory(&png).unwrap().to_rgb8();
    let red = shot.pixels().filter(|p| p[0] > 120 && p[1] < 60 && p[2] < 60).count();
    assert!(red * 3 > shot.pixels().count(), "the alarm fills the screen with red ({red} red pixels)");

    // The program ends once the page has what it needs, with the stop's exit code.
    let (code, output) = session.wait(Duration::from_secs(30));
    assert_eq!(code, Some(3), "{output}");
    for name in ["timeline.png", "timeline.svg", "events.jsonl", "summary.json"] {
        assert!(out.join(name).is_file(), "{name} written");
    }
    let svg = std::fs::read_to_string(out.join("timeline.svg")).unwrap();
    assert!(svg.contains("STOPPED: approach") && svg.contains("cat: fast approach"), "the timeline marks the stop");
    // With the view on, the clips take the view encoder's frames: the stop's clip still holds the
    // seconds before the stop.
    let (seconds, frames) = common::video_length(&out.join("stop.mp4"));
    assert!(seconds >= 2.0 && frames >= 10, "stop.mp4: {seconds:.2} s, {frames} frames");
}

#[test]
fn beyond_loopback_the_view_refuses_requests_without_the_token() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let demo = common::generated("demo-meeting.mp4");
    let mut session = Session::start(
        &[
            "--source",
            demo.to_str().unwrap(),
            "--realtime",
            "--duration",
            "6",
            "--no-sound",
            "--no-history",
            "--view-addr",
            "0.0.0.0:0",
            "--out",
            work.path().join("session").to_str().unwrap(),
        ],
        work.path(),
    );
    let (addr, url) = session.view_url();
    let token = url.split("token=").nth(1).unwrap_or_else(|| panic!("the printed address carries a token: {url}"));
    // The address as a QR code for the phone: rows of half blocks, all of one width.
    session.line_with("scan it with the phone", Duration::from_secs(5));
    let rows: Vec<String> = (0..8).map(|_| session.line_with("", Duration::from_secs(5))).collect();
    let width = rows[0].chars().count();
    assert!(width > 20 && rows.iter().all(|r| r.chars().count() == width), "{rows:#?}");
    assert!(rows.iter().any(|r| r.contains('▀') || r.contains('▄')), "{rows:#?}");
    assert_eq!(token.len(), 32, "128 random bits: {token}");
    let host = addr.as_str();

    let refused = request("POST", host, host, "/api/end", &[], Some("{}"));
    assert_eq!(refused.status, 401, "ending the session needs the token too: {}", refused.text());
    for path in ["/", "/api/state", "/api/frame?after=0", "/stream.mjpg", "/api/state?token=0123", "/api/zones"] {
        let refused = request("GET", host, host, path, &[], None);
        assert_eq!(refused.status, 401, "{path} without the token: {}", refused.text());
        assert!(refused.text().contains("access token"), "says why: {}", refused.text());
    }
    // A wrong token of the right length (the last character changed) is as wrong as none, in the query
    // and as a Bearer token.
    let last = token.chars().last().unwrap();
    let near_miss = format!("{}{}", &token[..token.len() - 1], if last == '0' { '1' } else { '0' });
    let refused = request("GET", host, host, &format!("/api/state?token={near_miss}"), &[], None);
    assert_eq!(refused.status, 401, "a wrong token of the right length: {}", refused.text());
    let wrong_bearer = format!("Bearer {near_miss}");
    let refused = request("GET", host, host, "/api/state", &[("Authorization", &wrong_bearer)], None);
    assert_eq!(refused.status, 401, "a wrong Bearer token: {}", refused.text());
    let page = request("GET", host, host, &format!("/?token={token}"), &[], None);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<title>chaperone</title>"));
    let bearer = format!("Bearer {token}");
    // The view is up while the models load; the session shows in it once it starts.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let state = request("GET", host, host, "/api/state", &[("Authorization", &bearer)], None);
        assert_eq!(state.status, 200, "{}", state.text());
        let state: serde_json::Value = serde_json::from_slice(&state.body).unwrap();
        if state["mode"] == "live" {
            break;
        }
        assert!(Instant::now() < deadline, "the session never showed in the view: {state}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The MJPEG stream: parts that are JPEG frames, one after another.
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "GET /stream.mjpg?token={token} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader);
    assert_eq!(status, 200);
    let kind = headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.clone()).unwrap_or_default();
    assert!(kind.starts_with("multipart/x-mixed-replace"), "{kind}");
    let mut times = Vec::new();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    while times.len() < 2 {
        let n = reader.read(&mut chunk).unwrap();
        assert!(n > 0, "the stream ended early");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        times = text
            .match_indices("X-Frame-Time: ")
            .map(|(i, _)| text[i + 14..].split('\r').next().unwrap().to_string())
            .collect();
    }
    assert_ne!(times[0], times[1], "the stream moves on: {times:?}");
    let jpeg_start = buf.windows(3).filter(|w| w == &[0xFF, 0xD8, 0xFF]).count();
    assert!(jpeg_start >= 1, "JPEG frames in the parts");
    drop(reader);

    let (code, output) = session.wait(Duration::from_secs(60));
    assert_eq!(code, Some(0), "the calm demo completes: {output}");
}

/// `analyze --view`: the same view serves a batch analysis while it runs: its state says `analyze` and
/// names the video, annotated JPEG frames come, and the analysis still writes all it writes.
#[test]
fn analyze_with_the_view_serves_the_analysis_while_it_runs() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let demo = common::generated("demo-meeting.mp4");
    let args = [demo.to_str().unwrap(), "--view", "--no-video", "--out", out.to_str().unwrap()];
    let mut run = Session::start_command("analyze", &args, work.path());
    let (host, _) = run.view_url();
    let deadline = Instant::now() + Duration::from_secs(40);
    let state = loop {
        let reply = request("GET", &host, &host, "/api/state", &[], None);
        assert_eq!(reply.status, 200, "{}", reply.text());
        let state: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        if state["mode"] == "analyze" {
            break state;
        }
        assert!(Instant::now() < deadline, "the analysis never showed in the view: {state}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(state["source"].to_string().contains("demo-meeting.mp4"), "{state}");
    let frame = request("GET", &host, &host, "/api/frame", &[], None);
    assert_eq!(frame.status, 200, "a frame while it runs");
    assert!(frame.body.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
    let (code, output) = run.wait(Duration::from_secs(90));
    assert_eq!(code, Some(0), "{output}");
    assert!(out.join("demo-meeting/summary.json").is_file() && out.join("demo-meeting/events.jsonl").is_file());
}

/// The owner's controls in a real browser: a shelter dragged on the picture is saved into the config
/// file with its comments intact and shows on the next frames; a warning acknowledged and the zones
/// changed are logged; "end session" ends it like Ctrl-C, with the summary written. Changes from a
/// page elsewhere are refused.
#[test]
fn a_shelter_drawn_on_the_page_is_saved_shown_and_the_page_ends_the_session() {
    let _one = ONE_SESSION_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some(browser) = Browser::start() else { return };
    let work = tempfile::tempdir().unwrap();
    let calm = common::calm_clip(work.path(), 40);
    let config = work.path().join("room.toml");
    let original = "# the owner's notes about the room\n[roles]\ncat_min_family = 0.3 # kept as it was\n";
    std::fs::write(&config, original).unwrap();
    let out = work.path().join("session");
    let mut session = Session::watched(&calm, &out, &["--config", config.to_str().unwrap()], work.path());
    let (addr, url) = session.view_url();
    browser.goto(&url);
    browser.wait_for("return document.body.dataset.frames >= 2", Duration::from_secs(40), "frames");
    browser.wait_for(
        "return !document.getElementById('zones-panel').hidden && document.body.dataset.zones === '0'",
        Duration::from_secs(10),
        "the zone editor, with no zone yet",
    );

    // A page elsewhere cannot change anything.
    let foreign = request("POST", &addr, &addr, "/api/end", &[("Origin", "http://evil.example")], Some("{}"));
    assert_eq!(foreign.status, 403, "{}", foreign.text());

    // Draw the shelter "tube" on the picture's lower left, with the mouse.
    browser.eval("document.getElementById('zone-name').value = 'tube'; return true");
    browser.click("#draw-shelter");
    browser.drag("#overlay", (0.1, 0.6), (0.3, 0.9));
    browser.wait_for("return document.body.dataset.zonesSaved === '1'", Duration::from_secs(10), "the zone saved");
    let saved = std::fs::read_to_string(&config).unwrap();
    assert!(saved.starts_with(original), "the owner's file is kept as it was, the shelter added:\n{saved}");
    let parsed: toml::Value = toml::from_str(&saved).unwrap();
    let shelter = &parsed["behaviour"]["hiding"]["shelters"][0];
    assert_eq!(shelter["name"].as_str(), Some("tube"), "{saved}");
    let area: Vec<f64> = shelter["area"].as_array().unwrap().iter().map(|v| v.as_float().unwrap()).collect();
    for (got, want) in area.iter().zip([0.1, 0.6, 0.3, 0.9]) {
        assert!((got - want).abs() < 0.01, "the rectangle dragged: {area:?}");
    }
    assert!(browser.eval("return document.getElementById('zone-list').textContent").to_string().contains("tube"));

    // The next frames show it: the shelter's green outline along its top edge (y = 0.6 of the frame).
    let outline_seen = |jpeg: &[u8]| {
        let frame = image::load_from_memory(jpeg).unwrap().to_rgb8();
        let (w, h) = frame.dimensions();
        let y = (0.6 * h as f64) as u32;
        let xs = (w * 15 / 100)..(w * 25 / 100);
        let n = xs.len();
        let green = xs
            .filter(|&x| {
                (0..2).any(|dy| {
                    let p = frame.get_pixel(x, y + dy);
                    p[1] > 150 && p[1] > p[0] + 60 && p[1] > p[2] + 40
                })
            })
            .count();
        green * 10 >= n * 9
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let frame = request("GET", &addr, &addr, "/api/frame", &[], None);
        if frame.status == 200 && outline_seen(&frame.body) {
            break;
        }
        assert!(Instant::now() < deadline, "no frame showed the shelter drawn");
        std::thread::sleep(Duration::from_millis(200));
    }

    // An acknowledgement (what the page's button sends), then the end, by the page's button: two clicks.
    let ack = request("POST", &addr, &addr, "/api/acknowledge", &[], Some(r#"{"what": "the rat is freezing"}"#));
    assert_eq!(ack.status, 204, "{}", ack.text());
    browser.click("#end-session");
    browser.click("#end-session");
    let (code, output) = session.wait(Duration::from_secs(30));
    assert_eq!(code, Some(0), "ended by the owner, like Ctrl-C: {output}");
    assert!(output.contains("the owner ended the session"), "{output}");
    let events = common::events(&out.join("events.jsonl"));
    let of = |kind: &str| events.iter().find(|e| e["event"] == kind).unwrap_or_else(|| panic!("no {kind}: {events:?}"));
    assert_eq!(of("zones_changed")["zones"]["shelters"][0]["name"], "tube");
    assert_eq!(of("acknowledged")["what"], "the rat is freezing");
    assert_eq!(of("session_ended")["outcome"], "interrupted");
    assert!(out.join("summary.json").is_file());
    let _ = std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join("view-zones.png"), browser.screenshot());
}
