"""What the viewer shows, read from an index folder: tracks grouped by video, rankings with filters, safe file lookup.

Files: only images that the index lists are served. Each path is resolved (symlinks followed) and must lie inside
the tracklet folder that ``m3dreid index`` recorded for its track (its ``source``) or inside the index folder, and
end in an image suffix; nothing is addressed by a path taken from a URL.

The ranking of a person page is :meth:`GalleryIndex.search_entry` (what ``m3dreid search`` ranks with): the track's
stored feature against the whole index, its own entry left out, the camera filter applied by the index; a time
window is applied after ranking, so the order is the search's order. The "same person?" cue is the index's own
threshold (``info["same_person"]``, estimated by ``m3dreid index``), and a track on screen together with the query in
the same video is never the same person, whatever its distance.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from m3dreid.index import IMAGE_SUFFIXES, GalleryIndex
from m3dreid.video.crops import read_tracks_csv

__all__ = ["Catalog", "Match", "Track", "Video", "ServeError", "overlaps"]

log = logging.getLogger(__name__)

REQUIRED_KEYS = ("source", "camid", "track_id", "num_frames", "first_frame", "last_frame", "thumbnails")


class ServeError(ValueError):
    """An index folder the viewer cannot show; the message is one line naming the file."""


@dataclass(frozen=True)
class Track:
    gi: int  # position in the index (row of features.npy)
    key: str  # stable name in marks.json: "<source>#<track_id>"
    camid: int
    track_id: int
    video: str  # file name of the video the tracklets were cut from ("" if unknown)
    source: Path  # resolved `m3dreid tracklets` folder
    num_frames: int
    first_frame: int
    last_frame: int
    fps: float  # frames per second of the video, 0.0 if unknown
    thumbnails: tuple[str, ...]  # the strip: first crop, the representative one (nearest the track's mean), last

    @property
    def start(self) -> float | None:
        """Seconds from the start of its video, None when the frame rate is unknown."""
        return self.first_frame / self.fps if self.fps > 0 else None

    @property
    def end(self) -> float | None:
        return self.last_frame / self.fps if self.fps > 0 else None

    def in_window(self, t0: float | None, t1: float | None) -> bool:
        """Whether the track is on screen at some time in ``[t0, t1]`` seconds (an open end is unbounded)."""
        if t0 is None and t1 is None:
            return True
        if self.start is None:
            return False  # no frame rate: its time is unknown, so it is not shown as inside any window
        return (t1 is None or self.start <= t1) and (t0 is None or self.end >= t0)


@dataclass(frozen=True)
class Video:
    source: Path
    name: str
    camid: int
    fps: float
    tracks: tuple[int, ...]  # gallery indices, by first frame
    first_frame: int
    last_frame: int


@dataclass(frozen=True)
class Match:
    rank: int  # 1-based, among the matches shown
    track: Track
    distance: float
    same: bool | None  # the "same person?" cue: distance below the index's threshold (None: no threshold)
    together: bool = False  # on screen at the same time as the query in the same video: another person for sure


def overlaps(a: Track, b: Track) -> bool:
    """Whether two tracks' frame ranges share a frame (of one video: both people are on screen together)."""
    return a.first_frame <= b.last_frame and b.first_frame <= a.last_frame


def _strip_paths(rec: dict) -> tuple[str, ...]:
    """First, representative (``thumbnail``, chosen by ``m3dreid index``; else the middle one) and last crop."""
    crops = [str(p) for p in rec["thumbnails"]]
    if rec.get("thumbnail") and len(crops) >= 3:
        crops[len(crops) // 2] = str(rec["thumbnail"])
    return tuple(crops)


def _video_fps(source: Path) -> tuple[str, float]:
    summary = source / "video.json"
    if not summary.is_file():
        return "", 0.0
    try:
        info = json.loads(summary.read_text())
        return Path(str(info.get("video", ""))).name, float(info.get("fps") or 0.0)
    except (ValueError, TypeError, UnicodeDecodeError):
        log.warning("%s: unreadable, frame rate unknown", summary)
        return "", 0.0


class Catalog:
    """One index folder as the viewer sees it; :meth:`refresh` reloads it after ``m3dreid index --add``."""

    def __init__(self, index_dir: str | Path) -> None:
        self.root = Path(index_dir).resolve()
        self._lock = threading.Lock()
        self._stamp = self._meta_stamp()
        self._load()

    def _meta_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.root / "meta.json").stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _load(self) -> None:
        try:
            index = GalleryIndex.load(self.root)
        except FileNotFoundError as err:
            raise ServeError(str(err)) from None
        except ValueError as err:
            raise ServeError(str(err)) from None
        tracks = []
        fps_of: dict[Path, tuple[str, float]] = {}
        for gi, rec in enumerate(index.meta):
            missing = [k for k in REQUIRED_KEYS if k not in rec]
            if missing:
                raise ServeError(f"{self.root / 'meta.json'}: tracklet {gi} has no {', '.join(missing)} "
                                 f"(not an index of `m3dreid tracklets` folders)")  # fmt: skip
            source = Path(rec["source"])
            source = (source if source.is_absolute() else self.root / source).resolve()
            if source not in fps_of:
                fps_of[source] = _video_fps(source)
            name, fps = fps_of[source]
            try:
                tracks.append(Track(gi=gi, key=f"{rec['source']}#{int(rec['track_id'])}", camid=int(rec["camid"]),
                                    track_id=int(rec["track_id"]), video=Path(rec.get("video") or "").name or name,
                                    source=source, num_frames=int(rec["num_frames"]),
                                    first_frame=int(rec["first_frame"]), last_frame=int(rec["last_frame"]), fps=fps,
                                    thumbnails=_strip_paths(rec)))  # fmt: skip
            except (TypeError, ValueError) as err:
                raise ServeError(f"{self.root / 'meta.json'}: tracklet {gi}: {err}") from None
        videos = []
        for source in fps_of:
            members = sorted((t for t in tracks if t.source == source), key=lambda t: (t.first_frame, t.track_id))
            videos.append(Video(source=source, name=members[0].video or source.name, camid=members[0].camid,
                                fps=fps_of[source][1], tracks=tuple(t.gi for t in members),
                                first_frame=min(t.first_frame for t in members),
                                last_frame=max(t.last_frame for t in members)))  # fmt: skip
        videos.sort(key=lambda v: (v.camid, v.name, str(v.source)))
        self.index = index
        self.tracks = tracks
        self.videos = videos
        self.cameras = sorted({t.camid for t in tracks})
        self.threshold = index.same_person_threshold
        self.threshold_record = dict(index.info.get("same_person") or {})
        self._by_key = {t.key: t for t in tracks}
        self._frames: dict[Path, dict[int, list[dict]]] = {}
        self.generation = (self._stamp, len(tracks))

    def refresh(self) -> bool:
        """Reload when ``meta.json`` changed (``index --add`` ran); True if it did. A half-written index (files
        that disagree) keeps the old view until the next request."""
        stamp = self._meta_stamp()
        if stamp == self._stamp:
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            old = self._stamp
            self._stamp = stamp
            try:
                self._load()
            except ServeError as err:
                self._stamp = old
                log.warning("index changed but cannot be read yet: %s", err)
                return False
        log.info("index reloaded: %d tracklets", len(self.tracks))
        return True

    def __len__(self) -> int:
        return len(self.tracks)

    def track(self, gi: int) -> Track:
        if not 0 <= gi < len(self.tracks):
            raise KeyError(gi)
        return self.tracks[gi]

    def by_key(self, key: str) -> Track | None:
        return self._by_key.get(key)

    def find(self, camid: int, track_id: int) -> list[Track]:
        return [t for t in self.tracks if t.camid == camid and t.track_id == track_id]

    def rank(
        self,
        gi: int,
        *,
        k: int = 20,
        cameras: set[int] | None = None,
        t0: float | None = None,
        t1: float | None = None,
    ) -> list[Match]:
        """The ``k`` nearest tracks to track ``gi`` in the search's order, itself left out, then filtered by camera
        and time window (seconds)."""
        query = self.track(gi)
        windowed = t0 is not None or t1 is not None
        hits = self.index.search_entry(query.gi, len(self) if windowed else k, cameras=cameras or None)
        matches: list[Match] = []
        for hit in hits:
            track = self.tracks[hit.gallery_index]
            if len(matches) >= k:
                break
            if not track.in_window(t0, t1):
                continue
            together = track.source == query.source and overlaps(track, query)
            same = False if together else hit.same_person
            matches.append(Match(rank=len(matches) + 1, track=track, distance=hit.distance, same=same,
                                 together=together))  # fmt: skip
        return matches

    # --- files -------------------------------------------------------------------------------------------------
    def safe_path(self, track: Track, path: str) -> Path | None:
        """``path`` resolved, if it is an image inside the track's folder or the index folder; else None."""
        p = Path(path)
        candidates = [p] if p.is_absolute() else [track.source / p, self.root / p]
        for c in candidates:
            c = c.resolve()
            inside = c.is_relative_to(track.source) or c.is_relative_to(self.root)
            if inside and c.suffix.lower() in IMAGE_SUFFIXES and c.is_file():
                return c
        return None

    def thumbnails(self, gi: int) -> list[Path | None]:
        """The track's representative crops (None where a file is gone or lies outside its folders)."""
        track = self.track(gi)
        return [self.safe_path(track, p) for p in track.thumbnails]

    def rows(self, gi: int) -> list[dict]:
        """The track's rows of its ``tracks.csv`` (frame, box, path), read once per folder."""
        track = self.track(gi)
        if track.source not in self._frames:
            try:
                self._frames[track.source] = read_tracks_csv(track.source)
            except (FileNotFoundError, ValueError) as err:
                log.warning("%s", err)
                self._frames[track.source] = {}
        return self._frames[track.source].get(track.track_id, [])

    def frames(self, gi: int) -> list[Path]:
        """Every crop of the track that is on disk inside its folder, in frame order."""
        track = self.track(gi)
        return [p for p in (self.safe_path(track, r["path"]) for r in self.rows(gi)) if p is not None]
