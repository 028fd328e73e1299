"""`m3dreid serve` through Flask's test client: every route, the person page ranks as GalleryIndex.search, filters,
marks saved and read back, traversal refused, and clear errors for indexes it cannot show."""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from m3dreid.cli import main
from m3dreid.index import GalleryIndex, read_tracklet_dir
from m3dreid.serve import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from footage import CAMERAS, build_footage, person_of  # noqa: E402


@pytest.fixture
def footage(tmp_path):
    index_dir, folders = build_footage(tmp_path)
    return index_dir, folders


@pytest.fixture
def client(footage):
    app = create_app(footage[0])
    return app, app.test_client()


def ranked_gis(html: str) -> list[int]:
    """Gallery indices of the ranked matches, in page order."""
    return [int(g) for g in re.findall(r'<li class="match[^"]*" id="m\d+" data-gi="(\d+)" data-rank="\d+"', html)]


def token_of(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def search_order(index_dir: Path, gi: int) -> list[int]:
    index = GalleryIndex.load(index_dir)
    _, ids = index.search(index.features[gi : gi + 1], len(index))
    return [int(i) for i in ids[0] if i != gi]


def test_overview_lists_every_video_and_track(client):
    app, c = client
    html = c.get("/").get_data(as_text=True)
    assert html.count('class="video"') == 2 and "cam1.avi" in html and "cam2.avi" in html
    cards = re.findall(r'<div class="track\s*" id="t(\d+)"', html)
    assert sorted(int(g) for g in cards) == list(range(9))  # 5 + 4 tracks
    # track 2 of camera 1: 7 frames, frames 12-18, at 25 frames/s 0.48 s - 0.72 s
    assert "<span>7 frames</span>" in html and "frames 12&ndash;18" in html and "0:00.5&ndash;0:00.7" in html
    only2 = c.get("/?cam=2").get_data(as_text=True)
    assert len(re.findall(r'<div class="track\s*" id="t\d+"', only2)) == 4
    assert c.get("/?cam=x").status_code == 400


def test_person_page_ranks_as_gallery_search_without_its_own_track(client, footage):
    app, c = client
    for gi in range(9):
        html = c.get(f"/person/{gi}?k=50").get_data(as_text=True)
        assert ranked_gis(html) == search_order(footage[0], gi)
        assert f'id="m{gi}"' not in html  # its own track is left out
    # rank 1 of camera 1's track 1 (person 0) is camera 2's track 1, the same person (colour features)
    catalog = app.config["CATALOG"]
    first = catalog.track(ranked_gis(c.get("/person/0").get_data(as_text=True))[0])
    assert (first.camid, first.track_id) == (2, 1) and person_of(first) == 0


def test_person_page_shows_distance_camera_time_and_same_person_cue(client, footage):
    app, c = client
    catalog = app.config["CATALOG"]
    html = c.get("/person/0").get_data(as_text=True)
    matches = catalog.rank(0, k=20)
    assert len(ranked_gis(html)) == len(matches) == 8
    for m in matches:
        block = html[html.index(f'id="m{m.track.gi}"') :][:1500]
        assert f"d = {m.distance:.4g}" in block and f"cam {m.track.camid} &middot; track {m.track.track_id}" in block
    record = json.loads((footage[0] / "meta.json").read_text())["info"]["same_person"]
    assert record["different_pairs"] == 13  # 8 pairs of tracks overlapping in time in camera 1, 5 in camera 2
    assert catalog.threshold == record["threshold"] is not None
    assert all(m.same == (m.distance <= catalog.threshold) for m in matches if not m.together)
    same = [m for m in matches if m.same]
    assert [(m.track.camid, m.track.track_id) for m in same] == [(2, 1)]  # the right one, and only it
    together = [m for m in matches if m.together]  # camera 1's tracks 2 and 3 overlap track 1 in time
    assert sorted(m.track.track_id for m in together) == [2, 3] and all(m.track.camid == 1 for m in together)
    assert html.count("same person? no: on screen together") == 2 and html.count("same person? likely") == 1


def test_filters_by_camera_and_time_window(client, footage):
    app, c = client
    catalog = app.config["CATALOG"]
    order = search_order(footage[0], 0)
    only2 = ranked_gis(c.get("/person/0?cam=2").get_data(as_text=True))
    assert only2 == [g for g in order if catalog.track(g).camid == 2] and len(only2) == 4
    both = ranked_gis(c.get("/person/0?cam=1&cam=2").get_data(as_text=True))
    assert both == order
    # camera 2's tracks start at frame 40 (1.6 s); a window ending at 1.0 s keeps camera 1's tracks only
    early = ranked_gis(c.get("/person/0?t1=1.0").get_data(as_text=True))
    assert early == [g for g in order if catalog.track(g).start <= 1.0] and len(early) == 4
    window = ranked_gis(c.get("/person/0?t0=0.9&t1=1.7").get_data(as_text=True))
    expected = [g for g in order if catalog.track(g).end >= 0.9 and catalog.track(g).start <= 1.7]
    assert window == expected and 0 < len(window) < len(order)
    assert ranked_gis(c.get("/person/0?k=3").get_data(as_text=True)) == order[:3]
    for bad in ("k=0", "k=x", "t0=soon", "cam=one", "k=100000"):
        assert c.get(f"/person/0?{bad}").status_code == 400, bad


def test_marks_saved_atomically_and_shown_after_a_restart(client, footage):
    app, c = client
    index_dir = footage[0]
    html = c.get("/person/0").get_data(as_text=True)
    token = token_of(html)
    r = c.post("/marks", data={"token": token, "query": 0, "match": 5, "verdict": "right", "back": "person",
                               "cam": ["1", "2"]})  # fmt: skip
    assert r.status_code == 303 and r.headers["Location"].endswith("/person/0?cam=1&cam=2#m5")
    assert c.post("/marks", data={"token": token, "query": 0, "match": 1, "verdict": "wrong"}).status_code == 303
    record = json.loads((index_dir / "marks.json").read_text())
    catalog = app.config["CATALOG"]
    assert record == {"version": 1, "marks": {catalog.track(0).key: {catalog.track(5).key: "right",
                                                                     catalog.track(1).key: "wrong"}}}  # fmt: skip
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".marks.")]  # no temporary file left

    restarted = create_app(index_dir).test_client()  # a new server reads the marks back
    html = restarted.get("/person/0").get_data(as_text=True)
    assert re.search(r'<li class="match marked-right" id="m5"', html) and "marked right" in html
    assert re.search(r'<li class="match marked-wrong" id="m1"', html)
    timeline = restarted.get("/timeline/0").get_data(as_text=True)
    assert 'class="bar right"' in timeline and 'class="bar query"' in timeline
    accepted = timeline[timeline.index('<ol class="accepted">') : timeline.index("</ol>")]
    assert 'id="m5"' in accepted and 'id="m1"' not in accepted  # marked wrong: not accepted
    assert 'id="m1"' in timeline[timeline.index('<ol class="rejected">') :]

    clear = {"token": token_of(html), "query": 0, "match": 1, "verdict": "clear", "back": "timeline"}
    assert restarted.post("/marks", data=clear).headers["Location"].endswith("/timeline/0#m1")
    left = json.loads((index_dir / "marks.json").read_text())["marks"]
    assert left == {catalog.track(0).key: {catalog.track(5).key: "right"}}


def test_mark_route_refuses_bad_posts(client, footage):
    app, c = client
    token = token_of(c.get("/person/0").get_data(as_text=True))
    good = {"token": token, "query": 0, "match": 5, "verdict": "right"}
    assert c.post("/marks", data={**good, "token": "stolen"}).status_code == 403  # another site's form
    assert c.post("/marks", data={k: v for k, v in good.items() if k != "token"}).status_code == 403
    assert c.post("/marks", data={**good, "verdict": "maybe"}).status_code == 400
    assert c.post("/marks", data={**good, "match": 99}).status_code == 404
    assert c.post("/marks", data={**good, "match": 0}).status_code == 400  # itself
    assert c.get("/marks").status_code == 405
    assert not (footage[0] / "marks.json").exists()
    for route in ("/", "/person/0", "/strip/0.jpg", "/static/style.css"):  # the only write route is /marks
        assert c.post(route).status_code == 405, route


def test_images_decode_strip_and_animation(client):
    app, c = client
    strip = c.get("/strip/2.jpg")
    assert strip.mimetype == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(strip.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (96, 3 * 48 + 2 * 2, 3)  # the track's three representative crops, 2 px apart
    assert abs(int(image[20, 24, 0]) - 40) < 40 and abs(int(image[20, 24, 2]) - 200) < 40  # person 2's blue shirt
    gif = Image.open(io.BytesIO(c.get("/play/2.gif").data))
    assert gif.format == "GIF" and gif.n_frames == 8 and gif.size == (64, 128)  # track 3 of camera 1: 8 frames
    assert gif.info["duration"] == 40  # 25 frames/s
    css = c.get("/static/style.css")
    assert css.status_code == 200 and b"body" in css.data
    assert c.get("/strip/99.jpg").status_code == 404 and c.get("/play/99.gif").status_code == 404


def test_identity_export_is_a_folder_of_tracklets(client, tmp_path):
    app, c = client
    token = token_of(c.get("/person/0").get_data(as_text=True))
    c.post("/marks", data={"token": token, "query": 0, "match": 5, "verdict": "right"})
    c.post("/marks", data={"token": token, "query": 0, "match": 1, "verdict": "wrong"})
    r = c.get("/person/0/identity.zip")
    assert r.mimetype == "application/zip" and "identity_cam1_track1.zip" in r.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(r.data)) as archive:
        archive.extractall(tmp_path / "out")
    top = tmp_path / "out" / "identity_cam1_track1"
    record = json.loads((top / "identity.json").read_text())
    assert [(m["camid"], m["track_id"], m["verdict"]) for m in record["members"]] == [(1, 1, "query"), (2, 1, "right")]
    for folder, camid in (("cam1", 1), ("cam2", 2)):  # `m3dreid index` reads the export back as tracklet folders
        tracklets, meta = read_tracklet_dir(top / folder)
        assert [(m["camid"], m["track_id"], m["num_frames"]) for m in meta] == [(camid, 1, 6)]
        assert all(Path(f).is_file() for t in tracklets for f in t.frames)


def test_traversal_and_foreign_hosts_refused(client, footage, tmp_path):
    app, c = client
    for url in ("/static/../meta.json", "/static/%2e%2e/%2e%2e/pyproject.toml", "/static/..%2fmarks.json",
                "/strip/../../etc/passwd", "/strip/-1.jpg", "/play/0.gif/../../../etc/passwd", "/etc/passwd",
                "/meta.json", "/features.npy", "/person/-1", "/person/9", "/timeline/99",
                "/static//etc/passwd"):  # fmt: skip
        r = c.get(url, follow_redirects=True)  # "//" is merged by a redirect first
        assert r.status_code in (400, 404), (url, r.status_code)
        assert b"root:" not in r.data and b'"tracklets"' not in r.data
    assert c.get("/", headers={"Host": "evil.example:8000"}).status_code == 403  # DNS rebinding
    assert c.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert "default-src 'none'" in c.get("/").headers["Content-Security-Policy"]


def test_files_outside_the_tracks_folders_are_never_read(tmp_path):
    """A crafted index naming files outside its tracklet folders: grey tiles and no frames, not their bytes."""
    index_dir, folders = build_footage(tmp_path)
    secret = tmp_path / "secret.jpg"
    cv2.imwrite(str(secret), np.full((64, 32, 3), (0, 0, 255), np.uint8))  # pure red: would show if served
    record = json.loads((index_dir / "meta.json").read_text())
    record["tracklets"][0]["thumbnails"] = [str(secret), str(folders[0] / ".." / "secret.jpg"), "/etc/passwd"]
    record["tracklets"][0]["thumbnail"] = str(folders[0] / "bbox" / ".." / ".." / "secret.jpg")  # representative
    (index_dir / "meta.json").write_text(json.dumps(record))
    csv_path = folders[0] / "tracks.csv"
    lines = csv_path.read_text().splitlines()
    lines[1] = ",".join(lines[1].split(",")[:-1] + ["../secret.jpg"])  # track 1's first crop -> outside
    csv_path.write_text("\n".join(lines) + "\n")
    c = create_app(index_dir).test_client()
    image = cv2.imdecode(np.frombuffer(c.get("/strip/0.jpg").data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (96, 148, 3) and (image[..., 2].astype(int) - image[..., 0]).max() < 10  # nothing red
    for x0 in (0, 50, 100):  # three grey tiles (inner part: JPEG rings next to the white gaps)
        assert (np.abs(image[:, x0 + 4 : x0 + 44].astype(int) - 200) <= 2).all()
    assert Image.open(io.BytesIO(c.get("/play/0.gif").data)).n_frames == 5  # 6 crops, the one outside left out


def test_index_added_while_serving_shows_up(tmp_path):
    index_dir, folders = build_footage(tmp_path, cameras={1: CAMERAS[1]})
    app = create_app(index_dir)
    c = app.test_client()
    assert c.get("/").get_data(as_text=True).count('class="video"') == 1
    # what `m3dreid index --add` does: append a second camera's tracklets, save (meta.json last)
    more, _ = build_footage(tmp_path / "more", cameras={2: CAMERAS[2]})
    extra = GalleryIndex.load(more)
    index = GalleryIndex.load(index_dir)
    index.add(extra.features, extra.meta)
    index.save(index_dir)
    html = c.get("/").get_data(as_text=True)
    assert html.count('class="video"') == 2 and "9 tracks" in html
    assert ranked_gis(c.get("/person/0?k=50").get_data(as_text=True)) == search_order(index_dir, 0)


@pytest.mark.parametrize("damage", ["missing", "partial", "version", "mismatch", "not-json", "not-tracklets",
                                    "marks"])  # fmt: skip
def test_serve_refuses_an_index_it_cannot_show_in_one_line(tmp_path, capsys, damage):
    index_dir, _ = build_footage(tmp_path)
    meta = index_dir / "meta.json"
    record = json.loads(meta.read_text())
    expected = {
        "missing": "not a gallery index, missing",
        "partial": "missing features.npy",
        "version": "index version 99, this m3dreid reads version 1",
        "mismatch": "index holds 9 vectors, features.npy 9, meta.json 8 records",
        "not-json": "meta.json: not JSON",
        "not-tracklets": "tracklet 0 has no source",
        "marks": "marks.json: not JSON",
    }[damage]
    target = index_dir
    if damage == "missing":
        target = tmp_path / "nowhere"
    elif damage == "partial":
        (index_dir / "features.npy").unlink()
    elif damage == "version":
        meta.write_text(json.dumps(record | {"version": 99}))
    elif damage == "mismatch":
        meta.write_text(json.dumps(record | {"tracklets": record["tracklets"][:-1]}))
    elif damage == "not-json":
        meta.write_text(meta.read_text()[:100])
    elif damage == "not-tracklets":
        record["tracklets"][0].pop("source")
        meta.write_text(json.dumps(record))
    elif damage == "marks":
        (index_dir / "marks.json").write_text("{oops")
    capsys.readouterr()
    assert main(["serve", str(target), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.startswith("m3dreid serve: ") and err.count("\n") == 1, err


def test_static_export_opens_from_the_file_system(footage, tmp_path, capsys):
    index_dir, _ = footage
    out = tmp_path / "site"
    assert main(["serve", str(index_dir), "--export", str(out), "--query", "1:1", "--query", "2:3"]) == 0
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == ["index.html", "person_0.html", "person_7.html", "timeline_0.html", "timeline_7.html"]
    for page in out.glob("*.html"):
        html = page.read_text()
        assert "<form" not in html and "http://" not in html and "https://" not in html
        for ref in re.findall(r'(?:src|href)="([^"#]+)"', html):
            assert not ref.startswith("/") and (out / ref).is_file(), (page.name, ref)
    assert ranked_gis((out / "person_0.html").read_text()) == search_order(index_dir, 0)[:20]
    strip = cv2.imread(str(out / "img" / "strip_5.jpg"))
    assert strip.shape == (96, 148, 3)
    assert Image.open(out / "img" / "play_7.gif").n_frames == 8
    assert (out / "identity_cam1_track1" / "identity.json").is_file()
    assert main(["serve", str(index_dir), "--export", str(out), "--query", "1:1"]) == 2  # not empty
    assert main(["serve", str(index_dir), "--export", str(tmp_path / "x"), "--query", "3:1"]) == 2
    assert "no track 1 of camera 3" in capsys.readouterr().err


def test_timeline_keeps_marks_further_down_than_it_looks(client, monkeypatch):
    from m3dreid.serve import pages

    app, c = client
    catalog = app.config["CATALOG"]
    monkeypatch.setattr(pages, "TIMELINE_DEPTH", 2)  # look at two ranked matches only
    far = catalog.rank(0, k=8)[-1]  # the 8th match: below the depth
    token = token_of(c.get("/person/0").get_data(as_text=True))
    c.post("/marks", data={"token": token, "query": 0, "match": far.track.gi, "verdict": "right"})
    accepted, rejected = pages.accepted_matches(catalog, app.config["MARKS"], 0)
    marked = [(m.track.gi, kind) for m, kind in accepted if kind == "right"]
    assert marked == [(far.track.gi, "right")]
    distance = next(m.distance for m, kind in accepted if kind == "right")
    assert distance == pytest.approx(far.distance, rel=1e-5)  # the search's distance, computed directly
    html = c.get("/timeline/0").get_data(as_text=True)
    assert f'<li class="match right" id="m{far.track.gi}"' in html
