#!/usr/bin/env bash
# The main job, from a fresh machine: all set-up, then a labelled scenario (the cat dashing at the rat)
# rendered into a real video with the real cat and rat sprites, and analysed like any recording.
# Output lands in out/ (git-ignored): out/scenarios/dash.mp4 and, in out/dash/, tracks.csv,
# annotated.mp4, events.jsonl (the approach, as it was confirmed), summary.json and timeline.png/.svg.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/chaperone"
echo "==> chaperone render fixtures/scenarios/dash.toml --out out/scenarios"
"$BIN" render fixtures/scenarios/dash.toml --out out/scenarios
echo "==> chaperone analyze out/scenarios/dash.mp4 --out out"
"$BIN" analyze out/scenarios/dash.mp4 --out out
echo "==> results in out/dash/: tracks.csv, annotated.mp4, events.jsonl, summary.json, timeline.png, timeline.svg"
cat out/dash/events.jsonl
