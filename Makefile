# Two entry points for a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.dupscope-installed

.PHONY: install demo test browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,lite12]"
	touch $(STAMP)

install: $(STAMP)

# Scan the bundled example papers (PDFs with planted reuse) and write the report.
demo: install
	$(VENV)/bin/dupscope scan examples/papers --out demo_out
	@echo "open demo_out/report.html"

# Headless Chromium (Debian) for the report's browser test; best effort, the test skips without it.
browser:
	@command -v chromium >/dev/null 2>&1 || { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || echo "chromium not installed: browser test will skip"; }

test: install browser
	$(PY) -m pytest

bench: install
	$(PY) benchmarks/verifier_benchmark.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
