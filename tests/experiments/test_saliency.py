"""Saliency maps (Fig. 8) on tiny models: shapes, a zero-init M3D equals its 2D model, the page is written."""

import torch

import m3dreid
from m3dreid.experiments import lower_share, motion_energy, motion_overlap, saliency_maps, write_saliency_page

KW = dict(num_classes=0, embed_dim=8, depth=18, base_channels=4)


def _pair():
    torch.manual_seed(0)
    two_d = m3dreid.create_model("resnet50_2d", **KW).eval()
    m3d = m3dreid.create_model("local_m3d_resnet50", local_n=2, **KW).eval()
    missing, unexpected = m3d.load_state_dict(two_d.state_dict(), strict=False)
    assert not unexpected and missing  # only the (zero-initialised) temporal branches are new
    return two_d, m3d


def test_maps_shape_range_and_zero_init_parity():
    two_d, m3d = _pair()
    clip = torch.randn(2, 5, 3, 32, 16)  # (B, T, C, H, W)
    a, b = saliency_maps(two_d, clip), saliency_maps(m3d, clip)
    assert a.shape == (2, 5, 32, 16)
    assert float(a.min()) >= 0 and float(a.max()) == 1.0
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)  # a fresh M3D network computes its 2D network
    with torch.no_grad():
        for name, p in m3d.named_parameters():
            if name not in two_d.state_dict():
                p.normal_(0, 0.5)
    assert (saliency_maps(m3d, clip) - a).abs().max() > 1e-2


def test_motion_energy_and_overlap_hand_worked():
    clip = torch.zeros(1, 3, 3, 2, 2)  # (B, T, C, H, W)
    clip[0, 1, :, 0, 0] = 1.0  # one pixel blinks on in frame 1, off in frame 2
    energy = motion_energy(clip)
    assert energy.shape == (1, 3, 2, 2)
    assert energy[0, :, 0, 0].tolist() == [1.0, 1.0, 1.0] and float(energy[0, :, 1:, :].sum()) == 0.0
    assert motion_overlap(energy, energy) == 1.0
    assert abs(motion_overlap(energy, 1 - energy) + 1.0) < 1e-12
    assert motion_overlap(energy, torch.ones_like(energy)) == 0.0


def test_lower_share_hand_worked():
    maps = torch.zeros(1, 2, 4, 3)  # (B, T, H, W): rows 2-3 are the lower half
    maps[0, 0, 0, 0] = 1.0  # upper half: 1
    maps[0, 1, 3, :] = 1.0  # lower half: 3
    assert lower_share(maps) == 0.75
    assert lower_share(torch.ones(5, 3)) == 3 / 5  # odd height: the middle row counts as lower
    assert lower_share(torch.zeros(1, 1, 4, 4)) != lower_share(torch.zeros(1, 1, 4, 4))  # nan: no saliency at all


def test_page_has_one_png_per_clip(tmp_path):
    two_d, m3d = _pair()
    clips = [(f"clip {i}", torch.randn(1, 4, 3, 32, 16)) for i in range(2)]
    means = write_saliency_page({"2D": two_d, "M3D": m3d}, clips, tmp_path, mean=(0.5,) * 3, std=(0.25,) * 3)
    assert set(means) == {"2D", "M3D"} and set(means["2D"]) == {"motion_overlap", "lower_share"}
    assert 0.0 <= means["M3D"]["lower_share"] <= 1.0
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["saliency_00.png", "saliency_01.png"]
    page = (tmp_path / "index.html").read_text()
    assert page.count("<img") == 2 and "(b) 2D, (c) M3D" in page
