#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Module load/unload cycles: each leaves nothing behind (no device, no node,
# no object whose "created" line lacks its "destroyed" line).
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

require_root
require_cmd ip insmod rmmod dmesg
[ -f "$XTAP_KO" ] || xtap_missing "XTAP_KO not set to a built xtap.ko"
xtap_loaded && rmmod xtap

cycles=20
good=0
for i in $(seq 1 $cycles); do
	insmod "$XTAP_KO" dyndbg=+p || { fail "cycle $i: insmod"; break; }
	[ -c /dev/vhost-xtap ] || { fail "cycle $i: /dev/vhost-xtap missing"; break; }
	ip link add "xtlt$i" type xtap || { fail "cycle $i: ip link add"; break; }
	exec 7<>/dev/vhost-xtap
	exec 7>&-
	# Unload with the device still present: module exit must delete it.
	rmmod xtap || { fail "cycle $i: rmmod"; break; }
	if [ -e /dev/vhost-xtap ] || ip link show "xtlt$i" >/dev/null 2>&1; then
		fail "cycle $i: something survived the unload"
		break
	fi
	good=$((good + 1))
done
if [ $good = $cycles ]; then ok "$cycles load/unload cycles"; fi
# The balance below means something only if the pairs were logged: each
# cycle created one device and one vhost instance (dyndbg=+p took effect).
for kind in device vhost; do
	n=$(dmesg | grep -c -E "xtap: $kind [0-9]+ created$")
	check "$kind lifetimes logged ($n >= $good)" test "$n" -ge "$good" -a "$n" -gt 0
done
check "every device freed" test "$(xtap_live_objects device)" = 0
check "every vhost instance freed" test "$(xtap_live_objects vhost)" = 0
check "module unloaded at the end" test ! -d /sys/module/xtap

insmod "$XTAP_KO" dyndbg=+p
ksft_finish
