"""`m3dreid index --add`: appending a video's tracklets to an index equals building the index with it at once."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from m3dreid.cli import main
from m3dreid.index import GalleryIndex

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))
from deploy_helpers import save_checkpoint  # noqa: E402
from footage import CAMERAS, write_camera  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def test_index_add_equals_building_at_once(tmp_path, capsys):
    _, ckpt = save_checkpoint("resnet50_2d", tmp_path / "2d.pt")
    cam1, cam2 = (write_camera(tmp_path, cam, CAMERAS[cam]) for cam in (1, 2))
    common = ["--model", str(ckpt), "--no-progress"]
    assert main(["index", str(cam1), str(cam2), "--out", str(tmp_path / "full"), *common]) == 0
    assert main(["index", str(cam1), "--out", str(tmp_path / "grown"), *common]) == 0
    assert len(GalleryIndex.load(tmp_path / "grown")) == 5
    assert main(["index", str(cam2), "--add", "--out", str(tmp_path / "grown"), "--no-progress"]) == 0  # its model
    assert "added 4 tracklets from 1 folder(s); 9 in" in capsys.readouterr().out
    full, grown = GalleryIndex.load(tmp_path / "full"), GalleryIndex.load(tmp_path / "grown")
    assert grown.meta == full.meta and len(grown) == 9
    np.testing.assert_allclose(grown.features, full.features, rtol=1e-5, atol=1e-5)
    for gi in range(9):
        np.testing.assert_array_equal(
            grown.search(full.features[gi : gi + 1], 9)[1], full.search(full.features[gi : gi + 1], 9)[1]
        )

    assert main(["index", str(cam2), "--add", "--out", str(tmp_path / "grown"), "--no-progress"]) == 2
    assert "already in the index" in capsys.readouterr().err
    other = shutil.copyfile(ckpt, tmp_path / "other.pt")  # refused by name, before any embedding
    assert main(["index", str(cam2), "--add", "--out", str(tmp_path / "full"), "--model", str(other)]) == 2
    assert "features of two models cannot be ranked together" in capsys.readouterr().err
    assert main(["index", str(cam2), "--add", "--out", str(tmp_path / "none")]) == 2
    assert "not a gallery index" in capsys.readouterr().err


def test_add_keeps_a_trained_ivf_index(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((120, 8)).astype(np.float32)
    grown = GalleryIndex.build(feats[:80], [{"i": i} for i in range(80)], kind="ivf", nlist=2)
    grown.add(feats[80:], [{"i": i} for i in range(80, 120)])
    grown.set_nprobe(2)  # every cell: exact
    grown.save(tmp_path)
    back = GalleryIndex.load(tmp_path)
    back.set_nprobe(2)
    assert back.kind == "ivf" and len(back) == 120 and back.meta[119] == {"i": 119}
    exact = GalleryIndex.build(feats, [{}] * 120, kind="flat")
    np.testing.assert_array_equal(back.search(feats[:5], 120)[1], exact.search(feats[:5], 120)[1])
