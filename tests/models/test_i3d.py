"""I3D: the fused inflated conv equals Conv3d, and an I3D inflated from a 2D ResNet equals it on boring videos."""

import pytest
import torch
import torch.nn.functional as F

from m3dreid.models import create_model
from m3dreid.models.i3d import InflatedConv
from m3dreid.weights import CheckpointError, atomic_save

SMALL = dict(depth=18, base_channels=16)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("frames", [1, 4])
def test_inflated_conv_equals_conv3d_with_replicate_padding(stride, frames):
    torch.manual_seed(frames + stride)
    conv = InflatedConv(torch.nn.Conv2d(4, 6, 3, stride=stride, padding=1, bias=False))
    with torch.no_grad():
        conv.weight.normal_()
    x = torch.randn(2 * frames, 4, 8, 6)  # (B*T, C, H, W)
    x5 = x.view(2, frames, 4, 8, 6).permute(0, 2, 1, 3, 4)  # (B, C, T, H, W)
    x5 = F.pad(x5, (0, 0, 0, 0, 1, 1), mode="replicate")  # (B, C, T + 2, H, W)
    ref = F.conv3d(x5, conv.kernel_3d(), stride=(1, stride, stride), padding=(0, 1, 1))  # (B, 6, T, H', W')
    ref = ref.permute(0, 2, 1, 3, 4).reshape(2 * frames, 6, *ref.shape[3:])  # (B*T, 6, H', W')
    torch.testing.assert_close(conv(x, frames), ref, atol=1e-4, rtol=1e-4)


def two_d_weights(tmp_path):
    torch.manual_seed(0)
    two_d = create_model("resnet50_2d", **SMALL).eval()
    with torch.no_grad():
        for bn in two_d.modules():
            if isinstance(bn, torch.nn.BatchNorm2d):
                bn.running_mean.uniform_(-0.1, 0.1)
                bn.running_var.uniform_(0.5, 1.5)
    path = atomic_save(two_d.backbone.state_dict(), tmp_path / "resnet18_narrow.pth")  # torchvision-style keys
    return two_d, path


@pytest.mark.parametrize("inflate", ["mean", "center"])
def test_i3d_inflated_from_2d_equals_2d_on_identical_frames(tmp_path, inflate):
    two_d, path = two_d_weights(tmp_path)
    i3d = create_model("i3d_resnet50", pretrained=str(path), inflate=inflate, **SMALL).eval()
    i3d.head.load_state_dict(two_d.head.state_dict())
    assert i3d.backbone.layer1[0].conv1.weight.shape == (3 * 16, 16, 3, 3)
    frame = torch.randn(1, 1, 3, 64, 32)
    with torch.no_grad():
        for t in (1, 5):
            boring = frame.expand(2, t, 3, 64, 32)
            torch.testing.assert_close(i3d.frame_features(boring), two_d.frame_features(boring), atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(i3d(boring), two_d(boring), atol=1e-5, rtol=1e-4)
        if inflate == "center":  # the centre tap alone is the 2D net on any clip
            clip = torch.randn(2, 4, 3, 64, 32)
            torch.testing.assert_close(i3d(clip), two_d(clip), atol=1e-5, rtol=1e-4)


def test_pretrained_file_that_does_not_fit_is_named(tmp_path):
    _, path = two_d_weights(tmp_path)
    with pytest.raises(CheckpointError, match="resnet18_narrow.pth: does not fit"):
        create_model("i3d_resnet50", pretrained=str(path), depth=18, base_channels=8)
