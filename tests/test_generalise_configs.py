"""The generalisation recipe presets load and differ from the demo recipe only where docs/generalisation.md says."""

from __future__ import annotations

from pathlib import Path

from m3dreid.config import config_to_dict, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        if isinstance(value, dict) and key != "kwargs":
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_generalise_presets_depart_from_the_demo_in_three_keys():
    for stream in ("2d", "m3d"):
        demo = _flat(config_to_dict(load_config(CONFIGS / f"cpu_demo_{stream}.yaml")))
        ours = _flat(config_to_dict(load_config(CONFIGS / f"cpu_generalise_{stream}.yaml")))
        changed = {k for k in demo if demo[k] != ours[k]} - {"output_dir"}
        assert changed == {"data.shift_px", "data.color_jitter", "train.classifier_init_std"}
        assert (ours["data.shift_px"], ours["data.color_jitter"], ours["train.classifier_init_std"]) == (3, 0.2, 0.05)
