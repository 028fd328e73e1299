"""m3dreid: video person re-identification with multi-scale temporal cues (M3D) and its baselines."""

from m3dreid.registry import create_model, list_models

__version__ = "0.1.0"
__all__ = ["create_model", "list_models", "__version__"]
