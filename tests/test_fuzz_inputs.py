"""Seeded fuzz of the command line's inputs: MARS name lists and .mat files, MOT files, configs, index folders and
tracklet folders, each damaged in one of many ways. Whatever the damage, ``m3dreid.cli.main`` either succeeds (exit 0)
or gives one line ``m3dreid COMMAND: ...`` that names the damaged file (or the argument), with exit status 2; it
never ends in a traceback (an exception leaving ``main`` fails the test with the case that caused it).

The commands run in this process (``main(argv)``), so hundreds of cases take seconds, not hundreds of interpreters.
"""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from m3dreid.cli import main
from m3dreid.data.synthetic import make_synthetic
from m3dreid.index import GalleryIndex

sys.path.insert(0, str(Path(__file__).resolve().parent / "deploy"))
from deploy_helpers import save_checkpoint  # noqa: E402

SEED = 18
LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d [DIW] ")  # the CLI's logging format (info / warnings about a run)
SEQ = Path(__file__).resolve().parent / "fixtures" / "mot15" / "TUD-Campus"
CASES = {"names": 70, "mat": 70, "mot": 50, "config": 70, "index": 45, "tracklets": 20}

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- damage ----------------------------------------------------------------------------------------------------
def damage_bytes(rng: random.Random, data: bytes) -> bytes:
    """One of the ways a text or binary file gets damaged: cut, bytes flipped or inserted, lines lost or mixed."""
    kind = rng.choice(["truncate", "flip", "insert", "drop_lines", "swap_lines", "empty", "garbage", "nul", "crlf"])
    if kind == "truncate":
        return data[: rng.randrange(len(data) + 1)]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if out:
                out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == "insert":
        at = rng.randrange(len(data) + 1)
        return data[:at] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 6))) + data[at:]
    lines = data.splitlines(keepends=True)
    if kind == "drop_lines" and lines:
        for _ in range(rng.randint(1, 5)):
            if lines:
                lines.pop(rng.randrange(len(lines)))
        return b"".join(lines)
    if kind == "swap_lines" and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    if kind == "garbage":
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 400)))
    if kind == "nul":
        return data.replace(b"\n", b"\n\0", rng.randint(1, 3))
    if kind == "crlf":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    return b""


def damage_mat(rng: random.Random, path: Path) -> None:
    """A .mat file: damaged bytes, or a well-formed file with the wrong variable, shape, type or values."""
    key = next(k for k in scipy.io.loadmat(str(path)) if not k.startswith("__"))
    value = np.asarray(scipy.io.loadmat(str(path))[key])
    kind = rng.choice(["bytes", "bytes", "name", "shape", "float", "negative", "range", "empty", "text", "3d", "huge"])
    if kind == "bytes":
        path.write_bytes(damage_bytes(rng, path.read_bytes()))
        return
    if kind == "name":
        data = {"not_" + key: value}
    elif kind == "shape":
        data = {key: value.reshape(-1)[: rng.randint(0, value.size)].reshape(-1, 1) if value.size else value}
        if value.ndim == 2 and value.shape[1] == 4:
            data = {key: value[:, : rng.randint(1, 3)]}
    elif kind == "float":
        data = {key: value.astype(np.float64) + rng.choice([0.5, np.nan, np.inf])}
    elif kind == "negative":
        data = {key: -value}
    elif kind == "range":
        bad = value.copy()
        bad.flat[rng.randrange(bad.size)] = rng.choice([0, 10**6, -3, bad.max() + 1])
        data = {key: bad}
    elif kind == "empty":
        data = {key: np.zeros((0, value.shape[1] if value.ndim == 2 else 0))}
    elif kind == "text":
        data = {key: np.array(["a", "bc"])}
    elif kind == "3d":
        data = {key: np.zeros((2, 2, 2))}
    else:
        data = {key: np.full(value.shape, 2**62, dtype=np.int64)}
    scipy.io.savemat(str(path), data)


# ---- running one case ------------------------------------------------------------------------------------------
class Outcomes:
    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}

    def run(self, capsys, family: str, argv: list[str], names: list[str]) -> None:
        """``main(argv)`` must exit 0, or 2 with one line naming one of ``names``; anything else fails the test."""
        capsys.readouterr()
        case = f"{family}: m3dreid {' '.join(argv)}"
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage errors: exit 2, "error: argument ..."
            code = exit_.code
            err = capsys.readouterr().err
            assert code == 2 and "error: argument" in err, (case, err)
            self._count(family, "usage error")
            return
        err = capsys.readouterr().err
        assert "Traceback" not in err, (case, err)
        if code == 0:
            self._count(family, "success")
            return
        warning = f"m3dreid {argv[0]}: warning:"  # e.g. index's note on a synthetic-only model: not the error
        lines = [ln for ln in err.splitlines() if ln.strip() and not LOG_LINE.match(ln) and not ln.startswith(warning)]
        assert code == 2, (case, code, err)
        assert len(lines) == 1 and lines[0].startswith(f"m3dreid {argv[0]}: "), (case, err)
        assert any(name in lines[0] for name in names), (case, names, lines[0])
        self._count(family, "exit 2")

    def _count(self, family: str, outcome: str) -> None:
        self.counts.setdefault(family, {}).setdefault(outcome, 0)
        self.counts[family][outcome] += 1


# ---- fixtures: one valid input of each kind -------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    data = make_synthetic(root / "data", size="tiny", seed=0)
    _, ckpt = save_checkpoint("resnet50_2d", root / "model.pt")
    cam = root / "cam1"
    assert main(["tracklets", str(SEQ / "TUD-Campus.mp4"), "--out", str(cam), "--detections",
                 str(SEQ / "gt" / "gt.txt"), "--max-frames", "4", "--height", "64", "--width", "32",
                 "--no-progress"]) == 0  # fmt: skip
    index = root / "idx"
    assert main(["index", str(cam), "--model", str(ckpt), "--out", str(index), "--no-progress"]) == 0
    config = root / "config.yaml"
    config.write_text(
        f"data:\n  dataset: mars\n  root: {data}\n  height: 32\n  width: 16\n"
        "train:\n  lr: 0.01\n  epochs: 2\n  optimizer: adam\nmodel:\n  name: resnet18_2d\n  embed_dim: 16\n"
    )
    return {"root": root, "data": data, "ckpt": ckpt, "cam": cam, "index": index, "config": config}


def _case_dir(world, family: str, n: int) -> Path:
    folder = world["root"] / "cases" / f"{family}{n:03d}"
    folder.mkdir(parents=True)
    return folder


def _mars_copy(world, folder: Path) -> Path:
    """A MARS folder whose info/ is a copy (to damage) and whose frame folders are links to the valid ones."""
    shutil.copytree(world["data"] / "info", folder / "info")
    for split in ("bbox_train", "bbox_test"):
        (folder / split).symlink_to(world["data"] / split)
    return folder


def _data_argv(folder: Path) -> list[str]:
    return ["check-data", "--set", "data.dataset=mars", "--set", f"data.root={folder}", "--set", "data.height=32",
            "--set", "data.width=16"]  # fmt: skip


CONFIG_DAMAGE = [
    "train:\n  lr: fast\n",
    "train:\n  epochs: [1, 2]\n",
    "trian:\n  lr: 0.1\n",
    "train:\n  lr_warmup: 3\n",
    "model: resnet\n",
    "- a\n- b\n",
    "data: !!python/object/apply:os.system ['echo pwned']\n",
    "train: {lr: 0.1\n",
    "_base_: missing.yaml\n",
    "_base_: SELF\n",
    "data:\n  mean: five\n",
    "data:\n  seq_len: 3.5\n",
    "eval:\n  distance: {a: 1}\n",
    "\t\tdata: 1\n",
    "output_dir: 7\n",
    "train:\n  amp: maybe\n",
    "model:\n  kwargs: [1, 2]\n",
    "data:\n  dataset: nope\n",
    "data:\n  root: /nonexistent/place\n",
    "data:\n  protocol: both\n",
]
SET_DAMAGE = ["train.lr", "train.lr=x", "nosuch.key=1", "train=3", "train.lr.deep=1", "=1", "train.epochs=1e400",
              "data.height=-4", "model.kwargs=[", "data.mean=[1, 2]"]  # fmt: skip


def _config_case(rng, world, folder, n):
    path = folder / "config.yaml"
    base = world["config"].read_bytes()
    choice = rng.random()
    sets: list[str] = []
    if choice < 0.45:
        text = rng.choice(CONFIG_DAMAGE).replace("SELF", str(path))
        path.write_bytes(base + text.encode() if rng.random() < 0.5 else text.encode())
    elif choice < 0.75:
        path.write_bytes(damage_bytes(rng, base))
    else:
        path.write_bytes(base)
        sets = ["--set", rng.choice(SET_DAMAGE)]
    command = rng.choice(["show-config", "check-data", "train", "eval", "extract"])
    argv = [command, "-c", str(path), *sets]
    if command == "train":
        argv += ["--out", str(folder / "run"), "--set", "train.epochs=0"]  # config errors come first; never trains
    if command in ("eval", "extract"):
        argv += ["--out", str(folder / "run")]
    # a damaged data.root may name another (valid) folder: "missing under ROOT"
    roots = [str(world["data"]), "/nonexistent/place", str(Path("data/synthetic").resolve()), "epochs is 0",
             "model.checkpoint", "missing under"]  # fmt: skip
    keys = ["data.dataset:", "model.name:", "model.kwargs:"]  # checked where the value is used: the key is named
    return argv, [str(path), "--set", *roots, *keys]


def _mot_case(rng, world, folder, n):
    gt = (SEQ / "gt" / "gt.txt").read_bytes().splitlines(keepends=True)[:40]
    path = folder / "det.txt"
    if rng.random() < 0.5:
        path.write_bytes(damage_bytes(rng, b"".join(gt)))
    else:
        rows = [line.decode().strip().split(",") for line in gt]
        row = rows[rng.randrange(len(rows))]
        col = rng.randrange(len(row))
        row[col] = rng.choice(["nan", "inf", "-inf", "1e12", "-5", "0", "x", "", "3.5", "99999999999999999999"])
        if rng.random() < 0.3:
            del row[rng.randrange(1, len(row)) :]
        path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    argv = ["tracklets", str(SEQ / "TUD-Campus.mp4"), "--out", str(folder / "out"), "--detections", str(path),
            "--max-frames", "3", "--height", "32", "--width", "16", "--no-progress"]  # fmt: skip
    return argv, [str(path), "det.txt"]


def _index_case(rng, world, folder, n):
    index = folder / "idx"
    shutil.copytree(world["index"], index)
    target = rng.choice(["meta.json", "features.npy", "index.faiss", "meta.json", "features.npy", "k"])
    names = [str(index / target), str(index)]
    if target == "meta.json":
        record = json.loads((index / "meta.json").read_text())
        kind = rng.choice(["bytes", "version", "metric", "drop", "records", "keys", "model", "info"])
        if kind == "bytes":
            (index / target).write_bytes(damage_bytes(rng, (index / target).read_bytes()))
        else:
            if kind == "version":
                record["version"] = rng.choice([2, "1", None, 0])
            elif kind == "metric":
                record["metric"] = rng.choice(["manhattan", 3, None])
            elif kind == "drop":
                record["tracklets"] = record["tracklets"][: rng.randrange(len(record["tracklets"]))]
            elif kind == "records":
                record["tracklets"] = rng.choice([{}, "x", [1, 2], None])
            elif kind == "keys":
                record["tracklets"][0].pop(rng.choice(["camid", "thumbnails", "source", "track_id"]))
            elif kind == "model":
                record["info"]["model"] = rng.choice(["", str(folder / "gone.pt"), str(index / "meta.json")])
                names += [str(folder / "gone.pt"), "records no model", "meta.json"]
            else:
                record["info"] = rng.choice([[], "x"])
            (index / target).write_text(json.dumps(record))
    elif target == "features.npy":
        feats = np.load(index / target)
        kind = rng.choice(["bytes", "dim", "rows", "1d", "int", "object"])
        if kind == "bytes":
            (index / target).write_bytes(damage_bytes(rng, (index / target).read_bytes()))
        elif kind == "object":
            np.save(index / target, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        else:
            bad = {"dim": feats[:, :-1], "rows": feats[:-1], "1d": feats.ravel(), "int": feats.astype(np.int32)}[kind]
            np.save(index / target, bad)
    elif target == "index.faiss":
        if rng.random() < 0.7:
            (index / target).write_bytes(damage_bytes(rng, (index / target).read_bytes()))
        else:  # a valid FAISS index of another dimension
            other = GalleryIndex.build(np.zeros((3, 5), np.float32), [{} for _ in range(3)])
            other.save(folder / "other")
            shutil.copy(folder / "other" / "index.faiss", index / target)
    query = world["cam"] / "bbox" / "0001"
    k = rng.choice(["3", "3", "0", "-2", "x"]) if target == "k" else "3"
    argv = ["search", str(query), "--index", str(index), "-k", k, "--image", str(folder / "ranked.jpg")]
    return argv, names


def _tracklets_case(rng, world, folder, n):
    cam = folder / "cam"
    shutil.copytree(world["cam"], cam)
    crops = sorted(cam.rglob("*.jpg"))
    kind = rng.choice(["csv", "delete", "truncate", "garbage_crop"])
    names = [str(cam / "tracks.csv"), str(cam)]
    if kind == "csv":
        (cam / "tracks.csv").write_bytes(damage_bytes(rng, (cam / "tracks.csv").read_bytes()))
    else:
        crop = crops[rng.randrange(len(crops))]
        names.append(str(crop))
        if kind == "delete":
            crop.unlink()
        elif kind == "truncate":
            crop.write_bytes(crop.read_bytes()[: rng.randrange(1, crop.stat().st_size)])
        else:
            crop.write_bytes(bytes(rng.randrange(256) for _ in range(200)))
    argv = ["index", str(cam), "--model", str(world["ckpt"]), "--out", str(folder / "idx"), "--no-progress"]
    return argv, names


def test_fuzzed_inputs_end_in_success_or_one_line_naming_the_file(world, capsys):
    rng = random.Random(SEED)
    outcomes = Outcomes()
    start = time.perf_counter()
    info = ["train_name.txt", "test_name.txt"]
    mats = ["tracks_train_info.mat", "tracks_test_info.mat", "query_IDX.mat"]
    seconds_of: dict[str, float] = {}
    for family, count in CASES.items():
        mark = time.perf_counter()
        for n in range(count):
            folder = _case_dir(world, family, n)
            if family in ("names", "mat"):
                data = _mars_copy(world, folder / "mars")
                name = rng.choice(info if family == "names" else mats)
                path = data / "info" / name
                if family == "names":
                    path.write_bytes(damage_bytes(rng, path.read_bytes()))
                else:
                    damage_mat(rng, path)
                # a broken list can also point rows at frames that exist in another folder: the .mat or a frame
                names = [str(path), str(data / "info"), str(data / "bbox_")]
                outcomes.run(capsys, family, _data_argv(data), names)
            else:
                make = {"mot": _mot_case, "config": _config_case, "index": _index_case, "tracklets": _tracklets_case}
                argv, names = make[family](rng, world, folder, n)
                outcomes.run(capsys, family, argv, names)
            shutil.rmtree(folder)
        seconds_of[family] = round(time.perf_counter() - mark, 1)
    seconds = time.perf_counter() - start
    total = sum(sum(c.values()) for c in outcomes.counts.values())
    print(f"\n{total} fuzz cases in {seconds:.1f} s: {json.dumps(outcomes.counts)} {seconds_of}")  # noqa: T201 (shown with -s)
    assert total == sum(CASES.values())
    for family, counts in outcomes.counts.items():  # every family reached the error path, and not only that
        assert counts.get("exit 2", 0) >= count_floor(family), (family, counts)


def count_floor(family: str) -> int:
    return {"names": 20, "mat": 20, "mot": 5, "config": 20, "index": 20, "tracklets": 3}[family]


def test_the_valid_inputs_succeed(world, capsys):
    """The undamaged inputs of the fuzz pass: a damaged one fails because of its damage."""
    assert main(_data_argv(world["data"])) == 0
    assert "mars" in capsys.readouterr().out
    assert main(["check-data", "-c", str(world["config"]), "--frames"]) == 0
    assert "frames decode" in capsys.readouterr().out
    argv = ["search", str(world["cam"] / "bbox" / "0001"), "--index", str(world["index"]), "-k", "2",
            "--image", str(world["root"] / "ranked.jpg")]  # fmt: skip
    assert main(argv) == 0
    with (world["cam"] / "tracks.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) > 0


def test_check_data_frames_counts_truncated_images(world, tmp_path, capsys):
    data = _mars_copy(world, tmp_path / "mars")
    (data / "bbox_test").unlink()
    shutil.copytree(world["data"] / "bbox_test", data / "bbox_test")
    frames = sorted((data / "bbox_test").rglob("*.jpg"))
    for frame in frames[:3]:
        frame.write_bytes(frame.read_bytes()[: frame.stat().st_size * 3 // 4])  # 75 %: decodes partly grey
    assert main([*_data_argv(data), "--frames"]) == 2
    err = capsys.readouterr().err
    assert f"3 of {len(list(world['data'].rglob('*.jpg')))} frames cannot be used" in err
    assert f"{frames[0]}: truncated JPEG" in err
