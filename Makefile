# The README's two commands, `make run` and `make test`, install everything they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The inbox's browser tests drive Debian's chromium (never a Playwright download), and
# its stylesheet is compiled ahead with the Tailwind CLI and committed: running the
# server needs no Node, `make css` rebuilds it after a template or script changes.
CHROMIUM ?= /usr/bin/chromium
TAILWIND := node_modules/.bin/tailwindcss
CSS_IN   := web/static/css/input.css
CSS_OUT  := web/static/css/app.css

.PHONY: install run test fuzz bench lint format clean browser nginx node css css-watch screenshot charts

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/crm serve

# Lint first: a type error or a ruff finding fails `make test` before the suite runs.
test: install lint browser nginx node
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m pytest -q

# The webhook fuzz test at length (make test runs it bounded, in well under a minute).
FUZZ_EXAMPLES ?= 5000
fuzz: install
	CRM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/test_webhook_fuzz.py

# Chromium for the browser tests: apt-get as root when missing, else say what to do.
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium >/dev/null; \
	else \
		echo "no $(CHROMIUM) and not root: skipping apt-get; the browser tests will be" \
		     "skipped (sudo apt-get install --no-install-recommends chromium)"; \
	fi
	@test -s $(CSS_OUT) || { echo "$(CSS_OUT) is missing: run make css"; exit 1; }

# nginx in front of crm for the sign-in tests behind a proxy (tests/proxy_support.py):
# apt-get as root when missing, else those tests use a forwarding proxy of their own.
nginx:
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing nginx for the proxy tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends nginx >/dev/null; \
	else \
		echo "no nginx and not root: the proxy tests use a forwarding proxy written in Python"; \
	fi

# Node packages: the Tailwind CLI (make css) and axe-core, which the accessibility tests
# inject into the pages. npm from Debian (apt-get as root) when missing, like chromium.
NODE_STAMP := node_modules/.installed

node: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@if ! command -v npm >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing nodejs and npm for the accessibility tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends nodejs npm >/dev/null; \
	fi
	@if command -v npm >/dev/null; then \
		npm ci --include=dev --no-audit --no-fund && touch $(NODE_STAMP); \
	else \
		echo "no npm and not root: skipping npm ci; the accessibility tests will be skipped" \
		     "(sudo apt-get install --no-install-recommends nodejs npm)"; \
	fi

$(TAILWIND): $(NODE_STAMP)

css: $(TAILWIND)
	$(TAILWIND) -i $(CSS_IN) -o $(CSS_OUT) --minify

# The campaign page's charts: uPlot from the npm registry, copied ahead and committed
# (no CDN, no Node on the server).
UPLOT := node_modules/uplot/dist
charts: $(TAILWIND)
	mkdir -p web/static/vendor
	cp $(UPLOT)/uPlot.esm.js web/static/vendor/uplot.esm.js
	cp $(UPLOT)/uPlot.min.css web/static/vendor/uplot.min.css
	cp node_modules/uplot/LICENSE web/static/vendor/uplot.LICENSE

css-watch: $(TAILWIND)
	$(TAILWIND) -i $(CSS_IN) -o $(CSS_OUT) --watch=always

# The README's pictures: the inbox, the team view, and the phone (list and thread: --phone
# writes docs/phone-list.png and docs/phone-thread.png), each from a real server and browser.
screenshot: install browser
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m tests.e2e.screenshot docs/inbox.png
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m tests.e2e.screenshot docs/team.png --team
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m tests.e2e.screenshot docs/phone-list.png --phone
	CHROMIUM_PATH=$(CHROMIUM) $(BIN)/python -m tests.e2e.campaign_screenshot docs/campaigns.png

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check crm tests bench
	$(BIN)/mypy crm

format: install
	$(BIN)/ruff check --fix crm tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
