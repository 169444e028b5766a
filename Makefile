# vectis -- build, run, test, bench.
#
#   make            build src/vectis-server (installs missing Debian packages first)
#   make run        build and start the server on port 6379 with defaults
#   make test       unit tests (cmocka), end-to-end tests (Tcl), fuzz smoke
#   make asan       the whole suite under AddressSanitizer + UBSan
#   make tsan       the threaded unit tests and the threaded Tcl files under ThreadSanitizer
#   make fuzz       run the libFuzzer targets (FUZZ_SECONDS each, default 60)
#   make bench-net  redis-benchmark against vectis and redis-server, side by side
#   make bench-index  index benchmark against hnswlib (see utils/)
#   make bench-vset   end-to-end VADD/VSIM through the server, against the in-process index
#
# Objects go to $(BUILD) (build/, build-asan/, build-tsan/), so the three
# flavours never mix. Every library comes from pkg-config.

BUILD    ?= build
SANITIZE ?=
CC       ?= cc
ARCH     := $(shell uname -m)

PKGS     := libevent libevent_pthreads libxxhash rocksdb
ifeq ($(SANITIZE),)
PKGS     += jemalloc
ALLOC_DEF := -DVECTIS_JEMALLOC
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT      ?= -O2
WARN     := -Wall -Wextra -Werror
CFLAGS   := -std=c11 $(OPT) -g $(WARN) -D_GNU_SOURCE -pthread -MMD -MP -Isrc $(ALLOC_DEF) -DVECTIS_ROCKSDB $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  := -pthread $(EXTRA_LDFLAGS)
LIBS     := $(PKG_LIBS) -lm

ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

# ---------------------------------------------------------------- sources
SIMD_SRCS := $(wildcard src/simd/*.c)
ifeq ($(ARCH),x86_64)
SIMD_SRCS := $(filter-out %_neon.c,$(SIMD_SRCS))
else
SIMD_SRCS := $(filter-out %_avx2.c %_avx512.c,$(SIMD_SRCS))
endif

LIB_SRCS := $(wildcard src/resp/*.c) $(SIMD_SRCS) $(wildcard src/index/*.c) \
            $(wildcard src/engine/*.c) $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libvectis.a

SERVER_BIN := $(BUILD)/vectis-server
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Per-ISA kernels get their own flags; the rest of the binary stays baseline
# x86-64 (never -march=native).
$(BUILD)/src/simd/%_avx2.o:   ISA_FLAGS := -mavx2 -mfma -mf16c
$(BUILD)/src/simd/%_avx512.o: ISA_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c

.PHONY: all deps run test test-unit test-docs test-tcl test-fuzz-smoke asan tsan fuzz clean \
        bench bench-net bench-index format

all: deps src/vectis-server

deps:
	@./utils/install-deps.sh

# Objects depend on the flags they were built with: a changed CFLAGS
# rebuilds everything (the stamp changes only when the flags do).
FLAGS_STAMP := $(BUILD)/.cflags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CFLAGS) $(LIBS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LIBS)' > $@

.PHONY: FORCE
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ISA_FLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SERVER_BIN): $(BUILD)/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Copied then renamed: a running server keeps its (old) binary.
src/vectis-server: $(SERVER_BIN)
	@if [ "$(BUILD)" = "build" ]; then cp $(SERVER_BIN) $@.tmp && mv -f $@.tmp $@; fi

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(LIB) $(LDFLAGS) $(LIBS) $(shell pkg-config --cflags --libs cmocka)

run: all
	./src/vectis-server

# ------------------------------------------------------------------ tests
TCL_ARGS ?=
test: deps
	@$(MAKE) --no-print-directory src/vectis-server $(UNIT_BINS)
	@$(MAKE) --no-print-directory test-unit test-docs test-tcl test-fuzz-smoke test-neon

test-docs: src/vectis-server
	@./tests/check-docs.sh src/vectis-server

test-unit: $(UNIT_BINS)
	@./tests/run-unit.sh $(UNIT_BINS)

test-tcl: $(SERVER_BIN)
	tclsh tests/tcl/run.tcl --server $(SERVER_BIN) $(TCL_ARGS)

# 30-second smoke run of every libFuzzer target (needs clang).
test-fuzz-smoke:
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-30} ./tests/fuzz/run.sh

fuzz:
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-60} ./tests/fuzz/run.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=address,undefined OPT=-O1 test-unit test-tcl

# Debian's RocksDB is not built for TSan: tests/tsan.supp silences reports
# from inside it. After the threaded unit tests, a TSan server runs the
# end-to-end files where threads meet: concurrent writers and searchers on
# one set, worker hand-off, batched VSIMs (the harness fails a file whose
# server printed a ThreadSanitizer report). The parallel index catch-up is
# covered by test_engine and test_index_concurrent (unit/vset/recall takes
# 6 minutes under TSan; it ran clean once).
TSAN_TCL := unit/vset/concurrency unit/workers unit/vset/vsim-batch
tsan: deps
	@TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp $$TSAN_OPTIONS" \
	  $(MAKE) --no-print-directory BUILD=build-tsan SANITIZE=thread OPT=-O1 test-unit \
	    build-tsan/vectis-server
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp $$TSAN_OPTIONS" \
	  tclsh tests/tcl/run.tcl --server build-tsan/vectis-server $(TSAN_TCL:%=--single %)

# ------------------------------------------------------------------ bench
bench: bench-net bench-index bench-vset bench-persist

bench-net: deps src/vectis-server
	./utils/bench-net.sh

format:
	clang-format -i $$(find src tests utils -name '*.[ch]')

clean:
	rm -rf build build-asan build-tsan build-fuzz src/vectis-server

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Fragments owned by sub-projects (benchmarks, tools) add their own targets.
-include $(wildcard utils/*.mk tests/*.mk)
