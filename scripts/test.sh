#!/usr/bin/env bash
# Set-up (with the headless browser the live view's tests drive), then every test (unit, integration on
# real models and media), in release: the tests touch pixels.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh" --with-browser
cd "$ROOT"
echo "==> running the test suite (cargo test --release)"
cargo test --release
