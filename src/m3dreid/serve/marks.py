"""The user's verdicts on matches ("right" / "wrong"), saved beside the index in ``marks.json``.

Layout: ``{"version": 1, "marks": {QUERY_KEY: {MATCH_KEY: "right" | "wrong"}}}`` with track keys
``"<source>#<track_id>"`` (stable when ``index --add`` appends tracklets). Every change rewrites the file through a
temporary file in the same folder and ``os.replace``, so a crash leaves the old or the new file, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path

__all__ = ["MARKS_FILE", "MARKS_VERSION", "VERDICTS", "MarksStore"]

MARKS_FILE = "marks.json"
MARKS_VERSION = 1
VERDICTS = ("right", "wrong")


class MarksStore:
    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / MARKS_FILE
        self._lock = threading.Lock()
        self._marks: dict[str, dict[str, str]] = self._read()

    def _read(self) -> dict[str, dict[str, str]]:
        if not self.path.is_file():
            return {}
        try:
            record = json.loads(self.path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{self.path}: not JSON ({err}); move it away to start with no marks") from None
        if not isinstance(record, dict) or record.get("version") != MARKS_VERSION:
            raise ValueError(f"{self.path}: not a version {MARKS_VERSION} marks file")
        marks = record.get("marks", {})
        ok = isinstance(marks, dict) and all(
            isinstance(q, str) and isinstance(m, dict) and all(v in VERDICTS for v in m.values())
            for q, m in marks.items()
        )
        if not ok:
            raise ValueError(f"{self.path}: 'marks' must map query keys to {{match key: right|wrong}}")
        return marks

    def of(self, query_key: str) -> dict[str, str]:
        """Match key -> verdict for one query (a copy)."""
        return dict(self._marks.get(query_key, {}))

    def set(self, query_key: str, match_key: str, verdict: str | None) -> None:
        """Record ``verdict`` (``None`` clears the mark) and write the file atomically."""
        if verdict is not None and verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
        with self._lock:
            marks = {q: dict(m) for q, m in self._marks.items()}
            if verdict is None:
                marks.get(query_key, {}).pop(match_key, None)
                if not marks.get(query_key, True):
                    del marks[query_key]
            else:
                marks.setdefault(query_key, {})[match_key] = verdict
            self._write(marks)
            self._marks = marks

    def _write(self, marks: dict) -> None:
        text = json.dumps({"version": MARKS_VERSION, "marks": marks}, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".marks.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
