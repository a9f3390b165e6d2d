# The two commands a newcomer needs: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install demo test lint clean-demo corpus corpus-train bench-quality bench-quality-quick peers bench-scale \
	train-denoiser train-tagger train-bwe bench-models bench-detection bench-speed

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "acetate needs Python 3.11+"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Build the demo archive and run the nightly flow on it (Prefect + local Ray).
demo: $(STAMP)
	$(BIN)/acetate demo --dir demo

## Run the test suite (installs the corpus tools its corpus tests use: TTS voices, fluidsynth; and
## Debian's Chromium for the report's browser test).
test: $(STAMP)
	bash benchmarks/corpus/install_tools.sh
	bash tests/install_browser.sh
	$(BIN)/python -m pytest

## Clean speech and music for the benchmark and for training (.corpus/, git-ignored).
corpus: $(STAMP)
	bash benchmarks/corpus/install_tools.sh
	$(BIN)/python benchmarks/corpus/build.py --size bench --out .corpus

## The larger training corpus for the models (about 18 minutes on 2 cores).
corpus-train: $(STAMP)
	bash benchmarks/corpus/install_tools.sh
	$(BIN)/python benchmarks/corpus/build.py --size train --out .corpus-train

## The peers' own virtual environment (benchmarks/peers/.venv).
peers:
	bash benchmarks/peers/setup.sh

## acetate against the peers on the held-out test split: benchmarks/results/quality.md (< 40 min).
bench-quality: corpus peers
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/quality.py

bench-quality-quick: $(STAMP) peers
	bash benchmarks/corpus/install_tools.sh
	$(BIN)/python benchmarks/corpus/build.py --size quick --out .corpus-quick
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/quality.py --quick --corpus .corpus-quick

## Planning 1,000,000 catalog entries against 500,000 records, throughput with 1 and 2 Ray workers
## on 30-second files, Prefect+Ray overhead per item: benchmarks/results/scale.md (about 10 min).
bench-scale: $(STAMP)
	test -f .corpus/manifest.parquet || $(MAKE) corpus
	$(BIN)/python benchmarks/scale.py

## Real-time factor per core of every op and of process_item against the decode + FLAC encode floor
## (16/44.1/48 kHz, mono and stereo), hot spots, peak RSS from 1 minute to 3 hours, 1 and 2 Ray
## workers: benchmarks/results/speed.md (about 20 min on 2 cores).
bench-speed: $(STAMP)
	test -f .corpus/manifest.parquet || $(MAKE) corpus
	$(BIN)/python benchmarks/speed.py

lint: $(STAMP)
	$(BIN)/ruff check catalog ops models pipelines flows tests benchmarks

clean-demo:
	rm -rf demo

## Reproduce a committed model from scratch (CPU; writes models/weights/, see models/cards/).
train-denoiser train-tagger train-bwe: train-%: $(STAMP)
	@test -f .corpus-train/manifest.parquet || $(MAKE) corpus-train
	$(BIN)/acetate train $*

## Speed of the learned models on one core and the cost of int8: benchmarks/results/models.md.
bench-models: corpus
	$(BIN)/python benchmarks/models.py

## Detection by the DSP detectors and the tagger, alone and fused: benchmarks/results/detection-*.md.
bench-detection: corpus
	$(BIN)/python benchmarks/detection.py --split validation
	$(BIN)/python benchmarks/detection.py --split test
