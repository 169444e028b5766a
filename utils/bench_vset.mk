# utils/bench_vset.mk -- end-to-end vector-set benchmark (included by the top Makefile).
#
#   make bench-vset                a vectis server on a free port, fashion-mnist loaded with
#                                  pipelined VADD (NOQUANT and Q8), a VSIM ef sweep with 1/2/8
#                                  connections and pipeline depth 1/16, the in-process HNSW
#                                  anchor interleaved, p99 under a VADD load, goal table
#   make bench-vset BENCH_QUICK=1  a few minutes: 2-connection loads, short sweep, fewer queries
#
# Tools: $(BUILD)/utils/bench_vset (hiredis client, benchmark-only; links utils/ds_io.o and
# libvectis.a for the in-process HNSW anchor) plus bench.mk's datasets tool (fashion-mnist
# conversion, cosine ground truth). A program, not a test: it prints figures and fails only
# when something is broken. See utils/bench-vset.sh.

BENCH_VSET_HIREDIS_CFLAGS := $(shell pkg-config --cflags hiredis 2>/dev/null)
BENCH_VSET_HIREDIS_LIBS   := $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)

.PHONY: bench-vset

$(BUILD)/utils/bench_vset: utils/bench_vset.c $(BUILD)/utils/ds_io.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BENCH_VSET_HIREDIS_CFLAGS) -o $@ $< $(BUILD)/utils/ds_io.o $(LIB) \
	    $(LDFLAGS) $(BENCH_VSET_HIREDIS_LIBS) $(LIBS)

bench-vset: $(SERVER_BIN) $(BUILD)/utils/bench_vset $(BUILD)/utils/datasets
	@BUILD=$(BUILD) BENCH_DATA=$(BENCH_DATA) BENCH_QUICK=$(BENCH_QUICK) ./utils/bench-vset.sh
