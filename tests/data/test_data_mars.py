"""MARS reader on the real MARS metadata (tests/fixtures, from the official MARS evaluation kit).

How the full-size test stays fast and honest: the real ``info/`` files (name lists decompressed, .mat files copied)
are put in a temporary root and the real ``read_mars`` runs on it. The only thing replaced is the one-call-per-folder
directory listing (``m3dreid.data.mars.list_dir``), which returns, for each ``bbox_*/<pid>`` folder, the names a tree
built from the name lists would hold -- 1.19 M empty files would take minutes to create. Reading real folders is tested
separately on a real tree for a slice of the metadata (every listed frame written as a file), where a deleted frame
must be reported by name.

The expected figures are computed in the tests straight from the .mat arrays with numpy, not with the reader.
"""

from __future__ import annotations

import functools
import gzip
import shutil
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import scipy.io

from m3dreid.config import DataConfig
from m3dreid.data import DatasetError, create_dataset, load_tracklet
from m3dreid.data import mars as mars_module

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@functools.cache
def _names(split: str) -> tuple[str, ...]:
    """The frame names of the real name list (read once per test session)."""
    with gzip.open(FIXTURES / f"{split}_name.txt.gz", "rt", newline="") as f:
        return tuple(f.read().split())


def _mat(name: str, key: str) -> np.ndarray:
    return scipy.io.loadmat(str(FIXTURES / name))[key].astype(np.int64)


@pytest.fixture(scope="module")
def mars_root(tmp_path_factory) -> tuple[Path, dict[str, set[str]]]:
    root = tmp_path_factory.mktemp("mars")
    (root / "info").mkdir()
    (root / "bbox_train").mkdir()
    (root / "bbox_test").mkdir()
    listing: dict[str, set[str]] = {}
    for split in ("train", "test"):
        names = _names(split)
        (root / "info" / f"{split}_name.txt").write_bytes("".join(n + "\r\n" for n in names).encode("ascii"))
        by_folder: dict[str, set[str]] = {}
        for name in names:
            by_folder.setdefault(name[:4], set()).add(name)
        base = root.resolve() / f"bbox_{split}"
        listing.update({str(base / folder): found for folder, found in by_folder.items()})
    for name in ("tracks_train_info.mat", "tracks_test_info.mat", "query_IDX.mat"):
        shutil.copy(FIXTURES / name, root / "info" / name)
    return root, listing


def _expected() -> dict:
    """The protocol figures, from the .mat arrays alone."""
    train = _mat("tracks_train_info.mat", "track_train_info")
    test = _mat("tracks_test_info.mat", "track_test_info")
    qrows = _mat("query_IDX.mat", "query_IDX").ravel() - 1
    pid, cam = test[:, 2], test[:, 3]
    is_query = np.zeros(len(test), bool)
    is_query[qrows] = True

    def no_match(gallery_mask: np.ndarray, junk: tuple[int, ...]) -> int:
        count = 0
        for r in qrows:
            valid = gallery_mask & (pid == pid[r]) & (cam != cam[r]) & ~np.isin(pid, junk)
            count += not valid.any()
        return count

    return {
        "train_ids": len(np.unique(train[:, 2])),
        "train_tracklets": len(train),
        "train_frames": int((train[:, 1] - train[:, 0] + 1).sum()),
        "queries": len(qrows),
        "test_tracklets": len(test),
        "junk": int((pid == -1).sum()),
        "distractors": int((pid == 0).sum()),
        "no_match_official": no_match(np.ones(len(test), bool), (-1,)),
        "no_match_torchreid": no_match(~is_query & (pid != -1), ()),
        "torchreid_gallery": int((~is_query & (pid != -1)).sum()),
        "torchreid_gallery_ids": len(np.unique(pid[~is_query & (pid != -1)])),
    }


def test_full_mars_metadata_both_protocols(mars_root):
    root, listing = mars_root
    exp = _expected()
    # the published figures, and our independent derivation of the protocol ones
    assert (exp["train_ids"], exp["train_tracklets"], exp["queries"], exp["test_tracklets"]) == (625, 8298, 1980, 12180)
    assert (exp["junk"], exp["distractors"]) == (870, 3248)
    assert (exp["no_match_official"], exp["no_match_torchreid"]) == (0, 140)
    assert (exp["torchreid_gallery"], exp["torchreid_gallery_ids"]) == (9330, 621)  # torchreid's MARS figures
    with mock.patch.object(mars_module, "list_dir", lambda d: listing.get(d, set())):
        official = create_dataset("mars", root, protocol="official")
        torchreid = create_dataset("mars", root, protocol="torchreid")
    for ds in (official, torchreid):
        assert ds.num_train_pids == exp["train_ids"] and len(ds.train) == exp["train_tracklets"]
        assert sum(len(t.frames) for t in ds.train) == exp["train_frames"]
        assert len(ds.query) == exp["queries"]
        assert {t.pid for t in ds.train} == set(range(625))
    assert len(official.gallery) == 12180 and len(torchreid.gallery) == 9330
    assert len({t.pid for t in torchreid.gallery}) == 621 and all(t.pid != -1 for t in torchreid.gallery)
    assert sum(t.pid == -1 for t in official.gallery) == exp["junk"]
    assert sum(t.pid == 0 for t in official.gallery) == exp["distractors"]
    assert official.junk_pids == frozenset({-1}) and torchreid.junk_pids == frozenset()
    assert (official.ap_definition, torchreid.ap_definition) == ("mars_kit", "standard")
    assert len(official.queries_without_match()) == exp["no_match_official"]
    assert len(torchreid.queries_without_match()) == exp["no_match_torchreid"]
    # layout details: absolute paths in the pid folder, 0-based cameras, pid -1 folder '00-1'
    first = official.train[0]
    assert first.frames[0] == str(root.resolve() / "bbox_train" / "0001" / "0001C1T0001F001.jpg")
    assert first.camid == 0 and official.train_pids_original[first.pid] == 1
    assert "/bbox_test/00-1/00-1C1T0001F001.jpg" in official.gallery[0].frames[0]
    # the relabelling agrees with M3D's list_train_seq.txt (row i: '<pid>/<tracklet> <label>')
    labels = [int(line.split()[1]) for line in (FIXTURES / "list_train_seq.txt").read_text().splitlines()]
    assert [t.pid for t in official.train] == labels


def _write_slice(root: Path, train_rows: int = 12, test_pids=(-1, 0, 2, 6)) -> None:
    """A real MARS tree for a slice of the metadata: the first train rows, all test rows of a few real pids and
    the first 3 rows of pids -1 / 0 when asked for (they have 870 / 3,248 tracklets)."""
    for sub in ("info", "bbox_train", "bbox_test"):
        (root / sub).mkdir(parents=True)
    train = _mat("tracks_train_info.mat", "track_train_info")[:train_rows]
    test = _mat("tracks_test_info.mat", "track_test_info")
    qrows = _mat("query_IDX.mat", "query_IDX").ravel() - 1
    keep = [r for p in test_pids for r in np.flatnonzero(test[:, 2] == p)[: 3 if p <= 0 else None]]
    keep = np.array(sorted(keep))
    for split, rows in (("train", train), ("test", test[keep])):
        names = _names(split)
        out_names, out_rows = [], []
        for start, end, pid, cam in rows:
            frames = names[start - 1 : end][:3]  # 3 frames a tracklet: file creation is the slow part
            out_rows.append([len(out_names) + 1, len(out_names) + len(frames), pid, cam])
            out_names.extend(frames)
            for n in frames:
                folder = root / f"bbox_{split}" / n[:4]
                folder.mkdir(exist_ok=True)
                (folder / n).touch()
        (root / "info" / f"{split}_name.txt").write_text("".join(n + "\r\n" for n in out_names))
        scipy.io.savemat(root / "info" / f"tracks_{split}_info.mat", {f"track_{split}_info": np.array(out_rows)})
    new_q = [int(np.flatnonzero(keep == r)[0]) + 1 for r in qrows if r in set(keep.tolist())]
    scipy.io.savemat(root / "info" / "query_IDX.mat", {"query_IDX": np.array([new_q])})


def test_real_tree_slice_and_missing_frame(tmp_path):
    _write_slice(tmp_path)
    ds = create_dataset("mars", tmp_path)
    assert len(ds.train) == 12 and ds.num_train_pids == len({t.pid for t in ds.train})
    assert {t.pid for t in ds.gallery} == {-1, 0, 2, 6}
    assert all(t.pid in (2, 6) for t in ds.query) and len(ds.query) > 0
    victim = Path(ds.gallery[-1].frames[1])
    victim.unlink()
    with pytest.raises(DatasetError, match=victim.name) as err:
        create_dataset("mars", tmp_path)
    assert "no such file" in str(err.value)


def test_missing_info_files_are_all_listed(tmp_path):
    _write_slice(tmp_path, train_rows=2, test_pids=(2,))
    (tmp_path / "info" / "query_IDX.mat").unlink()
    (tmp_path / "info" / "train_name.txt").unlink()
    with pytest.raises(DatasetError) as err:
        create_dataset("mars", tmp_path)
    assert "info/train_name.txt" in str(err.value) and "info/query_IDX.mat" in str(err.value)


def test_empty_tracklet_row_is_an_error(tmp_path):
    _write_slice(tmp_path, train_rows=3, test_pids=(2,))
    path = tmp_path / "info" / "tracks_train_info.mat"
    rows = scipy.io.loadmat(path)["track_train_info"]
    rows[1, 1] = rows[1, 0] - 1  # end before start
    scipy.io.savemat(path, {"track_train_info": rows})
    with pytest.raises(DatasetError, match=r"tracks_train_info\.mat: row 2 .*empty"):
        create_dataset("mars", tmp_path)


def test_unreadable_jpeg_names_the_file(tmp_path):
    _write_slice(tmp_path, train_rows=2, test_pids=(2,))
    ds = create_dataset("mars", tmp_path)
    bad = ds.train[0].frames[0]  # an empty file, as written by the slice
    with pytest.raises(DatasetError, match=Path(bad).name):
        load_tracklet(ds.train[0], DataConfig(height=16, width=8))


def test_non_ascii_byte_in_a_name_list_names_the_file_and_line(tmp_path):
    _write_slice(tmp_path, train_rows=2, test_pids=(2,))
    path = tmp_path / "info" / "test_name.txt"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2][:3] + b"\xe9" + lines[2][4:]
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DatasetError, match=r"test_name\.txt: line 3 holds a non-ASCII byte \(0xe9\)"):
        create_dataset("mars", tmp_path)
