# Callit — `make run` serves the app on SQLite; `make test` checks the code and runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
FLASK   = FLASK_APP=questions:create_app $(BIN)/flask

.PHONY: run lan test lint install dev lock migrate seed bench clean translations

# what the app runs on (requirements.txt); tests, benchmarks and checks add requirements-dev.txt
$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/activate

$(VENV)/.dev-installed: requirements-dev.txt $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/activate

dev: $(VENV)/.dev-installed

# Pin the closure of requirements.in / requirements-dev.in (existing pins are kept unless
# an .in file asks otherwise; `make lock UPGRADE=--upgrade` moves everything to the latest).
LOCK = $(BIN)/uv pip compile --universal --python-version 3.11 --custom-compile-command "make lock" \
       --no-emit-index-url --quiet $(UPGRADE)
lock: dev
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-questions

run: seed
	$(BIN)/python app.py

# for a real night: listen on every interface; links and the QR code use the LAN address
lan:
	$(MAKE) run HOST=0.0.0.0

lint: dev
	$(BIN)/ruff check .
	$(BIN)/mypy questions

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# After changing texts: re-extract them, update the German catalog, translate what is new or
# marked fuzzy in translations/de/LC_MESSAGES/messages.po, then run this again to compile it.
# (tests/test_translations.py fails while a German text is missing, fuzzy or not compiled.)
translations: install
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --ignore-obsolete --width 100
	$(BIN)/pybabel compile -d translations

bench: dev
	$(BIN)/python -m bench.run --short

clean:
	rm -rf $(VENV) instance .pytest_cache
