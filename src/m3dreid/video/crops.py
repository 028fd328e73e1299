"""Cut person crops out of frames and write tracklets in a MARS-like layout plus one CSV row per crop.

Layout of an output folder (one video = one camera)::

    OUT/bbox/0003/0003C1T0001F017.jpg   track 3, camera 1, frame 17 (MARS naming: pid C cam T tracklet F frame)
    OUT/tracks.csv                      track_id,frame,x,y,w,h,score,camid,path (path relative to OUT)
    OUT/tracks.txt                      the same tracks in MOTChallenge format (frame,id,x,y,w,h,score,-1,-1,-1),
                                        plus the boxes the tracker bridged across short gaps (score 0, no crop;
                                        written when the track is found again, so rows are not in frame order)
    OUT/video.json                      the video, camera id, frame size / rate, detector and track counts

The frame number gets at least 3 digits (as in MARS) and as many as the longest video frame number needs, so file
names sort in frame order. Rows are appended as crops are written, so nothing grows in memory with the video.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import cv2
import numpy as np

from m3dreid.errors import InputError, MissingInputError

__all__ = ["CSV_FIELDS", "OUTPUT_FILES", "crop_box", "TrackletWriter", "read_tracks_csv"]

OUTPUT_FILES = ("bbox", "tracks.csv", "tracks.txt", "video.json")  # what a TrackletWriter writes in its folder

CSV_FIELDS = ("track_id", "frame", "x", "y", "w", "h", "score", "camid", "path")


def crop_box(frame: np.ndarray, box: np.ndarray, size: tuple[int, int] | None) -> np.ndarray | None:
    """The box's pixels, padded with black where it runs off the frame, resized to ``size = (H, W)`` if given.

    Padding rather than clipping keeps the person's aspect ratio, as a detector box that leaves the image would.
    Returns None for a box that does not touch the frame at all.
    """
    fh, fw = frame.shape[:2]
    x1, y1 = int(round(box[0])), int(round(box[1]))
    x2, y2 = int(round(box[0] + box[2])), int(round(box[1] + box[3]))
    if x2 <= max(x1, 0) or y2 <= max(y1, 0) or x1 >= fw or y1 >= fh or x2 <= 0 or y2 <= 0:
        return None
    patch = frame[max(y1, 0) : min(y2, fh), max(x1, 0) : min(x2, fw)]  # (h', w', 3)
    pad = (max(-y1, 0), max(y2 - fh, 0), max(-x1, 0), max(x2 - fw, 0))  # top, bottom, left, right
    if any(pad):
        patch = cv2.copyMakeBorder(patch, *pad, borderType=cv2.BORDER_CONSTANT, value=(0, 0, 0))
    if size is not None:
        patch = cv2.resize(patch, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return patch


class TrackletWriter:
    """Writes one video's crops and CSV; use as a context manager so the CSV is closed on errors too."""

    def __init__(self, out_dir: str | Path, *, camid: int, frame_digits: int = 3, jpeg_quality: int = 95) -> None:
        self.out_dir = Path(out_dir)
        self.camid = camid
        self.frame_digits = max(3, frame_digits)
        self.jpeg_quality = jpeg_quality
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._csv_handle = (self.out_dir / "tracks.csv").open("w", newline="")
        self._csv = csv.writer(self._csv_handle)
        self._csv.writerow(CSV_FIELDS)
        self._mot_handle = (self.out_dir / "tracks.txt").open("w")
        self.counts: dict[int, int] = {}
        self.bridged = 0

    def write(self, track_id: int, frame: int, box: np.ndarray, score: float, crop: np.ndarray) -> Path:
        name = f"{track_id:04d}C{self.camid}T0001F{frame:0{self.frame_digits}d}.jpg"
        rel = Path("bbox") / f"{track_id:04d}" / name
        path = self.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]):
            raise OSError(f"{path}: could not write the crop")
        x, y, w, h = (float(v) for v in box)
        self._csv.writerow((track_id, frame, f"{x:.2f}", f"{y:.2f}", f"{w:.2f}", f"{h:.2f}", f"{score:.4f}",
                            self.camid, rel.as_posix()))  # fmt: skip
        self._mot_handle.write(f"{frame},{track_id},{x:.6g},{y:.6g},{w:.6g},{h:.6g},{score:.6g},-1,-1,-1\n")
        self.counts[track_id] = self.counts.get(track_id, 0) + 1
        return path

    def write_bridged(self, track_id: int, frame: int, box: np.ndarray) -> None:
        """A box the tracker filled in across a short gap: a ``tracks.txt`` row (score 0), no crop, no CSV row."""
        x, y, w, h = (float(v) for v in box)
        self._mot_handle.write(f"{frame},{track_id},{x:.6g},{y:.6g},{w:.6g},{h:.6g},0,-1,-1,-1\n")
        self.bridged += 1

    def write_summary(self, info: dict) -> Path:
        path = self.out_dir / "video.json"
        tracks = {str(k): v for k, v in sorted(self.counts.items())}
        record = {**info, "camid": self.camid, "tracks": tracks, "bridged_boxes": self.bridged}
        path.write_text(json.dumps(record, indent=1))
        return path

    def close(self) -> None:
        self._csv_handle.close()
        self._mot_handle.close()

    def __enter__(self) -> TrackletWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_tracks_csv(out_dir: str | Path) -> dict[int, list[dict]]:
    """Track id -> its rows (frame order) from a folder written by :class:`TrackletWriter`; paths made absolute."""
    out_dir = Path(out_dir)
    path = out_dir / "tracks.csv"
    if not path.is_file():
        raise MissingInputError(f"{out_dir}: no tracks.csv (not a folder written by `m3dreid tracklets`)")
    tracks: dict[int, list[dict]] = {}
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputError(f"{path}: line {line} is not UTF-8 text (byte 0x{data[err.start]:02x})") from None
    if "\0" in text:
        raise InputError(f"{path}: line {text[: text.index(chr(0))].count(chr(10)) + 1} holds a NUL byte")
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [f for f in CSV_FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: missing columns {', '.join(missing)}")
        for line_no, row in enumerate(reader, start=2):
            try:
                item = {
                    "track_id": int(row["track_id"]),
                    "frame": int(row["frame"]),
                    "box": tuple(float(row[k]) for k in ("x", "y", "w", "h")),
                    "score": float(row["score"]),
                    "camid": int(row["camid"]),
                    "path": str(out_dir / row["path"]),
                }
            except (TypeError, ValueError, AttributeError) as err:  # a short row has None values
                raise InputError(f"{path}: row {line_no}: {err}") from None
            if not (row["path"] or "").strip():
                raise InputError(f"{path}: row {line_no}: empty path")
            tracks.setdefault(item["track_id"], []).append(item)
    for rows in tracks.values():
        rows.sort(key=lambda r: r["frame"])
    return dict(sorted(tracks.items()))
