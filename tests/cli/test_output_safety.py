"""No command overwrites a user's output without --overwrite / --resume, none writes onto its own input, and every
refusal is one line (exit 2) that names what exists and the flag to use."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from m3dreid.cli import main
from m3dreid.errors import OutputExistsError, prepare_output

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from deploy_helpers import save_checkpoint  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SEQ = Path(__file__).resolve().parents[1] / "fixtures" / "mot15" / "TUD-Campus"


def _refused(argv, capsys, *words):
    """Run the CLI, expect exit 2 and a one-line message holding ``words``; return the message."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)
    return err


def test_prepare_output_rules(tmp_path):
    out = tmp_path / "out"
    assert prepare_output(out) == out  # missing: fine
    out.mkdir()
    prepare_output(out)  # empty folder: fine
    (out / "a.txt").write_text("a")
    (out / "sub").mkdir()
    (out / "keep.txt").write_text("k")
    with pytest.raises(OutputExistsError, match=r"out: folder exists and is not empty \(a.txt, keep.txt, sub\); pass"):
        prepare_output(out)
    prepare_output(out, overwrite=True, owned=("a.txt", "sub"))  # removes only what the command owns
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    with pytest.raises(OutputExistsError, match="keep.txt: file exists; use --force"):
        prepare_output(out / "keep.txt", hint="use --force")
    # the output is the command's input, or a folder holding it: refused even with --overwrite
    with pytest.raises(OutputExistsError, match="the output is this command's input"):
        prepare_output(out / "keep.txt", overwrite=True, inputs=[out / "keep.txt"])
    with pytest.raises(OutputExistsError, match="the output holds this command's input"):
        prepare_output(out, overwrite=True, inputs=[out / "keep.txt"])
    link = tmp_path / "link.txt"
    link.symlink_to(out / "keep.txt")
    with pytest.raises(OutputExistsError, match="is this command's input"):
        prepare_output(link, overwrite=True, inputs=[out / "keep.txt"])


def test_export_onto_its_own_checkpoint_is_refused(tmp_path, capsys):
    ckpt = tmp_path / "last.pt"
    ckpt.write_bytes(b"trained weights")
    _refused(["export", str(ckpt), "--onnx", str(ckpt)], capsys, "last.pt", "is this command's input")
    _refused(["export", str(ckpt), "--onnx", str(ckpt), "--overwrite"], capsys, "input")
    assert ckpt.read_bytes() == b"trained weights"
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"an earlier export")
    _refused(["export", str(ckpt), "--onnx", str(onnx)], capsys, "model.onnx: file exists", "--overwrite")
    assert onnx.read_bytes() == b"an earlier export"


def test_train_into_an_existing_run_is_refused_and_nothing_changes(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    files = {"train_log.csv": "epoch,iter\n1,2\n", "config.yaml": "train: {epochs: 9}\n", "last.pt": "weights"}
    for name, text in files.items():
        (run / name).write_text(text)
    argv = ["train", "-c", str(CONFIGS / "cpu_demo_2d.yaml"), "--out", str(run)]
    _refused(argv, capsys, str(run), "holds a run", "--resume", "--overwrite")
    assert {name: (run / name).read_text() for name in files} == files
    _refused([*argv, "--resume", "--overwrite"], capsys, "give one of them")


def test_two_stream_assembly_refuses_an_existing_model_and_its_inputs(tmp_path, capsys):
    run = tmp_path / "two"
    run.mkdir()
    (run / "model.pt").write_bytes(b"assembled before")
    sets = ["--set", f"output_dir={run}", "--set", f"model.kwargs.spatial_checkpoint={tmp_path / 'a.pt'}",
            "--set", f"model.kwargs.temporal_checkpoint={tmp_path / 'b.pt'}"]  # fmt: skip
    _refused(["train", "-c", str(CONFIGS / "cpu_demo_two_stream.yaml"), *sets], capsys, "model.pt: file exists")
    assert (run / "model.pt").read_bytes() == b"assembled before"
    sets[3] = f"model.kwargs.spatial_checkpoint={run / 'model.pt'}"
    argv = ["train", "-c", str(CONFIGS / "cpu_demo_two_stream.yaml"), *sets, "--overwrite"]
    _refused(argv, capsys, "is this command's input")


def test_tracklets_index_report_extract_refuse_existing_outputs(tmp_path, capsys):
    _, ckpt = save_checkpoint("m3d_resnet50", tmp_path / "m3d.pt")
    video, gt = str(SEQ / "TUD-Campus.mp4"), str(SEQ / "gt" / "gt.txt")
    cam = tmp_path / "cam1"
    args = ["tracklets", video, "--out", str(cam), "--detections", gt, "--max-frames", "6", "--height", "64",
            "--width", "32", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    crops = sorted(p.relative_to(cam) for p in cam.rglob("*.jpg"))
    _refused(args, capsys, "cam1: folder exists and is not empty", "--overwrite")
    (cam / "bbox" / "9999").mkdir()  # a stale track of an earlier run: --overwrite leaves no stale crops behind
    (cam / "bbox" / "9999" / "old.jpg").write_bytes(b"x")
    assert main([*args, "--overwrite"]) == 0
    assert sorted(p.relative_to(cam) for p in cam.rglob("*.jpg")) == crops
    boxes = tmp_path / "mine" / "gt.txt"
    boxes.parent.mkdir()
    boxes.write_text(Path(gt).read_text())
    argv = ["tracklets", video, "--out", str(boxes.parent), "--detections", str(boxes), "--overwrite"]
    _refused(argv, capsys, "holds this command's input")

    idx = tmp_path / "idx"
    index_args = ["index", str(cam), "--model", str(ckpt), "--out", str(idx), "--no-progress"]
    assert main(index_args) == 0
    before = (idx / "meta.json").read_text()
    _refused(index_args, capsys, "idx: folder exists and is not empty", "--overwrite")
    _refused(["index", str(cam), "--model", str(ckpt), "--out", str(cam)], capsys, "is this command's input")
    assert (idx / "meta.json").read_text() == before
    assert main([*index_args, "--overwrite"]) == 0

    report = tmp_path / "report"
    report.mkdir()
    (report / "index.html").write_text("mine")
    _refused(["report", str(tmp_path), "--out", str(report)], capsys, "report: folder exists", "--overwrite")
    assert (report / "index.html").read_text() == "mine"

    features = tmp_path / "features.npz"
    features.write_bytes(b"earlier features")
    argv = ["extract", "--checkpoint", str(ckpt), "--out", str(features)]
    _refused(argv, capsys, "features.npz: file exists", "--overwrite")
    assert features.read_bytes() == b"earlier features"


def test_generators_refuse_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "data"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    _refused(["make-synthetic", "--out", str(out), "--size", "tiny"], capsys, "data: folder exists", "--overwrite")
    demo = tmp_path / "demo"
    (demo / "2d").mkdir(parents=True)
    (demo / "2d" / "last.pt").write_text("a trained stream")
    _refused(["demo", "--out", str(demo)], capsys, "2d: folder exists", "--overwrite")
    assert (demo / "2d" / "last.pt").read_text() == "a trained stream"
