"""Deployment: rebuild a trained model from its checkpoint and export it to ONNX with a parity check."""

from m3dreid.deploy.checkpoint_model import load_checkpoint_model
from m3dreid.deploy.onnx import OnnxParity, check_onnx_parity, export_onnx

__all__ = ["OnnxParity", "check_onnx_parity", "export_onnx", "load_checkpoint_model"]
