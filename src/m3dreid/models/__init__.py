"""Model definitions. Importing this package registers every video model in ``m3dreid.registry.MODELS``."""

from m3dreid.models.resnet import ResNet, load_pretrained, resnet18, resnet34, resnet50

__all__ = ["ResNet", "load_pretrained", "resnet18", "resnet34", "resnet50"]
