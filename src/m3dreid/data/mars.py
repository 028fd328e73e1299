"""MARS reader (Zheng et al., ECCV 2016) in its published layout, with the two evaluation protocols in use.

Layout::

    root/bbox_train/0001/0001C1T0001F001.jpg ...   (pid folder / frame; name = pid, camera, tracklet, frame)
    root/bbox_test/00-1/00-1C1T0001F001.jpg ...    (pid -1 is written '00-1')
    root/info/train_name.txt  test_name.txt         (one frame name a line, CRLF)
    root/info/tracks_train_info.mat  tracks_test_info.mat   ([start, end, pid, camid] a row, 1-based rows of names)
    root/info/query_IDX.mat                         (1-based rows of tracks_test_info that are queries)

Pid conventions, as in the MARS MATLAB kit (``utils/evaluation_mars.m``: ``junk0 = find(label_gallery == -1)``):
pid ``-1`` (870 test tracklets) is *junk*, ignored in the ranking; pid ``0`` (3,248 test tracklets) are *distractors*,
kept in the gallery as negatives. No query has pid -1 or 0.

Protocols (``protocol=``):

* ``official`` - the MARS kit: gallery = all 12,180 test tracklets *including* the queries; for each query the
  gallery tracklets of the same pid and same camera (the query itself among them) and all pid -1 tracklets are junk;
  AP as the kit computes it (``ap_definition="mars_kit"``).
* ``torchreid`` - as torchreid's MARS reader does it: the 1,980 queries are removed from the gallery and the 870
  pid -1 (junk) tracklets are dropped (torchreid skips them while reading), leaving 9,330 gallery tracklets of 621
  pids (pid 0 distractors included); same-pid-same-camera is still removed, standard AP, ``junk_pids`` empty.

Frame files are checked against one directory listing per pid folder: a listed name with no file is an error naming
the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import scipy.io

from m3dreid.data.base import DatasetError, Tracklet, VideoDataset, list_dir, relabel, require_paths
from m3dreid.registry import DATASETS

__all__ = ["MARS_INFO_FILES", "read_mars", "mars_pid_folder"]

log = logging.getLogger(__name__)

MARS_INFO_FILES = (
    "info/train_name.txt",
    "info/test_name.txt",
    "info/tracks_train_info.mat",
    "info/tracks_test_info.mat",
    "info/query_IDX.mat",
)
PROTOCOLS = ("official", "torchreid")
JUNK_PID = -1
DISTRACTOR_PID = 0


def mars_pid_folder(pid: int) -> str:
    """The 4-character folder and name prefix of a pid: 1 -> '0001', 0 -> '0000', -1 -> '00-1'."""
    return str(pid).rjust(4, "0")


def _read_names(path: Path) -> list[str]:
    data = path.read_bytes()
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DatasetError(
            f"{path}: line {line} holds a non-ASCII byte (0x{data[err.start]:02x}); MARS frame names are ASCII"
        ) from None
    names = text.split()  # CRLF lines; names hold no spaces
    if not names:
        raise DatasetError(f"{path}: empty name list")
    return names


def _read_mat(path: Path, key: str) -> np.ndarray:
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as err:  # scipy raises several types for corrupt files
        raise DatasetError(f"{path}: cannot read MAT file ({err})") from None
    if key not in mat:
        found = ", ".join(k for k in mat if not k.startswith("__"))
        raise DatasetError(f"{path}: no variable '{key}' (found: {found})")
    value = np.asarray(mat[key])
    if value.dtype.kind not in "iuf" or (value.dtype.kind == "f" and not np.all(np.isfinite(value))):
        raise DatasetError(f"{path}: '{key}' must hold numbers, got {value.dtype} values")
    if value.dtype.kind == "f" and np.any(value != np.round(value)):
        raise DatasetError(f"{path}: '{key}' must hold whole numbers (1-based rows, pids, cameras)")
    if value.size and np.abs(value).max() > 2**31:
        raise DatasetError(f"{path}: '{key}' holds a value out of range ({np.abs(value).max():.0f})")
    return value.astype(np.int64)


def _tracklets(info: np.ndarray, names: list[str], folder: Path, info_path: Path, check_files: bool) -> list[Tracklet]:
    """Rows ``[start, end, pid, camid]`` -> tracklets; every frame name must match its row's pid and camera."""
    if info.ndim != 2 or info.shape[1] != 4:
        raise DatasetError(f"{info_path}: expected an (N, 4) array [start, end, pid, camid], got {info.shape}")
    listings: dict[str, set[str]] = {}
    out = []
    for row, (start, end, pid, cam) in enumerate(info.tolist(), start=1):
        if end < start or start < 1 or end > len(names):
            raise DatasetError(
                f"{info_path}: row {row} has frames {start}..{end} (empty or outside 1..{len(names)} of the name list)"
            )
        prefix = f"{mars_pid_folder(pid)}C{cam}"
        frames = names[start - 1 : end]
        bad = [n for n in frames if not n.startswith(prefix)]
        if bad:
            raise DatasetError(f"{info_path}: row {row} (pid {pid}, camera {cam}) lists frame {bad[0]}")
        pid_dir = str(folder / mars_pid_folder(pid))
        if check_files:
            if pid_dir not in listings:
                listings[pid_dir] = list_dir(pid_dir)
            present = listings[pid_dir]
            missing = [n for n in frames if n not in present]
            if missing:
                raise DatasetError(
                    f"{pid_dir}/{missing[0]}: listed in {info_path.name} (row {row}) but no such file"
                    + (f" ({len(missing)} missing in this tracklet)" if len(missing) > 1 else "")
                )
        # MARS names are <pid 4><C cam><T tracklet 4><F frame 3>.jpg, listed in frame order; keep that order but
        # verify it, since everything downstream assumes consecutive frames.
        numbers = [int(n[n.rindex("F") + 1 : -4]) for n in frames]
        if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
            raise DatasetError(f"{info_path}: row {row} frames are not in increasing frame order")
        out.append(Tracklet(frames=tuple(f"{pid_dir}/{n}" for n in frames), pid=int(pid), camid=int(cam) - 1))
    return out


def read_mars(
    root: str | Path, *, protocol: str = "official", check_files: bool = True, name: str = "mars"
) -> VideoDataset:
    """Read MARS (or a folder in the MARS layout) from ``root``; see the module docstring for the protocols."""
    root = Path(root).expanduser().resolve()
    if protocol not in PROTOCOLS:
        raise DatasetError(f"{name}: unknown protocol '{protocol}' (known: {', '.join(PROTOCOLS)})")
    require_paths(name, root, (*MARS_INFO_FILES, "bbox_train", "bbox_test"))
    info = root / "info"
    train_names = _read_names(info / "train_name.txt")
    test_names = _read_names(info / "test_name.txt")
    train_info = _read_mat(info / "tracks_train_info.mat", "track_train_info")
    test_info = _read_mat(info / "tracks_test_info.mat", "track_test_info")
    query_idx = _read_mat(info / "query_IDX.mat", "query_IDX").ravel()

    train = _tracklets(train_info, train_names, root / "bbox_train", info / "tracks_train_info.mat", check_files)
    test = _tracklets(test_info, test_names, root / "bbox_test", info / "tracks_test_info.mat", check_files)
    for part, rows in (("tracks_train_info.mat", train), ("tracks_test_info.mat", test)):
        if not rows:
            raise DatasetError(f"{info / part}: no tracklets (0 rows)")
    if query_idx.size == 0:
        raise DatasetError(f"{info / 'query_IDX.mat'}: no query rows")
    if query_idx.min() < 1 or query_idx.max() > len(test):
        raise DatasetError(f"{info / 'query_IDX.mat'}: query rows must lie in 1..{len(test)}")
    if len(set(query_idx.tolist())) != len(query_idx):
        raise DatasetError(f"{info / 'query_IDX.mat'}: repeated query rows")
    query_rows = (query_idx - 1).tolist()
    query = [test[i] for i in query_rows]
    bad = [t.pid for t in query if t.pid in (JUNK_PID, DISTRACTOR_PID)]
    if bad:
        raise DatasetError(f"{info / 'query_IDX.mat'}: a query has junk/distractor pid {bad[0]}")
    if protocol == "official":
        gallery, junk, ap_definition = test, frozenset({JUNK_PID}), "mars_kit"
    else:
        is_query = set(query_rows)
        gallery = [t for i, t in enumerate(test) if i not in is_query and t.pid != JUNK_PID]
        junk, ap_definition = frozenset(), "standard"
    train, original = relabel(train)
    dataset = VideoDataset(
        name=name,
        train=train,
        query=query,
        gallery=gallery,
        train_pids_original=original,
        junk_pids=junk,
        ap_definition=ap_definition,
        protocol=protocol,
        root=str(root),
        extra={"query_rows": tuple(query_rows), "junk_pid": JUNK_PID, "distractor_pid": DISTRACTOR_PID},
    )
    log.info("%s", dataset.summary())
    return dataset


@DATASETS.register("mars", title="MARS", options=("protocol",), protocols=("official", "torchreid"), benchmark=True)
def mars(*, root: str | Path, protocol: str = "official", check_files: bool = True) -> VideoDataset:
    return read_mars(root, protocol=protocol, check_files=check_files, name="mars")


@DATASETS.register("synthetic", title="Synthetic", options=("protocol",), protocols=("official", "torchreid"))
def synthetic(*, root: str | Path, protocol: str = "official", check_files: bool = True) -> VideoDataset:
    """A folder written by ``m3dreid make-synthetic`` (MARS layout), read by the MARS reader."""
    return read_mars(root, protocol=protocol, check_files=check_files, name="synthetic")
