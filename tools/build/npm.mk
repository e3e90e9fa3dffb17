# Dependencies: `npm ci` when node_modules is missing or older than
# package-lock.json. node_modules/.package-lock.json is npm's own record of
# the installed tree, rewritten by every install, so its mtime is the stamp.
# A node_modules that is a symbolic link belongs to another tree: npm ci
# would empty the link's target, so it is left alone with a warning.
#
# stdout of `make run_tests` is a TAP stream that CI parses, so nothing of
# the install reaches it: one line on stderr says why the pause, npm's own
# output is held back and shown (on stderr) only when npm fails.
# NPM names the npm to run (the project's tests put a stand-in there).
KSFT_TOP ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
KSFT_NPM_STAMP := $(KSFT_TOP)/node_modules/.package-lock.json
NPM ?= npm

# $(call ksft_quiet,WHAT,COMMAND): runs COMMAND with stdout and stderr in a
# temporary file; on success the file is dropped, on failure it goes to
# stderr followed by "WHAT failed (exit status N)", and the recipe fails.
# COMMAND may not contain a comma (it is a $(call) argument).
ksft_quiet = ksft_log=$$(mktemp) || exit 1; \
	if $(2) >"$$ksft_log" 2>&1; then rm -f "$$ksft_log"; \
	else ksft_rc=$$?; cat "$$ksft_log" >&2; rm -f "$$ksft_log"; \
		echo "$(1) failed (exit status $$ksft_rc)" >&2; exit 1; fi

$(KSFT_NPM_STAMP): $(KSFT_TOP)/package-lock.json
	@if [ -L $(KSFT_TOP)/node_modules ]; then \
		echo "warning: $(KSFT_TOP)/node_modules is a symbolic link and older than package-lock.json; not running npm ci over it" >&2; \
	else \
		echo "npm ci: node_modules is missing or older than package-lock.json; installing in $(KSFT_TOP)" >&2; \
		cd $(KSFT_TOP) || exit 1; \
		$(call ksft_quiet,npm ci in $(KSFT_TOP),$(NPM) ci); \
		touch $@; \
	fi

# $(call ksft_build,ARGS): the build (tools/build/main.ts) unless its
# up-to-date check, left in the build folder by the last build, finds the
# build of the same selection current.
KSFT_BUILD_CHECK = $(or $(KSFT_BUILD),$(KSFT_TOP)/build)/.stamps/up_to_date.mjs
ksft_build = { [ -f $(KSFT_BUILD_CHECK) ] && $(NODE) $(KSFT_BUILD_CHECK) $(1); } || \
	$(NODE) --import tsx $(KSFT_TOP)/tools/build/main.ts $(1)
