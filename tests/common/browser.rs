//! A real headless Chromium driven through ChromeDriver (Debian's `chromium` and `chromium-driver`,
//! installed by `scripts/test.sh`), and a plain HTTP/1.1 client on std's TCP, for the live view's tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// An HTTP response: status, headers (names lower-cased) and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a fresh connection to `addr` (`host:port`); `host` is what the `Host` header says.
pub fn request(
    method: &str,
    addr: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader);
    // By the length the server announces: not every server closes the connection when asked to.
    let length = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = match (length, chunked) {
        (Some(n), _) => {
            let mut body = vec![0u8; n];
            reader.read_exact(&mut body).unwrap();
            body
        }
        (None, true) => read_chunked(&mut reader),
        (None, false) => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body).unwrap();
            body
        }
    };
    Reply { status, headers, body }
}

/// Reads the status line and headers of a response.
pub fn read_head(reader: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status =
        line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not HTTP: {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (status, headers)
}

fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = out.len();
        out.resize(start + size, 0);
        reader.read_exact(&mut out[start..]).unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap(); // the chunk's closing CRLF
    }
}

/// A free port on loopback, for ChromeDriver.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium. Missing: a clear failure under CI (`CI=true`), else
    /// `None` with a printed note.
    pub fn start() -> Option<Browser> {
        let missing: Vec<&str> =
            ["/usr/bin/chromium", "/usr/bin/chromedriver"].into_iter().filter(|p| !Path::new(p).exists()).collect();
        if !missing.is_empty() {
            let message = format!(
                "{} missing: the browser tests need Debian's chromium and chromium-driver (scripts/test.sh installs them)",
                missing.join(" and ")
            );
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{message}");
            }
            eprintln!("NOT TESTED: {message}");
            return None;
        }
        let port = free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = TcpStream::connect(&addr).is_ok()
                && serde_json::from_slice::<Value>(&request("GET", &addr, &addr, "/status", &[], None).body)
                    .is_ok_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready in 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        // The flags that keep Chromium from reaching for the network at start (refused here, and slow).
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .into_iter()
        .map(String::from)
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args }
        }}});
        let mut browser = Browser { driver, addr, session: String::new(), _profile: profile };
        let created = browser.call("POST", "/session", Some(caps));
        browser.session = created["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_string();
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string());
        let reply = request(method, &self.addr, &self.addr, path, &[], body.as_deref());
        let value: Value =
            serde_json::from_slice(&reply.body).unwrap_or_else(|e| panic!("chromedriver: {e}: {}", reply.text()));
        assert!(reply.status == 200, "chromedriver {method} {path}: {} {value}", reply.status);
        value["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", &format!("/session/{}/url", self.session), Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body: `return ...`) in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &format!("/session/{}/execute/sync", self.session),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Polls `script` until it returns something truthy; fails after `timeout` saying `what` was awaited.
    pub fn wait_for(&self, script: &str, timeout: Duration, what: &str) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.eval(script);
            let truthy = !(v.is_null() || v == false || v == 0 || v == "");
            if truthy {
                return v;
            }
            assert!(Instant::now() < deadline, "the page did not show {what} within {timeout:?} (last: {v})");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks the element `css` selects, as a user would (the driver scrolls it into view).
    pub fn click(&self, css: &str) {
        let element = self.call(
            "POST",
            &format!("/session/{}/element", self.session),
            Some(json!({ "using": "css selector", "value": css })),
        );
        let id = element.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).expect("an element id");
        self.call("POST", &format!("/session/{}/element/{id}/click", self.session), Some(json!({})));
    }

    /// Drags the mouse over the element `css` selects, from `from` to `to` (fractions of its width and
    /// height), through real pointer input.
    pub fn drag(&self, css: &str, from: (f64, f64), to: (f64, f64)) {
        let rect = self.eval(&format!(
            "const r = document.querySelector({css:?}).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]"
        ));
        let r: Vec<f64> = rect.as_array().expect("a rectangle").iter().map(|v| v.as_f64().unwrap()).collect();
        let at =
            |(fx, fy): (f64, f64)| (json!((r[0] + fx * r[2]).round() as i64), json!((r[1] + fy * r[3]).round() as i64));
        let ((x0, y0), (x1, y1)) = (at(from), at(to));
        let mid = at(((from.0 + to.0) / 2.0, (from.1 + to.1) / 2.0));
        let actions = json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [
                { "type": "pointerMove", "origin": "viewport", "x": x0, "y": y0 },
                { "type": "pointerDown", "button": 0 },
                { "type": "pointerMove", "origin": "viewport", "x": mid.0, "y": mid.1, "duration": 100 },
                { "type": "pointerMove", "origin": "viewport", "x": x1, "y": y1, "duration": 100 },
                { "type": "pointerUp", "button": 0 }
            ]
        }]});
        self.call("POST", &format!("/session/{}/actions", self.session), Some(actions));
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let b64 = self.call("GET", &format!("/session/{}/screenshot", self.session), None);
        base64::engine::general_purpose::STANDARD.decode(b64.as_str().expect("base64 text")).expect("a base64 PNG")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request("DELETE", &self.addr, &self.addr, &format!("/session/{}", self.session), &[], None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
