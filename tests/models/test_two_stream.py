"""Two-stream fusion: concatenation of the streams, streams loaded from their own checkpoints, A&O flow slices."""

import pytest
import torch

from m3dreid.models import TwoStreamNet, create_model
from m3dreid.weights import CheckpointError, atomic_save

SMALL = dict(depth=18, base_channels=16)


def trained_like(name: str, seed: int, **kwargs) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = create_model(name, num_classes=5, **SMALL, **kwargs)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return model.eval()


def test_from_stream_checkpoints_concatenates_stream_features(tmp_path):
    spatial = trained_like("resnet50_2d", 1)
    temporal = trained_like("m3d_resnet50", 2)
    s_path = atomic_save({"model": spatial.state_dict(), "epoch": 3}, tmp_path / "spatial.pth")
    t_path = atomic_save(temporal.state_dict(), tmp_path / "temporal.pth")
    fused = create_model(
        "two_stream_m3d_resnet50", spatial_checkpoint=str(s_path), temporal_checkpoint=str(t_path), **SMALL
    ).eval()
    assert fused.temporal_radius == 16 and fused.feature_dim == 256
    clip = torch.randn(2, 6, 3, 64, 32)
    with torch.no_grad():
        expected = torch.cat([spatial(clip), temporal(clip)], dim=1)
        torch.testing.assert_close(fused(clip), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fused.aggregate(fused.frame_features(clip)), expected, atol=1e-5, rtol=1e-5)
        same = TwoStreamNet.from_streams(spatial, temporal).eval()
        torch.testing.assert_close(same(clip), expected)
        normalised = TwoStreamNet.from_streams(spatial, temporal, normalize=True).eval()(clip)
        torch.testing.assert_close(normalised[:, :128].norm(dim=1), torch.ones(2))


def test_stream_checkpoint_of_the_wrong_model_is_named(tmp_path):
    path = atomic_save(trained_like("resnet50_2d", 1).state_dict(), tmp_path / "wrong.pth")
    with pytest.raises(CheckpointError, match="wrong.pth: does not fit the stream model"):
        create_model("two_stream_m3d_resnet50", temporal_checkpoint=str(path), **SMALL)


def test_flow_two_stream_reads_rgb_and_flow_channels(tmp_path):
    torch.manual_seed(0)
    rgb_weights = create_model("resnet50_2d", **SMALL).backbone.state_dict()
    path = atomic_save(rgb_weights, tmp_path / "imagenet.pth")
    model = create_model("flow_two_stream_resnet50", pretrained=str(path), **SMALL).eval()
    assert model.in_channels == 5
    flow_conv1 = model.temporal.backbone.conv1.weight  # (16, 2, 7, 7)
    torch.testing.assert_close(flow_conv1, rgb_weights["conv1.weight"].mean(dim=1, keepdim=True).expand(-1, 2, -1, -1))
    clip = torch.randn(2, 4, 5, 64, 32)
    with torch.no_grad():
        base = model(clip)
        new_flow, new_rgb = clip.clone(), clip.clone()
        new_flow[:, :, 3:] += 1.0
        new_rgb[:, :, :3] += 1.0
        out_flow, out_rgb = model(new_flow), model(new_rgb)
    torch.testing.assert_close(out_flow[:, :128], base[:, :128])
    assert (out_flow[:, 128:] - base[:, 128:]).abs().max() > 1e-3
    torch.testing.assert_close(out_rgb[:, 128:], base[:, 128:])
    assert (out_rgb[:, :128] - base[:, :128]).abs().max() > 1e-3


def test_joint_classifier_only_when_asked():
    model = create_model("two_stream_m3d_resnet18", base_channels=16, num_classes=4).train()
    features, logits = model(torch.randn(2, 2, 3, 64, 32))
    assert features.shape == (2, 256) and logits.shape == (2, 4)
    assert create_model("two_stream_m3d_resnet18", base_channels=16).classifier is None
