#!/usr/bin/env bash
# Set-up, then every test (unit, integration on real models and media), in release: the tests touch pixels.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "==> running the test suite (cargo test --release)"
cargo test --release
