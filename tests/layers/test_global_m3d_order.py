"""What frame order the global M3D layer can see: as in Eqs. 9-10 only the clip's ends matter; with the GELU knob
the order inside the clip matters too. Both keep the zero-initialised layer equal to [mean F, 0, ..., 0]."""

import pytest
import torch

from m3dreid.layers.global_m3d import GlobalM3D


def _layer(activation: str) -> GlobalM3D:
    torch.manual_seed(0)
    return GlobalM3D(8, 2, zero_init=False, activation=activation)


def test_linear_branches_see_order_only_through_the_ends():
    layer = _layer("none")
    feats = torch.randn(3, 12, 8)  # (B, T, d)
    inner = torch.cat([feats[:, :1], feats[:, 1:-1].flip(1), feats[:, -1:]], dim=1)  # reverse all but the ends
    # The dilation-2 branch reads two frames at each end, so keep those and shuffle only the middle.
    middle = torch.cat([feats[:, :2], feats[:, 2:-2][:, torch.randperm(8)], feats[:, -2:]], dim=1)
    torch.testing.assert_close(layer(middle), layer(feats), atol=1e-5, rtol=1e-5)
    assert (layer(inner) - layer(feats)).abs().max() > 1e-3  # the frames next to the ends do count


def test_gelu_branches_see_order_inside_the_clip():
    layer = _layer("gelu")
    feats = torch.randn(3, 12, 8)
    middle = torch.cat([feats[:, :2], feats[:, 2:-2][:, torch.randperm(8)], feats[:, -2:]], dim=1)
    assert (layer(middle) - layer(feats)).abs().max() > 1e-3


@pytest.mark.parametrize("activation", ["none", "gelu"])
def test_zero_init_is_mean_pooling_and_gets_gradients(activation):
    layer = GlobalM3D(8, 3, activation=activation)
    feats = torch.randn(2, 5, 8, requires_grad=True)
    out = layer(feats)  # (2, 32)
    torch.testing.assert_close(out[:, :8], feats.mean(1))
    assert out[:, 8:].abs().max() == 0
    (out * torch.randn_like(out)).sum().backward()
    assert layer.weight.grad.abs().sum() > 0


def test_unknown_activation_is_an_error():
    with pytest.raises(ValueError, match="activation"):
        GlobalM3D(8, 1, activation="relu")
