# Build steps of the vector-set end-to-end tests (tests/tcl/unit/vset/,
# tests/tcl/integration/vset-clients.tcl), included by the Makefile.
#
# vset-node-deps installs the pinned node-redis (tests/helpers/node/
# package.json + package-lock.json) into tests/helpers/node/node_modules
# (git-ignored) with `npm ci`, once per change of those files. It never fails
# the build: without npm, or when the registry is unreachable, it prints why
# and integration/vset-clients.tcl skips its node-redis test with the same
# message. test-tcl depends on it, so `make test` installs it on a fresh
# machine.

VSET_NODE_DIR := tests/helpers/node
VSET_NODE_STAMP := $(VSET_NODE_DIR)/node_modules/.vectis-installed

.PHONY: vset-node-deps
vset-node-deps: $(VSET_NODE_STAMP)

$(VSET_NODE_STAMP): $(VSET_NODE_DIR)/package.json $(VSET_NODE_DIR)/package-lock.json
	@if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then \
	    echo "vset-node-deps: node/npm not found; the node-redis test will be skipped"; \
	elif npm ci --prefix $(VSET_NODE_DIR) --no-audit --no-fund --loglevel=error \
	        > $(VSET_NODE_DIR)/npm-ci.log 2>&1; then \
	    touch $@; rm -f $(VSET_NODE_DIR)/npm-ci.log; \
	else \
	    echo "vset-node-deps: npm ci failed (see $(VSET_NODE_DIR)/npm-ci.log);" \
	         "the node-redis test will be skipped"; \
	fi

test-tcl: vset-node-deps
