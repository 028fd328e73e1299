# Every target sets up .venv on first use: CPU torch first (a local wheel here), then the package with its dev extra.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.m3dreid-installed
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test test-compile lint bench pretrained gpu-check clean

MOT15 ?= ../shared/mot15

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/m3dreid demo --out runs/demo --overwrite

test: $(STAMP)
	$(PY) -m pytest -q

# torch.compile (inductor) tests of the fast paths: minutes on a small CPU, so outside the default suite
test-compile: $(STAMP)
	$(PY) -m pytest -q -m compile

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

# one GPU's first run: CUDA tests, speed table, 200 training steps, NCCL DDP; prints "no CUDA device" on a CPU
gpu-check: $(STAMP)
	$(PY) benchmarks/gpu_check.py

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# the networks shipped in src/m3dreid/pretrained/ and their model card's numbers (about 1 h 15 min on 2 busy cores)
pretrained: $(STAMP)
	test -d runs/pretrained/people || $(VENV)/bin/m3dreid make-people --out runs/pretrained/people --train-ids 1200 \
		--test-ids 150 --seed 0 --workers 2
	OMP_NUM_THREADS=1 $(VENV)/bin/m3dreid train -c configs/pretrained_2d.yaml
	OMP_NUM_THREADS=1 $(VENV)/bin/m3dreid train -c configs/pretrained_m3d.yaml
	$(PY) -m m3dreid.pretrained.build runs/pretrained/2d/last.pt --name 2d
	$(PY) -m m3dreid.pretrained.build runs/pretrained/m3d/last.pt --name m3d
	$(PY) benchmarks/synthetic_order.py --json runs/pretrained/synthetic_order.json
	test ! -d $(MOT15) || $(PY) benchmarks/real_reid.py --mot15 $(MOT15) --adapt --json runs/pretrained/real_reid.json

clean:
	rm -rf $(VENV) runs
