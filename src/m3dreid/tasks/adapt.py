"""Self-supervised adaptation of a trained model to unlabelled tracklets (``m3dreid adapt``): the engine's, here.

The command reaches the training engine only through this layer (see ``tests/test_import_graph.py``).
"""

from m3dreid.engine.adapt import AdaptConfig, adapt_config_dict, adapt_model, read_adapt_tracklets

__all__ = ["AdaptConfig", "adapt_config_dict", "adapt_model", "read_adapt_tracklets"]
