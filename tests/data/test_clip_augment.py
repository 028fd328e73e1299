"""Per-clip shift and colour jitter: one draw for all frames of a clip, so frame-to-frame changes survive."""

from __future__ import annotations

import numpy as np
import torch

from m3dreid.data.loader import shift_and_jitter


def test_shift_moves_every_frame_alike_and_fills_with_zero():
    clip = torch.arange(1, 2 * 3 * 4 * 3 + 1, dtype=torch.float32).view(2, 3, 4, 3)  # (T, C, H, W)
    out = shift_and_jitter(clip, np.random.default_rng(0), shift_px=1, jitter=0.0)
    # seed 0 draws dy = 1, dx = 0: every row moves down one, the top row is the mean colour (0)
    assert out[0, 0].tolist() == [[0, 0, 0], [1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert torch.equal(out[1] - out[0], torch.where(out[0] != 0, clip[1] - clip[0], 0))


def test_jitter_is_one_gain_and_offset_for_the_clip():
    clip = torch.randn(4, 3, 8, 4, generator=torch.Generator().manual_seed(0))
    out = shift_and_jitter(clip, np.random.default_rng(3), shift_px=0, jitter=0.2)
    gain = (out[1:] - out[:-1]) / (clip[1:] - clip[:-1])  # (T-1, C, H, W): offsets cancel in differences
    for c in range(3):
        assert torch.allclose(gain[:, c], gain[0, c, 0, 0].expand_as(gain[:, c]), atol=1e-4)
        assert 0.8 <= float(gain[0, c, 0, 0]) <= 1.2
    assert torch.equal(shift_and_jitter(clip, np.random.default_rng(3), shift_px=0, jitter=0.0), clip)
