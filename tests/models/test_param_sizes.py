"""Parameter sizes against the paper's Table IV (built on the meta device: no memory, no init cost).

The paper states I3D 186 MB, M3D about 76 MB (about 40 %) less than I3D, i.e. about 110 MB, and 95.7 MB for the 2D
ResNet-50; P3D lies between M3D and I3D. MB here = 10^6 bytes of fp32 parameters of the model as trained on MARS
(128-d embedding + BN-neck + 625-way classifier); without the classifier the sizes are 0.3 MB smaller, which changes
no comparison.
"""

import pytest
import torch

from m3dreid.models import create_model, parameter_count


def megabytes(name: str, **kwargs) -> float:
    with torch.device("meta"):
        model = create_model(name, num_classes=625, **kwargs)
    return parameter_count(model) * 4 / 1e6


@pytest.fixture(scope="module")
def sizes():
    names = ["resnet50_2d", "m3d_resnet50", "i3d_resnet50", "p3d_a_resnet50", "p3d_b_resnet50", "p3d_c_resnet50"]
    return {name: megabytes(name) for name in names}


def test_sizes_within_5_percent_of_table_iv(sizes):
    assert sizes["i3d_resnet50"] == pytest.approx(186.0, rel=0.05)
    assert sizes["m3d_resnet50"] == pytest.approx(186.0 - 76.0, rel=0.05)
    assert sizes["m3d_resnet50"] / sizes["i3d_resnet50"] == pytest.approx(0.6, abs=0.05)
    assert sizes["resnet50_2d"] == pytest.approx(95.7, rel=0.05)
    assert sizes["m3d_resnet50"] - sizes["resnet50_2d"] == pytest.approx(15.0, rel=0.15)  # "about 15MB" overhead


def test_ordering_2d_m3d_p3d_i3d(sizes):
    for kind in "abc":
        assert sizes["resnet50_2d"] < sizes["m3d_resnet50"] < sizes[f"p3d_{kind}_resnet50"] < sizes["i3d_resnet50"]


def test_exact_counts():
    """Hand count: ResNet-50 trunk 23,508,032; local M3D 4 x 3 x 3 x 256^2; I3D adds 2 x 9 x sum(width^2)."""
    with torch.device("meta"):
        two_d = create_model("resnet50_2d")
        m3d = create_model("m3d_resnet50")
        i3d = create_model("i3d_resnet50")
    head = 2048 * 128 + 2 * 128
    assert parameter_count(two_d) == 23_508_032 + head
    widths = [64] * 3 + [128] * 4 + [256] * 6 + [512] * 3
    assert parameter_count(i3d) - parameter_count(two_d) == 2 * 9 * sum(w * w for w in widths)
    global_head = (2048 * 256 + 256) + 2 * 256 + 3 * 3 * 256 * 256 + 1024 * 128 + 2 * 128
    assert parameter_count(m3d) == 23_508_032 + 4 * 9 * 256 * 256 + global_head
