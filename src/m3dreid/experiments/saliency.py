"""Saliency maps (the paper's Fig. 8): where a 2D and an M3D model look in a tracklet.

The saliency of a pixel is the absolute gradient of the clip's retrieval feature norm with respect to that pixel,
maximised over colour channels (Simonyan et al.'s gradient saliency; the feature norm needs no identity label, so it
works on test identities the classifier never saw). Maps are normalised per clip, so 2D and M3D maps of the same clip
are compared by where they put their mass, not by scale. ``motion_overlap`` puts a number on the paper's reading of
the figure ("M3D focuses on areas with motion"): the correlation between a map and the clip's per-pixel temporal
change; ``lower_share`` on its other half ("2D focuses on the upper body", M3D on "the moving legs and arms"): the
fraction of the saliency in the lower half of the frame, where a standing person's legs are.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "saliency_maps",
    "motion_energy",
    "motion_overlap",
    "lower_share",
    "saliency_scores",
    "mean_scores",
    "render_strips",
    "write_saliency_page",
]
SCORES = ("motion_overlap", "lower_share")

log = logging.getLogger(__name__)


def saliency_maps(model: nn.Module, clip: torch.Tensor) -> torch.Tensor:
    """``(B, T, C, H, W)`` clip -> ``(B, T, H, W)`` maps in [0, 1]: |d ||feature|| / d pixel|, max over channels."""
    model.eval()
    clip = clip.detach().clone().requires_grad_(True)
    features = model(clip)  # (B, D)
    if isinstance(features, tuple):
        features = features[0]
    features.norm(dim=1).sum().backward()
    grad = clip.grad.abs().amax(dim=2)  # (B, T, H, W)
    flat = grad.flatten(1)  # (B, T*H*W)
    scale = torch.quantile(flat, 0.99, dim=1).clamp_min(1e-12)  # robust per-clip maximum
    return (grad / scale.view(-1, 1, 1, 1)).clamp(0, 1)  # (B, T, H, W)


def motion_energy(clip: torch.Tensor) -> torch.Tensor:
    """Per-pixel temporal change ``|x_t - x_{t-1}|`` (max over channels; frame 0 copies frame 1): ``(B, T, H, W)``."""
    diff = (clip[:, 1:] - clip[:, :-1]).abs().amax(dim=2)  # (B, T-1, H, W)
    if diff.shape[1] == 0:
        return torch.zeros(clip.shape[0], clip.shape[1], clip.shape[3], clip.shape[4])
    return torch.cat([diff[:, :1], diff], dim=1)  # (B, T, H, W)


def motion_overlap(maps: torch.Tensor, motion: torch.Tensor) -> float:
    """Pearson correlation between saliency and motion energy over all pixels of all frames (0 when either is flat)."""
    a = maps.flatten().double()
    b = motion.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    denom = float(a.norm() * b.norm())
    return float((a * b).sum()) / denom if denom > 0 else 0.0


def lower_share(maps: torch.Tensor) -> float:
    """Fraction of the saliency mass of ``(..., H, W)`` maps in rows ``H // 2`` and below (nan when all zero)."""
    rows = maps.double().reshape(-1, *maps.shape[-2:]).sum(dim=(0, 2))  # (H,): mass per image row
    total = float(rows.sum())
    return float(rows[maps.shape[-2] // 2 :].sum()) / total if total > 0 else float("nan")


def saliency_scores(models: Mapping[str, nn.Module], clips: Sequence[tuple[str, torch.Tensor]]):
    """Per clip, each model's maps and scores: yields ``(caption, clip, {name: maps}, {name: {score: value}})``."""
    for caption, clip in clips:
        maps = {name: saliency_maps(model, clip) for name, model in models.items()}
        motion = motion_energy(clip)
        scores = {
            name: {"motion_overlap": motion_overlap(m, motion), "lower_share": lower_share(m)}
            for name, m in maps.items()
        }
        yield caption, clip, maps, scores


def mean_scores(per_clip: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Each model's scores averaged over clips (``per_clip``: one ``{name: {score: value}}`` a clip)."""
    names = per_clip[0].keys() if per_clip else ()
    return {name: {k: float(np.mean([c[name][k] for c in per_clip])) for k in SCORES} for name in names}


def _to_image(frame: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """A normalised ``(C, H, W)`` frame back to ``(H, W, 3)`` uint8 RGB."""
    rgb = frame[:3].permute(1, 2, 0).numpy()  # (H, W, 3)
    rgb = rgb * np.asarray(std[:3]) + np.asarray(mean[:3])
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def _overlay(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    import cv2

    colour = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]  # BGR -> RGB
    return (0.45 * image + 0.55 * colour).astype(np.uint8)


def render_strips(
    clip: torch.Tensor, maps: Mapping[str, torch.Tensor], path: Path, *, mean: Sequence[float], std: Sequence[float]
) -> Path:
    """One PNG: row (a) the frames, then one row of saliency overlays per model, as Fig. 8 lays them out."""
    import cv2

    frames = [_to_image(f, mean, std) for f in clip[0]]  # T x (H, W, 3)
    rows = [np.concatenate(frames, axis=1)]
    for heat in maps.values():
        rows.append(np.concatenate([_overlay(f, h.numpy()) for f, h in zip(frames, heat[0], strict=True)], axis=1))
    sheet = np.concatenate(rows, axis=0)  # (rows*H, T*W, 3)
    scale = max(1, 256 // clip.shape[3])
    sheet = cv2.resize(sheet, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), sheet[..., ::-1])  # RGB -> BGR
    return path


def write_saliency_page(
    models: Mapping[str, nn.Module],
    clips: Sequence[tuple[str, torch.Tensor]],
    out: str | Path,
    *,
    mean: Sequence[float],
    std: Sequence[float],
) -> dict[str, dict[str, float]]:
    """``out/index.html`` + one PNG per clip; returns each model's mean ``motion_overlap`` and ``lower_share``."""
    out = Path(out)
    per_clip, items = [], []
    for i, (caption, clip, maps, scores) in enumerate(saliency_scores(models, clips)):
        per_clip.append(scores)
        png = render_strips(clip, maps, out / f"saliency_{i:02d}.png", mean=mean, std=std)
        text = ", ".join(f"{name} {v['motion_overlap']:+.2f} / {v['lower_share']:.2f}" for name, v in scores.items())
        items.append(f"<figure><img src='{png.name}'><figcaption>{html.escape(caption)}: motion overlap / lower share ")
        items[-1] += f"{html.escape(text)}</figcaption></figure>"
    means = mean_scores(per_clip)
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{v['motion_overlap']:+.3f}</td><td>{v['lower_share']:.3f}</td></tr>"
        for n, v in means.items()
    )
    legend = "Rows: (a) frames, then " + ", ".join(f"({chr(98 + k)}) {n}" for k, n in enumerate(models))
    page = (
        "<!doctype html><meta charset='utf-8'><title>m3dreid saliency</title>"
        "<style>body{font-family:sans-serif} img{image-rendering:pixelated;max-width:100%}</style>"
        "<h1>Saliency maps (paper Fig. 8)</h1>"
        f"<p>{html.escape(legend)}. Saliency = |d ||feature|| / d pixel|, max over channels, normalised per clip. "
        "Motion overlap = correlation between saliency and per-pixel temporal change (higher: looks at motion). "
        "Lower share = fraction of the saliency in the lower half of the frame (legs; the upper body is above).</p>"
        "<table><tr><th>model</th><th>mean motion overlap</th><th>mean lower share</th></tr>"
        f"{rows}</table>" + "".join(items)
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(page)
    log.info("wrote %s", out / "index.html")
    return means
