"""Run every benchmark in benchmarks/ in turn (``make bench``), with ``--quick`` unless ``--full`` is given.

A benchmark is any ``benchmarks/*.py`` other than this file and helpers whose name starts with ``_``; each one must
accept ``--quick``. Scripts run one after another in name order (never in parallel: they time things), each in its
own process, with their output passed through. A summary table of exit codes and wall times closes the run, and the
exit code is non-zero when any script failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import markdown_table

HERE = Path(__file__).resolve().parent


def discover(folder: Path = HERE) -> list[Path]:
    """Benchmark scripts in ``folder``: ``*.py`` except this runner and ``_helpers``."""
    this = Path(__file__).resolve().name
    return sorted(p for p in folder.glob("*.py") if p.name != this and not p.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="run the full sweeps (no --quick; meant for a GPU)")
    parser.add_argument("--only", action="append", default=[], help="run only this script (name, repeatable)")
    parser.add_argument("--skip", action="append", default=[], help="skip this script (name, repeatable)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per script (0 = no limit)")
    parser.add_argument("--list", action="store_true", help="list the scripts that would run and exit")
    args = parser.parse_args(argv)

    def wanted(path: Path) -> bool:
        names = {path.name, path.stem}
        return (not args.only or names & set(args.only)) and not names & set(args.skip)

    scripts = [p for p in discover() if wanted(p)]
    if args.list:
        print("\n".join(p.name for p in scripts))
        return 0
    env = dict(os.environ)
    src = str(HERE.parent / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    summary = []
    for script in scripts:
        command = [sys.executable, str(script)] + ([] if args.full else ["--quick"])
        print(f"\n==== {script.name} ({' '.join(command[2:]) or 'full'}) ====", flush=True)
        start = time.perf_counter()
        try:
            rc = subprocess.run(command, cwd=HERE.parent, env=env, timeout=args.timeout or None).returncode
            status = "ok" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            rc, status = 124, f"timed out after {args.timeout:.0f} s"
        summary.append([script.name, status, f"{time.perf_counter() - start:.1f}"])
    print("\n## Benchmark runs\n")
    print(markdown_table(["script", "status", "wall s"], summary))
    return 0 if all(row[1] == "ok" for row in summary) else 1


if __name__ == "__main__":
    raise SystemExit(main())
