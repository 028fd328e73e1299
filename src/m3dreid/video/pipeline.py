"""Video file -> detections -> tracks -> crops on disk, streamed one frame at a time.

Memory is bounded by one frame plus the tracker's small buffer of tentative crops, whatever the video's length: each
crop is cut and handed to the tracker as its payload, and written as soon as its track is confirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from m3dreid.video.crops import TrackletWriter, crop_box
from m3dreid.video.detect import Detections
from m3dreid.video.reader import VideoReader
from m3dreid.video.track import TrackedBox

__all__ = ["TrackletSummary", "build_tracklets"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackletSummary:
    out_dir: Path
    frames_read: int
    detections: int
    tracks: dict[int, int]  # track id -> number of crops written


def build_tracklets(
    video: str | Path,
    out_dir: str | Path,
    *,
    detector: Callable[[np.ndarray, int], Detections],
    tracker,
    camid: int = 1,
    crop_size: tuple[int, int] | None = (256, 128),
    max_frames: int | None = None,
    progress: bool = True,
    detector_name: str = "",
    detect_every: int = 1,
) -> TrackletSummary:
    """Run ``detector`` and ``tracker`` over ``video`` and write its tracklets to ``out_dir`` (see ``crops``).

    ``tracker`` has ``update(frame, detections, payloads) -> list[TrackedBox]`` and ``finish()``. ``crop_size`` is
    ``(H, W)`` (MARS crops are 256x128); None keeps each box's own size. With ``detect_every = k > 1`` the detector
    runs on frames 1, 1 + k, 1 + 2k, ... only; in between, the tracker's ``coast(frame)`` gives each live track's
    predicted box, whose crop is cut from that frame.
    """
    if detect_every > 1 and not hasattr(tracker, "coast"):
        name = type(tracker).__name__
        raise ValueError(f"detect_every={detect_every} needs a tracker that can coast ({name} cannot)")
    out_dir = Path(out_dir)
    reader = VideoReader(video)
    info = reader.info
    last = max(info.frame_count, max_frames or 0)
    detections_seen = 0
    frames_read = 0
    with reader, TrackletWriter(out_dir, camid=camid, frame_digits=len(str(last))) as writer:

        def write(boxes: list[TrackedBox]) -> None:
            for item in boxes:
                if item.interpolated:  # bridged over a short gap: a track row, no crop (the person was hidden)
                    writer.write_bridged(item.track_id, item.frame, item.box)
                else:
                    writer.write(item.track_id, item.frame, item.box, item.score, item.payload)

        total = min(info.frame_count, max_frames) if max_frames else info.frame_count
        bar = tqdm(total=total or None, unit="frame", desc=Path(video).name, disable=not progress, leave=False)
        for number, frame in reader:
            if max_frames is not None and number > max_frames:
                break
            if detect_every > 1 and (number - 1) % detect_every:  # a skipped frame: the tracks' predicted boxes
                coasted = [b for b in tracker.coast(number) if crop_box(frame, b.box, crop_size) is not None]
                write([TrackedBox(b.frame, b.track_id, b.box, b.score, crop_box(frame, b.box, crop_size))
                       for b in coasted])  # fmt: skip
                frames_read = number
                bar.update(1)
                continue
            dets = detector(frame, number)
            crops = [crop_box(frame, box, crop_size) for box in dets.boxes]
            keep = [i for i, c in enumerate(crops) if c is not None]  # boxes wholly outside the frame are dropped
            if len(keep) < len(dets):
                ids = dets.ids[keep] if dets.ids is not None else None
                dets = Detections(dets.boxes[keep], dets.scores[keep], ids)
                crops = [crops[i] for i in keep]
            detections_seen += len(dets)
            write(tracker.update(number, dets, crops))
            frames_read = number
            bar.update(1)
        write(tracker.finish())
        bar.close()
        writer.write_summary(
            {
                "video": str(Path(video).resolve()),
                "frames": frames_read,
                "fps": info.fps,
                "width": info.width,
                "height": info.height,
                "detector": detector_name,
                "crop_size": list(crop_size) if crop_size else None,
            }
        )
        tracks = dict(writer.counts)
    log.info("%s: %d frames, %d detections, %d tracks -> %s", video, frames_read, detections_seen, len(tracks), out_dir)
    return TrackletSummary(out_dir=out_dir, frames_read=frames_read, detections=detections_seen, tracks=tracks)
