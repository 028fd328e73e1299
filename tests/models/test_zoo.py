"""Every registered model: builds, runs forward on T in {1, 2, 16} and backward, with the documented shapes."""

import pytest
import torch

from m3dreid.models import TwoStreamNet, VideoNet, list_models

SMALL = dict(depth=18, base_channels=16)  # ResNet-18 layout, 16-wide stem: 128-d frame vectors
NAMES = list_models()


def test_the_papers_models_are_registered():
    expected = {
        "resnet50_2d",
        "m3d_resnet50",
        "local_m3d_resnet50",
        "global_m3d_resnet50",
        "all_local_m3d_resnet50",
        "i3d_resnet50",
        "p3d_a_resnet50",
        "p3d_b_resnet50",
        "p3d_c_resnet50",
        "lstm_resnet50",
        "attention_resnet50",
        "flow_two_stream_resnet50",
        "two_stream_m3d_resnet50",
        "resnet18_2d",
        "m3d_resnet18",
        "two_stream_m3d_resnet18",
    }
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_and_shapes(name):
    torch.manual_seed(0)
    from m3dreid.models import create_model

    model = create_model(name, num_classes=7, **SMALL)
    two_stream = isinstance(model, TwoStreamNet)
    assert isinstance(model, TwoStreamNet | VideoNet)
    assert model.feature_dim == (256 if two_stream else 128)
    assert model.in_channels == (5 if name.startswith("flow") else 3)
    c = model.in_channels

    model.train()
    features, logits = model(torch.randn(2, 2, c, 64, 32))
    assert features.shape == (2, model.feature_dim) and logits.shape == (2, 7)
    (features.square().mean() + logits.logsumexp(dim=1).mean()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert no_grad == []

    model.eval()
    with torch.no_grad():
        for t in (1, 16):
            clip = torch.randn(2, t, c, 64, 32)
            frames = model.frame_features(clip)
            assert frames.shape == (2, t, model.frame_dim)
            out = model(clip)
            assert out.shape == (2, model.feature_dim) and torch.isfinite(out).all()


def test_wrong_channel_count_is_an_error():
    from m3dreid.models import create_model

    model = create_model("resnet50_2d", **SMALL)
    with pytest.raises(ValueError, match=r"expected a clip \(B, T, 3, H, W\)"):
        model.frame_features(torch.randn(1, 2, 5, 64, 32))
