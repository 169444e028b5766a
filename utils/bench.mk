# utils/bench.mk -- index benchmark and data-set tools (included by the top Makefile).
#
#   make bench-index               data sets (cached in build/data/), hnswlib peer and vectis,
#                                  side by side, on fashion-mnist and the synthetic set
#   make bench-index BENCH_QUICK=1 1,000 queries, a shorter ef sweep, 2-thread builds only
#   make bench-tools               just build the tools below
#
# Tools, all benchmark-only (the server never links them), built into $(BUILD)/utils/:
#   datasets      fashion-mnist conversion, seeded synthetic generator, exact ground truth
#   bench_index   vectis's index library on the workload, plus the comparison table
#   hnswlib_peer  the same workload through Debian's header-only hnswlib, -O3 -march=native
#
# The C tools use the project's flags and link libvectis.a; only the peer (C++, another
# project's code) is compiled for the build machine's CPU.

UTILS_BUILD := $(BUILD)/utils
BENCH_DATA  ?= $(BUILD)/data
PEER_CXX    ?= g++
PEER_FLAGS  := -O3 -march=native -std=c++17 -I/usr/include -pthread -g

UTILS_TOOLS := $(UTILS_BUILD)/datasets $(UTILS_BUILD)/bench_index $(UTILS_BUILD)/hnswlib_peer

.PHONY: bench-tools bench-data
bench-tools: $(UTILS_TOOLS)

$(UTILS_BUILD)/%.o: utils/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(UTILS_BUILD)/datasets: $(UTILS_BUILD)/datasets.o $(UTILS_BUILD)/ds_io.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(shell pkg-config --libs zlib)

$(UTILS_BUILD)/bench_index: $(UTILS_BUILD)/bench_index.o $(UTILS_BUILD)/ds_io.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(UTILS_BUILD)/hnswlib_peer: utils/hnswlib_peer.cpp
	@mkdir -p $(dir $@)
	$(PEER_CXX) $(PEER_FLAGS) -o $@ $< -pthread

bench-data: $(UTILS_BUILD)/datasets
	$(UTILS_BUILD)/datasets prepare $(BENCH_DATA)

bench-index: $(UTILS_TOOLS)
	@BUILD=$(BUILD) BENCH_DATA=$(BENCH_DATA) BENCH_QUICK=$(BENCH_QUICK) ./utils/bench-index.sh
