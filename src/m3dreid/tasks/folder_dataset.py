"""From ``m3dreid tracklets`` output and your identity labels to a ``folder`` dataset you can train and evaluate on.

The labels are a CSV with a header and one row per labelled track::

    tracklets,track_id,pid,split
    tracks/cam1,3,17,train
    tracks/cam2,5,17,train
    tracks/cam1,8,40,query
    tracks/cam2,2,40,gallery

``tracklets`` names a folder written by ``m3dreid tracklets`` (as given on the command line, or its last path part),
``track_id`` a track in it, ``pid`` the person (a non-negative integer, the same person in every camera), ``split``
one of train / query / gallery. Tracks without a row are left out. The camera is the one ``m3dreid tracklets``
recorded (``--camid``). Crops are copied to ``OUT/<split>/<pid>/<camid>/<folder>_t<track_id>/`` with their names.
"""

from __future__ import annotations

import csv
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from m3dreid.data.base import DatasetError
from m3dreid.data.folder import SPLITS

__all__ = ["LABEL_FIELDS", "read_labels", "make_folder_dataset"]

log = logging.getLogger(__name__)

LABEL_FIELDS = ("tracklets", "track_id", "pid", "split")


def read_labels(path: str | Path) -> list[dict]:
    """The label rows, checked: errors name the file, the row and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: label file not found")
    rows = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [f for f in LABEL_FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: missing column(s) {', '.join(missing)} (need {', '.join(LABEL_FIELDS)})")
        for line, row in enumerate(reader, start=2):
            try:
                track_id, pid = int(row["track_id"]), int(row["pid"])
            except (TypeError, ValueError):
                raise DatasetError(f"{path}: row {line}: track_id and pid must be integers") from None
            split = (row["split"] or "").strip()
            if pid < 0 or split not in SPLITS:
                raise DatasetError(f"{path}: row {line}: pid must be >= 0 and split one of {', '.join(SPLITS)}")
            rows.append({"tracklets": row["tracklets"].strip(), "track_id": track_id, "pid": pid, "split": split})
    return rows


def make_folder_dataset(
    tracklet_dirs: Sequence[str | Path], labels: str | Path, out: str | Path, *, overwrite: bool = False
) -> dict[str, int]:
    """Write the ``folder`` dataset; returns the number of tracklets per split."""
    from m3dreid.video.crops import read_tracks_csv

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out}: not empty (pass --overwrite to write into it)")
    folders = {}
    for given in tracklet_dirs:
        folder = Path(given)
        tracks = read_tracks_csv(folder)
        for key in {str(given), folder.name, str(folder.resolve())}:
            folders[key] = (folder, tracks)
    counts = dict.fromkeys(SPLITS, 0)
    seen = set()
    for row in read_labels(labels):
        if row["tracklets"] not in folders:
            raise DatasetError(f"{labels}: tracklets folder '{row['tracklets']}' is not among {list(tracklet_dirs)}")
        folder, tracks = folders[row["tracklets"]]
        key = (str(folder.resolve()), row["track_id"])
        if key in seen:
            raise DatasetError(f"{labels}: track {row['track_id']} of {folder} is labelled twice")
        seen.add(key)
        if row["track_id"] not in tracks:
            raise DatasetError(f"{labels}: {folder} has no track {row['track_id']}")
        crops = tracks[row["track_id"]]
        target = out / row["split"] / str(row["pid"]) / str(crops[0]["camid"]) / f"{folder.name}_t{row['track_id']}"
        target.mkdir(parents=True, exist_ok=True)
        for crop in crops:
            shutil.copy2(crop["path"], target / Path(crop["path"]).name)
        counts[row["split"]] += 1
    log.info("folder dataset %s: %s", out, counts)
    return counts
