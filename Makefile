# The two commands of the README live here: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench system-deps clean migration

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian packages the tests use: zbar (decodes printed QR codes), chromium (browser tests), a CJK font (charts),
# nginx (the three-replica test), poppler-utils (the review PDF rendered to PNG).
system-deps:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  missing=""; \
	  [ -e /usr/lib/x86_64-linux-gnu/libzbar.so.0 ] || ldconfig -p | grep -q libzbar.so.0 || missing="$$missing libzbar0"; \
	  command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	  command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	  if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi

demo: $(STAMP)
	$(BIN)/opsbot demo

test: $(STAMP) system-deps
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot handlers jobs integrations opsbot tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.callbacks

clean:
	rm -rf $(VENV) var

# After changing models: regenerate the migration (nothing has been released, so there is one initial revision).
migration: $(STAMP)
	rm -f bot/migrations/versions/*.py var/migration.db
	$(BIN)/python -c "from bot.migrate import alembic_config; from alembic import command; \
	  command.revision(alembic_config('sqlite+aiosqlite:///var/migration.db'), message='initial schema', \
	  autogenerate=True, rev_id='0001')"
	rm -f var/migration.db
