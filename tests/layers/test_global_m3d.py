"""GlobalM3D: reference per-branch dilated convolution, any T (also below the receptive field), zero init."""

import pytest
import torch
import torch.nn.functional as F

from m3dreid.layers import GlobalM3D


@pytest.mark.parametrize("frames", [1, 2, 5, 16])
def test_matches_explicit_dilated_branches_then_average(frames):
    torch.manual_seed(frames)
    layer = GlobalM3D(6, 3, zero_init=False)
    feats = torch.randn(2, frames, 6)  # (B, T, d)
    x = F.pad(feats.transpose(1, 2), (4, 4))  # (B, d, T + 8), zeros past both ends
    parts = [feats]
    for i in range(3):
        r = 2**i
        w = layer.weight[i]  # (d, d, 3)
        branch = torch.stack(
            [sum(x[:, :, 4 + t + (a - 1) * r] @ w[:, :, a].T for a in range(3)) for t in range(frames)], dim=1
        )  # (B, T, d)
        parts.append(branch)
    expected = torch.cat(parts, dim=-1)  # (B, T, 4d)
    torch.testing.assert_close(layer.frame_outputs(feats), expected, atol=1e-5, rtol=1e-5)
    out = layer(feats)
    assert out.shape == (2, 24)
    torch.testing.assert_close(out, expected.mean(dim=1), atol=1e-5, rtol=1e-5)


def test_zero_init_gives_mean_and_zeros_and_gradients():
    layer = GlobalM3D(5, 2)
    feats = torch.randn(3, 7, 5)
    out = layer(feats)
    torch.testing.assert_close(out[:, :5], feats.mean(dim=1))
    assert torch.equal(out[:, 5:], torch.zeros(3, 10))
    (out * torch.randn_like(out)).sum().backward()
    assert layer.weight.grad.abs().sum() > 0


def test_n_zero_is_average_pooling():
    feats = torch.randn(2, 3, 4)
    torch.testing.assert_close(GlobalM3D(4, 0)(feats), feats.mean(dim=1))


def test_wrong_feature_size_is_an_error():
    with pytest.raises(ValueError, match=r"expected frame features \(B, T, 4\)"):
        GlobalM3D(4, 1)(torch.randn(2, 3, 5))
