"""``folder``: your own labelled tracklets, in one plain layout, for training and evaluating with the same commands.

Layout (every level is a folder; frames are taken in frame-number order, the number at the end of the file name)::

    ROOT/train/<pid>/<camid>/<tracklet>/*.jpg      (or .png / .jpeg / .bmp)
    ROOT/query/<pid>/<camid>/<tracklet>/*.jpg
    ROOT/gallery/<pid>/<camid>/<tracklet>/*.jpg

``<pid>`` and ``<camid>`` are non-negative integers (camera ids as you number them; metrics only compare them for
equality); ``<tracklet>`` is any name. Train pids are relabelled ``0..N-1``; query and gallery keep theirs. The
protocol is the usual one: a gallery tracklet of the query's pid seen by the query's camera is junk; standard AP.
``m3dreid make-folder-dataset`` builds this layout from ``m3dreid tracklets`` output and a CSV of identity labels.
"""

from __future__ import annotations

import logging
from pathlib import Path

from m3dreid.data.base import DatasetError, Tracklet, VideoDataset, image_files, relabel
from m3dreid.registry import DATASETS

__all__ = ["SPLITS", "read_folder_dataset"]

log = logging.getLogger(__name__)

SPLITS = ("train", "query", "gallery")


def _number(path: Path, what: str) -> int:
    if not path.name.isdigit():
        raise DatasetError(f"{path}: the {what} folder's name must be a non-negative integer")
    return int(path.name)


def _subfolders(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)


def read_split(folder: Path) -> list[Tracklet]:
    """Tracklets of one split folder ``<pid>/<camid>/<tracklet>/`` (sorted by pid, camera, tracklet name)."""
    out = []
    pids = sorted(_subfolders(folder), key=lambda p: _number(p, "pid"))
    for pid_dir in pids:
        pid = _number(pid_dir, "pid")
        for cam_dir in sorted(_subfolders(pid_dir), key=lambda p: _number(p, "camera")):
            camid = _number(cam_dir, "camera")
            for tracklet_dir in _subfolders(cam_dir):
                frames = image_files(tracklet_dir)
                if not frames:
                    raise DatasetError(f"{tracklet_dir}: empty tracklet (no images)")
                out.append(Tracklet(frames=frames, pid=pid, camid=camid))
    return out


def read_folder_dataset(root: str | Path) -> VideoDataset:
    root = Path(root).expanduser().resolve()
    missing = [s for s in SPLITS if not (root / s).is_dir()]
    if missing:
        raise DatasetError(f"folder: {root} lacks {', '.join(f'{s}/' for s in missing)} (layout: ROOT/<split>/<pid>/"
                           "<camid>/<tracklet>/*.jpg with split train, query, gallery)")  # fmt: skip
    splits = {s: read_split(root / s) for s in SPLITS}
    for s in ("query", "gallery"):
        if not splits[s]:
            raise DatasetError(f"{root / s}: no tracklets")
    train, original = relabel(splits["train"])
    dataset = VideoDataset(
        name="folder",
        train=train,
        query=splits["query"],
        gallery=splits["gallery"],
        train_pids_original=original,
        root=str(root),
    )
    log.info("%s", dataset.summary())
    return dataset


@DATASETS.register("folder", title="Folder (your own labelled tracklets)")
def folder(*, root: str | Path) -> VideoDataset:
    return read_folder_dataset(root)
