#!/bin/sh
# check_config.sh FRAGMENT CONFIG: does every option of the fragment hold in
# the .config that Kconfig produced? merge_config.sh and olddefconfig drop an
# option silently when its dependencies are not met (or it was renamed), and
# the kernel then builds fine without it: the VM boots and the tests skip for
# a reason far from the cause. One line on stderr per option that did not
# land; exit 1 if any.
#   CONFIG_X=y / =m / =value   the same line must be in CONFIG
#   CONFIG_X=n, "# CONFIG_X is not set"   CONFIG_X must not be set (absent is fine)
set -eu
if [ $# -ne 2 ]; then
	echo "usage: check_config.sh FRAGMENT CONFIG" >&2
	exit 2
fi
for f in "$1" "$2"; do
	if [ ! -r "$f" ]; then
		echo "vm: cannot read $f" >&2
		exit 1
	fi
done
# One awk pass: the .config first (what is set, and to what), then the
# fragment line by line in its order.
awk -v fragment="$1" '
	FNR == NR {
		sub(/\r$/, "")
		if ($0 ~ /^CONFIG_[A-Za-z0-9_]+=/) {
			eq = index($0, "=")
			set[substr($0, 1, eq - 1)] = substr($0, eq + 1)
		}
		next
	}
	{
		sub(/\r$/, ""); sub(/^[ \t]+/, ""); sub(/[ \t]+$/, "")
		if ($0 ~ /^# CONFIG_[A-Za-z0-9_]+ is not set$/) {
			name = $2; want = "n"
		} else if ($0 ~ /^CONFIG_[A-Za-z0-9_]+=/) {
			eq = index($0, "=")
			name = substr($0, 1, eq - 1); want = substr($0, eq + 1)
		} else if ($0 == "" || $0 ~ /^#/) {
			next
		} else {
			printf "vm: %s:%d: not a config option line: %s\n", fragment, FNR, $0 > "/dev/stderr"
			bad = 1; next
		}
		have = (name in set) ? set[name] : "n"
		if (have != want) {
			why = want == "n" ? "another option selects it" : "a dependency is missing or this kernel has no such option"
			printf "vm: %s=%s from %s did not land in the .config (it is %s there: %s)\n", \
				name, want, fragment, (name in set) ? name "=" set[name] : "not set", why > "/dev/stderr"
			bad = 1
		}
	}
	END { exit bad ? 1 : 0 }
' "$2" "$1"
