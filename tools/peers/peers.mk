# The kernel peer tests (test/peers) need /usr/src/linux-source-6.12.tar.xz;
# `make check` installs the package when it is missing and it can (root,
# apt-get). A failed install does not fail the target: the tests then skip
# with the reason.
KSFT_TOP ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)

.PHONY: peers_source
peers_source:
	@sh $(KSFT_TOP)/tools/peers/install_source.sh
