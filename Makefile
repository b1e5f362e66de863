# spadepaint — the two commands of the README are `make run` and `make test`.
SHELL := /bin/bash
DEBIAN_PACKAGES := pkg-config libopenblas-dev libncurses-dev libpng-dev libjpeg62-turbo-dev libsixel-dev tmux python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := .build/release/spadepaint

.PHONY: deps build run test bench clean fixtures

# Installs the Debian packages once; a no-op when they are all present.
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing: $$missing"; $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $$missing; fi

build: deps
	swift build -c release

# Builds and starts the painter on the shipped default model.
run: build
	$(BIN) $(ARGS)

# The whole test suite (release mode: the numerical tests need optimised code).
test: deps
	swift build -c release -Xswiftc -enable-testing --build-tests
	swift test -c release -Xswiftc -enable-testing --skip-build
	Tests/e2e/painter-tmux.sh $(BIN)

bench: build
	$(BIN) bench conv

# Regenerates the PyTorch fixtures (needs `pip install torch`; the tests themselves do not).
fixtures:
	python3 Tests/fixtures/make_fixtures.py

clean:
	rm -rf .build
