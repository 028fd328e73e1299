"""The colour-histogram floor: hand-worked bins, tracklet averaging, and a FeatureSet that evaluates."""

import numpy as np
import pytest

from m3dreid.data import create_dataset
from m3dreid.data.synthetic import make_synthetic
from m3dreid.descriptors import color_histogram, histogram_features
from m3dreid.evaluation import evaluate_features


def _frame(top_rgb, bottom_rgb, h=8, w=4):
    f = np.empty((h, w, 3), np.uint8)
    f[: h // 2] = top_rgb
    f[h // 2 :] = bottom_rgb
    return f


def test_two_flat_halves_fall_in_one_cell_each():
    # pure red (RGB 255,0,0): HSV (0, 255, 255) -> cell h0 s3 v3 = 15 of 128; pure blue (0,0,255): H=120 -> h5 -> 95
    vec = color_histogram(_frame((255, 0, 0), (0, 0, 255))[None], bins=(8, 4, 4))
    assert vec.shape == (256,)
    assert np.flatnonzero(vec).tolist() == [15, 128 + 95]
    assert np.allclose(vec[[15, 128 + 95]], 1.0)


def test_tracklet_vector_is_sqrt_of_mean_histogram():
    a, b = _frame((255, 0, 0), (255, 0, 0)), _frame((0, 0, 255), (0, 0, 255))
    vec = color_histogram(np.stack([a, b, b, b]), bins=(8, 4, 4))
    # upper half: red in 1 of 4 frames, blue in 3 -> sqrt(0.25), sqrt(0.75)
    assert vec[15] == pytest.approx(0.5)
    assert vec[95] == pytest.approx(np.sqrt(0.75))
    # Hellinger geometry: every half is a unit vector, so the whole vector has norm sqrt(2)
    assert np.linalg.norm(vec) == pytest.approx(np.sqrt(2), abs=1e-6)


def test_bad_shape_is_an_error():
    with pytest.raises(ValueError, match="expected"):
        color_histogram(np.zeros((4, 4, 3), np.uint8))


def test_histogram_features_evaluate_on_tiny_synthetic(tmp_path):
    root = make_synthetic(tmp_path / "tiny", size="tiny", seed=0)
    dataset = create_dataset("synthetic", root)
    feats = histogram_features(dataset)
    assert feats.q_feats.shape == (len(dataset.query), 256)
    assert feats.g_feats.shape == (len(dataset.gallery), 256)
    assert feats.meta["model"] == "color_histogram"
    result = evaluate_features(feats, device="cpu")
    assert 0.0 < result.mAP <= 1.0
