"""Procedural people: deterministic bytes whatever the worker count, read by the MARS reader with disjoint splits."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from m3dreid.data import create_dataset
from m3dreid.data.people import VIEWS, make_people, random_person, render_person_view


def _digest(root):
    return {str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}


def test_people_dataset_is_deterministic_and_reads_as_mars(tmp_path):
    kw = dict(train_ids=4, test_ids=3, cameras=3, frames=(2, 3), height=32, width=16, seed=5)
    a = make_people(tmp_path / "a", workers=1, **kw)
    b = make_people(tmp_path / "b", workers=2, **kw)
    assert _digest(a) == _digest(b)
    ds = create_dataset("synthetic", a)
    assert ds.num_train_pids == 4 and len(ds.query) == 3  # one query tracklet per test identity
    assert {t.pid for t in ds.query} == {5, 6, 7} and all(2 <= len(t.frames) <= 3 for t in ds.train)
    assert {t.pid for t in ds.gallery} == {5, 6, 7}  # each seen by 2 or 3 cameras: the query has a match
    with pytest.raises(FileExistsError):
        make_people(a, **kw)


@pytest.mark.parametrize("view", VIEWS)
def test_render_person_view_shape_and_mask(view):
    person = random_person(np.random.default_rng(0))
    img, mask = render_person_view(person, 3.0, 64, view=view, facing=-1)
    assert img.shape == (64, 32, 3) and mask.shape == (64, 32)
    assert 0.15 < (mask > 127).mean() < 0.7  # a person, not an empty or a full box
    assert (img[mask == 0] == 0).all()
    with pytest.raises(ValueError, match="unknown view"):
        render_person_view(person, 0.0, 64, view="top")
