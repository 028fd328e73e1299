"""Config -> trained streams -> assembled two-stream model -> features, on the tiny synthetic set (32x16 frames)."""

from __future__ import annotations

import pytest
import torch

from m3dreid.config import ConfigError, config_from_dict, load_config
from m3dreid.data import dataset_from_config, load_tracklet
from m3dreid.data.synthetic import make_synthetic
from m3dreid.engine import LAST_NAME, CheckpointError, load_training_state
from m3dreid.engine.run import MODEL_FILE, assemble_two_stream, train_from_config
from m3dreid.models.build import load_trained
from m3dreid.tasks.evaluate import load_for_eval

NARROW = {"base_channels": 4, "embed_dim": 16}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("syn") / "tiny", size="tiny", seed=0)


def _config(root, name, out, **model):
    return config_from_dict(
        {
            "model": {"name": name, "embed_dim": 16, "kwargs": {"base_channels": 4, **model}},
            "data": {
                "dataset": "synthetic",
                "root": str(root),
                "height": 32,
                "width": 16,
                "seq_len": 4,
                "ids_per_batch": 3,
                "tracklets_per_id": 2,
                "workers": 0,
            },  # fmt: skip
            "train": {"epochs": 1, "iters_per_epoch": 2, "lr": 0.01, "device": "cpu", "optimizer": "adam"},
            "output_dir": str(out),
        }
    )


def test_train_assemble_evaluate(tiny_root, tmp_path):
    runs = {}
    for stream, name in (("2d", "resnet18_2d"), ("m3d", "m3d_resnet18")):
        config = _config(tiny_root, name, tmp_path / stream)
        result = train_from_config(config)
        assert (result.epochs_done, result.global_step) == (1, 2)
        state = load_training_state(tmp_path / stream / LAST_NAME)
        assert state["meta"]["num_classes"] == dataset_from_config(config.data).num_train_pids == 9
        runs[stream] = result.checkpoint
    assert (tmp_path / "2d" / "train_log.csv").read_text().startswith("epoch,iter,loss,acc,lr,frames_per_s")

    spatial = load_for_eval(_config(tiny_root, "resnet18_2d", tmp_path), checkpoint=runs["2d"], device="cpu")
    temporal = load_for_eval(_config(tiny_root, "m3d_resnet18", tmp_path), checkpoint=runs["m3d"], device="cpu")
    two = _config(tiny_root, "two_stream_m3d_resnet18", tmp_path / "two",
                  spatial_checkpoint=str(runs["2d"]), temporal_checkpoint=str(runs["m3d"]))  # fmt: skip
    path = assemble_two_stream(two)
    assert path == tmp_path / "two" / MODEL_FILE and (tmp_path / "two" / "config.yaml").is_file()
    fused = load_for_eval(two, checkpoint=path, device="cpu")
    clip = load_tracklet(dataset_from_config(two.data).query[0], two.data)[None]  # (1, T, C, H, W)
    with torch.no_grad():
        expected = torch.cat([spatial(clip), temporal(clip)], dim=1)  # the paper's concatenation
        assert torch.allclose(fused(clip), expected, atol=1e-5)


def test_eval_without_checkpoint_is_a_clear_error(tiny_root, tmp_path):
    with pytest.raises(CheckpointError, match=r"looked for .*model.pt.*last.pt.*set model.checkpoint"):
        load_for_eval(_config(tiny_root, "resnet18_2d", tmp_path))
    with pytest.raises(CheckpointError, match="spatial_checkpoint"):
        assemble_two_stream(_config(tiny_root, "two_stream_m3d_resnet18", tmp_path, spatial_checkpoint="x.pt"))


def test_architecture_comes_from_the_checkpoint(tiny_root, tmp_path):
    # Trained with global_act=gelu; evaluated from a config that does not repeat it: built as GELU (the checkpoint's
    # saved config), the run's own checkpoint found in output_dir; a config that says otherwise is an error.
    trained = _config(tiny_root, "m3d_resnet18", tmp_path / "gelu", global_act="gelu")
    train_from_config(trained)
    plain = _config(tiny_root, "m3d_resnet18", tmp_path / "gelu")
    model = load_for_eval(plain, device="cpu")  # no checkpoint given: output_dir/last.pt
    assert model.pool.global_m3d.activation == "gelu"
    reference, saved = load_trained(tmp_path / "gelu" / LAST_NAME)
    assert saved.model.kwargs["global_act"] == "gelu"
    clip = load_tracklet(dataset_from_config(plain.data).query[0], plain.data)[None]  # (1, T, C, H, W)
    with torch.no_grad():
        torch.testing.assert_close(model(clip), reference(clip), rtol=0, atol=0)
    linear = _config(tiny_root, "m3d_resnet18", tmp_path / "gelu", global_act="none")
    with pytest.raises(
        CheckpointError, match=r"model.kwargs.global_act: the checkpoint has 'gelu', the config says 'none'"
    ):
        load_for_eval(linear)
    other = _config(tiny_root, "resnet18_2d", tmp_path / "gelu")
    with pytest.raises(
        CheckpointError, match=r"model.name: the checkpoint has 'm3d_resnet18', the config says 'resnet18_2d'"
    ):
        load_for_eval(other)


def test_builder_argument_at_the_wrong_level_points_to_model_kwargs():
    with pytest.raises(ConfigError, match=r"unknown key 'model.global_act'.*--set model.kwargs.global_act="):
        load_config(None, ["model.global_act=gelu"])
