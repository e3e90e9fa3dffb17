# ksft-coco: the kselftest make targets (tools/testing/selftests/Makefile).
#   make [all]                 build every collection (one esbuild call)
#   make run_tests             build, then run each collection through the runner
#   make install INSTALL_PATH=DIR   flattened install with run_kselftest.sh and kselftest-list.txt
#   make emit_tests            print collection:test for every test run_tests would run
#   make gen_tar               install, then kselftest-packages/kselftest.tar.gz
#   make clean
#   make check                 typecheck and the project's own tests (tap)
#   make new_test COLLECTION=kvm NAME=foo_test [STYLE=plain|harness]
#                              a new selftest from a template, listed in its collection
#   make docs                  regenerate docs/ (API reference, platform matrix, kernel profiles)
#   make bench                 every performance figure beside its anchor -> bench/RESULTS.md
#   make vm_kernel             build the guest kernel for the VM targets (cached)
#   make vm_run_tests          run_tests inside a QEMU VM with a real KVM (KSFT_BACKEND=kvm)
#   make vm_check              tools/vm/vm_check.sh inside the VM (or VM_CHECK_CMD='...')
# Variables: TARGETS="kvm coco/tdx" (default: every collection under tests/),
# SKIP_TARGETS=..., summary=1 (per-test logs in /tmp), RUNNER_ARGS=... (extra
# runner options, e.g. -f for the 6.12 always-0 exit status), NPM=... (the
# npm that installs node_modules). The vm_ targets take KERNEL=path/to/bzImage
# (no kernel build) and the KSFT_VM_* settings of tools/vm/README.md.
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
# A TARGETS word that names no collection is refused before anything builds
# or runs, in make's one error line (exit status 2): a typo must not pass as
# a shorter green run.
KSFT_UNKNOWN := $(filter-out $(KSFT_FOUND),$(TARGETS))
ifneq ($(KSFT_UNKNOWN),)
ifneq ($(filter all run_tests install emit_tests gen_tar clean,$(or $(MAKECMDGOALS),all)),)
$(error TARGETS: no collection $(foreach u,$(KSFT_UNKNOWN),'$(u)') under $(KSFT_TESTS) (collections: $(KSFT_FOUND)))
endif
endif

KSFT_SUBMAKE := $(MAKE) --no-print-directory KSFT_BUILT=1

# Parallel tests: `make -j2 run_tests` or `make run_tests JOBS=2`. Then one
# runner runs every collection with -j, so tests of different collections
# overlap; its stream is the serial run's (tools/runner/README.md). That
# holds when TARGETS are in the runner's (sorted) order; otherwise each
# collection gets its own runner, still with -j.
KSFT_JOBS := $(or $(JOBS),$(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS))))
KSFT_PARALLEL := $(if $(filter-out 0 1,$(KSFT_JOBS)),$(KSFT_JOBS))
KSFT_ONE_RUNNER := $(if $(KSFT_PARALLEL),$(if $(filter $(TARGETS),$(sort $(TARGETS))),$(if $(filter $(words $(TARGETS)),$(words $(sort $(TARGETS)))),1)))
KSFT_TAP_STAMP := $(KSFT_TOP)/.tap/plugins/package.json

.PHONY: all run_tests install emit_tests gen_tar clean check bench peers_source vm_kernel vm_run_tests vm_check new_test docs
.DEFAULT_GOAL := all

# Nothing changed since the last finished build of these TARGETS: the
# build's own check (tools/build/stamp.ts, bundled into the build folder)
# says so with a few stats and the build does not start. KSFT_BUILD_WHY=1
# prints what made a build run.
all: $(KSFT_NPM_STAMP)
	@$(call ksft_build,-q --tests-dir $(KSFT_TESTS) -o $(BUILD) $(addprefix -C ,$(TARGETS)))

# Every collection runs even when an earlier one failed to build or failed
# its tests: a collection that did not build keeps its list lines and its
# tests show up as missing (not ok). The exit status is the runner's policy
# (1 when a test failed unless RUNNER_ARGS=-f), or 1 when the build failed.
# KSFT_BUILT=1 skips the build (vm_run_tests builds on the host, then runs
# this inside the VM).
run_tests: $(KSFT_NPM_STAMP)
ifneq ($(KSFT_ONE_RUNNER),)
	@rc=0; $(if $(KSFT_BUILT),,$(MAKE) --no-print-directory all || rc=1;) \
	$(BUILD)/run_kselftest.sh -j $(KSFT_PARALLEL) $(if $(summary),-p) $(RUNNER_ARGS) $(addprefix -c ,$(TARGETS)) || rc=1; exit $$rc
else
	@rc=0; $(if $(KSFT_BUILT),,$(MAKE) --no-print-directory all || rc=1;) \
	for t in $(TARGETS); do \
		$(KSFT_SUBMAKE) $(if $(KSFT_PARALLEL),RUNNER_ARGS='-j $(KSFT_PARALLEL) $(RUNNER_ARGS)') -C $(KSFT_TESTS)/$$t run_tests || rc=1; \
	done; exit $$rc
endif

install: all
	@rm -rf $(INSTALL_PATH)/kselftest-list.txt
	@mkdir -p $(INSTALL_PATH)
	@mkdir -p $(INSTALL_PATH)/kselftest
	@cp -p $(BUILD)/kselftest/run_kselftest.sh $(INSTALL_PATH)/
	@cp -p $(BUILD)/kselftest/runner.cjs $(INSTALL_PATH)/kselftest/
	@# The kvm backend's FFI library (koffi and its prebuilt binary for this
	@# platform): installed tests find it beside them, as a tree of their own.
	@mkdir -p $(INSTALL_PATH)/node_modules/@koromix
	@cp -a $(KSFT_TOP)/node_modules/koffi $(INSTALL_PATH)/node_modules/
	@for d in $(KSFT_TOP)/node_modules/@koromix/koffi-*; do [ -d "$$d" ] && cp -a "$$d" $(INSTALL_PATH)/node_modules/@koromix/; done; true
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

# A new selftest (tools/new_test): tests/$(COLLECTION)/$(NAME).ts from a
# template, added to the collection's TEST_GEN_PROGS. The values reach the
# tool single-quoted, whatever they hold; the tool checks them.
ksft_sq = '$(subst ','\'',$(1))'
new_test: $(KSFT_NPM_STAMP)
	@$(NODE) --import tsx $(KSFT_TOP)/tools/new_test/main.ts --tests-dir $(KSFT_TESTS) \
		--collection $(call ksft_sq,$(COLLECTION)) --name $(call ksft_sq,$(NAME)) --style $(call ksft_sq,$(STYLE))

# docs/: the API reference (docs/api/, from the doc comments), the platform
# matrix and the kernel profile table, generated with TypeScript's own view
# of the project (tools/docs). make check fails when they are out of date.
docs: $(KSFT_NPM_STAMP)
	@$(NODE) --import tsx $(KSFT_TOP)/tools/docs/main.ts

# The figures of bench/README.md, each beside its anchor: the kernel's
# runner and C harness (linux-source-6.12, as for the peer tests) and C
# programs built with gcc. BENCH="runner harness" runs some figures only
# (into bench/RESULTS.partial.md), BENCH_SKIP=make_check leaves some out.
bench: $(KSFT_NPM_STAMP) $(KSFT_TAP_STAMP) peers_source
	@sh $(KSFT_VM)/install_packages.sh gcc
	@$(NODE) --import tsx $(KSFT_TOP)/bench/make_bench.ts

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

# A real kernel with KVM_X86_SW_PROTECTED_VM under QEMU (tools/vm/README.md):
# the guest kernel is built once into the cache (~16 min on 2 cores) unless
# KERNEL= names one. The tree is built on the host; inside, the job runs from
# this directory (read-only root, throw-away overlay) with KSFT_BACKEND=kvm.
# stdout is the job's stdout only (a TAP stream); the kernel console and the
# VM's own lines go to stderr or a log. A failure of the job, the VM, or the
# timeout (KSFT_VM_TIMEOUT, default 1800 s) fails the target; the exit status
# of tools/vm/run.ts is the job's (124 timeout, 125 no status).
KSFT_VM := $(KSFT_TOP)/tools/vm
VM_RUN := $(NODE) --import tsx $(KSFT_VM)/run.ts
# First the kernel (a bad KERNEL= fails before anything else), then QEMU
# (installed only when the default one is used: KSFT_VM_QEMU names another).
VM_PREPARE = kernel=$$(KERNEL='$(KERNEL)' sh $(KSFT_VM)/build_kernel.sh) || exit 1; \
	$(if $(KSFT_VM_QEMU),,sh $(KSFT_VM)/install_packages.sh qemu-system-x86;)
# The commands vm_check runs inside come from tools/vm/vm_check.sh; the
# variable replaces them with one shell command line (through the
# environment, so any quoting survives).
VM_CHECK_CMD ?=
export VM_CHECK_CMD

vm_kernel:
	@KERNEL='$(KERNEL)' sh $(KSFT_VM)/build_kernel.sh

# As run_tests: a collection that does not build still runs (its tests are
# reported missing) and the target fails.
vm_run_tests: $(KSFT_NPM_STAMP)
	@$(VM_PREPARE) rc=0; $(MAKE) --no-print-directory all || rc=1; \
	$(VM_RUN) --kernel "$$kernel" --env KSFT_BACKEND=kvm -- \
		$(MAKE) --no-print-directory run_tests KSFT_BUILT=1 'TARGETS=$(TARGETS)' \
		'RUNNER_ARGS=$(RUNNER_ARGS)' $(if $(summary),'summary=$(summary)') || rc=$$?; \
	exit $$rc

vm_check: $(KSFT_NPM_STAMP) $(KSFT_TAP_STAMP)
	@$(VM_PREPARE) rc=0; $(MAKE) --no-print-directory all || rc=1; \
	$(VM_RUN) --kernel "$$kernel" --env KSFT_BACKEND=kvm --env "VM_CHECK_CMD=$$VM_CHECK_CMD" -- \
		sh $(KSFT_VM)/vm_check.sh || rc=$$?; \
	exit $$rc
