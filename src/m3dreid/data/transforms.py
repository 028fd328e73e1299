"""Frame decoding and the paper's clip transforms (resize, horizontal flip, random erasing, mean/std).

Augmentations draw from a ``numpy.random.Generator`` handed in by the caller (seeded per sample by the sampler), so a
clip is the same whatever the number of DataLoader workers. Flip and erasing are applied to the whole clip at once
(one decision, one box): a box that jumps between frames would itself be a motion cue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np
import torch

from m3dreid.data.base import DatasetError

__all__ = [
    "read_frame",
    "read_frames",
    "normalize",
    "normalize_batch",
    "hflip_clip",
    "random_erase",
    "erase_box",
]

log = logging.getLogger(__name__)


def _truncated_jpeg(data: np.ndarray) -> bool:
    """A JPEG (starts with FF D8) whose end-of-image marker FF D9 is missing from its last bytes: cut short.

    libjpeg decodes such a file anyway, greying out the missing rows with only a warning on stderr that does not
    name the file, so it must be caught before decoding."""
    if data.size < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return False
    tail = data[-32:]
    return not bool(((tail[:-1] == 0xFF) & (tail[1:] == 0xD9)).any())


def read_frame(path: str, height: int, width: int) -> np.ndarray:
    """Decode one image with OpenCV and resize it to ``(height, width)``; RGB uint8 ``(H, W, 3)``.

    A missing, empty, undecodable or truncated file is a :class:`DatasetError` naming it."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise DatasetError(f"{path}: cannot read image ({err.strerror or err})") from None
    if _truncated_jpeg(data):
        raise DatasetError(f"{path}: truncated JPEG (the file ends before its end-of-image marker)")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise DatasetError(f"{path}: cannot read image (missing, empty or not a valid image file)")
    if img.shape[0] != height or img.shape[1] != width:
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_frames(paths: Sequence[str], height: int, width: int) -> np.ndarray:
    """Decode frames into one ``(T, H, W, 3)`` RGB uint8 array."""
    out = np.empty((len(paths), height, width, 3), np.uint8)
    for i, p in enumerate(paths):
        out[i] = read_frame(p, height, width)
    return out


def normalize(frames: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 -> ``(T, 3, H, W)`` float: scale to [0, 1], subtract ``mean``, divide by ``std``."""
    # numpy, one channel plane at a time, writing straight into the (T, 3, H, W) layout: several times faster than
    # torch on these small per-sample tensors inside DataLoader workers
    out = np.empty((frames.shape[0], 3, frames.shape[1], frames.shape[2]), np.float32)  # (T, 3, H, W)
    for c in range(3):
        np.multiply(frames[..., c], np.float32(1.0 / (255.0 * std[c])), out=out[:, c], dtype=np.float32)
        out[:, c] -= np.float32(mean[c] / std[c])
    return torch.from_numpy(out)


def normalize_batch(
    frames: torch.Tensor, mean: Sequence[float], std: Sequence[float], boxes: torch.Tensor | None = None
) -> torch.Tensor:
    """:func:`normalize` (and the erasing boxes) for a batch, on whatever device ``frames`` is (e.g. the GPU).

    ``frames``: ``(B, T, H, W, 3)`` uint8; ``boxes``: ``(B, 4)`` int ``(y0, x0, y1, x1)`` per clip, ``y1 = 0`` for
    none. Returns ``(B, T, 3, H, W)`` float32 equal, bit for bit, to normalising each clip with :func:`normalize`
    then :func:`random_erase` (the same float32 scale and offset, applied as two separate operations).
    """
    b, t, h, w, _ = frames.shape
    out = torch.empty((b, t, 3, h, w), dtype=torch.float32, device=frames.device)  # (B, T, 3, H, W)
    for c in range(3):
        out[:, :, c] = frames[..., c]
        out[:, :, c].mul_(float(np.float32(1.0 / (255.0 * std[c])))).sub_(float(np.float32(mean[c] / std[c])))
    if boxes is not None:
        for i, (y0, x0, y1, x1) in enumerate(boxes.tolist()):
            if y1 > 0:
                out[i, ..., y0:y1, x0:x1] = 0.0
    return out


def hflip_clip(clip: torch.Tensor, flow_channels: int = 0) -> torch.Tensor:
    """Mirror a ``(T, C, H, W)`` clip; the x component of optical flow (channel ``C - flow_channels``) changes sign."""
    clip = clip.flip(-1)
    if flow_channels:
        clip[:, clip.shape[1] - flow_channels] *= -1
    return clip


def erase_box(
    rng: np.random.Generator, height: int, width: int, *, area=(0.02, 0.4), aspect=(0.3, 3.3)
) -> tuple[int, int, int, int] | None:
    """A random box (y0, x0, y1, x1) as in random erasing (Zhong et al. 2020); ``None`` if none fits in 100 tries."""
    for _ in range(100):
        target = rng.uniform(*area) * height * width
        ratio = np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1])))
        h, w = int(round(np.sqrt(target * ratio))), int(round(np.sqrt(target / ratio)))
        if 0 < h < height and 0 < w < width:
            y0, x0 = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            return y0, x0, y0 + h, x0 + w
    return None


def random_erase(clip: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Set one box, the same in every frame, to 0 (the mean after normalisation) in all channels of ``(T, C, H, W)``."""
    box = erase_box(rng, clip.shape[-2], clip.shape[-1])
    if box is not None:
        y0, x0, y1, x1 = box
        clip[..., y0:y1, x0:x1] = 0.0
    return clip
