"""DukeMTMC-VideoReID reader (Wu et al. 2018).

Layout::

    root/train/0001/0001/0001_C6_F0001_X30823.jpg ...   (pid folder / tracklet folder / frames)
    root/query/...   root/gallery/...

Frame names are ``<pid>_C<camera>_F<frame>_X<...>.jpg``: frames are sorted by the number after ``_F`` (not the last
number, which is not the frame) and the camera is read from ``_C``; a tracklet mixing cameras is an error. Protocol:
the given query/gallery folders, same pid + same camera ignored, standard AP. An empty tracklet folder is skipped with
a warning (their count is in ``dataset.extra["skipped_empty"]``), as other readers of this dataset do.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from m3dreid.data.base import DatasetError, Tracklet, VideoDataset, frame_number, image_files, relabel, require_paths
from m3dreid.registry import DATASETS

__all__ = ["read_duke_video", "duke_frame_number"]

log = logging.getLogger(__name__)

_FRAME = re.compile(r"_F(\d+)")
_CAMERA = re.compile(r"_C(\d+)")


def duke_frame_number(name: str) -> int:
    m = _FRAME.search(name)
    return int(m.group(1)) if m else frame_number(name)


def _read_split(folder: Path, skipped: list[str]) -> list[Tracklet]:
    out = []
    pid_dirs = sorted(
        (p for p in folder.iterdir() if p.is_dir() and p.name.lstrip("-").isdigit()), key=lambda p: p.name
    )
    for pid_dir in pid_dirs:
        for tdir in sorted(p for p in pid_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            frames = image_files(tdir, key=duke_frame_number)
            if not frames:
                log.warning("%s: empty tracklet folder, skipped", tdir)
                skipped.append(str(tdir))
                continue
            cams = {m.group(1) for m in (_CAMERA.search(Path(f).name) for f in frames) if m}
            if len(cams) != 1:
                raise DatasetError(f"{tdir}: frames from cameras {sorted(cams) or 'none (no _C<n> in names)'}")
            out.append(Tracklet(frames=frames, pid=int(pid_dir.name), camid=int(cams.pop()) - 1))
    return out


def read_duke_video(root: str | Path) -> VideoDataset:
    root = Path(root).expanduser().resolve()
    require_paths("duke_video", root, ("train", "query", "gallery"))
    skipped: list[str] = []
    train, original = relabel(_read_split(root / "train", skipped))
    dataset = VideoDataset(
        name="duke_video",
        train=train,
        query=_read_split(root / "query", skipped),
        gallery=_read_split(root / "gallery", skipped),
        train_pids_original=original,
        root=str(root),
        extra={"skipped_empty": len(skipped)},
    )
    log.info("%s", dataset.summary())
    return dataset


@DATASETS.register("duke_video", title="DukeMTMC-VideoReID", benchmark=True)
def duke_video(*, root: str | Path) -> VideoDataset:
    return read_duke_video(root)
