"""m3dreid.evaluation: distances, ranking metrics, re-ranking, whole-tracklet feature extraction and feature files."""

from m3dreid.evaluation.distance import METRICS, pairwise_distance
from m3dreid.evaluation.evaluate import evaluate_features
from m3dreid.evaluation.extract import chunk_windows, extract_features, extract_tracklet
from m3dreid.evaluation.features import FeatureSet, features_from_dataset, load_features, save_features
from m3dreid.evaluation.rank import AP_DEFINITIONS, RankingResult, cmc, evaluate_rankings, mean_ap, minp
from m3dreid.evaluation.rerank import k_reciprocal_rerank

__all__ = [
    "METRICS",
    "pairwise_distance",
    "AP_DEFINITIONS",
    "RankingResult",
    "cmc",
    "evaluate_rankings",
    "mean_ap",
    "minp",
    "k_reciprocal_rerank",
    "chunk_windows",
    "extract_features",
    "extract_tracklet",
    "evaluate_features",
    "FeatureSet",
    "features_from_dataset",
    "load_features",
    "save_features",
]
