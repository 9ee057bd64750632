#!/usr/bin/env bash
# Set-up, then the main job on the bundled default input: `chaperone analyze` on a rendered meeting.
# Output lands in out/demo-meeting/ (git-ignored): tracks.csv, annotated.mp4, summary.json.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "==> chaperone analyze fixtures/generated/demo-meeting.mp4 --out out"
target/release/chaperone analyze fixtures/generated/demo-meeting.mp4 --out out
echo "==> results in out/demo-meeting/: tracks.csv, annotated.mp4, summary.json"
