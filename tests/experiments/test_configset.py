"""Table definitions and config sets: every row builds a valid run config, and equal configs share one cached run."""

import dataclasses

import pytest

import m3dreid
from m3dreid.config import ConfigError
from m3dreid.experiments import TABLES, config_key, default_experiments_dir, load_config_set, row_config


@pytest.fixture(scope="module")
def config_sets():
    return {name: load_config_set(default_experiments_dir() / f"{name}.yaml") for name in TABLES}


def test_every_row_names_a_registered_model_or_fuses_rows():
    models = set(m3dreid.list_models())
    for spec in TABLES.values():
        for row in spec.rows:
            if row.is_fusion:
                assert all(not spec.row(key).is_fusion for key in row.streams)
            else:
                assert row.model in models, (spec.name, row.key)


def test_row_config_merges_recipe_row_knobs_data_and_seed(config_sets):
    row = TABLES["table1"].row("n3")
    config = row_config(config_sets["table1"], row, data="synthetic", root="/d", size="small", seed=2)
    assert config.model.name == "local_m3d_resnet50"
    assert config.model.kwargs == {"depth": 18, "base_channels": 16, "local_n": 3}
    assert (config.data.dataset, config.data.root, config.train.seed) == ("synthetic", "/d", 2)
    real = row_config(config_sets["table1"], TABLES["table1"].row("n0"), data="mars", root="/m", size="small", seed=0)
    assert (real.model.name, real.data.height, real.train.lr, real.train.epochs) == ("resnet50_2d", 256, 0.001, 20)
    m3d = row_config(config_sets["table3"], TABLES["table3"].row("m3d"), data="mars", root="/m", size="small", seed=0)
    assert (m3d.data.seq_len, m3d.train.lr, m3d.train.epochs, m3d.train.lr_step) == (16, 0.01, 400, 120)


def test_same_config_same_cache_key_across_tables(config_sets):
    def key(table, row, seed=0, **kw):
        spec = TABLES[table]
        return config_key(
            row_config(config_sets[table], spec.row(row), data="synthetic", root="/d", size="tiny", seed=seed, **kw)
        )

    assert key("table1", "n0") == key("table3", "resnet50") == key("datasets", "resnet50")
    assert key("table3", "local_m3d") == key("table1", "n3")
    assert key("table3", "m3d") == key("table4", "m3d") == key("table5", "m3d")
    assert key("table3", "m3d") != key("table3", "m3d", seed=1)
    assert key("table3", "m3d", split=0) != key("table3", "m3d", split=1)
    config = row_config(
        config_sets["table3"], TABLES["table3"].row("m3d"), data="synthetic", root="/d", size="tiny", seed=0
    )
    assert config_key(config) == config_key(dataclasses.replace(config, output_dir="elsewhere"))


def test_fusion_rows_are_not_trained(config_sets):
    with pytest.raises(ValueError, match="two_stream"):
        row_config(
            config_sets["table3"], TABLES["table3"].row("two_stream"), data="mars", root="/m", size="tiny", seed=0
        )


def test_bad_config_set_names_file_and_key(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("recipes: {}\nseedz: [1]\n")
    with pytest.raises(ConfigError, match=r"t.yaml: unknown key\(s\) seedz"):
        load_config_set(path)
    path.write_text("synthetic: {tiny: nothere.yaml}\n")
    with pytest.raises(ConfigError, match="missing recipe file.*synthetic.tiny"):
        load_config_set(path)
    path.write_text("seeds: [a]\n")
    with pytest.raises(ConfigError, match="'seeds' must be a list of integers"):
        load_config_set(path)


def test_flow_row_reads_flow_channels(config_sets):
    row = TABLES["table5"].row("flow_two_stream")
    config = row_config(config_sets["table5"], row, data="synthetic", root="/d", size="tiny", seed=0)
    assert config.data.with_flow and config.model.name == "flow_two_stream_resnet50"


def test_synthetic_3d_recipe_trains_only_the_temporal_rows_longer(config_sets):
    def config(table, row, size="small"):
        spec = TABLES[table]
        return row_config(config_sets[table], spec.row(row), data="synthetic", root="/d", size=size, seed=0)

    steps = {row: config("table3", row).train.epochs * config("table3", row).train.iters_per_epoch
             for row in ("resnet50", "local_m3d", "m3d_gelu")}  # fmt: skip
    assert steps == {"resnet50": 1000, "local_m3d": 2000, "m3d_gelu": 2000}
    assert config("table3", "m3d_gelu").train.lr_step == 30
    # the 2D run is shared with the other tables; the longer temporal runs are Table III's own
    assert config_key(config("table3", "resnet50")) == config_key(config("table1", "n0"))
    assert config_key(config("table3", "m3d_gelu")) != config_key(config("table4", "m3d_gelu"))
    assert config("table4", "m3d_gelu").train.epochs == 20
    # sizes without a synthetic_3d entry use one recipe for every row
    assert config("table3", "m3d", size="tiny").train.epochs == config("table3", "resnet50", size="tiny").train.epochs
