#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment (the CPU torch first, as the Makefile does), then from
# an empty folder run `m3dreid demo --size tiny` and the README's Python API example. Not part of the test suite.
#   scripts/wheel_check.sh [WORK_DIR] [extra demo arguments, e.g. --set train.epochs=1]
# TORCH_SPEC (default torch==2.13.0) is what pip installs first; the package's own dependencies come after it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-$(mktemp -d)}
shift || true
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
echo "== work folder: $WORK"
rm -rf "$WORK/venv" "$WORK/dist" "$WORK/empty"
python3 -m venv "$WORK/venv"
PY="$WORK/venv/bin/python"
"$PY" -m pip install -q "$TORCH_SPEC" 2>&1 | grep -v "^WARNING: Location" || true
echo "== building the wheel from $ROOT"
"$PY" -m pip wheel -q --no-deps -w "$WORK/dist" "$ROOT" 2>&1 | grep -v "^WARNING: Location" || true
WHEEL=$(ls "$WORK"/dist/m3dreid-*.whl)
echo "== $(basename "$WHEEL"): $("$PY" -c "import sys, zipfile; n = zipfile.ZipFile(sys.argv[1]).namelist(); print(len([x for x in n if '/configs/' in x]), 'configs,', len([x for x in n if '/experiment_sets/' in x]), 'experiment-set files')" "$WHEEL")"
"$PY" -m pip install -q "$WHEEL" 2>&1 | grep -v "^WARNING: Location" || true
mkdir "$WORK/empty"
cd "$WORK/empty"
echo "== m3dreid demo --size tiny $* (from the empty folder $PWD)"
"$WORK/venv/bin/m3dreid" demo --size tiny --jobs 1 --out demo "$@" 2>demo.log
echo "== m3dreid show-config -c cpu_demo_m3d (a packaged config by name)"
"$WORK/venv/bin/m3dreid" show-config -c cpu_demo_m3d | head -3
echo "== Python API (README example) on the demo's M3D run"
"$PY" - <<'PY'
import glob

import m3dreid

embedder = m3dreid.load("demo/m3d/last.pt")  # a run's checkpoint (or a packaged model's name)
frames = sorted(glob.glob("demo/data/bbox_test/0010/0010C1T0001F*.jpg"))  # one tracklet's crops (MARS names)
feature = embedder.embed(frames)  # (D,) float32
print(type(embedder).__name__, embedder.model_name, "feature", feature.shape, feature.dtype)
print("packaged:", m3dreid.load("pretrained-m3d").embed(frames).shape)
print("installed from", m3dreid.__file__)
PY
