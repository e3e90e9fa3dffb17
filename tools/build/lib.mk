# Included by tests/<collection>/Makefile after it sets its variables, in the
# role of tools/testing/selftests/lib.mk:
#   TEST_GEN_PROGS           <name>.ts entry points, bundled and run
#   TEST_GEN_PROGS_EXTENDED  bundled, not run (helpers started by tests)
#   TEST_PROGS               ready-made executables (shell scripts), run
#   TEST_PROGS_EXTENDED      ready-made, not run
#   TEST_FILES               data files installed beside the tests
# Targets: all, run_tests, install INSTALL_PATH=..., emit_tests, clean.
# A `settings` file (timeout=N) and a `config` file are copied when present.

KSFT_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
include $(KSFT_TOP)/tools/build/npm.mk

KSFT_TESTS ?= $(KSFT_TOP)/tests
COLLECTION ?= $(patsubst $(KSFT_TESTS)/%,%,$(CURDIR))
ifeq ($(filter $(KSFT_TESTS)/%,$(CURDIR)),)
$(error lib.mk: $(CURDIR) is not a folder under $(KSFT_TESTS); set KSFT_TESTS to the folder holding the collections)
endif
KSFT_BUILD ?= $(KSFT_TOP)/build
KSFT_OUT := $(KSFT_BUILD)/tests/$(COLLECTION)
NODE ?= node

TEST_GEN_PROGS ?=
TEST_GEN_PROGS_EXTENDED ?=
TEST_PROGS ?=
TEST_PROGS_EXTENDED ?=
TEST_FILES ?=

KSFT_RUN_PROGS := $(notdir $(TEST_GEN_PROGS) $(TEST_PROGS))
KSFT_INSTALL_FILES := $(foreach p,$(notdir $(TEST_GEN_PROGS) $(TEST_GEN_PROGS_EXTENDED)),$(p) $(p).mjs $(p).mjs.map) \
	$(notdir $(TEST_PROGS) $(TEST_PROGS_EXTENDED) $(TEST_FILES)) \
	$(if $(wildcard settings),settings) $(if $(wildcard config),config)

# The top-level Makefile builds everything in one go and then sets
# KSFT_BUILT=1 so run_tests and install do not build a second time.
KSFT_BUILD_DEP := $(if $(KSFT_BUILT),,all)

# The runner's flags: summary=1 keeps a log per test in /tmp/<test> (-p);
# RUNNER_ARGS passes anything else (e.g. RUNNER_ARGS=-f for the 6.12 exit status).
KSFT_RUNNER_FLAGS := $(if $(summary),-p) $(RUNNER_ARGS)

.PHONY: all run_tests install emit_tests clean ksft_vars
.DEFAULT_GOAL := all

all: $(KSFT_NPM_STAMP)
	@cd $(KSFT_TOP) && $(call ksft_build,-q --tests-dir $(KSFT_TESTS) -o $(KSFT_BUILD) -C $(COLLECTION))

# A failed build still runs the runner: the tests it could not build are
# reported `not ok` as missing files; make then fails either way.
run_tests: $(KSFT_NPM_STAMP)
ifneq ($(strip $(KSFT_RUN_PROGS)),)
	@rc=0; $(if $(KSFT_BUILT),,$(MAKE) --no-print-directory all || rc=1;) \
	$(KSFT_BUILD)/run_kselftest.sh $(KSFT_RUNNER_FLAGS) -c $(COLLECTION) || rc=1; exit $$rc
else
	@$(if $(KSFT_BUILT),,$(MAKE) --no-print-directory all &&) printf 'TAP version 13\n1..0\n'
endif

install: $(KSFT_BUILD_DEP)
ifeq ($(INSTALL_PATH),)
	$(error Error: set INSTALL_PATH to use install)
endif
	@mkdir -p $(INSTALL_PATH)
	@$(if $(strip $(KSFT_INSTALL_FILES)),cd $(KSFT_OUT) && cp -p $(KSFT_INSTALL_FILES) $(abspath $(INSTALL_PATH))/)

emit_tests:
	@$(foreach p,$(KSFT_RUN_PROGS),echo "$(COLLECTION):$(p)";)

clean:
	@$(if $(strip $(KSFT_INSTALL_FILES)),cd $(KSFT_OUT) 2>/dev/null && rm -f $(KSFT_INSTALL_FILES) || true)

# Read by tools/build/collections.ts: make evaluates the Makefile, so
# conditionals and += behave as they do for every other target.
ksft_vars:
	@echo 'TEST_GEN_PROGS=$(TEST_GEN_PROGS)'
	@echo 'TEST_GEN_PROGS_EXTENDED=$(TEST_GEN_PROGS_EXTENDED)'
	@echo 'TEST_PROGS=$(TEST_PROGS)'
	@echo 'TEST_PROGS_EXTENDED=$(TEST_PROGS_EXTENDED)'
	@echo 'TEST_FILES=$(TEST_FILES)'
