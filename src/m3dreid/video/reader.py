"""Stream a video file one frame at a time with OpenCV, so memory does not grow with the video's length."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from m3dreid.errors import UserError

__all__ = ["VideoError", "VideoInfo", "VideoReader"]

log = logging.getLogger(__name__)


class VideoError(UserError, RuntimeError):
    """A video file is missing, cannot be decoded, or holds no frames; the message names the file."""


@dataclass(frozen=True)
class VideoInfo:
    path: str
    frame_count: int  # as the container reports it (may be 0 or approximate for some codecs)
    fps: float
    width: int
    height: int


class VideoReader:
    """Iterate ``(frame_number, frame)`` with 1-based frame numbers (MOTChallenge convention) and BGR ``(H, W, 3)``.

    Opening checks that the file decodes and yields at least one frame, so an unreadable or empty video fails at once
    with its name instead of producing an empty output folder later.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: video file not found")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise VideoError(f"{self.path}: cannot be opened as a video (not a video file, or an unsupported codec)")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise VideoError(f"{self.path}: the video contains no frames")
        self._first: np.ndarray | None = first
        self.info = VideoInfo(
            path=str(self.path),
            frame_count=max(int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0),
            fps=float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0),
            width=int(first.shape[1]),
            height=int(first.shape[0]),
        )
        log.debug("%s: %s", self.path, self.info)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._first is None:
            raise VideoError(f"{self.path}: a VideoReader can be iterated only once")
        frame, self._first = self._first, None
        number = 1
        while frame is not None:
            yield number, frame
            ok, frame = self._cap.read()
            frame = frame if ok else None
            number += 1
        self.close()

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
