# ksft-coco: the kselftest make targets (tools/testing/selftests/Makefile).
#   make [all]                 build every collection (one esbuild call)
#   make run_tests             build, then run each collection through the runner
#   make install INSTALL_PATH=DIR   flattened install with run_kselftest.sh and kselftest-list.txt
#   make emit_tests            print collection:test for every test run_tests would run
#   make gen_tar               install, then kselftest-packages/kselftest.tar.gz
#   make clean
#   make check                 typecheck and the project's own tests (tap)
# Variables: TARGETS="kvm coco/tdx" (default: every collection under tests/),
# SKIP_TARGETS=..., summary=1 (per-test logs in /tmp), RUNNER_ARGS=... (extra
# runner options, e.g. -f for the 6.12 always-0 exit status), NPM=... (the
# npm that installs node_modules).
# stdout of run_tests is the TAP stream alone: npm, the build and make's own
# messages go to stderr. (`make -C DIR` and a make started by another make
# are the exception: GNU make prints "Entering directory" on stdout before
# it reads this file; add --no-print-directory there.)

KSFT_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
include $(KSFT_TOP)/tools/build/npm.mk

NODE ?= node
# Where collections live and where the build goes (the project's own tests
# point these at fixtures).
KSFT_TESTS ?= $(KSFT_TOP)/tests
KSFT_BUILD ?= $(KSFT_TOP)/build
export KSFT_TESTS KSFT_BUILD
BUILD := $(KSFT_BUILD)
KSFT_PACKAGES ?= $(KSFT_TOP)/kselftest-packages
INSTALL_PATH ?= $(KSFT_TOP)/kselftest_install
override INSTALL_PATH := $(abspath $(INSTALL_PATH))
FORMAT ?= .gz
TAR_COMPRESSION_OPT := $(if $(filter .gz,$(FORMAT)),-z,$(if $(filter .xz,$(FORMAT)),-J,$(if $(filter .bz2,$(FORMAT)),-j,$(if $(filter .zst,$(FORMAT)),--zstd,))))

# A collection is a folder under tests/ whose Makefile declares tests.
KSFT_FOUND := $(sort $(patsubst $(KSFT_TESTS)/%/Makefile,%,$(shell \
	find $(KSFT_TESTS) -mindepth 2 -name Makefile -not -path '*/node_modules/*' \
	-exec grep -lE '^[[:space:]]*(TEST_GEN_PROGS|TEST_PROGS)\b' {} + 2>/dev/null)))
TARGETS ?= $(KSFT_FOUND)
override TARGETS := $(filter-out $(SKIP_TARGETS),$(TARGETS))

KSFT_SUBMAKE := $(MAKE) --no-print-directory KSFT_BUILT=1
KSFT_TAP_STAMP := $(KSFT_TOP)/.tap/plugins/package.json

.PHONY: all run_tests install emit_tests gen_tar clean check peers_source
.DEFAULT_GOAL := all

all: $(KSFT_NPM_STAMP)
	@$(NODE) --import tsx $(KSFT_TOP)/tools/build/main.ts -q --tests-dir $(KSFT_TESTS) -o $(BUILD) $(addprefix -C ,$(TARGETS))

# Every collection runs even when an earlier one failed to build or failed
# its tests: a collection that did not build keeps its list lines and its
# tests show up as missing (not ok). The exit status is the runner's policy
# (1 when a test failed unless RUNNER_ARGS=-f), or 1 when the build failed.
run_tests: $(KSFT_NPM_STAMP)
	@rc=0; $(MAKE) --no-print-directory all || rc=1; \
	for t in $(TARGETS); do \
		$(KSFT_SUBMAKE) -C $(KSFT_TESTS)/$$t run_tests || rc=1; \
	done; exit $$rc

install: all
	@rm -rf $(INSTALL_PATH)/kselftest-list.txt
	@mkdir -p $(INSTALL_PATH)
	@mkdir -p $(INSTALL_PATH)/kselftest
	@cp -p $(BUILD)/kselftest/run_kselftest.sh $(INSTALL_PATH)/
	@cp -p $(BUILD)/kselftest/runner.cjs $(INSTALL_PATH)/kselftest/
	@for t in $(TARGETS); do \
		$(KSFT_SUBMAKE) -C $(KSFT_TESTS)/$$t install INSTALL_PATH=$(INSTALL_PATH)/$$t || exit 1; \
		$(KSFT_SUBMAKE) -s -C $(KSFT_TESTS)/$$t emit_tests >> $(INSTALL_PATH)/kselftest-list.txt || exit 1; \
	done
	@touch $(INSTALL_PATH)/kselftest-list.txt
	@echo "Installed $(words $(TARGETS)) collection(s) in $(INSTALL_PATH)"

emit_tests:
	@for t in $(TARGETS); do $(MAKE) -s --no-print-directory -C $(KSFT_TESTS)/$$t emit_tests || exit 1; done

gen_tar: install
	@mkdir -p $(KSFT_PACKAGES)
	@tar $(TAR_COMPRESSION_OPT) -cf $(KSFT_PACKAGES)/kselftest.tar$(FORMAT) -C $(INSTALL_PATH) .
	@echo "Package created: $(KSFT_PACKAGES)/kselftest.tar$(FORMAT)"

clean:
	@for t in $(TARGETS); do $(MAKE) -s --no-print-directory -C $(KSFT_TESTS)/$$t clean; done
	rm -rf $(BUILD) $(KSFT_PACKAGES)

# The project's own tests: `npx tsc -p tsconfig.json`, then `npx tap`. The
# last line is `N passed, N failed[, N skipped]` counted from tap's TAP
# output (a failed typecheck counts as one failure); any failure exits 1.
check: $(KSFT_NPM_STAMP) $(KSFT_TAP_STAMP) peers_source
	@$(NODE) --import tsx $(KSFT_TOP)/tools/build/check.ts

# The kernel peer tests (test/peers) need Debian's linux-source-6.12: it is
# installed when missing and possible (root, apt-get); a failed install does
# not fail check, the peer tests then skip with the reason.
peers_source:
	@sh $(KSFT_TOP)/tools/peers/install_source.sh

# tap 21 runs the plugin set of package.json "tap" only after `tap build`
# has written it to .tap/ (not in git): without it a fresh clone loads the
# default set, whose TypeScript plugin cannot start.
# Its output, like npm's, goes to stderr and only when it fails.
$(KSFT_TAP_STAMP): $(KSFT_TOP)/package.json $(KSFT_NPM_STAMP)
	@cd $(KSFT_TOP) || exit 1; \
	$(call ksft_quiet,npx tap build in $(KSFT_TOP),npx tap build); \
	touch $@
