"""What each page shows, as plain data for its template; the live server and the static export both use these.

Links are made by a ``links`` object (:class:`LiveLinks` in the server, :class:`StaticLinks` in an export), so
one set of templates serves both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from m3dreid.serve.catalog import Catalog, Match, Track
from m3dreid.serve.marks import MarksStore

__all__ = ["Filters", "PAGE_SIZE", "TIMELINE_DEPTH", "overview_page", "person_page", "timeline_page"]

PAGE_SIZE = 60  # tracks on one overview page
TIMELINE_DEPTH = 100  # ranked matches the timeline looks through for suggestions under the threshold
LANE_WIDTH = 1000  # SVG units of a timeline lane


@dataclass(frozen=True)
class Filters:
    cameras: frozenset[int] = frozenset()  # empty: every camera
    t0: float | None = None  # seconds from the start of the videos
    t1: float | None = None
    k: int = 20

    def as_args(self) -> dict:
        """The query-string arguments that give these filters back (for links and the marks form)."""
        args: dict = {}
        if self.cameras:
            args["cam"] = sorted(self.cameras)
        if self.t0 is not None:
            args["t0"] = f"{self.t0:g}"
        if self.t1 is not None:
            args["t1"] = f"{self.t1:g}"
        if self.k != Filters.k:
            args["k"] = self.k
        return args


def overview_page(catalog: Catalog, *, camera: int | None = None, page: int = 1) -> dict:
    shown = [t for v in catalog.videos for t in (catalog.tracks[gi] for gi in v.tracks)
             if camera is None or t.camid == camera]  # fmt: skip
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(1, page), pages)
    return {
        "catalog": catalog,
        "camera": camera,
        "page": page,
        "pages": pages,
        "tracks": shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        "total": len(shown),
    }


def person_page(catalog: Catalog, marks: MarksStore, gi: int, filters: Filters) -> dict:
    query = catalog.track(gi)
    matches = catalog.rank(gi, k=filters.k, cameras=set(filters.cameras), t0=filters.t0, t1=filters.t1)
    return {"catalog": catalog, "query": query, "matches": matches, "filters": filters,
            "verdicts": marks.of(query.key)}  # fmt: skip


@dataclass(frozen=True)
class Bar:
    """One track on a timeline lane (SVG units)."""

    track: Track
    x: float
    width: float
    kind: str  # "query" | "right" | "suggested"
    distance: float | None


def accepted_matches(catalog: Catalog, marks: MarksStore, gi: int) -> tuple[list[tuple[Match, str]], list[Match]]:
    """(accepted, rejected): matches marked "right" or, unmarked, under the threshold (with their kind), and those
    marked "wrong", in ranking order."""
    query = catalog.track(gi)
    verdicts = marks.of(query.key)
    ranked = catalog.rank(gi, k=TIMELINE_DEPTH)
    seen = {m.track.key for m in ranked}
    # marks on tracks further down the ranking still count: their distances directly (rank 0: below the depth)
    further = [t for t in (catalog.by_key(key) for key in verdicts if key not in seen) if t is not None]
    if further:
        features = catalog.index.features
        rows = np.array([t.gi for t in further])
        distances = catalog.index.pair_distance(np.repeat(features[gi : gi + 1], len(rows), axis=0), features[rows])
        extra = [Match(rank=0, track=t, distance=float(d), same=None) for t, d in zip(further, distances, strict=True)]
        ranked = ranked + sorted(extra, key=lambda m: m.distance)
    accepted, rejected = [], []
    for m in ranked:
        verdict = verdicts.get(m.track.key)
        if verdict == "right":
            accepted.append((m, "right"))
        elif verdict == "wrong":
            rejected.append(m)
        elif m.same:
            accepted.append((m, "suggested"))
    return accepted, rejected


def timeline_page(catalog: Catalog, marks: MarksStore, gi: int) -> dict:
    query = catalog.track(gi)
    accepted, rejected = accepted_matches(catalog, marks, gi)
    # one time axis for every lane: seconds when every video's frame rate is known, frame numbers otherwise
    seconds = all(v.fps > 0 for v in catalog.videos)
    span = max((v.last_frame / v.fps if seconds else v.last_frame) for v in catalog.videos) or 1.0

    def bar(track: Track, kind: str, distance: float | None) -> Bar:
        start, end = (track.start, track.end) if seconds else (track.first_frame, track.last_frame)
        x = LANE_WIDTH * start / span
        return Bar(track, x, max(3.0, LANE_WIDTH * (end - start) / span), kind, distance)

    lanes = []
    for video in catalog.videos:
        bars = [bar(t, k, d) for t, k, d in [(query, "query", None)] + [(m.track, k, m.distance) for m, k in accepted]
                if t.source == video.source]  # fmt: skip
        if bars:
            lanes.append({"video": video, "bars": sorted(bars, key=lambda b: b.x)})
    ticks = [(LANE_WIDTH * i / 5, span * i / 5) for i in range(6)]
    return {"catalog": catalog, "query": query, "accepted": accepted, "rejected": rejected, "lanes": lanes,
            "ticks": ticks, "seconds": seconds, "lane_width": LANE_WIDTH, "verdicts": marks.of(query.key)}  # fmt: skip
