# Amethyst: one build for everything.
#   make          libamethyst.a and the tools (build/)
#   make test     every cmocka test, plain and under ASan + UBSan
#   make tsan     the concurrency tests under ThreadSanitizer
#   make fuzz     every fuzz target under libFuzzer for FUZZ_SECONDS each (docs/fuzzing.md)
#   make run      the main job
#   make compare  every engine (Amethyst's strategies, RocksDB, LevelDB) side by side
# Dependencies (Debian packages) are checked, and installed when possible, by
# scripts/install-deps.sh before anything is compiled.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wshadow \
               -Wno-missing-field-initializers -pthread -Iengine/include
# The engine's own files (engine/: the library, its tests, tools and fuzz targets) also see
# its internal headers; harness/ and workloads/ see only the public one, amethyst.h.
ENGINE_INC = $(if $(filter engine/%,$<),-Iengine)
LDLIBS  := -lxxhash -lpthread
# The peer engines' libraries (harness/engines/rocksdb.c, leveldb.c): amethystd and the
# harness tests link them; LevelDB has no pkg-config file.
PEER_LDLIBS := $(shell pkg-config --libs rocksdb 2>/dev/null || echo -lrocksdb) -lleveldb
ROCKSDB_VERSION := $(shell pkg-config --modversion rocksdb 2>/dev/null || echo unknown)
TEST_LDLIBS := -lcmocka $(LDLIBS)

ENGINE_SRC := $(sort $(wildcard engine/util/*.c engine/mem/*.c engine/wal/*.c engine/sst/*.c \
                    engine/version/*.c engine/compact/*.c engine/*.c))
TEST_SRC   := $(sort $(wildcard engine/tests/test_*.c))
TESTUTIL   := $(wildcard engine/tests/testutil*.c)
TOOL_SRC   := $(sort $(wildcard engine/tools/*.c))
TESTS      := $(patsubst engine/tests/%.c,%,$(TEST_SRC))
TOOLS      := $(patsubst engine/tools/%.c,%,$(TOOL_SRC))
# Tests that exercise threads; `make tsan` runs these.
TSAN_TESTS := $(filter test_concurrency test_cache test_skiplist test_db test_env test_model test_version test_sst test_workloads test_results test_livehist test_accounting,$(TESTS))

# The workbench harness: harness/*.c and harness/engines/*.c but main.c as a library per
# flavor; amethystd is main.c linked with it, the workloads and libamethyst.
# harness/tests/test_*.c link with the same and run in `make test` with the engine's tests.
HARNESS_LIB_SRC  := $(filter-out harness/main.c,$(sort $(wildcard harness/*.c harness/engines/*.c)))
HARNESS_TEST_SRC := $(sort $(wildcard harness/tests/test_*.c))
HARNESS_TESTS    := $(patsubst harness/tests/%.c,%,$(HARNESS_TEST_SRC))
TESTS            += $(HARNESS_TESTS)

# Workloads: workloads/*.c as libamethyst_workloads.a per flavor (whoever links it adds
# $(WL_LDLIBS)); workloads/tests/test_*.c link with it and run in `make test`.
WL_SRC      := $(sort $(wildcard workloads/*.c))
WL_TEST_SRC := $(sort $(wildcard workloads/tests/test_*.c))
WL_TESTS    := $(patsubst workloads/tests/%.c,%,$(WL_TEST_SRC))
WL_LDLIBS   := -ljansson -lm
TESTS       += $(WL_TESTS)

# Fuzz targets (docs/fuzzing.md): engine/fuzz/target_<name>.c, each with what the other
# files of engine/fuzz/ share. `make test` replays each one's committed corpus and
# reproducers through fuzz_replay.c's main() (fuzz_replay_<name>, built like any test);
# `make fuzz` builds them with clang and libFuzzer in $(BUILD)/fuzz/ and runs them.
FUZZ_TARGETS := $(patsubst engine/fuzz/target_%.c,%,$(sort $(wildcard engine/fuzz/target_*.c)))
FUZZ_LIB_SRC := $(filter-out engine/fuzz/target_%.c engine/fuzz/fuzz_replay.c,\
                  $(sort $(wildcard engine/fuzz/*.c)))
FUZZ_REPLAYS := $(addprefix fuzz_replay_,$(FUZZ_TARGETS))
TESTS        += $(FUZZ_REPLAYS)

DEPS_STAMP := $(BUILD)/.deps-ok

# The build revision amethystd reports (-version, JSON "build"): git describe, "unknown"
# outside git. $(REV_STAMP) changes only when the revision does, so only the two files
# that use it are rebuilt.
AM_BUILD_REV := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
REV_STAMP    := $(BUILD)/.build-rev
REV_USERS    := harness/main.c harness/report.c
$(shell mkdir -p $(BUILD); [ "$$(cat $(REV_STAMP) 2>/dev/null)" = "$(AM_BUILD_REV)" ] || \
        echo "$(AM_BUILD_REV)" > $(REV_STAMP))

# flavor name, extra cflags
FLAVORS := rel asan tsan
FLAGS_rel  :=
FLAGS_asan := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FLAGS_tsan := -fsanitize=thread -O1

.PHONY: all test tsan run clean deps check-one
.SECONDARY:
all: $(BUILD)/rel/libamethyst.a $(addprefix $(BUILD)/rel/,$(TOOLS)) $(BUILD)/rel/amethystd

$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@bash scripts/install-deps.sh
	@touch $@

deps: $(DEPS_STAMP)

define FLAVOR_RULES
$(BUILD)/$(1)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_BASE) $$(ENGINE_INC) $$(FLAGS_$(1)) $$(CFLAGS) -MMD -MP -c $$< -o $$@

$(BUILD)/$(1)/libamethyst.a: $(patsubst %.c,$(BUILD)/$(1)/%.o,$(ENGINE_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

$(BUILD)/$(1)/test_%: $(BUILD)/$(1)/engine/tests/test_%.o $(patsubst %.c,$(BUILD)/$(1)/%.o,$(TESTUTIL)) $(BUILD)/$(1)/libamethyst.a
	$$(CC) $$(CFLAGS_BASE) $$(FLAGS_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(TEST_LDLIBS)

$(BUILD)/$(1)/%: $(BUILD)/$(1)/engine/tools/%.o $(BUILD)/$(1)/libamethyst.a
	$$(CC) $$(CFLAGS_BASE) $$(FLAGS_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)

# test_repair runs the tool it tests (build/<flavor>/amethyst_repair).
$(BUILD)/$(1)/test_repair: | $(BUILD)/$(1)/amethyst_repair

$(BUILD)/$(1)/libamethyst_harness.a: $(patsubst %.c,$(BUILD)/$(1)/%.o,$(HARNESS_LIB_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

$(BUILD)/$(1)/harness/engines/rocksdb.o: CFLAGS += -DAM_ROCKSDB_VERSION='"$(ROCKSDB_VERSION)"'

$(patsubst %.c,$(BUILD)/$(1)/%.o,$(REV_USERS)): $(REV_STAMP)
$(patsubst %.c,$(BUILD)/$(1)/%.o,$(REV_USERS)): CFLAGS += -DAM_BUILD_REV='"$(AM_BUILD_REV)"'

$(BUILD)/$(1)/amethystd: $(BUILD)/$(1)/harness/main.o $(BUILD)/$(1)/libamethyst_harness.a \
                         $(BUILD)/$(1)/libamethyst_workloads.a $(BUILD)/$(1)/libamethyst.a
	$$(CC) $$(CFLAGS_BASE) $$(FLAGS_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(WL_LDLIBS) $$(PEER_LDLIBS) $$(LDLIBS)

# Harness tests link everything amethystd does; the CLI tests run $(BUILD)/<flavor>/amethystd
# (the AMETHYSTD variable RUN_TESTS sets), so it is built first.
$(addprefix $(BUILD)/$(1)/,$(HARNESS_TESTS)): $(BUILD)/$(1)/%: $(BUILD)/$(1)/harness/tests/%.o \
        $(BUILD)/$(1)/libamethyst_harness.a $(BUILD)/$(1)/libamethyst_workloads.a \
        $(BUILD)/$(1)/libamethyst.a | $(BUILD)/$(1)/amethystd
	$$(CC) $$(CFLAGS_BASE) $$(FLAGS_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(WL_LDLIBS) $$(PEER_LDLIBS) $$(TEST_LDLIBS) -lm

$(BUILD)/$(1)/bench_histogram: $(BUILD)/$(1)/harness/tests/bench_histogram.o $(BUILD)/$(1)/libamethyst_harness.a
	$$(CC) $$(CFLAGS_BASE) $$(FLAGS_$(1)) $$(LDFLAGS) -o $$@ $$^ -lm

$(BUILD)/$(1)/libamethyst_workloads.a: $(patsubst %.c,$(BUILD)/$(1)/%.o,$(WL_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

$(addprefix $(BUILD)/$(1)/,$(WL_TESTS)): $(BUILD)/$(1)/%: $(BUILD)/$(1)/workloads/tests/%.o $(BUILD)/$(1)/libamethyst_workloads.a
	$$(CC) $$(CFLAGS_BASE) $$(FLAGS_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(WL_LDLIBS) $$(TEST_LDLIBS)

$(addprefix $(BUILD)/$(1)/,$(FUZZ_REPLAYS)): $(BUILD)/$(1)/fuzz_replay_%: \
        $(BUILD)/$(1)/engine/fuzz/target_%.o $(BUILD)/$(1)/engine/fuzz/fuzz_replay.o \
        $(patsubst %.c,$(BUILD)/$(1)/%.o,$(FUZZ_LIB_SRC)) $(BUILD)/$(1)/libamethyst.a
	$$(CC) $$(CFLAGS_BASE) $$(FLAGS_$(1)) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach f,$(FLAVORS),$(eval $(call FLAVOR_RULES,$(f))))

# Runs each test binary in $(1) (a flavor) and stops at the first failure.
define RUN_TESTS
	@set -e; for t in $(2); do \
	  echo "== $(1)/$$t"; \
	  AM_TEST_FLAVOR=$(1) AMETHYSTD=$(BUILD)/$(1)/amethystd $(BUILD)/$(1)/$$t; \
	done
endef

test: $(addprefix $(BUILD)/rel/,$(TESTS)) $(addprefix $(BUILD)/asan/,$(TESTS))
	$(call RUN_TESTS,rel,$(TESTS))
	$(call RUN_TESTS,asan,$(TESTS))
	@echo "== scripts/tests (compare, sweep and perf-check on small runs and fixtures)"
	@AMETHYSTD=$(BUILD)/rel/amethystd /usr/bin/python3 -m unittest discover -s scripts/tests -p 'test_*.py'
	@echo "== pylib/tests (the result loader shared by plots/ and scripts/)"
	@/usr/bin/python3 -m unittest discover -s pylib/tests -p 'test_*.py'
	@echo "== plots/tests (figure scripts on fixtures)"
	@/usr/bin/python3 -m unittest discover -s plots/tests -p 'test_*.py'
	@echo "all tests passed (plain and ASan+UBSan)"

# One test, both flavors: make check-one T=test_skiplist
check-one: $(BUILD)/rel/$(T) $(BUILD)/asan/$(T)
	AMETHYSTD=$(BUILD)/rel/amethystd $(BUILD)/rel/$(T)
	AM_TEST_FLAVOR=asan AMETHYSTD=$(BUILD)/asan/amethystd $(BUILD)/asan/$(T)

tsan: $(addprefix $(BUILD)/tsan/,$(TSAN_TESTS))
	$(call RUN_TESTS,tsan,$(TSAN_TESTS))
	@echo "ThreadSanitizer clean"

# Fuzzing with libFuzzer (docs/fuzzing.md): the engine and the targets compiled by clang
# with the fuzzer's coverage and ASan + UBSan, into $(BUILD)/fuzz/. `make fuzz` runs each
# target for FUZZ_SECONDS on a scratch copy of its corpus and fails on a crash, hang, leak
# or OOM (FUZZ_TARGETS="sst wal": a subset; FUZZ_ARGS: more libFuzzer flags). `make fuzz-seeds`
# rewrites the seed corpora and known-defect reproducers under engine/fuzz/.
# clang is installed on demand by `scripts/install-deps.sh fuzz`; `make test` needs none.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_STAMP   := $(BUILD)/.deps-fuzz-ok
FUZZ_BINS    := $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_TARGETS))
FUZZ_LIB_OBJ := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(FUZZ_LIB_SRC))

$(FUZZ_STAMP): scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@bash scripts/install-deps.sh fuzz
	@touch $@

$(BUILD)/fuzz/%.o: %.c | $(DEPS_STAMP) $(FUZZ_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_BASE) $(ENGINE_INC) -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/libamethyst.a: $(patsubst %.c,$(BUILD)/fuzz/%.o,$(ENGINE_SRC))
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BINS): $(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/engine/fuzz/target_%.o $(FUZZ_LIB_OBJ) \
              $(BUILD)/fuzz/libamethyst.a
	$(FUZZ_CC) $(CFLAGS_BASE) -fsanitize=fuzzer $(FUZZ_SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: fuzz fuzz-build fuzz-seeds
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@bash scripts/fuzz-run -build $(BUILD)/fuzz -seconds $(FUZZ_SECONDS) \
	  $(if $(FUZZ_ARGS),-args "$(FUZZ_ARGS)") $(FUZZ_TARGETS)

fuzz-seeds: $(addprefix $(BUILD)/rel/,$(FUZZ_REPLAYS))
	@set -e; for t in $(FUZZ_TARGETS); do $(BUILD)/rel/fuzz_replay_$$t -generate engine/fuzz; done

# hist_record's cost (not part of `make test`).
.PHONY: bench-histogram
bench-histogram: $(BUILD)/rel/bench_histogram
	$(BUILD)/rel/bench_histogram

# The main job: the default workload (shift, 1M keys, 256-byte values) on the default
# engine; the JSON lands in results/. amethyst_demo is still built by `make`.
run: $(BUILD)/rel/amethystd
	$(BUILD)/rel/amethystd

# Every engine (Amethyst's strategies and the peers) on the db_bench set and shift, each run
# twice, alternating engines; a summary table on stdout, JSON in results/compare/<time>/.
# With the defaults it also rewrites the table in docs/engines.md; COMPARE_ARGS (e.g.
# COMPARE_ARGS="-keys 100000 -repeat 3") runs something else and leaves the docs alone.
.PHONY: compare
compare: $(BUILD)/rel/amethystd
	/usr/bin/python3 scripts/compare -amethystd $(BUILD)/rel/amethystd \
	  $(if $(COMPARE_ARGS),,-update-docs docs/engines.md) $(COMPARE_ARGS)

# The strategies' benchmark (docs/strategies.md): shift (1M keys, 256-byte values, seed 1)
# on every engine, with bloom filters off and then with 10 bits per key, one sitting; each
# rewrites its own table in docs/strategies.md.
.PHONY: compare-strategies
compare-strategies: $(BUILD)/rel/amethystd
	/usr/bin/python3 scripts/compare -amethystd $(BUILD)/rel/amethystd -workloads shift \
	  -args "-bloom-bits 0 -seed 1" -update-docs docs/strategies.md -docs-section shift-bloom0
	/usr/bin/python3 scripts/compare -amethystd $(BUILD)/rel/amethystd -workloads shift \
	  -args "-bloom-bits 10 -seed 1" -update-docs docs/strategies.md -docs-section shift-bloom10

# Paper figures (plots/, scripts/figures): a documented set of runs, every figure as PNG and
# PDF in results/figures/ with index.md. FIGURES_ARGS: e.g. "-keys 1000000" or "-from DIR".
.PHONY: figures
figures: $(BUILD)/rel/amethystd
	/usr/bin/python3 scripts/figures -amethystd $(BUILD)/rel/amethystd $(FIGURES_ARGS)

# Regression check (docs/ci.md): counters vs results/baselines, throughput vs BASE (a git
# revision; default origin/main or main if not HEAD, else HEAD~1). PERF_CHECK_FLAGS: more options.
.PHONY: perf-check
perf-check: $(BUILD)/rel/amethystd
	/usr/bin/python3 scripts/perf-check -amethystd $(BUILD)/rel/amethystd $(if $(BASE),-base $(BASE)) $(PERF_CHECK_FLAGS)

# scripts/check-rocksdb-dbbench: RocksDB's db_bench against amethystd -engine rocksdb-leveled.
.PHONY: check-dbbench
check-dbbench: $(BUILD)/rel/amethystd
	/usr/bin/python3 scripts/check-rocksdb-dbbench -amethystd $(BUILD)/rel/amethystd

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
