# The two commands: `make demo` and `make test`. Each installs what it needs (scripts/setup),
# builds, then does its job. Everything else is Meson (build/, build-asan/, build-fuzz/).

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
MESON_TEST  = meson test --print-errorlogs --num-processes 2

.PHONY: all setup build test test-asan demo fuzz bench format format-check clean

all: build

setup:
	@./scripts/setup

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: setup $(BUILD)/build.ninja
	meson compile -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# Formatting (clang-format), then every suite (unit, fuzz-corpus replays, interop, e2e) on the plain
# build, then the unit tests and corpus replays again under ASan+UBSan.
test: build $(ASAN_BUILD)/build.ninja
	@$(MAKE) --no-print-directory format-check
	$(MESON_TEST) -C $(BUILD)
	meson compile -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(MESON_TEST) -C $(ASAN_BUILD) --suite unit --suite fuzz
	@echo "make test: all suites passed (plain and ASan+UBSan)"

demo: build
	./scripts/demo $(BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false

# Long fuzzing runs: FUZZ_SECONDS per target, new corpus entries land in tests/fuzz/corpus/.
FUZZ_SECONDS ?= 60
fuzz: setup $(FUZZ_BUILD)/build.ninja
	meson compile -C $(FUZZ_BUILD)
	./scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	./scripts/bench $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h') && echo "format-check: ok"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
