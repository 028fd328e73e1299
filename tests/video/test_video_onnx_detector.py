"""The bring-your-own ONNX detector on tiny graphs built here: the documented contract (letterbox, layouts, person
class, score threshold, NMS) and clear errors for files that are not ONNX or give the wrong outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from m3dreid.cli import main
from m3dreid.video.onnx_detector import DetectorError, OnnxDetector

SEQ = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"

# three candidate boxes (cx, cy, w, h in 64x64 input pixels), person score, other-class score
ROWS = np.array(
    [
        [20, 30, 10, 20, 0.9, 0.1],  # a person
        [21, 30, 10, 20, 0.8, 0.1],  # the same person again: NMS removes it
        [50, 40, 8, 16, 0.05, 0.95],  # not a person
        *[[32, 32, 4, 4, 0.0, 0.0]] * 5,  # empty anchors: N = 8 > 4 + C, as in any real export (N = 8400)
    ],
    np.float32,
)


def _graph(path: Path, output: np.ndarray, *, size: int = 64) -> Path:
    """``output = constant + 0 * mean(input)``: a fixed answer that still reads the image input."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    result = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["answer", "nothing"], ["output0"]),
    ]
    inits = [numpy_helper.from_array(output.astype(np.float32), "answer"),
             numpy_helper.from_array(np.zeros(1, np.float32), "zero")]  # fmt: skip
    graph = helper.make_graph(nodes, "tiny_detector", [image], [result], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("layout", ["yolov8", "yolov8_transposed", "yolov5"])
def test_onnx_detector_contract(tmp_path, layout):
    if layout == "yolov5":  # box, objectness, classes: score = objectness x person score
        rows = np.insert(ROWS, 4, 1.0, axis=1)
        output, name = rows[None], "yolov5"
    else:
        output = ROWS.T[None] if layout == "yolov8" else ROWS[None]  # (1, 4 + C, N) or (1, N, 4 + C)
        name = "yolov8"
    detector = OnnxDetector(_graph(tmp_path / "det.onnx", output), layout=name, score_threshold=0.3, nms_iou=0.5)
    assert detector.input_size == (64, 64)
    frame = np.zeros((128, 96, 3), np.uint8)  # letterboxed by 64 / 128 = 0.5, padded on the right
    dets = detector(frame, 1)
    np.testing.assert_allclose(dets.boxes, [[30.0, 40.0, 20.0, 40.0]])  # ((20 - 5) / 0.5, (30 - 10) / 0.5, ...)
    np.testing.assert_allclose(dets.scores, [0.9], rtol=1e-6)
    low = OnnxDetector(tmp_path / "det.onnx", layout=name, score_threshold=0.01, nms_iou=0.5)(frame, 1)
    assert len(low) == 2 and low.scores[1] == pytest.approx(0.05)  # the other-class box's person score


def test_onnx_detector_through_the_command(tmp_path, capsys):
    model = _graph(tmp_path / "det.onnx", np.insert(ROWS, 4, 1.0, axis=1)[None])  # yolov5 rows: objectness 1
    out = tmp_path / "out"
    rc = main(["tracklets", str(SEQ / "TUD-Campus.mp4"), "--out", str(out), "--detector", "onnx",
               "--detector-model", str(model), "--detector-layout", "yolov5", "--person-class", "0",
               "--max-frames", "6", "--min-hits", "2", "--no-progress",
               "--height", "32", "--width", "16", "--no-sheet"])  # fmt: skip
    assert rc == 0
    assert "6 frames, 1 tracklets, 6 crops" in capsys.readouterr().out  # the fixed box, every frame, one track


def test_bad_detector_files_are_one_line_errors(tmp_path, capsys):
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    with pytest.raises(DetectorError, match="notes.onnx: not a loadable ONNX model"):
        OnnxDetector(text)
    flat = _graph(tmp_path / "flat.onnx", np.zeros((6, 3), np.float32))
    with pytest.raises(DetectorError, match=r"flat.onnx: expected a first output .* got shape \(6, 3\)"):
        OnnxDetector(flat)
    narrow = _graph(tmp_path / "narrow.onnx", np.zeros((1, 4, 30), np.float32))  # boxes but no class scores
    with pytest.raises(DetectorError, match="narrow.onnx: output rows hold 4 values"):
        OnnxDetector(narrow)
    with pytest.raises(DetectorError, match="missing.onnx: detector model file not found"):
        OnnxDetector(tmp_path / "missing.onnx")
    for bad in (text, flat):
        rc = main(["tracklets", str(SEQ / "TUD-Campus.mp4"), "--out", str(tmp_path / "o"), "--detector", "onnx",
                   "--detector-model", str(bad), "--no-progress"])  # fmt: skip
        err = capsys.readouterr().err
        assert rc == 2 and str(bad) in err and err.count("\n") == 1 and "Traceback" not in err
