"""MOT files and the real MOT15 video: reading, bad rows, and reproducing given tracks exactly through the pipeline."""

from __future__ import annotations

import configparser
from pathlib import Path

import cv2
import numpy as np
import pytest

from m3dreid.cli import main
from m3dreid.video import (
    GivenIdTracker,
    MotFormatError,
    MotReplay,
    VideoError,
    VideoReader,
    build_tracklets,
    read_mot,
    read_tracks_csv,
    track_metrics,
    write_mot,
)

SEQ = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"
VIDEO, GT = SEQ / "TUD-Campus.mp4", SEQ / "gt" / "gt.txt"


def test_read_real_gt_counts():
    table = read_mot(GT)
    assert len(table) == 359 and table.has_ids
    lengths = sorted(int((table.ids == i).sum()) for i in np.unique(table.ids))
    assert lengths == [9, 24, 25, 48, 48, 63, 71, 71]  # from shared/mot15/SOURCES.md
    frames, boxes = table.track(1)
    assert frames[0] == 1 and boxes[0].tolist() == [399, 182, 121, 229]


def test_real_video_frame_count_matches_seqinfo():
    info = configparser.ConfigParser()
    info.read(SEQ / "seqinfo.ini")
    with VideoReader(VIDEO) as reader:
        assert reader.info.frame_count == int(info["Sequence"]["seqLength"]) == 71
        shapes = {frame.shape for _, frame in reader}
        numbers = reader.info.frame_count
    assert shapes == {(int(info["Sequence"]["imHeight"]), int(info["Sequence"]["imWidth"]), 3)}
    assert numbers == 71


def test_gt_input_reproduces_tracks_exactly(tmp_path):
    gt = read_mot(GT)
    summary = build_tracklets(
        VIDEO, tmp_path, detector=MotReplay(gt), tracker=GivenIdTracker(), crop_size=(64, 32), progress=False
    )
    assert summary.frames_read == 71 and summary.tracks == {i: int((gt.ids == i).sum()) for i in range(1, 9)}
    out = read_mot(tmp_path / "tracks.txt")
    np.testing.assert_array_equal(out.frames, gt.frames)
    np.testing.assert_array_equal(out.ids, gt.ids)
    np.testing.assert_array_equal(out.boxes, gt.boxes)
    m = track_metrics(gt, out)
    assert (m.recall, m.precision, m.id_switches, m.idf1) == (1.0, 1.0, 0, 1.0)
    rows = read_tracks_csv(tmp_path)
    assert [r["frame"] for r in rows[6]] == gt.track(6)[0].tolist()
    first = rows[1][0]["path"]
    assert first.endswith("bbox/0001/0001C1T0001F001.jpg") and cv2.imread(first).shape == (64, 32, 3)
    assert len(list((tmp_path / "bbox").glob("*/*.jpg"))) == 359


def test_cli_tracklets_from_gt(tmp_path, capsys):
    rc = main(["tracklets", str(VIDEO), "--out", str(tmp_path), "--detections", str(GT), "--camid", "3",
               "--max-frames", "10", "--no-progress", "--height", "32", "--width", "16"])  # fmt: skip
    assert rc == 0
    gt = read_mot(GT)
    first10 = gt.frames <= 10
    expected = f"10 frames, {len(np.unique(gt.ids[first10]))} tracklets, {int(first10.sum())} crops"
    assert expected == "10 frames, 6 tracklets, 59 crops" and expected in capsys.readouterr().out
    rows = read_tracks_csv(tmp_path)
    assert {r["camid"] for rs in rows.values() for r in rs} == {3}
    assert sum(len(r) for r in rows.values()) == 59


def test_cli_tracklets_with_frames_missing_rows(tmp_path, capsys):
    """A MOT file with gaps (frames 4-6 have no row) that ends before the video (frame 12 of 15): normal, no crash."""
    gt = read_mot(GT)
    keep = ((gt.frames < 4) | (gt.frames > 6)) & (gt.frames <= 12)
    gappy = type(gt)(gt.frames[keep], gt.ids[keep], gt.boxes[keep], gt.scores[keep])
    write_mot(gappy, tmp_path / "gappy.txt")
    for name, ids in (("gt", gappy.ids), ("det", np.full(len(gappy), -1))):  # given ids, and ids for the tracker
        table = type(gt)(gappy.frames, ids, gappy.boxes, gappy.scores)
        write_mot(table, tmp_path / f"{name}.txt")
        out = tmp_path / name
        rc = main(["tracklets", str(VIDEO), "--out", str(out), "--detections", str(tmp_path / f"{name}.txt"),
                   "--max-frames", "15", "--no-progress", "--height", "32", "--width", "16"])  # fmt: skip
        assert rc == 0
        frames = sorted({r["frame"] for rs in read_tracks_csv(out).values() for r in rs})
        assert set(frames) <= set(gappy.frames.tolist()) and max(frames) == 12
        if name == "gt":
            assert frames == sorted(set(gappy.frames.tolist()))
            assert sum(len(r) for r in read_tracks_csv(out).values()) == len(gappy)
        sheet = cv2.imread(str(out / "tracks.jpg"))  # the contact sheet of all tracks
        assert sheet is not None and sheet.shape[0] >= 96
    assert "contact sheet of all tracks" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "row", "what"),
    [
        ("1,1,10,10,5,9,1\n1,2,10,10,5\n", 2, "at least 6"),
        ("1,1,10,10,5,9,1\n\n2,1,ten,10,5,9,1\n", 3, "non-numeric"),
        ("0,1,10,10,5,9,1\n", 1, "frame must be"),
        ("1,1,10,10,0,9,1\n", 1, "width and height"),
        ("1,1,10,10,5,9,1\n1,1,11,10,5,9,1\n", 2, "appears twice"),
        ("1,1,10,10,nan,9,1\n", 1, "non-finite"),
    ],
)
def test_bad_mot_rows_name_file_and_row(tmp_path, text, row, what):
    path = tmp_path / "det.txt"
    path.write_text(text)
    with pytest.raises(MotFormatError, match=rf"det\.txt: row {row}: .*{what}"):
        read_mot(path)


def test_empty_and_missing_mot_file(tmp_path):
    (tmp_path / "gt.txt").write_text("\n")
    with pytest.raises(MotFormatError, match=r"gt\.txt: no rows"):
        read_mot(tmp_path / "gt.txt")
    with pytest.raises(MotFormatError, match=r"nope\.txt: MOT file not found"):
        read_mot(tmp_path / "nope.txt")


def test_det_file_whitespace_and_roundtrip(tmp_path):
    path = tmp_path / "det.txt"
    path.write_text("2 -1 1.5 2 3 4 0.9\n1 -1 0 0 5 5\n")
    table = read_mot(path)
    assert not table.has_ids and table.frames.tolist() == [1, 2] and table.scores.tolist() == [1.0, 0.9]
    back = read_mot(write_mot(table, tmp_path / "out.txt"))
    np.testing.assert_array_equal(back.boxes, table.boxes)


def test_unreadable_and_empty_videos(tmp_path):
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    with pytest.raises(VideoError, match=r"notes\.mp4: cannot be opened"):
        VideoReader(not_video)
    empty = tmp_path / "empty.avi"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48)).release()
    with pytest.raises(VideoError, match=r"empty\.avi: the video contains no frames"):
        VideoReader(empty)
    with pytest.raises(VideoError, match=r"missing\.mp4: video file not found"):
        VideoReader(tmp_path / "missing.mp4")
    assert main(["tracklets", str(not_video), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
