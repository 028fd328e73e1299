"""The appearance descriptor: hand-worked values on constant images, its invariances, and its use as a provider."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from m3dreid.descriptors.appearance import (
    AppearanceSpec,
    _lbp_riu2,
    appearance_descriptor,
    appearance_dim,
    tracklet_appearance,
)


def test_lbp_codes_of_a_flat_image_a_peak_and_a_pit():
    flat = np.full((1, 3, 3), 7, np.uint8)
    assert (_lbp_riu2(flat) == 8).all()  # every neighbour >= centre: 8 ones, no transition
    peak = np.zeros((1, 3, 3), np.uint8)
    peak[0, 1, 1] = 255
    assert _lbp_riu2(peak)[0, 1, 1] == 0  # no neighbour reaches the centre
    edge = np.zeros((1, 3, 3), np.uint8)
    edge[0, :, 2], edge[0, 1, 1] = 255, 100  # right column above the centre: 3 ones in one run (uniform)
    assert _lbp_riu2(edge)[0, 1, 1] == 3
    checker = (np.indices((3, 3)).sum(0) % 2 * 255).astype(np.uint8)[None]  # alternating ring: not uniform
    checker[0, 1, 1] = 100
    assert _lbp_riu2(checker)[0, 1, 1] == 9


@pytest.mark.parametrize("columns", [1, 3])
def test_a_single_colour_person_gives_one_colour_cell_per_band(columns):
    spec = AppearanceSpec(columns=columns, texture_weight=0.0)
    frames = np.full((2, spec.height, spec.width, 3), (200, 30, 30), np.uint8)  # RGB red
    vec = appearance_descriptor(frames, spec)
    assert vec.shape == (appearance_dim(spec),) and vec.dtype == np.float32
    cells = int(np.prod(spec.hsv_bins))
    parts = spec.stripes * (2 if columns > 1 else 1)
    colour = vec[: parts * cells]
    # every band histogram is one-hot at the same cell; after sqrt and unit length each is 1 / sqrt(parts)
    np.testing.assert_allclose(np.sort(colour)[-parts:], 1 / np.sqrt(parts), rtol=1e-6)
    assert np.count_nonzero(colour) == parts and np.count_nonzero(vec[parts * cells :]) == 0
    assert abs(np.linalg.norm(vec) - 1) < 1e-6


def test_colour_part_is_mirror_invariant_and_the_vector_depends_on_the_colours():
    rng = np.random.default_rng(0)
    spec = AppearanceSpec(texture_weight=0.0, columns=3)
    frames = rng.integers(0, 256, (3, spec.height, spec.width, 3), dtype=np.uint8)
    a = appearance_descriptor(frames, spec)
    np.testing.assert_allclose(a, appearance_descriptor(frames[:, :, ::-1].copy(), spec), atol=1e-6)
    other = appearance_descriptor(frames[..., ::-1].copy(), spec)  # RGB -> BGR: other colours
    assert np.linalg.norm(a - other) > 0.1


def test_tracklet_reads_at_most_max_frames_and_equals_the_frame_descriptor(tmp_path):
    import cv2

    rng = np.random.default_rng(1)
    spec = dataclasses.replace(AppearanceSpec(), max_frames=3)
    paths = []
    for i in range(5):
        img = rng.integers(0, 256, (spec.height, spec.width, 3), dtype=np.uint8)
        paths.append(str(tmp_path / f"f{i}.png"))
        cv2.imwrite(paths[-1], img)
    frames = np.stack([cv2.cvtColor(cv2.imread(paths[i]), cv2.COLOR_BGR2RGB) for i in (0, 2, 4)])
    np.testing.assert_allclose(tracklet_appearance(paths, spec), appearance_descriptor(frames, spec), atol=1e-6)
