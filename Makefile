# millpond: the two set-up commands are `make demo` and `make test`; both run `make setup` first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: setup build test demo bench clean unit interop

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

interop: build
	MILLPOND_BIN=$(abspath $(BUILD))/millpond .venv/bin/python -m pytest -q tests

test: unit interop

demo: build
	@bash scripts/demo.sh $(abspath $(BUILD))/millpond

bench: build
	@bash bench/run.sh $(abspath $(BUILD))/millpond

clean:
	rm -rf $(BUILD)
