# utils/check.mk -- vectis-check, the offline database checker (included by the top Makefile).
#
#   make src/vectis-check      build the checker (copied to src/ like the server, for BUILD=build)
#   src/vectis-check [--truncate-log] <dir | dir/vectis.db>
#
# One C file, linked like the server (libvectis.a for storage.c and record.c, the same
# pkg-config libraries). In other flavours (BUILD=build-asan ...) the binary stays in
# $(BUILD)/utils/vectis-check, where tests/tcl/unit/check.tcl looks for it next to the
# server it runs.

CHECK_BIN := $(BUILD)/utils/vectis-check

$(CHECK_BIN): utils/vectis_check.c $(LIB) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ utils/vectis_check.c $(LIB) $(LDFLAGS) $(LIBS)

src/vectis-check: $(CHECK_BIN)
	@if [ "$(BUILD)" = "build" ]; then cp $(CHECK_BIN) $@.tmp && mv -f $@.tmp $@; fi

# The end-to-end tests run the checker (unit/check.tcl).
test-tcl: src/vectis-check
