"""Small helpers shared by several parts of m3dreid (no torch import here)."""

from m3dreid.utils.io import atomic_write, atomic_write_text

__all__ = ["atomic_write", "atomic_write_text"]
