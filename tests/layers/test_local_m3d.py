"""LocalM3D: fused form vs an explicit loop of dilated Conv3d, receptive field, zero init, shift-sum padding."""

import pytest
import torch
import torch.nn.functional as F

from m3dreid.layers import LocalM3D, local_m3d_offsets, temporal_shift_sum


def reference_local_m3d(layer: LocalM3D, s: torch.Tensor, frames: int) -> torch.Tensor:
    """The paper's Eq. 5 literally: s + sum_i Conv3d_(3x1x1, dilation 2^i)(s), on (B, C, T, H, W)."""
    n_maps, c, h, w = s.shape
    x = s.view(n_maps // frames, frames, c, h, w).permute(0, 2, 1, 3, 4)  # (B, C, T, H, W)
    out = x.clone()
    for i in range(layer.n):
        r = 2**i
        kernel = layer.weight[i][:, :, :, None, None]  # (C, C, 3, 1, 1)
        out = out + F.conv3d(x, kernel, padding=(r, 0, 0), dilation=(r, 1, 1))
    return out.permute(0, 2, 1, 3, 4).reshape(n_maps, c, h, w)  # (B*T, C, H, W)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("frames", [1, 3, 5, 16])
def test_fused_form_equals_loop_of_dilated_conv3d(n, frames):
    torch.manual_seed(n * 100 + frames)
    layer = LocalM3D(6, n)
    with torch.no_grad():
        layer.weight.normal_(0, 0.3)
    s = torch.randn(2 * frames, 6, 4, 3)  # (B*T, C, H, W)
    torch.testing.assert_close(layer(s, frames), reference_local_m3d(layer, s, frames), atol=1e-5, rtol=1e-5)


def test_fused_form_channels_last_and_gradients_match_reference():
    torch.manual_seed(0)
    layer = LocalM3D(8, 3)
    with torch.no_grad():
        layer.weight.normal_(0, 0.3)
    s = torch.randn(2 * 9, 8, 4, 2).contiguous(memory_format=torch.channels_last).requires_grad_()
    out = layer(s, 9)
    assert out.is_contiguous(memory_format=torch.channels_last)
    grad_fused = torch.autograd.grad(out.square().sum(), [s, layer.weight])
    grad_ref = torch.autograd.grad(reference_local_m3d(layer, s, 9).square().sum(), [s, layer.weight])
    for a, b in zip(grad_fused, grad_ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4])
def test_receptive_field_by_impulse(n):
    """An impulse at t0 reaches exactly t0 + {0, +-1, +-2, ..., +-2^(n-1)}: 2^n + 1 frames (9 for n=3), 1 for n=0."""
    torch.manual_seed(n)
    frames, t0 = 40, 20
    layer = LocalM3D(3, n)
    with torch.no_grad():
        layer.weight.uniform_(0.5, 1.0)
    s = torch.zeros(frames, 3, 1, 1)
    s[t0] = 1.0
    with torch.no_grad():
        hit = (layer(s, frames).abs().sum(dim=(1, 2, 3)) > 0).nonzero().flatten().tolist()
    assert hit == sorted(t0 + o for o in local_m3d_offsets(n))
    assert max(hit) - min(hit) + 1 == (2**n + 1 if n else 1) == 1 + 2 * layer.reach


def test_zero_init_is_identity_and_still_gets_gradients():
    layer = LocalM3D(4, 3)
    s = torch.randn(2 * 5, 4, 3, 2)
    out = layer(s, 5)
    assert torch.equal(out, s)
    out.square().sum().backward()
    assert layer.weight.grad.abs().sum() > 0


def test_shift_sum_replicate_padding_reads_end_frames():
    torch.manual_seed(0)
    frames, offsets = 4, (0, -1, 1, -5, 5)
    y = torch.randn(frames, len(offsets) * 2, 1, 1)  # B=1, C=2
    out = temporal_shift_sum(y, frames, offsets, padding="replicate")
    maps = y.view(frames, len(offsets), 2)  # (T, K, C)
    expected = torch.stack(
        [sum(maps[min(max(t + o, 0), frames - 1), k] for k, o in enumerate(offsets)) for t in range(frames)]
    )
    torch.testing.assert_close(out.view(frames, 2), expected)


def test_bad_inputs_name_the_problem():
    layer = LocalM3D(4, 2)
    with pytest.raises(ValueError, match="do not split into clips of T=3"):
        layer(torch.randn(4, 4, 2, 2), 3)
    with pytest.raises(ValueError, match="n must be >= 0"):
        LocalM3D(4, -1)


@pytest.mark.parametrize("padding", ["zeros", "replicate"])
@pytest.mark.parametrize("frames", [1, 3, 6])
def test_traceable_form_used_for_export_equals_in_place_form(padding, frames):
    from m3dreid.layers.local_m3d import _shift_sum_traceable

    torch.manual_seed(frames)
    offsets = local_m3d_offsets(3)  # reaches 4 > T for small T
    y = torch.randn(2 * frames, len(offsets) * 3, 2, 2)
    base = torch.randn(2 * frames, 3, 2, 2)
    expected = temporal_shift_sum(y, frames, offsets, base=base, padding=padding)
    y6 = y.view(2, frames, len(offsets), 3, 2, 2)  # (B, T, K, C, H, W)
    traced = _shift_sum_traceable(y6, offsets, base, padding).reshape(2 * frames, 3, 2, 2)
    torch.testing.assert_close(traced, expected)


@pytest.mark.parametrize("padding", ["zeros", "replicate"])
@pytest.mark.parametrize("frames", [1, 3, 6])
@pytest.mark.parametrize("with_base", [False, True])
def test_shift_sum_backward_passes_gradcheck(padding, frames, with_base):
    """The written-out backward (one shifted copy per slice) against finite differences, in float64; T=1 and T=3
    have offsets reaching past both ends."""
    torch.manual_seed(frames)
    offsets = local_m3d_offsets(2)  # 0, +-1, +-2
    y = torch.randn(2 * frames, len(offsets) * 2, 2, 1, dtype=torch.float64, requires_grad=True)
    base = torch.randn(2 * frames, 2, 2, 1, dtype=torch.float64, requires_grad=True) if with_base else None
    inputs = (y, base) if with_base else (y,)

    def fn(*args):
        return temporal_shift_sum(args[0], frames, offsets, base=args[1] if with_base else None, padding=padding)

    assert torch.autograd.gradcheck(fn, inputs)


def test_shift_sum_backward_equals_autograd_of_the_traceable_form_channels_last():
    from m3dreid.layers.local_m3d import _shift_sum_traceable

    torch.manual_seed(1)
    frames, offsets = 5, local_m3d_offsets(3)
    y = torch.randn(2 * frames, len(offsets) * 4, 3, 2).contiguous(memory_format=torch.channels_last)
    y.requires_grad_()
    base = torch.randn(2 * frames, 4, 3, 2, requires_grad=True)
    grad = torch.randn(2 * frames, 4, 3, 2)
    out = temporal_shift_sum(y, frames, offsets, base=base)
    assert type(out.grad_fn).__name__ == "_ShiftSumBaseBackward"  # the written-out backward is the one in use
    fast = torch.autograd.grad(out, [y, base], grad)
    ref_out = _shift_sum_traceable(y.view(2, frames, len(offsets), 4, 3, 2), offsets, base, "zeros")
    ref = torch.autograd.grad(ref_out.reshape(2 * frames, 4, 3, 2), [y, base], grad)
    assert fast[0].is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(fast, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
