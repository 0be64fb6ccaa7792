#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The debug build (CONFIG_XTAP_DEBUG=y, XTAP_DEBUG_KO) runs its in-module
# self-tests at load: they must report "pass" and no failure, and the module
# must then work.  The normal build is loaded again at the end.
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

require_root
require_cmd ip insmod rmmod dmesg
[ -f "$XTAP_KO" ] || xtap_missing "XTAP_KO not set to a built xtap.ko"
[ -f "${XTAP_DEBUG_KO:-}" ] ||
	xtap_missing "XTAP_DEBUG_KO not set to a debug xtap.ko (make selftests builds one)"

dev=xtds$$
debug=0
cleanup() {
	ip link del "$dev" 2>/dev/null
	if [ "$debug" = 1 ] && xtap_loaded; then
		rmmod xtap
	fi
	xtap_loaded || insmod "$XTAP_KO" dyndbg=+p
}
trap cleanup EXIT

# The kernel log since this script's marker.
mark="xtap debug_selftest.sh $$ start"
log_since_mark() {
	dmesg | sed -n "/$mark/,\$p"
}
# log_has ERE / log_lacks ERE: the log since the marker has a matching
# line / has none.
log_has() {
	log_since_mark | grep -q -E "$1"
}
log_lacks() {
	! log_since_mark | grep -q -E "$1"
}

check "XTAP_DEBUG_KO is a debug build" grep -q -a "ring self-tests: pass" "$XTAP_DEBUG_KO"
if xtap_loaded; then
	check "unload the normal build" rmmod xtap
fi
d0=$(xtap_live_objects device)
v0=$(xtap_live_objects vhost)

echo "$mark" > /dev/kmsg
if insmod "$XTAP_DEBUG_KO"; then
	debug=1
	ok "load the debug build"
else
	fail "load the debug build"
fi
check "self-tests pass at load" log_has "xtap: ring self-tests: pass$"
check "no self-test failure" log_lacks "xtap: .*self-test failed"
log_since_mark | grep -E 'xtap: .*self-test' | sed 's/^/# /'

# The module works: a device and a vhost instance, each created and freed,
# and pr_debug is on without dyndbg (the build defines DEBUG).  Only with
# the module loaded: opening a missing /dev/vhost-xtap would create a file.
if [ "$debug" = 1 ]; then
	check "create a device" ip link add "$dev" type xtap
	check "pr_debug on: device created logged" \
		log_has "xtap: device [0-9]+ created$"
	check "delete the device" ip link del "$dev"
	check "/dev/vhost-xtap is a character device" test -c /dev/vhost-xtap
	check "open and close /dev/vhost-xtap" \
		sh -c "test -c /dev/vhost-xtap && exec 7<>/dev/vhost-xtap"
	if rmmod xtap; then
		debug=0
		ok "unload the debug build"
	else
		fail "unload the debug build"
	fi
	check "vhost lifetime logged" log_has "xtap: vhost [0-9]+ destroyed$"
fi
check "every device freed" test "$(xtap_live_objects device)" = "$d0"
check "every vhost instance freed" test "$(xtap_live_objects vhost)" = "$v0"

check "reload the normal build" insmod "$XTAP_KO" dyndbg=+p
ksft_finish
