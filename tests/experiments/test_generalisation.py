"""The generalisation table: rows per (family, split, recipe), mean ± sample std over seeds, the floor beside."""

from __future__ import annotations

import json

from m3dreid.experiments.generalisation import results_table


def _record(root, name, family, seed, motion, floor_motion):
    run = root / name
    run.mkdir()
    scores = {"mAP": 0.5, "motion mAP": motion, "rhythm mAP": 0.2, "appearance mAP": 0.9}
    floor = {"mAP": 0.1, "motion mAP": floor_motion, "rhythm mAP": 0.1, "appearance mAP": 0.3}
    record = {"family": family, "seed": seed, "steps": 1000, "train_s": 100.0 + seed, **scores, "floor": floor}
    (run / "result.json").write_text(json.dumps(record))


def test_table_means_and_sample_std(tmp_path):
    for seed, motion in ((10, 0.3), (11, 0.5), (12, 0.7)):  # report seeds
        _record(tmp_path, f"limbs-s{seed}-m3d-x", "limbs", seed, motion, 0.1)
    _record(tmp_path, "limbs-s0-m3d-x", "limbs", 0, 0.9, 0.2)  # a tuning seed: a row of its own
    lines = results_table(tmp_path).splitlines()
    assert len(lines) == 2 + 4  # header, rule, (floor + recipe) x 2 splits
    report = next(line for line in lines if "| report | m3d-x |" in line)
    assert "| 10, 11, 12 |" in report
    assert "| 50.0 ± 20.0 |" in report  # motion: mean 0.5, sample std 0.2
    assert report.endswith("| 1000 | 111 |")
    floor = next(line for line in lines if "| report | colour histogram" in line)
    assert "| 10.0 ± 0.0 |" in floor
    tuning = next(line for line in lines if "| tuning | m3d-x |" in line)
    assert "| 90.0 |" in tuning
