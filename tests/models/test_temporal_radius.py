"""``temporal_radius`` is exact: chunks with that halo reproduce one-pass frame features, one frame less does not."""

import pytest
import torch

from m3dreid.models import create_model

SMALL = dict(depth=18, base_channels=16)
CASES = {  # model -> expected radius for the ResNet-18 layout
    "m3d_resnet50": 16,  # 4 local M3D layers with n=3 reach 4 frames each
    "all_local_m3d_resnet50": 32,  # 8 blocks x 4
    "i3d_resnet50": 16,  # 16 inflated 3x3 convs (2 a block) x 1
    "p3d_a_resnet50": 8,
    "p3d_b_resnet50": 8,
    "p3d_c_resnet50": 8,
    "two_stream_m3d_resnet50": 16,
    "resnet50_2d": 0,
}


def perturbed(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model(name, **SMALL).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if ".temporal." in pname:
                p.add_(torch.randn_like(p) * 0.1)
            if name.startswith("i3d") and pname.endswith(("conv1.weight", "conv2.weight")) and "layer" in pname:
                p.add_(torch.randn_like(p) * 0.05)  # break the boring-video symmetry of mean inflation
    return model


def stitched(model, clip: torch.Tensor, core: int, halo: int) -> torch.Tensor:
    """Frame features of ``clip`` from chunks of ``core`` frames, each run with ``halo`` frames of context."""
    t = clip.shape[1]
    parts = []
    for start in range(0, t, core):
        end = min(start + core, t)
        lo, hi = max(0, start - halo), min(t, end + halo)
        parts.append(model.frame_features(clip[:, lo:hi])[:, start - lo : end - lo])  # (B, end - start, d)
    return torch.cat(parts, dim=1)  # (B, T, d)


@pytest.mark.parametrize("name", sorted(CASES))
def test_chunked_extraction_with_radius_halo_is_exact(name):
    model = perturbed(name)
    radius = model.temporal_radius
    assert radius == CASES[name]
    torch.manual_seed(1)
    clip = torch.randn(1, 37, 3, 64, 32)
    with torch.no_grad():
        whole = model.frame_features(clip)  # (1, 37, d)
        torch.testing.assert_close(stitched(model, clip, 6, radius), whole, atol=1e-5, rtol=1e-5)
        if radius > 0:
            assert (stitched(model, clip, 6, radius - 1) - whole).abs().max() > 1e-4
            # an impulse at frame 18 changes frames only within 18 +- radius, and the two frames at the limit do
            # change (the set need not be contiguous: four M3D layers reach {0, 1, 2, 4} x 4 sums, not 15)
            bumped = clip.clone()
            bumped[:, 18] += 1.0
            changed = ((model.frame_features(bumped) - whole).abs().amax(dim=2)[0] > 1e-6).nonzero().flatten()
            assert changed.min() == max(0, 18 - radius) and changed.max() == min(36, 18 + radius)
