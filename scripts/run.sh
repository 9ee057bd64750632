#!/usr/bin/env bash
# Set-up, then the main job on the bundled default input. Output lands in out/ (git-ignored).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
cd "$ROOT"
mkdir -p out
echo "==> chaperone detect fixtures/generated/chelsea.png --annotate out/chelsea.annotated.png"
target/release/chaperone detect fixtures/generated/chelsea.png --annotate out/chelsea.annotated.png
echo "==> annotated image written to out/chelsea.annotated.png"
