# utils/simd.mk -- micro-benchmark of the SIMD distance kernels.
#
#   make bench-simd               ns/call and GB/s, l2sq/dot/cos f32 and hamming/jaccard, dims 128 and 784,
#                                 every level this CPU runs, single and _x4
#   make bench-simd DIMS="96 1536"  other dimensions
#
# A program, not a test: it prints figures and never fails on speed.

.PHONY: bench-simd

DIMS ?=

$(BUILD)/utils/bench_simd: utils/bench_simd.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LIBS)

bench-simd: $(BUILD)/utils/bench_simd
	@uptime
	./$(BUILD)/utils/bench_simd $(DIMS)
	@uptime
