"""Find tracklets on disk: folders written by ``m3dreid tracklets`` (several videos = several cameras), or one plain
folder of crop images used as a query."""

from __future__ import annotations

import json
from pathlib import Path

from m3dreid.data.base import Tracklet
from m3dreid.video.crops import read_tracks_csv

__all__ = ["IMAGE_SUFFIXES", "read_tracklet_dir", "read_image_folder"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def read_tracklet_dir(out_dir: str | Path, *, min_length: int = 1) -> tuple[list[Tracklet], list[dict]]:
    """Tracklets of one ``m3dreid tracklets`` folder and a metadata dict for each (video, camera, track, frames).

    The tracklet's ``pid`` is its track id: identities across videos are unknown, which is what the search is for.
    """
    out_dir = Path(out_dir)
    video = ""
    summary = out_dir / "video.json"
    if summary.is_file():
        video = json.loads(summary.read_text()).get("video", "")
    tracklets, meta = [], []
    for track_id, rows in read_tracks_csv(out_dir).items():
        if len(rows) < min_length:
            continue
        frames = tuple(r["path"] for r in rows)
        camid = rows[0]["camid"]
        tracklets.append(Tracklet(frames=frames, pid=track_id, camid=camid))
        meta.append(
            {
                "source": str(out_dir.resolve()),
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
    """Every image in ``folder`` (sorted by name, which is frame order for MARS-like names) as one tracklet."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    frames = tuple(str(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES)
    if not frames:
        raise FileNotFoundError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder")
    return Tracklet(frames=frames, pid=-1, camid=camid)
