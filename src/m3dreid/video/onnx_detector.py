"""Bring your own detector: any YOLO-style ONNX person detector, run by onnxruntime on the CPU.

The package ships no detector weights; export one elsewhere (e.g. a YOLO model's own ONNX export) and pass the file.

Contract (what the file must be):

- **input**: one float32 image tensor ``(1, 3, H, W)``, RGB, values in ``[0, 1]``. ``H, W`` are read off the graph;
  where they are dynamic, ``input_size`` (default 640x640) is used. Each frame is letterboxed into it: scaled to fit
  keeping its aspect ratio, padded with grey (114) at the right and bottom.
- **output** (the first output), boxes in input pixels as ``cx, cy, w, h``:

  - ``layout="yolov8"``: ``(1, 4 + C, N)`` (YOLOv8 / v11 export) or its transpose ``(1, N, 4 + C)``: box, then one
    score per class. The smaller of the last two dims is taken as ``4 + C``.
  - ``layout="yolov5"``: ``(1, N, 5 + C)``: box, objectness, class scores; the score is objectness x class score.

- ``person_class`` (default 0, COCO's "person") is the class kept; a box's score is that class's score. Boxes scoring
  under ``score_threshold`` are dropped, the rest go through greedy NMS at ``nms_iou`` (boxes of an export with NMS
  built in pass through unchanged).

A file that onnxruntime cannot load, or whose input or output does not fit the contract (checked once, on a blank
frame, when the detector is built), raises :class:`DetectorError` naming the file and what is wrong.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from m3dreid.video.boxes import nms
from m3dreid.video.detect import Detections

__all__ = ["DetectorError", "OnnxDetector", "LAYOUTS"]

log = logging.getLogger(__name__)

LAYOUTS = ("yolov8", "yolov5")


class DetectorError(ValueError):
    """A detector file cannot be used; the message names the file and what is wrong."""


class OnnxDetector:
    """A YOLO-style ONNX person detector (see the module docstring for the contract)."""

    def __init__(
        self,
        model: str | Path,
        *,
        score_threshold: float = 0.1,
        nms_iou: float = 0.45,
        person_class: int = 0,
        layout: str = "yolov8",
        input_size: tuple[int, int] = (640, 640),
        threads: int = 1,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(model)
        if layout not in LAYOUTS:
            raise DetectorError(f"{self.path}: unknown layout '{layout}' (known: {', '.join(LAYOUTS)})")
        if not self.path.is_file():
            raise DetectorError(f"{self.path}: detector model file not found")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: a graph optimiser warning is not the user's problem
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises several unrelated types for a bad file
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise DetectorError(f"{self.path}: not a loadable ONNX model ({first[:200]})") from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            shapes = ", ".join(str(i.shape) for i in inputs)
            raise DetectorError(f"{self.path}: expected one image input (1, 3, H, W), the model takes {shapes}")
        self._input = inputs[0].name
        _, channels, height, width = inputs[0].shape
        if isinstance(channels, int) and channels != 3:
            raise DetectorError(f"{self.path}: expected 3 input channels (RGB), the model takes {channels}")
        self.input_size = (
            height if isinstance(height, int) else input_size[0],
            width if isinstance(width, int) else input_size[1],
        )
        self.score_threshold, self.nms_iou = score_threshold, nms_iou
        self.person_class, self.layout = person_class, layout
        self._check_output()

    def _check_output(self) -> None:
        try:
            self._rows(np.zeros((*self.input_size, 3), np.uint8))
        except DetectorError:
            raise
        except Exception as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise DetectorError(f"{self.path}: the model fails on a blank frame ({first[:200]})") from None

    def _rows(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """``(boxes (N, 4) cx, cy, w, h in input pixels, person scores (N,), letterbox scale)``."""
        h, w = frame.shape[:2]
        in_h, in_w = self.input_size
        gain = min(in_h / h, in_w / w)
        resized = cv2.resize(frame, (max(1, round(w * gain)), max(1, round(h * gain))), interpolation=cv2.INTER_LINEAR)
        canvas = np.full((in_h, in_w, 3), 114, np.uint8)
        canvas[: resized.shape[0], : resized.shape[1]] = resized
        blob = np.ascontiguousarray(canvas[..., ::-1].transpose(2, 0, 1)[None], np.float32) / 255.0  # (1, 3, H, W)
        out = np.asarray(self._session.run(None, {self._input: blob})[0])
        if out.ndim != 3 or out.shape[0] != 1:
            raise DetectorError(f"{self.path}: expected a first output (1, 4 + C, N) or (1, N, 4 + C), "
                                f"got shape {out.shape}")  # fmt: skip
        rows = out[0]  # (N, 4 + C) or, for yolov8, possibly (4 + C, N)
        if self.layout == "yolov8" and out.shape[1] < out.shape[2]:
            rows = out[0].T  # (N, 4 + C)
        first_score = 5 if self.layout == "yolov5" else 4
        if rows.shape[1] <= first_score + self.person_class:
            raise DetectorError(
                f"{self.path}: output rows hold {rows.shape[1]} values, too few for a {self.layout} box with class "
                f"{self.person_class} (need at least {first_score + self.person_class + 1})"
            )
        scores = rows[:, first_score + self.person_class].astype(np.float64)
        if self.layout == "yolov5":
            scores = scores * rows[:, 4]
        return rows[:, :4].astype(np.float64), scores, gain

    def __call__(self, frame: np.ndarray, frame_number: int) -> Detections:
        centres, scores, gain = self._rows(frame)
        keep = scores >= self.score_threshold
        centres, scores = centres[keep], scores[keep]
        if len(scores) == 0:
            return Detections.empty()
        x1, y1 = centres[:, 0] - centres[:, 2] / 2, centres[:, 1] - centres[:, 3] / 2
        boxes = np.stack([x1, y1, centres[:, 2], centres[:, 3]], axis=1) / gain  # (N, 4) x, y, w, h in frame px
        kept = nms(boxes, scores, self.nms_iou)
        return Detections(boxes=boxes[kept], scores=scores[kept])
