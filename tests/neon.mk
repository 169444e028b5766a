# tests/neon.mk -- the SIMD unit test for aarch64 (NEON kernels), built with
# a cross compiler and run under qemu-user on an x86-64 machine; included by
# the Makefile.
#
#   make test-neon     installs the cross tools if missing
#                      (utils/install-deps.sh --cross), builds build-neon/tests/test_simd
#                      and runs it under qemu-aarch64
#
# It runs tests/unit/test_simd.c unchanged: every kernel of every level the
# aarch64 build has (scalar, the reference, and neon) for dims 0..2049, exact
# and random data, guard-page and unaligned pointers, _x4 against single
# calls, plus the conversions and the dispatch tests. The test's detection
# case asserts on aarch64 that the NEON table is present and best, and prints
# the levels under test, so a build that silently fell back to scalar fails.
#
# How it is built, and why:
#   - Only the four files the test needs (src/simd/simd.c, simd_scalar.c,
#     simd_neon.c and the test), not libvectis.a: the rest of the library
#     needs RocksDB, libevent, jemalloc and xxhash for aarch64, which would
#     mean multiarch packages for a test that exercises none of them.
#   - cmocka: tests/neon/cmocka.h stands in for <cmocka.h> (-Itests/neon
#     comes first). Debian 12 has no aarch64 libcmocka except through
#     multiarch (`dpkg --add-architecture arm64`), which changes the apt
#     configuration of a machine shared with other work and ships only a
#     shared library; the stand-in needs nothing beyond the cross compiler.
#   - -static: the binary then runs under qemu-aarch64 with no -L sysroot and
#     no aarch64 loader on the host; glibc's static libc.a comes with
#     libc6-dev-arm64-cross.
#   - Same warning flags as the native build (-Werror), so an aarch64-only
#     warning in src/simd/ fails here as it would on an aarch64 machine.
#   - Objects go to build-neon/ (NEON_BUILD), never mixed with build/.
#
# On an aarch64 host the native `make build/tests/test_simd` already runs the
# NEON kernels; this target is for x86-64 machines (it still works on aarch64
# when the cross compiler and qemu are installed, just redundantly).

NEON_BUILD ?= build-neon
NEON_CC ?= aarch64-linux-gnu-gcc
NEON_QEMU ?= qemu-aarch64
NEON_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -MMD -MP \
               -Itests/neon -Isrc
NEON_LDFLAGS := -static -pthread

NEON_SRCS := src/simd/simd.c src/simd/simd_scalar.c src/simd/simd_neon.c
NEON_OBJS := $(NEON_SRCS:%.c=$(NEON_BUILD)/%.o) $(NEON_BUILD)/tests/unit/test_simd.o
NEON_TEST := $(NEON_BUILD)/tests/test_simd

.PHONY: test-neon neon-deps clean-neon

neon-deps:
	@./utils/install-deps.sh --cross

# The cross tools are order-only prerequisites: their install does not make
# the objects out of date.
$(NEON_BUILD)/%.o: %.c | neon-deps
	@mkdir -p $(dir $@)
	$(NEON_CC) $(NEON_CFLAGS) -c $< -o $@

$(NEON_TEST): $(NEON_OBJS)
	@mkdir -p $(dir $@)
	$(NEON_CC) $(NEON_LDFLAGS) -o $@ $^ -lm

# VECTIS_SIMD is cleared so that a value exported for other work cannot cap
# the levels under test; VECTIS_TEST_SEED passes through to replay a run.
test-neon: $(NEON_TEST)
	@echo "test-neon: $(NEON_TEST) ($$($(NEON_CC) -dumpmachine), static) under $(NEON_QEMU)"
	@env -u VECTIS_SIMD $(NEON_QEMU) $(NEON_TEST)

clean-neon:
	rm -rf $(NEON_BUILD)

clean: clean-neon

-include $(NEON_OBJS:.o=.d)
