# Build step of the crash-safety end-to-end test (tests/tcl/unit/crash.tcl),
# included by the Makefile.
#
# $(BUILD)/tests/crashload is the hiredis client that pipelines the VADD
# stream, kills the server mid-stream and verifies the restarted state
# (tests/helpers/crashload.c). It is built with the flavour's flags, so
# `make asan` checks it under ASan as well; crash.tcl looks for it next to
# the server binary ($(BUILD)/tests/crashload for $(BUILD)/vectis-server,
# build/tests/crashload for src/vectis-server). test-tcl depends on it, so
# `make test` and `make asan` build it first.

CRASHLOAD_PKG_CFLAGS := $(shell pkg-config --cflags hiredis 2>/dev/null)
CRASHLOAD_PKG_LIBS := $(shell pkg-config --libs hiredis 2>/dev/null)

$(BUILD)/tests/crashload: tests/helpers/crashload.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CRASHLOAD_PKG_CFLAGS) -o $@ $< $(LDFLAGS) $(CRASHLOAD_PKG_LIBS) -lm

test-tcl: $(BUILD)/tests/crashload
