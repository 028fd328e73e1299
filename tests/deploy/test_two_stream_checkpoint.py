"""A two-stream checkpoint is self-contained: its config names the stream checkpoints it was assembled from (as
relative paths), but model.pt holds every weight, so it loads from any folder after the stream files are gone."""

from __future__ import annotations

import torch

from m3dreid.config import Config, DataConfig, ModelConfig
from m3dreid.deploy import load_checkpoint_model
from m3dreid.engine.run import assemble_two_stream
from m3dreid.models import create_model
from m3dreid.weights import atomic_save

SMALL = dict(depth=18, base_channels=16)


def test_two_stream_checkpoint_loads_elsewhere(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.chdir(run)
    torch.manual_seed(0)
    streams = {}
    for key, name in (("spatial_checkpoint", "resnet50_2d"), ("temporal_checkpoint", "m3d_resnet50")):
        model = create_model(name, embed_dim=32, **SMALL)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.01)
        atomic_save({"model": model.state_dict()}, run / f"{key}.pth")
        streams[key] = f"{key}.pth"  # relative, as a user types it in the folder they trained in
    config = Config(
        model=ModelConfig(name="two_stream_m3d_resnet50", embed_dim=32, kwargs={**SMALL, **streams}),
        data=DataConfig(height=64, width=32),
        output_dir=str(run / "two"),
    )
    path = assemble_two_stream(config)
    fused, _ = load_checkpoint_model(path)
    clip = torch.randn(1, 4, 3, 64, 32)
    with torch.no_grad():
        expected = fused(clip)
    for key in streams:
        (run / f"{key}.pth").unlink()
    monkeypatch.chdir(tmp_path)  # another folder, and the stream checkpoints are gone
    again, config_back = load_checkpoint_model(path)
    with torch.no_grad():
        torch.testing.assert_close(again(clip), expected)
    assert "spatial_checkpoint" not in config_back.model.kwargs
