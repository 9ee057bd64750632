//! The layers of `src/`, held: every module imports only modules of the layers before it (the order
//! below, which is the order `lib.rs` declares them in and the README's "Architecture" draws), and no
//! files import each other in a circle. Reads the source itself, so a new `use crate::...` against the
//! flow fails here with the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules of `src/`, lowest layer first. A module may use any module before it.
const LAYERS: &[&str] = &[
    // What every stage shares.
    "error",
    "geometry",
    "kinds",
    "checks",
    "zones",
    // The stages, in the order a frame meets them.
    "runtime",
    "source",
    "detect",
    "fusion",
    "track",
    "observe",
    "behaviour",
    "session",
    "labels",
    // Composing and running them.
    "config",
    "pipeline",
    // Sinks and pictures.
    "output",
    "plot",
    "view",
    // Whole jobs, and the tools built on them.
    "runs",
    "replay",
    "scenario",
    "eval",
    "tune",
    "commands",
];

/// Imports against the order that are allowed, each for a reason given at the import itself
/// (a `// layer exception:` comment on the line above it). At most three.
const MAX_EXCEPTIONS: usize = 3;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/behaviour/engine.rs` -> `behaviour`).
fn top_module(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The file a module path names, as the key of the file graph (`behaviour::engine` -> `behaviour/engine`).
fn module_key(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap().with_extension("");
    let key = rel.to_string_lossy().replace('\\', "/");
    key.strip_suffix("/mod").unwrap_or(&key).to_string()
}

/// Every `crate::a::b...` path in the file's code (not its comments), with its line number, as the
/// module names it goes through (`{a, b}` groups expand).
fn crate_paths(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let end = tail
                .find(|c: char| {
                    !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{' || c == ',' || c == ' ' || c == '}')
                })
                .unwrap_or(tail.len());
            let path = &tail[..end];
            match path.split_once('{') {
                // `crate::{a, b}`: each item is a module.
                Some((prefix, group)) if prefix.trim().is_empty() => {
                    for item in group.trim_end_matches('}').split(',') {
                        let item = item.trim();
                        if !item.is_empty() {
                            found.push((n + 1, vec![item.split("::").next().unwrap().to_string()]));
                        }
                    }
                }
                // `crate::a::b::{C, D}`: the path before the group.
                Some((prefix, _)) => found.push((
                    n + 1,
                    prefix.split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
                )),
                None => found
                    .push((n + 1, path.split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())),
            }
            rest = &tail[end..];
        }
    }
    found
}

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

#[test]
fn lib_rs_declares_the_layers_in_order() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared: Vec<&str> =
        lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|m| m.trim_end_matches(';')).collect();
    assert_eq!(declared, LAYERS, "lib.rs must declare the modules in the layers' order");
}

#[test]
fn every_import_goes_down_the_layers() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut upward = Vec::new();
    let mut exceptions = Vec::new();
    for file in &files {
        let own = top_module(file);
        if own == "lib" || own == "main" {
            continue;
        }
        let own_rank =
            rank(&own).unwrap_or_else(|| panic!("{own} (from {}) is in no layer: add it to LAYERS", file.display()));
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (line, path) in crate_paths(&text) {
            let Some(target) = path.first() else { continue };
            let Some(target_rank) = rank(target) else {
                // `crate::Result` and the like: re-exports of layer 0.
                assert!(
                    matches!(target.as_str(), "Result" | "Error"),
                    "{}:{line}: crate::{target} is no module",
                    file.display()
                );
                continue;
            };
            if target_rank <= own_rank {
                continue;
            }
            let excused = line >= 2 && lines[line - 2].trim_start().starts_with("// layer exception:");
            let at = format!("{}:{line}: {own} uses crate::{}", file.display(), path.join("::"));
            if excused { exceptions.push(at) } else { upward.push(at) }
        }
    }
    assert!(upward.is_empty(), "imports against the layers (see LAYERS):\n{}", upward.join("\n"));
    assert!(exceptions.len() <= MAX_EXCEPTIONS, "too many layer exceptions:\n{}", exceptions.join("\n"));
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let keys: BTreeSet<String> = files.iter().map(|f| module_key(f)).collect();
    // Edges from each file to the files it names through `crate::` (a parent module declaring its child
    // is not an import, and `super::` only reaches up, so crate paths are where circles can form).
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_key(file);
        let text = std::fs::read_to_string(file).unwrap();
        for (_, path) in crate_paths(&text) {
            // The deepest file the path names: `behaviour::engine::BehaviourEngine` -> `behaviour/engine`.
            let mut target = None;
            for depth in (1..=path.len()).rev() {
                let key = path[..depth].join("/");
                if keys.contains(&key) {
                    target = Some(key);
                    break;
                }
            }
            if let Some(to) = target.filter(|to| {
                *to != from && !to.starts_with(&format!("{from}/")) && !from.starts_with(&format!("{to}/"))
            }) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            return Some(stack[at..].iter().map(|s| s.to_string()).chain([node.to_string()]).collect());
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node);
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(circle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            panic!("files that import each other in a circle: {}", circle.join(" -> "));
        }
    }
}

#[test]
fn main_is_a_thin_dispatcher() {
    let main = std::fs::read_to_string(src().join("main.rs")).unwrap();
    let lines = main.lines().count();
    assert!(lines <= 300, "main.rs has {lines} lines: the work belongs in the library's commands");
}

#[test]
fn no_function_runs_past_80_lines() {
    // Numbered-step algorithms may (the tracker's association loop reads best whole).
    const ALLOWED: &[&str] = &["track/mod.rs:update_role"];
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(src()).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let Some(after) =
                ["pub fn ", "fn ", "pub(crate) fn ", "pub(super) fn "].iter().find_map(|p| t.strip_prefix(p))
            else {
                continue;
            };
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let indent = line.len() - t.len();
            // A declaration without a body (a trait's) or a body on one line is no long function.
            let Some(sig_end) = lines[i..].iter().position(|l| {
                l.trim_end().ends_with('{') || l.trim_end().ends_with(';') || l.trim_end().ends_with('}')
            }) else {
                continue;
            };
            if !lines[i + sig_end].trim_end().ends_with('{') {
                continue;
            }
            // The body ends at the first closing brace back at the signature's indentation.
            let close = " ".repeat(indent) + "}";
            let Some(len) = lines[i..].iter().position(|l| *l == close) else { continue };
            if len > 80 && !ALLOWED.contains(&format!("{rel}:{name}").as_str()) {
                long.push(format!("src/{rel}:{}: fn {name} is {len} lines", i + 1));
            }
        }
    }
    assert!(long.is_empty(), "functions over 80 lines:\n{}", long.join("\n"));
}
