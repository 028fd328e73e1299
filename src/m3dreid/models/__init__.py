"""Model definitions. Importing this package registers every video model in ``m3dreid.registry.MODELS``.

``*_resnet50`` builders take ``depth`` (18/34/50) and ``base_channels``; ``resnet18_2d``, ``m3d_resnet18`` and
``two_stream_m3d_resnet18`` are the same builders with ``depth=18`` by default, for the CPU demo.
"""

from m3dreid.models import attention, i3d, lstm, m3d_resnet, p3d, two_stream
from m3dreid.models.base import VideoReIDModel, parameter_count
from m3dreid.models.resnet import ResNet, load_pretrained, resnet18, resnet34, resnet50
from m3dreid.models.two_stream import TwoStreamNet
from m3dreid.models.video_net import VideoNet
from m3dreid.models.video_resnet import VideoResNet, load_2d_weights
from m3dreid.registry import MODELS

__all__ = [
    "create_model",
    "list_models",
    "ResNet",
    "TwoStreamNet",
    "VideoNet",
    "VideoReIDModel",
    "VideoResNet",
    "attention",
    "i3d",
    "load_2d_weights",
    "load_pretrained",
    "lstm",
    "m3d_resnet",
    "p3d",
    "parameter_count",
    "resnet18",
    "resnet34",
    "resnet50",
    "two_stream",
]


def create_model(name: str, **kwargs):
    """Build the registered model ``name`` with builder keyword arguments ``kwargs``."""
    return MODELS.build(name, **kwargs)


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    return MODELS.names()
