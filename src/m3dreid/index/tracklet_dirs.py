"""Find tracklets on disk: folders written by ``m3dreid tracklets`` (several videos = several cameras), or one plain
folder of crop images used as a query."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from m3dreid.data.base import IMAGE_EXTENSIONS, Tracklet, image_files
from m3dreid.errors import InputError, MissingInputError
from m3dreid.video.crops import read_tracks_csv

__all__ = ["IMAGE_SUFFIXES", "read_tracklet_dir", "read_image_folder", "representative_frame"]

IMAGE_SUFFIXES = IMAGE_EXTENSIONS  # the data readers' list


def read_tracklet_dir(out_dir: str | Path, *, min_length: int = 1) -> tuple[list[Tracklet], list[dict]]:
    """Tracklets of one ``m3dreid tracklets`` folder and a metadata dict for each (video, camera, track, frames).

    The tracklet's ``pid`` is its track id: identities across videos are unknown, which is what the search is for.
    """
    out_dir = Path(out_dir).resolve()  # frame paths absolute: an index built here works from any working directory
    video = ""
    summary = out_dir / "video.json"
    if summary.is_file():
        try:
            record = json.loads(summary.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(f"{summary}: not valid JSON ({err})") from None
        video = str(record.get("video", "")) if isinstance(record, dict) else ""
    tracklets, meta = [], []
    for track_id, rows in read_tracks_csv(out_dir).items():
        if len(rows) < min_length:
            continue
        frames = tuple(r["path"] for r in rows)
        camid = rows[0]["camid"]
        tracklets.append(Tracklet(frames=frames, pid=track_id, camid=camid))
        meta.append(
            {
                "source": str(out_dir),
                "video": video,
                "camid": camid,
                "track_id": track_id,
                "num_frames": len(frames),
                "first_frame": rows[0]["frame"],
                "last_frame": rows[-1]["frame"],
                "thumbnails": [frames[0], frames[len(frames) // 2], frames[-1]],
            }
        )
    return tracklets, meta


def read_image_folder(folder: str | Path, *, camid: int = -1) -> Tracklet:
    """Every image in ``folder`` as one tracklet, in frame-number order (the readers' rule: f10 after f9)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingInputError(f"{folder}: not a folder")
    frames = image_files(folder)
    if not frames:
        raise MissingInputError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder")
    return Tracklet(frames=frames, pid=-1, camid=camid)


def _histogram_frames(paths: Sequence[str]) -> np.ndarray:
    from m3dreid.data.transforms import read_frames
    from m3dreid.descriptors.color_histogram import SIZE, color_histogram

    frames = read_frames(list(paths), *SIZE)  # (T, H, W, 3) RGB
    return np.stack([color_histogram(f[None]) for f in frames])  # (T, D)


def representative_frame(
    paths: Sequence[str],
    *,
    max_frames: int = 16,
    frame_features: Callable[[Sequence[str]], np.ndarray] | None = None,
) -> str:
    """The crop that looks most like the whole tracklet: nearest (Euclidean) the mean of its frames' features.

    A frame where the person is half hidden or the box slipped looks unlike the rest and is not chosen, which the
    middle frame often is. ``frame_features`` maps paths to ``(T, D)`` features (default: the colour histogram of
    each crop, :mod:`m3dreid.descriptors.color_histogram`); at most ``max_frames`` evenly spaced frames are read.
    """
    if not paths:
        raise ValueError("representative_frame: no frames")
    pick = np.unique(np.linspace(0, len(paths) - 1, min(max_frames, len(paths))).round().astype(int))
    chosen = [paths[i] for i in pick]
    feats = np.asarray((frame_features or _histogram_frames)(chosen), np.float64)  # (T, D)
    nearest = int(np.argmin(((feats - feats.mean(axis=0)) ** 2).sum(axis=1)))
    return chosen[nearest]
