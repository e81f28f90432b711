# Two commands on a fresh machine: `make run` and `make test`. Each sets up what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench fuzz demo clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# pywb, which the interop tests run against samizdat's archive, pins its own dependencies
# (gevent among them): it gets a virtualenv of its own.
PYWB := .venv-pywb/.installed

$(PYWB):
	test -d .venv-pywb || $(PY) -m venv .venv-pywb
	.venv-pywb/bin/pip install -q 'pywb>=2.9,<3'
	touch $(PYWB)

# ReplayWeb.page, which an interop test runs in Chromium over samizdat's WACZ: its npm package
# (the UI script and the service worker), unpacked; nothing of it is committed.
REPLAYWEBPAGE := .cache/replaywebpage/package/ui.js

$(REPLAYWEBPAGE):
	mkdir -p .cache/replaywebpage
	cd .cache/replaywebpage && npm pack --silent replaywebpage@2.4.6 >/dev/null && tar xzf replaywebpage-2.4.6.tgz

# Starts the local WeChat-like simulator and captures every article it lists into ./samizdat-data.
run: $(STAMP)
	$(BIN)/samizdat demo

# Debian's packages the tests use: Chromium for the browser tests (Playwright's own browser
# download needs the internet), with the CJK fonts to draw Chinese in the screenshots; Go and
# golang.org/x/mod, whose signed-note code checks the checkpoints samizdat writes; tinyproxy,
# a real proxy for the ways out (fetch.egress).
DEBIAN := /usr/bin/chromium /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
	/usr/share/gocode/src/golang.org/x/mod/sumdb/note/note.go /usr/bin/tinyproxy
DEBIAN_PACKAGES := chromium fonts-noto-cjk golang-go golang-golang-x-mod-dev tinyproxy-bin

$(DEBIAN):
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y -q $(DEBIAN_PACKAGES) >/dev/null || \
	  (apt-get update -q >/dev/null && apt-get install -y -q $(DEBIAN_PACKAGES) >/dev/null); \
	else echo "the tests need: sudo apt-get install $(DEBIAN_PACKAGES)"; exit 1; fi

test: $(STAMP) $(DEBIAN) $(PYWB) $(REPLAYWEBPAGE)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

# The inner loop: everything but the tests marked slow (simulations, subprocesses, kills, the
# browser), in under two minutes. CI runs `make test`, all of them.
test-fast: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/extraction_eval.py
	$(BIN)/python bench/capture_throughput.py
	$(BIN)/python bench/schedule_simulation.py
	$(BIN)/python bench/check_throughput.py --copies 300 --workers 3 --concurrency 24
	$(BIN)/python bench/watch_end_to_end.py --time-scale 360 --workers 3 --checks 15
	$(BIN)/python bench/first_sight.py --runs 3
	$(BIN)/python bench/first_sight.py --runs 3 --rate 20
	$(BIN)/python bench/first_sight.py --runs 3 --kills 8
	$(BIN)/python bench/copies.py --articles 100000
	$(BIN)/python bench/related.py --articles 20000
	$(BIN)/python bench/crashes.py --rounds 20 --copies 72
	$(BIN)/python bench/load_with_watcher.py --minutes 10
	cd bench && ../$(BIN)/python static_mirror.py --articles 10000
	$(BIN)/python bench/pg_search.py --articles 100000

# Coverage-guided fuzzing of every reader of untrusted input, two minutes each (docs/reliability.md).
fuzz: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,fuzz]'
	$(BIN)/python bench/fuzz.py all --seconds 120

clean:
	rm -rf $(VENV) samizdat-data
