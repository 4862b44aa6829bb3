# track-evidence: `make demo` and `make test` work on a fresh clone with only Python installed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo
AS_OF  := 2026-11-20

.PHONY: install sysdeps demo test lint typecheck pytest fuzz bench record clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## sysdeps: the system tools the tests use, from Debian's packages when missing: poppler-utils
## (pdftotext/pdftoppm read the evidence PDFs back) and chromium (the console's browser tests)
sysdeps:
	@if ! command -v pdftotext >/dev/null || ! command -v chromium >/dev/null; then \
		SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq poppler-utils chromium >/dev/null; \
	fi

## demo: pull examples/orders.csv against the built-in sandbox and write an evidence bundle
demo: $(STAMP)
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(BIN)/track-evidence --db sqlite:///$(DEMO)/track-evidence.db pull examples/orders.csv \
		--sandbox --as-of $(AS_OF) --errors $(DEMO)/orders.errors.csv
	$(BIN)/track-evidence --db sqlite:///$(DEMO)/track-evidence.db export --out $(DEMO)/bundle \
		--reference-id DEMO-EVR-2026-0001 --as-of $(AS_OF) \
		--seller "深圳市XX科技有限公司 / Shenzhen XX Tech Co., Ltd."
	$(BIN)/track-evidence verify $(DEMO)/bundle
	@echo "evidence bundle: $(DEMO)/bundle"
	@echo "  upload to the marketplace: only the files in $(DEMO)/bundle/upload (the orders that pass)"
	@echo "  your own precheck, never upload it: $(DEMO)/bundle/precheck (every order, what to do)"

## test: ruff, mypy (strict on tracking/ and carriers/) and pytest
test: sysdeps lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

## fuzz: the randomized API (schemathesis) and CSV tests with fresh seeds and FUZZ times the
## examples of `make test` (which is deterministic); a failure prints the seed to reproduce it
FUZZ ?= 20
fuzz: $(STAMP)
	TRACK_EVIDENCE_FUZZ=$(FUZZ) $(BIN)/pytest -q -p no:cacheprovider --hypothesis-profile=fuzz \
		tests/test_api_schema.py tests/test_ingest_fuzz.py

## bench: speed and memory figures (never part of `make test`)
bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
