# utils/bench_persist.mk -- persistence benchmark of issue 5 (included by the top Makefile).
#
#   make bench-persist             the synthetic 1,000,000 x 128 set (utils/datasets.c, cached in
#                                  $(BENCH_DATA)/synth-1m): VADD load rate with appendonly no /
#                                  everysec / always, on-disk bytes after SAVE against the raw
#                                  vector bytes, time to the first VSIM after a clean restart and
#                                  after kill -9, summary table with the goals
#   ROWS=100000 make bench-persist a quick run on the first 100,000 rows of the same set
#
# Other environment knobs (see utils/bench-persist.sh): QUANT, LOAD_CONNS, LOAD_DEPTH,
# BENCH_PERSIST_DIR (scratch, default /tmp/vectis-bench-persist, removed at the end),
# INDEX_WAIT (seconds to wait for indexing). A program, not a test: it fails only when a server
# cannot be started.

BENCH_PERSIST_HIREDIS_CFLAGS := $(shell pkg-config --cflags hiredis 2>/dev/null)
BENCH_PERSIST_HIREDIS_LIBS   := $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)

.PHONY: bench-persist

$(BUILD)/utils/bench_persist: utils/bench_persist.c $(BUILD)/utils/ds_io.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BENCH_PERSIST_HIREDIS_CFLAGS) -o $@ $< $(BUILD)/utils/ds_io.o \
	    $(LDFLAGS) $(BENCH_PERSIST_HIREDIS_LIBS) -lm

bench-persist: $(SERVER_BIN) $(BUILD)/utils/bench_persist $(BUILD)/utils/datasets
	@BUILD=$(BUILD) BENCH_DATA=$(BENCH_DATA) ./utils/bench-persist.sh
