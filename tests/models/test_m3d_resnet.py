"""M3D ResNet: zero-init parity with the 2D net, frame-order sensitivity, P3D-C = local M3D n=1, positions."""

import pytest
import torch

from m3dreid.models import create_model
from m3dreid.models.m3d_resnet import default_local_positions
from m3dreid.models.video_resnet import VideoResNet

SMALL = dict(depth=18, base_channels=16)


def copy_shared(src: torch.nn.Module, dst: torch.nn.Module) -> list[str]:
    """Load ``src``'s shared weights into ``dst``; returns the keys of ``dst`` that ``src`` lacks."""
    missing, unexpected = dst.load_state_dict(src.state_dict(), strict=False)
    assert all(".temporal." in k for k in unexpected)
    return missing


def perturb_temporal(model: torch.nn.Module, std: float = 0.05) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".temporal." in name or "global_m3d" in name:
                p.normal_(0, std)


def randomise_bn_statistics(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for bn in model.modules():
            if isinstance(bn, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                bn.running_mean.uniform_(-0.1, 0.1)
                bn.running_var.uniform_(0.5, 1.5)


@pytest.fixture(scope="module")
def resnet50_pair():
    """Seeded ResNet-50 2D net, and the local-only and full M3D nets built on the very same 2D weights."""
    torch.manual_seed(0)
    two_d = create_model("resnet50_2d").eval()
    randomise_bn_statistics(two_d)
    local = create_model("local_m3d_resnet50").eval()
    missing = copy_shared(two_d, local)
    assert len(missing) == 4 and all(".temporal.weight" in k for k in missing)
    full = create_model("m3d_resnet50").eval()
    randomise_bn_statistics(full)
    copy_shared(two_d.backbone, full.backbone)
    no_local = create_model("m3d_resnet50", local_n=0).eval()  # the same net without local M3D layers
    copy_shared(full, no_local)
    return two_d, local, full, no_local


def test_fresh_m3d_resnet50_equals_its_2d_net_for_any_t(resnet50_pair):
    """Paper Sec. III-B3: zero temporal kernels = the 2D network, per clip, for T in {1, 3, 16, 37}.

    Full-width ResNet-50 on 64x32 frames (a 4x2 final map with last stride 1): about 1.5 s on one CPU thread.
    """
    two_d, local, full, no_local = resnet50_pair
    torch.manual_seed(1)
    with torch.no_grad():
        for t in (1, 3, 16, 37):
            clip = torch.randn(1, t, 3, 64, 32)
            frames_2d = two_d.frame_features(clip)  # (1, T, 2048)
            frames_m3d = full.frame_features(clip)
            torch.testing.assert_close(frames_m3d, frames_2d, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(local.aggregate(frames_m3d), two_d.aggregate(frames_2d), atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(full.aggregate(frames_m3d), no_local.aggregate(frames_2d), atol=1e-5, rtol=1e-5)
    assert local.temporal_radius == full.temporal_radius == 16 and two_d.temporal_radius == 0


def test_forward_equals_frame_features_then_aggregate():
    torch.manual_seed(0)
    model = create_model("m3d_resnet50", **SMALL).eval()
    perturb_temporal(model)
    clip = torch.randn(2, 3, 3, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(clip), model.aggregate(model.frame_features(clip)))


def test_perturbed_m3d_depends_on_frame_order_2d_does_not():
    torch.manual_seed(0)
    two_d = create_model("resnet50_2d", **SMALL).eval()
    m3d = create_model("m3d_resnet50", **SMALL).eval()
    perturb_temporal(m3d)
    clip = torch.randn(2, 8, 3, 64, 32)
    order = torch.tensor([3, 0, 7, 1, 5, 2, 6, 4])
    with torch.no_grad():
        torch.testing.assert_close(two_d(clip[:, order]), two_d(clip), atol=1e-5, rtol=1e-5)
        assert (m3d(clip[:, order]) - m3d(clip)).abs().max() > 1e-3
        assert (m3d(clip.flip(1)) - m3d(clip)).abs().max() > 1e-3


def test_p3d_c_equals_local_m3d_with_n1_at_every_block():
    """The paper: 'the local M3D layer equals to P3D-C layer' for n=1."""
    torch.manual_seed(0)
    p3d = create_model("p3d_c_resnet50", **SMALL).eval()
    m3d = create_model("local_m3d_resnet50", local_n=1, local_positions="all", **SMALL).eval()
    perturb_temporal(p3d)
    state = {k: (v.unsqueeze(0) if ".temporal." in k else v) for k, v in p3d.state_dict().items()}  # (1, C, C, 3)
    m3d.load_state_dict(state)
    clip = torch.randn(2, 6, 3, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(m3d(clip), p3d(clip), atol=1e-5, rtol=1e-5)


def test_tap_bn_is_also_zero_init_exact():
    torch.manual_seed(0)
    two_d = create_model("resnet50_2d", **SMALL).eval()
    m3d = create_model("local_m3d_resnet50", m3d_tap="bn", **SMALL).eval()
    copy_shared(two_d, m3d)
    clip = torch.randn(1, 5, 3, 64, 32)
    with torch.no_grad():
        torch.testing.assert_close(m3d(clip), two_d(clip), atol=1e-5, rtol=1e-5)


def test_default_positions_and_position_errors():
    assert default_local_positions(VideoResNet(depth=50, base_channels=8)) == ((3, 2), (3, 3), (3, 4), (3, 5))
    assert default_local_positions(VideoResNet(depth=18, base_channels=8)) == ((2, 0), (2, 1), (3, 0), (3, 1))
    model = create_model("local_m3d_resnet50", local_positions=[[1, 0], [4, 1]], local_n=2, **SMALL)
    assert model.temporal_radius == 4
    with pytest.raises(ValueError, match=r"no block at \(stage=3, block=5\) in ResNet-18"):
        create_model("m3d_resnet50", local_positions=[(3, 5)], **SMALL)
    with pytest.raises(ValueError, match="expected 'all'"):
        create_model("m3d_resnet50", local_positions="some", **SMALL)
