# Dependencies: `npm ci` when node_modules is missing or older than
# package-lock.json. node_modules/.package-lock.json is npm's own record of
# the installed tree, rewritten by every install, so its mtime is the stamp.
KSFT_TOP ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
KSFT_NPM_STAMP := $(KSFT_TOP)/node_modules/.package-lock.json

$(KSFT_NPM_STAMP): $(KSFT_TOP)/package-lock.json
	cd $(KSFT_TOP) && npm ci
	@touch $@
