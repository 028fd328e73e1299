"""The ``m3dreid serve`` web app: server-rendered pages over one index folder, no JavaScript.

Routes (all GET except ``/marks``, the only one that writes, and only ``marks.json``):

    /                          overview: videos / cameras, every track as a thumbnail strip (?cam=, ?page=)
    /person/<gi>               ranked matches of track gi (?cam=1&cam=2, ?t0=, ?t1= seconds, ?k=)
    /timeline/<gi>             its accepted matches per camera over time
    /person/<gi>/identity.zip  the marked identity as tracklet folders
    /strip/<gi>.jpg            the track's thumbnail strip        /play/<gi>.gif   its crops as an animation
    POST /marks                mark a match right / wrong / clear (form with the page's token)
    /static/style.css          the stylesheet shipped in the package

Safety: requests whose Host is not a loopback name are refused while the server listens on a loopback address
(a web page elsewhere cannot reach it through DNS rebinding); the mark form carries a token made at start, so
another site cannot post marks (CSRF); pages send a Content-Security-Policy that allows nothing but this server.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, abort, redirect, render_template, request, url_for

from m3dreid.serve.catalog import Catalog
from m3dreid.serve.identity import write_identity_zip
from m3dreid.serve.marks import VERDICTS, MarksStore
from m3dreid.serve.media import animation_gif, strip_jpeg
from m3dreid.serve.pages import Filters, overview_page, person_page, timeline_page

__all__ = ["create_app", "LiveLinks", "clock", "LOOPBACK_NAMES"]

PACKAGE = Path(__file__).resolve().parent
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
MAX_K = 500
CSP = "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"


def clock(seconds: float | None) -> str:
    """``m:ss.s`` for a time in seconds ("?" when unknown)."""
    if seconds is None:
        return "?"
    minutes, rest = divmod(max(0.0, float(seconds)), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


class LiveLinks:
    """URLs of the running server."""

    static = False

    def overview(self, **args) -> str:
        return url_for("overview", **args)

    def person(self, gi: int, **args) -> str:
        return url_for("person", gi=gi, **args)

    def timeline(self, gi: int) -> str:
        return url_for("timeline", gi=gi)

    def strip(self, gi: int) -> str:
        return url_for("strip", gi=gi)

    def play(self, gi: int) -> str:
        return url_for("play", gi=gi)

    def identity(self, gi: int) -> str:
        return url_for("identity", gi=gi)

    def marks(self) -> str:
        return url_for("set_mark")

    def stylesheet(self) -> str:
        return url_for("static", filename="style.css")


class _Lru:
    """A small thread-safe cache of generated images (bytes), so a page reload does not redo them."""

    def __init__(self, size: int) -> None:
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


def _filters(args) -> Filters:
    def number(name: str, cast):
        raw = args.get(name, "").strip()
        if not raw:
            return None
        try:
            return cast(raw)
        except ValueError:
            abort(400, f"'{name}' must be a number, got {raw!r}")

    try:
        cameras = frozenset(int(c) for c in args.getlist("cam") if c.strip())
    except ValueError:
        abort(400, "'cam' must be camera ids (integers)")
    k = number("k", int)
    k = Filters.k if k is None else k
    if not 1 <= k <= MAX_K:
        abort(400, f"'k' must be 1 to {MAX_K}")
    return Filters(cameras=cameras, t0=number("t0", float), t1=number("t1", float), k=k)


def create_app(index_dir: str | Path, *, host: str = "127.0.0.1") -> Flask:
    """The app for one index folder. Raises :class:`~m3dreid.serve.catalog.ServeError` (one line) when the folder
    is not a readable index, ``ValueError`` when its ``marks.json`` is malformed."""
    catalog = Catalog(index_dir)
    marks = MarksStore(catalog.root)
    app = Flask(__name__, static_folder=str(PACKAGE / "static"), template_folder=str(PACKAGE / "templates"))
    app.config.update(CATALOG=catalog, MARKS=marks, TOKEN=secrets.token_urlsafe(24), MAX_CONTENT_LENGTH=64 * 1024)
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    loopback_only = host in LOOPBACK_NAMES
    images = _Lru(4096)
    links = LiveLinks()

    @app.before_request
    def guard_and_refresh():
        if loopback_only and (request.host.rsplit(":", 1)[0].strip("[]") not in LOOPBACK_NAMES):
            abort(403, "this server answers only requests addressed to 127.0.0.1 / localhost")
        catalog.refresh()

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def page(template: str, **context) -> str:
        return render_template(template, links=links, token=app.config["TOKEN"], **context)

    def track_or_404(gi: int):
        try:
            return catalog.track(gi)
        except KeyError:
            abort(404, f"no track {gi} in this index ({len(catalog)} tracks)")

    @app.get("/")
    def overview():
        try:
            camera = int(request.args["cam"]) if request.args.get("cam") else None
            number = int(request.args.get("page") or 1)
        except ValueError:
            abort(400, "'cam' and 'page' must be integers")
        return page("overview.html", **overview_page(catalog, camera=camera, page=number))

    @app.get("/person/<int:gi>")
    def person(gi: int):
        track_or_404(gi)
        return page("person.html", **person_page(catalog, marks, gi, _filters(request.args)))

    @app.get("/timeline/<int:gi>")
    def timeline(gi: int):
        track_or_404(gi)
        return page("timeline.html", **timeline_page(catalog, marks, gi))

    @app.get("/person/<int:gi>/identity.zip")
    def identity(gi: int):
        track = track_or_404(gi)
        top = f"identity_cam{track.camid}_track{track.track_id}"
        data = write_identity_zip(catalog, marks, gi, top=top)
        return Response(data, mimetype="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{top}.zip"'})  # fmt: skip

    @app.get("/strip/<int:gi>.jpg")
    def strip(gi: int):
        track_or_404(gi)
        data = images.get(("strip", gi, catalog.generation), lambda: strip_jpeg(catalog.thumbnails(gi)))
        return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "no-cache"})

    @app.get("/play/<int:gi>.gif")
    def play(gi: int):
        track = track_or_404(gi)
        data = images.get(("play", gi, catalog.generation), lambda: animation_gif(catalog.frames(gi), fps=track.fps))
        return Response(data, mimetype="image/gif", headers={"Cache-Control": "no-cache"})

    @app.post("/marks")
    def set_mark():
        form = request.form
        if not hmac.compare_digest(form.get("token", ""), app.config["TOKEN"]):
            abort(403, "missing or stale form token: reload the page and mark again")
        try:
            query, match = int(form.get("query", "")), int(form.get("match", ""))
        except ValueError:
            abort(400, "'query' and 'match' must be track numbers")
        q, m = track_or_404(query), track_or_404(match)
        verdict = form.get("verdict", "")
        if verdict not in (*VERDICTS, "clear"):
            abort(400, f"'verdict' must be one of {', '.join(VERDICTS)}, clear")
        if q.gi == m.gi:
            abort(400, "a track cannot be marked as a match of itself")
        marks.set(q.key, m.key, None if verdict == "clear" else verdict)
        anchor = f"#m{m.gi}"
        if form.get("back") == "timeline":
            return redirect(url_for("timeline", gi=q.gi) + anchor, code=303)
        return redirect(url_for("person", gi=q.gi, **_filters(form).as_args()) + anchor, code=303)

    return app
