"""Export one person's marked identity as tracklet folders: the query track and every match marked "right".

Layout (one ``m3dreid tracklets`` folder per video, so ``m3dreid index`` / ``search`` read it back as is)::

    identity.json                          the query and its members (camera, track, video, verdict)
    <video folder>/tracks.csv              the member tracks' rows, paths relative to the folder
    <video folder>/video.json              copied from the original folder
    <video folder>/bbox/NNNN/*.jpg         the crops
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

from m3dreid.serve.catalog import Catalog, Track
from m3dreid.serve.marks import MarksStore
from m3dreid.video.crops import CSV_FIELDS

__all__ = ["identity_members", "identity_files", "write_identity_zip", "write_identity_folder"]


def identity_members(catalog: Catalog, marks: MarksStore, gi: int) -> list[Track]:
    """The query track, then the tracks marked "right" for it (in index order)."""
    query = catalog.track(gi)
    right = [catalog.by_key(k) for k, v in marks.of(query.key).items() if v == "right"]
    return [query] + sorted((t for t in right if t is not None and t.gi != gi), key=lambda t: t.gi)


def _folder_names(tracks: list[Track]) -> dict[Path, str]:
    names: dict[Path, str] = {}
    for t in tracks:
        if t.source not in names:
            base = t.source.name or "video"
            name, n = base, 2
            while name in names.values():  # two videos in folders of one name
                name, n = f"{base}_{n}", n + 1
            names[t.source] = name
    return names


def identity_files(catalog: Catalog, marks: MarksStore, gi: int) -> Iterator[tuple[str, bytes | Path]]:
    """``(relative name, bytes or file to copy)`` for every file of the export."""
    members = identity_members(catalog, marks, gi)
    query = members[0]
    verdicts = marks.of(query.key)
    names = _folder_names(members)
    record = {"query": {"camid": query.camid, "track_id": query.track_id, "video": query.video,
                        "source": str(query.source)},
              "members": [{"folder": names[t.source], "camid": t.camid, "track_id": t.track_id, "video": t.video,
                           "num_frames": t.num_frames, "verdict": "query" if t is query else verdicts[t.key]}
                          for t in members]}  # fmt: skip
    yield "identity.json", json.dumps(record, indent=1).encode()
    for source, name in names.items():
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow(CSV_FIELDS)
        tracks = [m for m in members if m.source == source]
        digits = max(3, len(str(max(t.last_frame for t in tracks))))
        for t in tracks:
            for row in catalog.rows(t.gi):
                crop = catalog.safe_path(t, row["path"])
                if crop is None:
                    continue
                # named as `m3dreid tracklets` names crops (track, camera, frame): unique within the folder
                rel = f"bbox/{t.track_id:04d}/{t.track_id:04d}C{t.camid}T0001F{row['frame']:0{digits}d}{crop.suffix}"
                x, y, w, h = row["box"]
                writer.writerow((t.track_id, row["frame"], f"{x:.2f}", f"{y:.2f}", f"{w:.2f}", f"{h:.2f}",
                                 f"{row['score']:.4f}", row["camid"], rel))  # fmt: skip
                yield f"{name}/{rel}", crop
        yield f"{name}/tracks.csv", table.getvalue().encode()
        summary = source / "video.json"
        if summary.is_file():
            yield f"{name}/video.json", summary.read_bytes()


def write_identity_zip(catalog: Catalog, marks: MarksStore, gi: int, *, top: str) -> bytes:
    """The export as a zip whose entries lie under the folder ``top``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:  # JPEGs do not compress
        for name, content in identity_files(catalog, marks, gi):
            data = content.read_bytes() if isinstance(content, Path) else content
            archive.writestr(f"{top}/{name}", data)
    return buffer.getvalue()


def write_identity_folder(catalog: Catalog, marks: MarksStore, gi: int, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    for name, content in identity_files(catalog, marks, gi):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    return out
