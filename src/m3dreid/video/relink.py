"""Appearance re-linking within one video: join tracks broken by an occlusion when appearance and motion agree.

After tracking, a person hidden for longer than the tracker's ``max_age`` comes back under a new id. Track B is
joined onto track A when all of these hold:

- **never together**: B starts after A ends (``A.last < B.first``, for the whole chains joined so far), so two tracks
  visible in the same frame, which are two people, are never merged;
- **short gap**: ``B.first - A.last <= max_gap`` frames;
- **motion**: B's first box lies where A's last velocity carries it, within ``0.5 + 0.05 * gap`` of A's box height,
  and their heights differ by less than a factor ``1.5``;
- **appearance**: the distance of their embeddings is at most the video's same-person threshold, estimated on the
  video itself (:mod:`m3dreid.index.threshold`: halves of one track vs tracks seen in the same frames).

Candidates are taken greedily, closest appearance first. Any embedding works: an :class:`Embedder` wraps a function
``tracklets -> (N, D)`` with its metric; :func:`tracklet_embedder` gives the colour histogram (no model) or any
checkpoint ``m3dreid index`` can use, and other descriptors plug in the same way.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from m3dreid.data.base import Tracklet

__all__ = ["Embedder", "TrackSpan", "RelinkResult", "plan_relinks", "relink_folder", "tracklet_embedder"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Embedder:
    """A tracklet descriptor: ``embed(tracklets) -> (N, D)`` features compared under ``metric``."""

    name: str
    embed: Callable[[list[Tracklet]], np.ndarray]
    metric: str = "euclidean"  # euclidean (squared) | cosine (1 - cos), as the index's distances

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Row-wise distance of two ``(M, D)`` arrays."""
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if self.metric == "cosine":
            a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
            b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
            return 1.0 - (a * b).sum(axis=1)
        return ((a - b) ** 2).sum(axis=1)


def tracklet_embedder(model: str, *, device: str = "cpu") -> Embedder:
    """Any provider ``index`` can use (:func:`m3dreid.index.embedders.load_embedder`: ``appearance``,
    ``color_histogram``, ``pretrained-2d``, ``pretrained-m3d`` or a checkpoint path), or ``histogram`` (the colour
    histogram, the same as ``color_histogram``), as an :class:`Embedder`."""
    from m3dreid.index.embedders import load_embedder

    provider = load_embedder("color_histogram" if model == "histogram" else model, device=device)
    return Embedder(provider.name, lambda ts: provider.embed(list(ts)), provider.metric)


@dataclass(frozen=True)
class TrackSpan:
    """Where and when one track was seen: its first and last frame and box, and its velocity at the end."""

    first_frame: int
    last_frame: int
    first_box: tuple[float, float, float, float]  # x, y, w, h
    last_box: tuple[float, float, float, float]
    velocity: tuple[float, float]  # (dx, dy) of the box centre a frame, over its last few frames

    @staticmethod
    def from_rows(rows: list[dict], window: int = 5) -> TrackSpan:
        """From a track's ``read_tracks_csv`` rows (frame order)."""
        tail = rows[-window:]
        if len(tail) >= 2 and tail[-1]["frame"] > tail[0]["frame"]:
            c0, c1 = _centre(tail[0]["box"]), _centre(tail[-1]["box"])
            steps = tail[-1]["frame"] - tail[0]["frame"]
            velocity = ((c1[0] - c0[0]) / steps, (c1[1] - c0[1]) / steps)
        else:
            velocity = (0.0, 0.0)
        return TrackSpan(rows[0]["frame"], rows[-1]["frame"], tuple(rows[0]["box"]), tuple(rows[-1]["box"]), velocity)


def _centre(box) -> tuple[float, float]:
    return box[0] + box[2] / 2.0, box[1] + box[3] / 2.0


def _motion_agrees(a: TrackSpan, b: TrackSpan) -> bool:
    gap = b.first_frame - a.last_frame
    cx, cy = _centre(a.last_box)
    px, py = cx + a.velocity[0] * gap, cy + a.velocity[1] * gap
    bx, by = _centre(b.first_box)
    height = a.last_box[3]
    ratio = b.first_box[3] / max(height, 1e-6)
    return bool(np.hypot(bx - px, by - py) <= (0.5 + 0.05 * gap) * height and 1 / 1.5 < ratio < 1.5)


def plan_relinks(
    spans: dict[int, TrackSpan],
    distance: Callable[[int, int], float],
    *,
    threshold: float,
    max_gap: int,
) -> list[tuple[int, int]]:
    """Joins ``(earlier track, later track)`` by the rules of the module docstring, closest appearance first.

    Chains are followed: once A -> B is joined, B's successor is searched from B's end, and a join is only made when
    the whole earlier chain ends before the whole later chain starts.
    """
    candidates = []
    for a, sa in spans.items():
        for b, sb in spans.items():
            gap = sb.first_frame - sa.last_frame
            if a != b and 1 <= gap <= max_gap and _motion_agrees(sa, sb):
                d = float(distance(a, b))
                if d <= threshold:
                    candidates.append((d, a, b))
    successor: dict[int, int] = {}
    predecessor: dict[int, int] = {}

    def head(t: int) -> int:
        while t in predecessor:
            t = predecessor[t]
        return t

    def chain(t: int) -> list[int]:
        out, t = [], head(t)
        while True:
            out.append(t)
            if t not in successor:
                return out
            t = successor[t]

    joins = []
    for _, a, b in sorted(candidates):
        if a in successor or b in predecessor or head(a) == head(b):
            continue
        earlier, later = chain(a), chain(b)
        if max(spans[t].last_frame for t in earlier) >= min(spans[t].first_frame for t in later):
            continue  # some part of one chain is seen together with some part of the other: two people
        successor[a], predecessor[b] = b, a
        joins.append((a, b))
    return joins


@dataclass(frozen=True)
class RelinkResult:
    joins: list[tuple[int, int]]  # (kept id, absorbed id): the absorbed track's crops now carry the kept id
    threshold: float | None
    tracks_before: int
    tracks_after: int

    @property
    def threshold_text(self) -> str:
        return "not estimated (no joins)" if self.threshold is None else f"{self.threshold:.4g}"


def relink_folder(out_dir: str | Path, *, embed: Embedder, max_gap: int = 60) -> RelinkResult:
    """Re-link the tracks of one ``m3dreid tracklets`` folder in place (crops renamed, CSV / MOT / JSON rewritten)."""
    from m3dreid.index.threshold import same_person_record
    from m3dreid.index.tracklet_dirs import read_tracklet_dir
    from m3dreid.video.crops import read_tracks_csv

    out_dir = Path(out_dir)
    tracklets, meta = read_tracklet_dir(out_dir)
    rows = read_tracks_csv(out_dir)
    if len(tracklets) < 2:
        return RelinkResult([], None, len(tracklets), len(tracklets))
    feats = np.asarray(embed.embed(tracklets), np.float64)  # (N, D)
    record = same_person_record(tracklets, meta, feats, embed=embed.embed, distance=embed.distance)
    threshold = record["threshold"]
    if threshold is None:
        log.info("relink: %s: no threshold (%s), nothing joined", out_dir, record["reason"])
        return RelinkResult([], None, len(tracklets), len(tracklets))
    position = {m["track_id"]: i for i, m in enumerate(meta)}
    spans = {t: TrackSpan.from_rows(rows[t]) for t in position}
    joins = plan_relinks(
        spans,
        lambda a, b: embed.distance(feats[[position[a]]], feats[[position[b]]])[0],
        threshold=threshold,
        max_gap=max_gap,
    )
    id_map = {}
    for a, b in joins:  # a chain A -> B -> C keeps A's id throughout
        id_map[b] = id_map.get(a, a)
    for b in list(id_map):
        while id_map[b] in id_map:
            id_map[b] = id_map[id_map[b]]
    if id_map:
        _rewrite(out_dir, id_map)
    kept = [(id_map.get(a, a), b) for a, b in joins]
    log.info("relink: %s: %d joins at threshold %.4g", out_dir, len(joins), threshold)
    return RelinkResult(kept, threshold, len(tracklets), len(tracklets) - len(joins))


def _rewrite(out_dir: Path, id_map: dict[int, int]) -> None:
    """Give the absorbed tracks' crops, CSV rows and MOT rows their new ids (files renamed, tables replaced)."""
    from m3dreid.video.crops import CSV_FIELDS

    csv_path = out_dir / "tracks.csv"
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        old = int(row["track_id"])
        if old not in id_map:
            continue
        new = id_map[old]
        name = Path(row["path"]).name.replace(f"{old:04d}C", f"{new:04d}C", 1)
        rel = Path("bbox") / f"{new:04d}" / name
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(out_dir / row["path"], out_dir / rel)
        row["track_id"], row["path"] = str(new), rel.as_posix()
    for old in id_map:
        folder = out_dir / "bbox" / f"{old:04d}"
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    rows.sort(key=lambda r: (int(r["track_id"]), int(r["frame"])))
    tmp = csv_path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(csv_path)
    mot_path = out_dir / "tracks.txt"
    lines = []
    for line in mot_path.read_text().splitlines():
        fields = line.split(",")
        if len(fields) > 1 and int(fields[1]) in id_map:
            fields[1] = str(id_map[int(fields[1])])
        lines.append(",".join(fields))
    tmp = mot_path.with_suffix(".txt.tmp")
    tmp.write_text("\n".join(lines) + ("\n" if lines else ""))
    tmp.replace(mot_path)
    summary = out_dir / "video.json"
    if summary.is_file():
        info = json.loads(summary.read_text())
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["track_id"]] = counts.get(row["track_id"], 0) + 1
        info["tracks"] = {k: counts[k] for k in sorted(counts, key=int)}
        info["relinked"] = sorted([new, old] for old, new in id_map.items())
        summary.write_text(json.dumps(info, indent=1))
