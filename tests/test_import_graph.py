"""The layering of the package, checked on what Python really loads: each module imported in a fresh interpreter.

- Nothing under models/, layers/, evaluation/, video/, index/, deploy/ (nor the weight files, the registry and the
  Python API) pulls in the training engine.
- The CLI modules import no engine module themselves: whatever engine code a command runs, it reaches through
  ``m3dreid.tasks`` when the command runs, so building the parser loads no engine.
- The registry imports no model, and every module imports on its own (no import circle at run time).
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import m3dreid

NO_ENGINE = ("models", "layers", "evaluation", "video", "index", "deploy")
ALONE = ("m3dreid.weights", "m3dreid.registry", "m3dreid.api", "m3dreid.config")


def _all_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(m3dreid.__path__, "m3dreid.") if m.name != "m3dreid.__main__")


# Run in one child interpreter that loads the third-party libraries once (not m3dreid), then forks a process per
# module: each fork starts with no m3dreid module loaded, which is what a fresh interpreter would see of the package,
# at a fraction of the cost of starting Python and torch 150 times.
_PROBE = """
import importlib, json, os, sys
import numpy, torch, yaml, scipy, cv2  # third-party only: nothing of m3dreid is loaded here
torch.set_num_threads(1)
assert not [m for m in sys.modules if m.startswith("m3dreid")]
out = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            mods = sorted(m for m in sys.modules if m.startswith("m3dreid"))
        except BaseException as err:
            mods = ["ERROR " + type(err).__name__ + ": " + str(err)]
        os.write(write, json.dumps(mods).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        out[name] = json.loads(handle.read() or '["ERROR no answer"]')
    os.waitpid(pid, 0)
print(json.dumps(out))
"""


def _loaded_after_import(modules: list[str]) -> dict[str, list[str]]:
    """``module -> the m3dreid modules in sys.modules after importing it alone``."""
    result = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(modules)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def loaded():
    return _loaded_after_import(_all_modules())


def test_every_module_imports_alone(loaded):
    broken = {name: mods[0] for name, mods in loaded.items() if mods and mods[0].startswith("ERROR")}
    assert not broken


def _engine(mods: list[str]) -> list[str]:
    return sorted(m for m in mods if m == "m3dreid.engine" or m.startswith("m3dreid.engine."))


def test_lower_layers_never_load_the_engine(loaded):
    lower = [n for n in loaded if n.split(".")[1] in NO_ENGINE or n in ALONE]
    assert len(lower) > 40  # the walk found the layers
    offenders = {name: _engine(loaded[name]) for name in lower if _engine(loaded[name])}
    assert not offenders


def test_cli_modules_load_no_engine(loaded):
    cli = [n for n in loaded if n == "m3dreid.cli" or n.startswith("m3dreid.cli.")]
    assert len(cli) > 10
    assert not {name: _engine(loaded[name]) for name in cli if _engine(loaded[name])}


def test_registry_imports_no_model(loaded):
    assert [m for m in loaded["m3dreid.registry"] if m.startswith("m3dreid.models")] == []


def _imported_names(path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_cli_reaches_the_engine_only_through_tasks():
    # also the imports inside run(): the commands call m3dreid.tasks, which alone calls the engine
    from pathlib import Path

    cli = Path(m3dreid.__file__).parent / "cli"
    direct = {p.name: sorted(n for n in _imported_names(p) if n.startswith("m3dreid.engine")) for p in cli.glob("*.py")}
    assert len(direct) > 10
    assert {name: mods for name, mods in direct.items() if mods} == {}
    registry = Path(m3dreid.__file__).parent / "registry.py"
    assert not {n for n in _imported_names(registry) if n.startswith("m3dreid") or n == "importlib"}
