"""The synthetic data families and their tuning / report splits: where recipe decisions may be made.

Two generators, designed independently, write the MARS layout with ``info/groups.json``:

* ``walkers`` (``m3dreid.data.synthetic``): side-view stick walkers, a background scrolling with the stride, groups
  of three (still / slow / fast; shirt-flash rhythms; looks);
* ``limbs`` (``m3dreid.data.synthetic_limbs``): articulated ellipse figures, fixed cameras with strong light and
  colour bias, groups of four (stride periods; arm-raise rhythms longer than a clip; looks).

Held-out protocol: every recipe decision (presets, ablation choices) is made on a family's ``tuning`` seeds; the
README and docs report the ``report`` seeds, which no decision looked at. A seed is both the generator seed (other
people, cameras, backgrounds) and the training seed of the run on it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FAMILIES", "SPLITS", "make_family", "family_sizes", "split_seeds"]

FAMILIES = ("walkers", "limbs")
SPLITS = {
    "tuning": (0, 1, 2),  # the walkers' seeds the earlier CPU recipe was tuned on, too
    "report": (10, 11, 12),
}


def family_sizes(family: str) -> tuple[str, ...]:
    if family == "walkers":
        from m3dreid.data.synthetic import SIZES
    elif family == "limbs":
        from m3dreid.data.synthetic_limbs import LIMB_SIZES as SIZES
    else:
        raise ValueError(f"unknown synthetic family '{family}' (known: {', '.join(FAMILIES)})")
    return tuple(SIZES)


def split_seeds(split: str) -> tuple[int, ...]:
    if split not in SPLITS:
        raise ValueError(f"unknown split '{split}' (known: {', '.join(SPLITS)})")
    return SPLITS[split]


def make_family(
    family: str, out: str | Path, *, size: str = "small", seed: int = 0, workers: int = 1, overwrite: bool = False
) -> Path:
    """Write ``family``'s dataset of ``size`` with generator ``seed`` to ``out`` (empty or missing, unless
    ``overwrite``: then the dataset folders of an earlier one there are replaced, nothing else)."""
    family_sizes(family)  # validates the family name
    if family == "walkers":
        from m3dreid.data.synthetic import make_synthetic

        return make_synthetic(out, size=size, seed=seed, workers=workers, overwrite=overwrite)
    from m3dreid.data.synthetic_limbs import make_limbs

    return make_limbs(out, size=size, seed=seed, workers=workers, overwrite=overwrite)
