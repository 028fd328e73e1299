"""Appearance re-linking: tracks seen in the same frame are never merged; a track split by a gap is joined again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from m3dreid.cli import main
from m3dreid.video import read_mot, read_tracks_csv, track_metrics, write_mot
from m3dreid.video.relink import Embedder, TrackSpan, plan_relinks, relink_folder, tracklet_embedder

SEQ = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"


def _span(first, last, x0=0.0, speed=2.0):
    box = lambda f: (x0 + speed * (f - first), 10.0, 20.0, 50.0)  # noqa: E731
    return TrackSpan(first, last, box(first), box(last), (speed, 0.0))


def test_never_merges_tracks_seen_in_the_same_frame():
    # identical appearance everywhere (distance 0): only time and motion decide
    spans = {1: _span(1, 10), 2: _span(12, 20, x0=22.0), 3: _span(10, 20, x0=18.0), 4: _span(15, 30, x0=150.0)}
    joins = plan_relinks(spans, lambda a, b: 0.0, threshold=1.0, max_gap=30)
    assert joins == [(1, 2)]  # 3 shares frame 10 with track 1; 4 is far from where track 1 was heading
    for a, b in joins:
        assert spans[a].last_frame < spans[b].first_frame
    # chains: 1 -> 2 is taken; 5 (frames 21-25) may follow 2, but 6 (frames 19-25) overlaps 2 and may not
    spans |= {5: _span(21, 25, x0=40.0), 6: _span(19, 25, x0=38.0)}
    joins = plan_relinks(spans, lambda a, b: 0.1 * a + 0.01 * b, threshold=1.0, max_gap=30)
    assert (1, 2) in joins and (2, 5) in joins and not any(6 in j for j in joins)
    assert plan_relinks(spans, lambda a, b: 2.0, threshold=1.0, max_gap=30) == []  # appearance disagrees


def test_relink_joins_a_track_split_by_an_occlusion(tmp_path):
    gt = read_mot(SEQ / "gt" / "gt.txt")
    # track 3 (frames 1-63) loses frames 30-37 and comes back as track 40: a broken track, ids otherwise kept
    keep = ~((gt.ids == 3) & (gt.frames >= 30) & (gt.frames <= 37))
    ids = np.where((gt.ids == 3) & (gt.frames > 37), 40, gt.ids)
    write_mot(type(gt)(gt.frames[keep], ids[keep], gt.boxes[keep], gt.scores[keep]), tmp_path / "broken.txt")
    out = tmp_path / "out"
    assert main(["tracklets", str(SEQ / "TUD-Campus.mp4"), "--out", str(out), "--detections",
                 str(tmp_path / "broken.txt"), "--height", "64", "--width", "32", "--no-progress",
                 "--no-sheet"]) == 0  # fmt: skip
    before = track_metrics(gt, read_mot(out / "tracks.txt"))
    histogram = tracklet_embedder("histogram")
    calls = []
    counting = Embedder("counting", lambda ts: calls.append(len(ts)) or histogram.embed(ts), histogram.metric)
    result = relink_folder(out, embed=counting, max_gap=30)  # any embedding function plugs in
    assert calls[0] == 9 and result.joins == [(3, 40)] and result.threshold is not None
    assert (result.tracks_before, result.tracks_after) == (9, 8)
    after = track_metrics(gt, read_mot(out / "tracks.txt"))
    assert after.idf1 > before.idf1 and after.id_switches == before.id_switches - 1
    rows = read_tracks_csv(out)
    assert 40 not in rows and [r["frame"] for r in rows[3]] == [f for f in range(1, 64) if not 30 <= f <= 37]
    assert all(Path(r["path"]).is_file() and "/0003/0003C1" in r["path"] for r in rows[3])
    assert not (out / "bbox" / "0040").exists()
    info = json.loads((out / "video.json").read_text())
    assert info["relinked"] == [[3, 40]] and info["tracks"]["3"] == 55


def test_relink_model_errors_come_before_tracking(tmp_path, capsys):
    rc = main(["tracklets", str(SEQ / "TUD-Campus.mp4"), "--out", str(tmp_path / "o"), "--relink",
               str(tmp_path / "missing.pt"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "missing.pt" in err and not (tmp_path / "o").exists()
