"""``m3dreid serve INDEX --export DIR``: the pages of chosen queries as plain HTML + images that open from disk.

Written: ``index.html`` (the videos and the chosen tracks), ``person_<gi>.html`` and ``timeline_<gi>.html`` per
query, ``img/strip_<gi>.jpg`` for every track shown, ``img/play_<gi>.gif`` for the queries, ``style.css``, and
``identity_cam<C>_track<T>/`` (the marked identity as tracklet folders) per query. No forms: marks are shown as
they are in ``marks.json``, not changed. Every link is relative, so the folder can be zipped and sent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import render_template

from m3dreid.serve.app import PACKAGE, create_app
from m3dreid.serve.catalog import Catalog
from m3dreid.serve.identity import write_identity_folder
from m3dreid.serve.media import animation_gif, strip_jpeg
from m3dreid.serve.pages import Filters, overview_page, person_page, timeline_page

__all__ = ["StaticLinks", "export_pages", "parse_queries"]


class StaticLinks:
    """Relative file names; a page that is not exported gives None, and the template shows no link."""

    static = True

    def __init__(self, catalog: Catalog, queries: list[int]) -> None:
        self.catalog, self.queries = catalog, set(queries)
        self.strips: set[int] = set()
        self.plays: set[int] = set()

    def overview(self, **args) -> str:
        return "index.html"

    def person(self, gi: int, **args) -> str | None:
        return f"person_{gi}.html" if gi in self.queries else None

    def timeline(self, gi: int) -> str | None:
        return f"timeline_{gi}.html" if gi in self.queries else None

    def strip(self, gi: int) -> str:
        self.strips.add(gi)
        return f"img/strip_{gi}.jpg"

    def play(self, gi: int) -> str:
        self.plays.add(gi)
        return f"img/play_{gi}.gif"

    def identity(self, gi: int) -> str | None:
        return f"{identity_folder(self.catalog, gi)}/identity.json" if gi in self.queries else None

    def marks(self) -> str:  # never used: static pages have no forms
        return ""

    def stylesheet(self) -> str:
        return "style.css"


def identity_folder(catalog: Catalog, gi: int) -> str:
    t = catalog.track(gi)
    return f"identity_cam{t.camid}_track{t.track_id}"


def parse_queries(catalog: Catalog, specs: list[str]) -> list[int]:
    """``CAM:TRACK`` (or ``all``) -> gallery indices; a spec that names no track is a ValueError naming it."""
    out: list[int] = []
    for spec in specs:
        if spec == "all":
            out += range(len(catalog))
            continue
        try:
            cam, track = (int(x) for x in spec.split(":"))
        except ValueError:
            raise ValueError(f"--query {spec!r}: expected CAMERA:TRACK (e.g. 1:3) or all") from None
        found = catalog.find(cam, track)
        if not found:
            raise ValueError(f"--query {spec}: no track {track} of camera {cam} in the index")
        out += [t.gi for t in found]
    return list(dict.fromkeys(out))


def export_pages(index_dir: str | Path, out_dir: str | Path, queries: list[str], *, k: int = 20) -> list[Path]:
    """Write the static pages for ``queries`` (``CAM:TRACK`` specs) into ``out_dir``; returns the pages."""
    app = create_app(index_dir)
    catalog, marks = app.config["CATALOG"], app.config["MARKS"]
    chosen = parse_queries(catalog, queries)
    out = Path(out_dir)
    (out / "img").mkdir(parents=True, exist_ok=True)
    links = StaticLinks(catalog, chosen)
    pages: list[Path] = []

    def write(name: str, template: str, **context) -> None:
        html = render_template(template, links=links, token="", **context)
        (out / name).write_text(html)
        pages.append(out / name)

    with app.app_context():
        view = overview_page(catalog)
        view.update(tracks=[catalog.track(gi) for gi in chosen], total=len(chosen), pages=1)
        write("index.html", "overview.html", **view)
        for gi in chosen:
            write(f"person_{gi}.html", "person.html", **person_page(catalog, marks, gi, Filters(k=k)))
            write(f"timeline_{gi}.html", "timeline.html", **timeline_page(catalog, marks, gi))
            write_identity_folder(catalog, marks, gi, out / identity_folder(catalog, gi))
    for gi in sorted(links.strips):
        (out / "img" / f"strip_{gi}.jpg").write_bytes(strip_jpeg(catalog.thumbnails(gi)))
    for gi in sorted(links.plays):
        (out / "img" / f"play_{gi}.gif").write_bytes(animation_gif(catalog.frames(gi), fps=catalog.track(gi).fps))
    shutil.copyfile(PACKAGE / "static" / "style.css", out / "style.css")
    return pages
