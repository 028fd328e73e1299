"""A tiny two-camera "footage" for the viewer's tests: tracklet folders as `m3dreid tracklets` writes them (crops,
tracks.csv, video.json at 25 frames/s) and a gallery index of their colour-histogram features, with what
`m3dreid index` adds (representative crop, same-person threshold).

Person p wears shirt colour SHIRTS[p] and trousers TROUSERS[p]; camera 1 sees persons 0-4 (tracks 1-5), camera 2
sees persons 0, 1, 2, 5 (tracks 1-4). Tracks of one camera overlap in time, so the index has pairs of tracks seen
together (different people) for its "same person?" threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from m3dreid.descriptors.color_histogram import tracklet_histogram
from m3dreid.index import GalleryIndex, read_tracklet_dir, representative_frame, same_person_record
from m3dreid.video.crops import TrackletWriter

SHIRTS = [(200, 40, 40), (40, 160, 40), (40, 40, 200), (200, 200, 40), (30, 140, 250), (40, 180, 180)]  # BGR
TROUSERS = [(30, 30, 30), (120, 80, 40), (90, 90, 90), (40, 40, 120), (20, 60, 20), (150, 150, 150)]
CAMERAS = {1: [0, 1, 2, 3, 4], 2: [0, 1, 2, 5]}  # camera -> persons (track id = position + 1)
FPS = 25.0


def crop(person: int, frame: int, rng: np.random.Generator) -> np.ndarray:
    image = np.empty((64, 32, 3), np.float32)
    image[:32] = SHIRTS[person]
    image[32:] = TROUSERS[person]
    image[:6, 10:22] = (180, 200, 230)  # a head
    image += rng.normal(0, 12, image.shape) + 10 * np.sin(frame / 3)  # noise and a little flicker
    return np.clip(image, 0, 255).astype(np.uint8)


def write_camera(root: Path, camid: int, persons: list[int], *, seed: int = 0, frames: int = 6) -> Path:
    out = root / f"cam{camid}"
    rng = np.random.default_rng((seed, camid))
    with TrackletWriter(out, camid=camid) as writer:
        for slot, person in enumerate(persons):
            track_id = slot + 1
            first = 10 + 2 * slot + 30 * (camid - 1)  # tracks of one camera overlap in time
            for f in range(first, first + frames + slot):
                box = np.array([5.0 * slot, 10.0, 32.0, 64.0])
                writer.write(track_id, f, box, 0.9, crop(person, f, rng))
        writer.write_summary({"video": str(root / f"cam{camid}.avi"), "fps": FPS, "frames": 100})
    return out


def build_footage(root: Path, *, cameras: dict[int, list[int]] | None = None) -> tuple[Path, list[Path]]:
    """Tracklet folders under ``root`` and their index ``root/idx`` (colour-histogram features, Euclidean)."""
    folders = [write_camera(root, cam, persons) for cam, persons in (cameras or CAMERAS).items()]
    tracklets, meta = [], []
    for folder in folders:
        t, m = read_tracklet_dir(folder)
        tracklets += t
        meta += m

    def embed(ts) -> np.ndarray:
        return np.stack([tracklet_histogram(t.frames) for t in ts])  # (N, 256)

    feats = embed(tracklets)
    for t, m in zip(tracklets, meta, strict=True):
        m["thumbnail"] = representative_frame(t.frames)
    index = GalleryIndex.build(feats, meta, kind="flat", info={"model": "color_histogram"})
    index.info["same_person"] = same_person_record(tracklets, meta, feats, embed=embed, distance=index.pair_distance)
    index.save(root / "idx")
    return root / "idx", folders


def person_of(track) -> int:
    """The person a track shows (by the construction above)."""
    return CAMERAS[track.camid][track.track_id - 1]
