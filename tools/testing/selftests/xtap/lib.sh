# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Helpers for xtap's shell selftests.  Each script sources this file, runs
# check lines, and ends with ksft_finish, which prints kselftest-style totals
# (read by vm/guest.sh) and exits 0 (all passed), 1 (any failed) or 4 (skipped).

ksft_skip=4
KSFT_PASS=0
KSFT_FAIL=0
KSFT_SKIP=0
KSFT_N=0
XTAP_KO=${XTAP_KO:-}

# ok DESCRIPTION: record a passing check.
ok() {
	KSFT_N=$((KSFT_N + 1)); KSFT_PASS=$((KSFT_PASS + 1))
	echo "ok $KSFT_N $*"
}

# fail DESCRIPTION: record a failing check.
fail() {
	KSFT_N=$((KSFT_N + 1)); KSFT_FAIL=$((KSFT_FAIL + 1))
	echo "not ok $KSFT_N $*"
}

# skip_all REASON: the whole script cannot run here.
skip_all() {
	echo "# SKIP: $*"
	exit $ksft_skip
}

# check DESCRIPTION CMD...: pass when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# check_err DESCRIPTION PATTERN CMD...: pass when CMD fails and its stderr
# matches PATTERN (a clear error, not just any failure).
check_err() {
	local desc=$1 pat=$2 err
	shift 2
	if err=$("$@" 2>&1 >/dev/null); then
		fail "$desc (unexpectedly succeeded)"
	elif echo "$err" | grep -q -E "$pat"; then
		ok "$desc"
	else
		fail "$desc (error was: $err)"
	fi
}

ksft_finish() {
	echo "# Totals: pass:$KSFT_PASS fail:$KSFT_FAIL xfail:0 xpass:0 skip:$KSFT_SKIP error:0"
	[ "$KSFT_FAIL" = 0 ] || exit 1
	exit 0
}

require_root() {
	[ "$(id -u)" = 0 ] || skip_all "must run as root"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip_all "$c not installed"
	done
}

# xtap_loaded: is the module in the running kernel?
xtap_loaded() {
	grep -qs '^xtap ' /proc/modules
}

# require_xtap: xtap must be loaded, with its /dev/vhost-xtap.  Standalone
# the script skips when xtap is not loaded; in our own suite (the VM runner
# loaded xtap and exports XTAP_REQUIRED=1) that is a failure, as is a loaded
# xtap without its node in any run.  The C programs do the same
# (lib/xtest.c).
require_xtap() {
	if ! xtap_loaded; then
		if [ "${XTAP_REQUIRED:-}" = 1 ]; then
			fail "xtap usable: xtap is not loaded (XTAP_REQUIRED=1)"
			ksft_finish
		fi
		skip_all "xtap not loaded (insmod drivers/net/xtap/xtap.ko)"
	fi
	if [ ! -c /dev/vhost-xtap ]; then
		fail "xtap usable: xtap is loaded but /dev/vhost-xtap is no character device"
		ksft_finish
	fi
}

# xtap_count_lifetimes WHAT: number of "xtap: WHAT ... created" minus
# "... destroyed" lines in the kernel log (lifetime pairs from pr_debug).
xtap_live_objects() {
	local c d
	c=$(dmesg | grep -c -E "xtap: $1 [0-9]+ created$")
	d=$(dmesg | grep -c -E "xtap: $1 [0-9]+ destroyed$")
	echo $((c - d))
}
