#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Native XDP on xtap with the standard tools: ip link ... xdpdrv obj, bpftool
# net attach xdpdrv; ip link and bpftool net show the program; generic mode
# is refused while a native program is attached; a frame written to the
# queue node meets the program; module unload with a program attached is
# clean (the program is released).
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

require_root
require_cmd ip bpftool
xtap_loaded || { fail "xtap is not loaded"; ksft_finish; }
obj=$dir/bpf/xdp_count.bpf.o
[ -f "$obj" ] || { fail "$obj not built"; ksft_finish; }

dev=xtx$$
pin=/sys/fs/bpf/xtap_xdp_$$
cleanup() {
	exec 3>&- 2>/dev/null
	ip link del "$dev" 2>/dev/null
	rm -f "$pin"
}
trap cleanup EXIT

# prog_id DEV: id of the XDP program attached to DEV, empty when none.
prog_id() {
	ip -d link show dev "$1" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'
}

# count ID: the xcnt[0] counter of program ID (frames it saw).
count() {
	local map v
	map=$(bpftool prog show id "$1" | sed -n 's/.*map_ids \([0-9]*\).*/\1/p')
	v=$(bpftool map lookup id "$map" key 0 0 0 0 |
		sed -n 's/.*"value": *\([0-9]*\).*/\1/p;s/.*value: \(..\) \(..\).*/0x\2\1/p' |
		head -n1)
	echo $((${v:-0}))
}

# released ID: wait until program ID is freed (that takes an RCU grace
# period after its last reference goes).
released() {
	local _
	for _ in $(seq 1 50); do
		bpftool prog show id "$1" >/dev/null 2>&1 || return 0
		sleep 0.1
	done
	return 1
}

check "create" ip link add "$dev" type xtap
check "up" ip link set "$dev" up
sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" 2>/dev/null

check "ip link set xdpdrv obj" ip link set dev "$dev" xdpdrv obj "$obj" sec xdp
id=$(prog_id "$dev")
check "ip link shows the program" test -n "$id"
check "ip link shows driver mode" sh -c "ip link show dev $dev | grep -qw xdp"
check "bpftool net shows it in driver mode" \
	sh -c "bpftool net show dev $dev | grep -q 'driver id $id'"
check_err "generic mode refused beside native" "Native and generic|exist" \
	ip link set dev "$dev" xdpgeneric obj "$obj" sec xdp

# A frame written to the queue node (vnet header, then the frame) goes
# through the program (skb path, generic XDP with the native program).
ifindex=$(cat "/sys/class/net/$dev/ifindex")
if exec 3<>"/dev/xtap$ifindex"; then
	frame='\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
	frame+='\x02\x00\x5e\x00\x00\x02\x02\x00\x5e\x00\x00\x01\x88\xb5'
	frame+=$(printf '\\x%02x' $(seq 1 46))
	for _ in 1 2 3; do printf '%b' "$frame" >&3; done
	check "the program saw the 3 written frames" test "$(count "$id")" = 3
	exec 3>&-
else
	fail "open /dev/xtap$ifindex"
fi

check "detach with ip link" ip link set dev "$dev" xdpdrv off
check "no program after detach" test -z "$(prog_id "$dev")"

# bpftool: load and pin, attach in driver mode, detach.
grep -q ' /sys/fs/bpf bpf' /proc/mounts || mount -t bpf bpf /sys/fs/bpf
check "bpftool prog load" bpftool prog load "$obj" "$pin" type xdp
check "bpftool net attach xdpdrv" \
	bpftool net attach xdpdrv pinned "$pin" dev "$dev"
check "ip link shows the bpftool program" test -n "$(prog_id "$dev")"
check "bpftool net detach" bpftool net detach xdpdrv dev "$dev"
check "no program after bpftool detach" test -z "$(prog_id "$dev")"
rm -f "$pin"

# Module unload with a program attached: the device is deleted and the
# program released.
if [ -f "$XTAP_KO" ] && command -v rmmod >/dev/null; then
	check "attach again" ip link set dev "$dev" xdpdrv obj "$obj" sec xdp
	id=$(prog_id "$dev")
	check "rmmod with a program attached" rmmod xtap
	check "device gone" sh -c "! ip link show $dev 2>/dev/null"
	check "program released" released "$id"
	check "reload" insmod "$XTAP_KO" dyndbg=+p
else
	echo "# XTAP_KO not set: unload with a program not tried"
fi

ksft_finish
