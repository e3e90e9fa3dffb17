# Dependencies: `npm ci` when node_modules is missing or older than
# package-lock.json. node_modules/.package-lock.json is npm's own record of
# the installed tree, rewritten by every install, so its mtime is the stamp.
# A node_modules that is a symbolic link belongs to another tree: npm ci
# would empty the link's target, so it is left alone with a warning.
KSFT_TOP ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
KSFT_NPM_STAMP := $(KSFT_TOP)/node_modules/.package-lock.json

$(KSFT_NPM_STAMP): $(KSFT_TOP)/package-lock.json
	@if [ -L $(KSFT_TOP)/node_modules ]; then \
		echo "warning: $(KSFT_TOP)/node_modules is a symbolic link and older than package-lock.json; not running npm ci over it" >&2; \
	else \
		echo "cd $(KSFT_TOP) && npm ci"; \
		cd $(KSFT_TOP) && npm ci && touch $@; \
	fi
