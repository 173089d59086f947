# Callit — `make run` serves the app on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
FLASK   = FLASK_APP=questions:create_app $(BIN)/flask

.PHONY: run test install migrate seed bench clean

$(BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/activate

install: $(BIN)/activate

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-questions

run: seed
	$(BIN)/python app.py

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench.run --short

clean:
	rm -rf $(VENV) instance .pytest_cache
