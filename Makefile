# Everything goes through the project's own virtual environment; nothing is installed by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= build/demo

.PHONY: install demo test test-spawn test-install lint samples clean bench libreoffice docs golden picture email-picture

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: install  ## a fresh workspace from sample_inputs/, then the monthly batch for 2026-10
	rm -rf $(DEMO)
	$(BIN)/compensation-report init $(DEMO)
	$(BIN)/compensation-report run -w $(DEMO) --period 2026-10
	@echo "The command is $(BIN)/compensation-report here. To have compensation-report on your PATH,"
	@echo "install it as README.md says (pipx install . , or pip install . in a virtual environment)."

test: install libreoffice lint
	$(BIN)/python -m pytest -q

# Children started as macOS and Windows start them (spawn): the tests of every child path, the readers,
# the annotated copy, crashes and signals, the rendering, and runs end to end.
SPAWN_TESTS := tests/test_bad_input.py tests/test_crash.py tests/test_signals.py tests/test_end_to_end.py \
	tests/test_cli.py tests/test_xlsx_rows.py tests/test_workspace_edges.py
test-spawn: install libreoffice
	COMPENSATION_START_METHOD=spawn $(BIN)/python -m pytest -q $(SPAWN_TESTS)

# The package as users install it: a wheel built from this checkout, installed with its dependencies
# into a fresh virtual environment, and its command run there on the sample month.
test-install: install
	rm -rf build/wheel build/installed build/installed-ws
	$(BIN)/python -m pip wheel --quiet --no-deps -w build/wheel .
	$(PYTHON) -m venv build/installed
	build/installed/bin/python -m pip install --quiet build/wheel/*.whl
	build/installed/bin/compensation-report --version
	build/installed/bin/compensation-report init build/installed-ws
	build/installed/bin/compensation-report run -w build/installed-ws --period 2026-10 --no-email

lint: install  ## ruff on the code, the tests and the tools; mypy on the package
	$(BIN)/ruff check compensation_report tests tools bench
	$(BIN)/mypy

APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get

# The recalculation test needs a real spreadsheet application: Debian's headless LibreOffice Calc.
libreoffice:
	@command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 || { \
		echo "Installing LibreOffice Calc (Debian package libreoffice-calc-nogui) for the recalculation test"; \
		$(APT) update -qq && $(APT) install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null; }

docs: install  ## docs/columns.md from the schema (tests/test_docs.py fails when it is out of date)
	$(BIN)/python -m compensation_report.reference docs/columns.md

golden: install  ## rewrite tests/golden/ from today's report: open the files, review, commit them with the change
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_golden.py -k reference

picture: install libreoffice  ## docs/summary.png: the sample month's Summary sheet as LibreOffice draws it
	@command -v pdftoppm >/dev/null 2>&1 && fc-list | grep -qi wenquanyi || { \
		echo "Installing poppler-utils and a Chinese font (Debian packages) to draw the picture"; \
		$(APT) update -qq && $(APT) install -y -qq --no-install-recommends poppler-utils fonts-wqy-microhei >/dev/null; }
	$(BIN)/python tools/draw_summary.py docs/summary.png

email-picture: install  ## docs/email.png: the sample month's report email as headless Chromium shows it
	@command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Chromium's headless shell (Debian package chromium-headless-shell) to draw the email"; \
		$(APT) update -qq && $(APT) install -y -qq --no-install-recommends chromium-headless-shell >/dev/null; }
	$(BIN)/python tools/draw_email.py docs/email.png

samples: install  ## regenerate sample_inputs/ from tools/make_samples.py
	$(BIN)/python tools/make_samples.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis

bench: install  ## typical and large workloads against the floor and the peer; XL=1 adds the xl workload
	$(BIN)/python bench/run.py $(if $(XL),--xl,)
