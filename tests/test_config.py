"""Config: YAML round trip, _base_ inheritance, CLI overrides, and errors that name the key."""

import pytest
import yaml

from m3dreid.config import (
    Config,
    ConfigError,
    config_from_dict,
    config_to_dict,
    dump_config,
    load_config,
    save_config,
)


def test_defaults_round_trip_yaml_dataclass_yaml(tmp_path):
    text = dump_config(Config())
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert dump_config(load_config(path)) == text


def test_non_default_round_trip(tmp_path):
    values = {
        "model": {"name": "i3d_resnet50", "kwargs": {"local_n": 2, "positions": [[2, 1], [3, 2]]}},
        "data": {"mean": [0.5, 0.5, 0.5], "seq_len": 8},
        "train": {"lr": 0.001, "amp": False},
        "output_dir": "runs/x",
    }
    config = config_from_dict(values)
    assert config.data.mean == (0.5, 0.5, 0.5) and config.train.lr == 0.001
    path = save_config(config, tmp_path / "run" / "config.yaml")
    assert load_config(path) == config
    assert yaml.safe_load(path.read_text()) == config_to_dict(config)


def test_base_inheritance_and_overrides(tmp_path):
    (tmp_path / "base.yaml").write_text("train:\n  lr: 0.01\n  epochs: 400\ndata:\n  height: 256\n")
    (tmp_path / "child.yaml").write_text("_base_: base.yaml\ntrain:\n  epochs: 20\n")
    config = load_config(tmp_path / "child.yaml", ["train.lr=0.5", "data.width=64", "model.kwargs={n: 3}"])
    assert (config.train.lr, config.train.epochs, config.data.height, config.data.width) == (0.5, 20, 256, 64)
    assert config.model.kwargs == {"n": 3}
    assert isinstance(config.train.lr, float)


def test_int_is_accepted_where_float_expected():
    assert config_from_dict({"train": {"lr": 1}}).train.lr == 1.0


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("train:\n  lr_stpes: 3\n", "'train.lr_stpes'"),
        ("trian:\n  lr: 3\n", "'trian'"),
        ("train:\n  epochs: ten\n", "'train.epochs'"),
        ("train:\n  amp: 1\n", "'train.amp'"),
        ("train:\n  epochs: 1.5\n", "'train.epochs'"),
        ("data: 3\n", "'data'"),
    ],
)
def test_bad_key_or_type_names_file_and_key(tmp_path, yaml_text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_bad_override_names_key():
    with pytest.raises(ConfigError, match=r"--set: unknown key 'train.lrr'"):
        load_config(None, ["train.lrr=3"])
    with pytest.raises(ConfigError, match="not of the form"):
        load_config(None, ["train.lr"])
    with pytest.raises(ConfigError, match="'data.height'"):
        load_config(None, ["data.height=tall"])


def test_missing_file_and_invalid_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        Config().train.lr = 3  # type: ignore[misc]


def test_a_packaged_config_is_found_by_name(tmp_path, monkeypatch):
    from m3dreid.resources import configs_dir, packaged_configs

    by_path = load_config(configs_dir() / "cpu_demo_m3d.yaml")
    monkeypatch.chdir(tmp_path)  # an empty folder: no configs/ here
    assert load_config("cpu_demo_m3d") == by_path == load_config("configs/cpu_demo_m3d.yaml")
    assert by_path.model.name == "m3d_resnet18"
    assert {"cpu_demo_2d", "cpu_demo_m3d", "cpu_demo_two_stream", "mars_m3d"} <= set(packaged_configs())
    with pytest.raises(ConfigError, match="no_such: config file not found .*cpu_demo_m3d"):
        load_config("no_such")
