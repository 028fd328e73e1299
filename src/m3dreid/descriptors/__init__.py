"""Hand-made tracklet descriptors (no learning, no weights): baselines and floors for the learned models."""

from m3dreid.descriptors.color_histogram import color_histogram, histogram_features, tracklet_histogram

__all__ = ["color_histogram", "tracklet_histogram", "histogram_features"]
