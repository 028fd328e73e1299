"""A packed frame cache: a dataset decoded once at the training size into one memory-mapped uint8 file.

Decoding and resizing JPEGs is the training loader's cost (about 700 frames/s a worker for MARS-sized crops), while
one GPU trains a ResNet-50 at several thousand frames/s. ``m3dreid cache -c CONFIG --out FILE`` decodes every frame
of the chosen splits once with the loader's own :func:`~m3dreid.data.transforms.read_frame` (so a cached frame is
byte-identical to a decoded one) into ``FILE``; with ``data.cache=FILE`` the loader copies frames out of it instead
(flip, erasing and normalisation stay on the fly, so clips are exactly the JPEG loader's).

File layout: ``MAGIC`` (8 bytes), the header length (8 bytes, little endian), a JSON header, zero padding to a 4 KiB
boundary, then ``(N, H, W, 3)`` RGB uint8 frames. The header holds the settings (dataset, protocol, split, size),
the splits cached, counts, a SHA-256 over the settings and every frame path relative to the dataset root (so the
dataset folder may move, but a different frame list is caught), and the index: tracklet key (its first frame's
relative path) -> ``(first row, frame count)``. A tracklet that appears twice (MARS query tracklets are also in the
gallery) is stored once.

Size: ``H * W * 3`` bytes a frame, 98,304 at 256x128: MARS's 509,914 training frames take 50.1 GB, its 681,089 test
frames 67.0 GB. Pages are read on demand, so memory is the OS page cache, not the process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from m3dreid.data.base import DatasetError, Tracklet, VideoDataset
from m3dreid.data.transforms import read_frame

__all__ = ["FrameCache", "build_frame_cache", "open_frame_cache", "SPLITS", "MAGIC"]

log = logging.getLogger(__name__)

MAGIC = b"M3DFRMC1"
ALIGN = 4096
SPLITS = {"train": ("train",), "test": ("query", "gallery"), "all": ("train", "query", "gallery")}
VERSION = 1


def _relative(path: str, root: str) -> str:
    if root:
        try:
            return os.path.relpath(path, root)
        except ValueError:  # another drive (Windows)
            pass
    return path


def _tracklets(dataset: VideoDataset, splits: Sequence[str]) -> list[Tracklet]:
    out = []
    for split in splits:
        out += list(getattr(dataset, split))
    return out


def _plan(dataset: VideoDataset, splits: Sequence[str]) -> tuple[dict[str, list[int]], list[Tracklet], str, int]:
    """Index (key -> [start, count]), the tracklets to decode (each key once), the settings-free path hash, rows."""
    root = dataset.root
    index: dict[str, list[int]] = {}
    unique: list[Tracklet] = []
    digest = hashlib.sha256()
    rows = 0
    for t in _tracklets(dataset, splits):
        if not t.frames:
            raise DatasetError(f"empty tracklet (pid {t.pid}, camera {t.camid}): nothing to cache")
        rel = [_relative(p, root) for p in t.frames]
        digest.update(("\n".join(rel) + "\n\n").encode())
        key = rel[0]
        if key in index:
            if index[key][1] != len(rel):
                raise DatasetError(f"{t.frames[0]}: two tracklets start at this frame with different lengths")
            continue
        index[key] = [rows, len(rel)]
        unique.append(t)
        rows += len(rel)
    return index, unique, digest.hexdigest(), rows


def _settings(dataset: VideoDataset, data_cfg, splits: Sequence[str], paths_hash: str) -> dict[str, Any]:
    return {
        "version": VERSION,
        "dataset": dataset.name,
        "protocol": dataset.protocol,
        "split": dataset.extra.get("split", getattr(data_cfg, "split", 0)),
        "height": int(data_cfg.height),
        "width": int(data_cfg.width),
        "splits": list(splits),
        "paths_sha256": paths_hash,
    }


def _settings_hash(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _decode_into(args: tuple[str, int, int, int, list[tuple[int, tuple[str, ...]]]]) -> int:
    """Worker: decode tracklets into rows of the (already sized) file; returns the frames written."""
    path, offset, height, width, jobs = args
    total = sum(len(frames) for _, frames in jobs)
    if not jobs:
        return 0
    rows = max(start + len(frames) for start, frames in jobs)
    array = np.memmap(path, dtype=np.uint8, mode="r+", offset=offset, shape=(rows, height, width, 3))
    for start, frames in jobs:
        for i, frame in enumerate(frames):
            array[start + i] = read_frame(frame, height, width)
    array.flush()
    del array
    return total


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)


def build_frame_cache(
    dataset: VideoDataset,
    data_cfg,
    out: str | Path,
    *,
    splits: str = "train",
    workers: int = 1,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Decode the ``splits`` (``train`` | ``test`` | ``all``) of ``dataset`` at ``data_cfg``'s size into ``out``.

    Written to ``out.tmp`` and renamed when complete, so an interrupted build leaves no file that looks finished.
    ``progress(frames)`` is called as chunks finish. Returns ``out``.
    """
    out = Path(out)
    if splits not in SPLITS:
        raise ValueError(f"splits must be one of {sorted(SPLITS)}, got {splits!r}")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out}: exists (pass --overwrite to replace it)")
    names = SPLITS[splits]
    index, unique, paths_hash, rows = _plan(dataset, names)
    if rows == 0:
        raise DatasetError(f"{dataset.name}: no frames in the {'/'.join(names)} split(s)")
    settings = _settings(dataset, data_cfg, names, paths_hash)
    h, w = settings["height"], settings["width"]
    header = {
        "settings": settings,
        "settings_sha256": _settings_hash(settings),
        "num_frames": rows,
        "num_tracklets": len(_tracklets(dataset, names)),
        "num_stored_tracklets": len(unique),
        "index": index,
    }
    blob = json.dumps(header).encode()
    offset = -(-(16 + len(blob)) // ALIGN) * ALIGN
    tmp = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as handle:
        handle.write(MAGIC + len(blob).to_bytes(8, "little") + blob)
        handle.write(b"\0" * (offset - 16 - len(blob)))
        handle.truncate(offset + rows * h * w * 3)  # sparse until written
    jobs, chunk, size = [], [], 0
    for t in unique:
        chunk.append((index[_relative(t.frames[0], dataset.root)][0], t.frames))
        size += len(t.frames)
        if size >= 2048:
            jobs.append((str(tmp), offset, h, w, chunk))
            chunk, size = [], 0
    if chunk:
        jobs.append((str(tmp), offset, h, w, chunk))
    try:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init) as pool:
                for done in pool.map(_decode_into, jobs):
                    if progress:
                        progress(done)
        else:
            for job in jobs:
                done = _decode_into(job)
                if progress:
                    progress(done)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    log.info("cached %d frames of %d tracklets (%s) at %dx%d in %s", rows, len(unique), splits, h, w, out)
    return out


class FrameCache:
    """An opened cache file: ``frames(tracklet, indices) -> (len(indices), H, W, 3)`` uint8, and its checks."""

    def __init__(self, path: str | Path, *, root: str = "") -> None:
        self.path = Path(path)
        self.root = root  # the dataset folder the index's relative paths start from
        try:
            with self.path.open("rb") as handle:
                magic = handle.read(8)
                if magic != MAGIC:
                    raise DatasetError(f"{self.path}: not an m3dreid frame cache (build one with `m3dreid cache`)")
                length = int.from_bytes(handle.read(8), "little")
                header = json.loads(handle.read(length))
        except FileNotFoundError:
            raise DatasetError(f"{self.path}: data.cache file not found (build it with `m3dreid cache`)") from None
        except (OSError, ValueError) as err:
            raise DatasetError(f"{self.path}: unreadable frame cache header ({err})") from None
        self.header = header
        self.settings = header["settings"]
        self.index: dict[str, list[int]] = header["index"]
        self.height, self.width = int(self.settings["height"]), int(self.settings["width"])
        self.splits = tuple(self.settings["splits"])
        self.num_frames = int(header["num_frames"])
        self._offset = -(-(16 + length) // ALIGN) * ALIGN
        expected = self._offset + self.num_frames * self.height * self.width * 3
        if self.path.stat().st_size != expected:
            raise DatasetError(
                f"{self.path}: {self.path.stat().st_size} bytes, the header says {expected} (truncated or damaged)"
            )
        self._array: np.memmap | None = None

    @property
    def array(self) -> np.memmap:  # (N, H, W, 3) uint8, mapped on first use (so in each DataLoader worker)
        if self._array is None:
            shape = (self.num_frames, self.height, self.width, 3)
            self._array = np.memmap(self.path, dtype=np.uint8, mode="r", offset=self._offset, shape=shape)
        return self._array

    def __getstate__(self) -> dict:  # workers re-map the file instead of pickling the mapping
        return {**self.__dict__, "_array": None}

    def check(self, dataset: VideoDataset, data_cfg) -> None:
        """Raise a DatasetError naming the file and what differs, unless it was built from exactly this source."""
        if dataset.root and os.fspath(Path(dataset.root).resolve()) != self.root:
            raise DatasetError(f"{self.path}: the dataset was read from {dataset.root}, data.root is {self.root}")
        index, _, paths_hash, rows = _plan(dataset, self.splits)
        want = _settings(dataset, data_cfg, self.splits, paths_hash)
        have = self.settings
        where = f"{self.path}: data.cache"
        if (have["height"], have["width"]) != (want["height"], want["width"]):
            raise DatasetError(
                f"{where} holds {have['width']}x{have['height']} frames, the config asks for "
                f"data.width x data.height = {want['width']}x{want['height']} (rebuild it with `m3dreid cache`)"
            )
        for key in ("dataset", "protocol", "split", "version"):
            if have.get(key) != want[key]:
                raise DatasetError(f"{where} was built with {key}={have.get(key)!r}, the config has {want[key]!r}")
        stored = int(self.header["num_tracklets"])
        count = len(_tracklets(dataset, self.splits))
        if (stored, self.num_frames) != (count, rows):
            raise DatasetError(
                f"{where} holds {stored} tracklets / {self.num_frames} frames of {'/'.join(self.splits)}, the "
                f"dataset has {count} / {rows} (rebuild it with `m3dreid cache`)"
            )
        if have["paths_sha256"] != want["paths_sha256"] or self.header["settings_sha256"] != _settings_hash(want):
            raise DatasetError(f"{where}: the dataset's frame list differs from the one cached (same counts)")

    def rows(self, tracklet: Tracklet) -> tuple[int, int] | None:
        """``(first row, count)`` of ``tracklet``, or None when the cache does not hold it."""
        entry = self.index.get(_relative(tracklet.frames[0], self.root))
        if entry is None:
            return None
        if entry[1] != len(tracklet.frames):
            raise DatasetError(
                f"{self.path}: tracklet {tracklet.frames[0]} has {len(tracklet.frames)} frames, the cache {entry[1]}"
            )
        return entry[0], entry[1]

    def frames(self, tracklet: Tracklet, indices: np.ndarray, height: int, width: int) -> np.ndarray | None:
        """``(len(indices), H, W, 3)`` RGB uint8 frames of ``tracklet``, or None when it is not cached."""
        if (height, width) != (self.height, self.width):
            raise DatasetError(
                f"{self.path}: data.cache holds {self.width}x{self.height} frames, the config asks for {width}x{height}"
            )
        found = self.rows(tracklet)
        if found is None:
            return None
        start, _ = found
        return self.array[start + np.asarray(indices)]  # a copy (fancy indexing): the map stays read-only


_OPEN: dict[tuple[str, str], FrameCache] = {}


def open_frame_cache(path: str | Path, root: str | Path) -> FrameCache:
    """The process's one :class:`FrameCache` for ``path`` over the dataset at ``root`` (``data.root``; readers
    resolve it the same way), opened once per process (e.g. per DataLoader worker)."""
    key = (os.fspath(Path(path).expanduser().resolve()), os.fspath(Path(root).expanduser().resolve()))
    cache = _OPEN.get(key)
    if cache is None:
        cache = _OPEN[key] = FrameCache(key[0], root=key[1])
    return cache
