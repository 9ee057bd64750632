#!/usr/bin/env python3
"""Builds the small ONNX models the tests use, with the `onnx` package (no training, no downloads).

- yolo_known.onnx: a YOLOv8-style export (input `images` float [1,3,320,320], output `output0`
  [1, 4+2, 8], metadata `names` = {0: 'cat', 1: 'rat'}) whose output is a fixed table of candidates
  (cx, cy, w, h in letterboxed input pixels, then one score per class). The Rust tests know the table
  below and check letterbox undoing, score thresholds and NMS against it. The output also adds
  0 * mean(input) so the graph really consumes its input, as a real export does.
- not_a_detector.onnx: a one-layer model with input [1,10] and output [1,10], which the detector must
  refuse with an error naming what it found.

usage: make_test_models.py OUT_DIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# One column per candidate: cx, cy, w, h, score(cat), score(rat).
# Expected after decoding with a 0.2 score threshold and IoU 0.45 class-wise NMS:
#   0: cat 0.90 kept; 1: cat 0.80 overlaps 0 heavily -> suppressed; 2: rat 0.70 kept (another class,
#   though it overlaps 0); 3: rat 0.15 below threshold; 4: cat 0.60 far away -> kept; 5: rat 0.50
#   overlaps 2 a little (IoU < 0.45) -> kept; 6: all scores 0.1 -> dropped; 7: rat 0.95 kept.
YOLO_CANDIDATES = np.array(
    [
        # cx     cy     w      h    cat   rat
        [100.0, 150.0, 80.0, 60.0, 0.90, 0.05],
        [104.0, 152.0, 80.0, 60.0, 0.80, 0.10],
        [100.0, 150.0, 40.0, 30.0, 0.10, 0.70],
        [250.0, 250.0, 20.0, 20.0, 0.05, 0.15],
        [260.0, 80.0, 50.0, 40.0, 0.60, 0.00],
        [125.0, 150.0, 40.0, 30.0, 0.00, 0.50],
        [200.0, 200.0, 30.0, 30.0, 0.10, 0.10],
        [40.0, 200.0, 30.0, 20.0, 0.00, 0.95],
    ],
    dtype=np.float32,
).T[np.newaxis]  # -> [1, 6, 8]


def yolo_known() -> onnx.ModelProto:
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 320, 320])
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 8])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["table", "nothing"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "yolo_known",
        [images],
        [output],
        initializer=[
            numpy_helper.from_array(YOLO_CANDIDATES, "table"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    helper.set_model_props(model, {"names": "{0: 'cat', 1: 'rat'}", "imgsz": "[320, 320]"})
    onnx.checker.check_model(model)
    return model


def not_a_detector() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "not_a_detector", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name, build in [("yolo_known.onnx", yolo_known), ("not_a_detector.onnx", not_a_detector)]:
        path = os.path.join(out_dir, name)
        onnx.save(build(), path + ".part")
        os.replace(path + ".part", path)


if __name__ == "__main__":
    main()
