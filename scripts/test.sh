#!/usr/bin/env bash
# Set-up (with the headless browser the live view's tests drive), then every test (unit, integration on
# real models and media), in release: the tests touch pixels.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh" --with-browser
cd "$ROOT"

# What this clone cannot test, said before the run and again after it: the tests that need real footage
# from ../shared (and the browser) pass without testing anything when it is missing, and cargo hides the
# note each one prints. With CI=true a missing piece fails the run instead.
not_tested=()
# common::media("...") names files of ../shared/media; common::formats("...") other tools' exports in
# ../shared/formats.
for folder in media formats; do
    for file in $(grep -rhoE "$folder\(\"[^\"]+\"\)" tests | sed -E "s/$folder\(\"([^\"]+)\"\)/\1/" | sort -u); do
        [ -f "$ROOT/../shared/$folder/$file" ] && continue
        users=$(grep -rlF "$folder(\"$file\")" tests | sort | tr '\n' ' ')
        not_tested+=("real file ../shared/$folder/$file is missing: its tests in ${users% } return early")
    done
done
[ -f "$ROOT/../shared/peers/py_pipeline.py" ] || not_tested+=("../shared/peers/py_pipeline.py is missing: bench's --vs-peer test in tests/analyze.rs returns early")
# tests/labels.rs reads every export in ../shared/formats, most through a helper the grep above misses.
[ -d "$ROOT/../shared/formats" ] || not_tested+=("../shared/formats is missing: tests/labels.rs returns early")
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
    [ -x "$tool" ] || not_tested+=("$tool is missing: the live view's browser tests return early")
done
[ -x /usr/sbin/mosquitto ] || not_tested+=("/usr/sbin/mosquitto is missing: the MQTT notifier's test returns early")
report_not_tested() {
    ((${#not_tested[@]})) || return 0
    echo "!! NOT TESTED on this machine (${#not_tested[@]}):" >&2
    printf '!!   %s\n' "${not_tested[@]}" >&2
    echo "!! ../shared sits beside the clone (see ../shared/media/SOURCES.md); scripts/setup.sh --with-browser installs the browser" >&2
}
report_not_tested
if ((${#not_tested[@]})) && [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; then
    echo "!! CI=true: a CI run must test everything; stopping before the suite" >&2
    exit 1
fi

echo "==> running the test suite (cargo test --release)"
status=0
cargo test --release || status=$?
report_not_tested
exit "$status"
