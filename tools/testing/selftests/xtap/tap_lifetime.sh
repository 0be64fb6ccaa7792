#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Queue node lifetime: /dev/xtap<ifindex> follows its device, an open queue
# fd pins the module (unload refused) and survives the device's deletion,
# and nothing is left once everything is closed and the module unloaded.
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

require_root
require_cmd ip insmod rmmod dmesg
[ -f "$XTAP_KO" ] || xtap_missing "XTAP_KO not set to a built xtap.ko"
xtap_loaded || insmod "$XTAP_KO" dyndbg=+p

dev=xtlq$$
cleanup() {
	exec 5>&- 6>&- 2>/dev/null
	ip link del "$dev" 2>/dev/null
	xtap_loaded || insmod "$XTAP_KO" dyndbg=+p
}
trap cleanup EXIT

q0=$(xtap_live_objects queue)
d0=$(xtap_live_objects device)

check "create" ip link add "$dev" numtxqueues 2 numrxqueues 2 type xtap
idx=$(cat "/sys/class/net/$dev/ifindex")
node=/dev/xtap$idx
check "node appears" test -c "$node"
check "node mode 0600" test "$(stat -c %a "$node")" = 600
check "node is linked to the device in sysfs" \
	test -d "/sys/class/net/$dev/xtap$idx"
# carrier reads "Invalid argument" while the link is down: bring it up.
check "link up" ip link set "$dev" up
check "no carrier without a queue" test "$(cat "/sys/class/net/$dev/carrier")" = 0

exec 5<>"$node"
check "carrier with a queue" test "$(cat "/sys/class/net/$dev/carrier")" = 1
exec 6<>"$node"
check "two queues live" test "$(xtap_live_objects queue)" = $((q0 + 2))
check_err "third open refused (2 queues)" "busy" sh -c "exec 7<>$node"
check_err "unload refused while queue fds are open" "in use" rmmod xtap
check "module still loaded" xtap_loaded
check "device still there" test -d "/sys/class/net/$dev"

ip netns add "xtlqns$$" 2>/dev/null &&
	check_err "moving to another namespace refused" "." \
		ip link set "$dev" netns "xtlqns$$"
ip netns del "xtlqns$$" 2>/dev/null

check "delete with fds open" ip link del "$dev"
check "node gone" test ! -e "$node"
check "device object freed" test "$(xtap_live_objects device)" = "$d0"
check "queues live until closed" test "$(xtap_live_objects queue)" = $((q0 + 2))
check_err "unload still refused" "in use" rmmod xtap
exec 5>&- 6>&-
check "queues freed on close" test "$(xtap_live_objects queue)" = "$q0"

# Create, attach, delete under open fds, close: 20 times.
good=0
for i in $(seq 1 20); do
	ip link add "$dev" numtxqueues 2 numrxqueues 2 type xtap || break
	n=/dev/xtap$(cat "/sys/class/net/$dev/ifindex")
	exec 5<>"$n" 6<>"$n" || break
	if [ $((i % 2)) = 0 ]; then
		ip link del "$dev" || break
		exec 5>&- 6>&-
	else
		exec 5>&- 6>&-
		ip link del "$dev" || break
	fi
	good=$((good + 1))
done
check "20 attach/delete cycles" test $good = 20
check "no queue leaked" test "$(xtap_live_objects queue)" = "$q0"
check "no device leaked" test "$(xtap_live_objects device)" = "$d0"

check "unload once every fd is closed" rmmod xtap
check "no queue node left" sh -c "! ls /dev/xtap[0-9]* 2>/dev/null | grep -q ."
check "no xtap class left" test ! -e /sys/class/xtap
check "reload" insmod "$XTAP_KO" dyndbg=+p

ksft_finish
