#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM for the main job (scripts/main-job.sh), with xtap loaded
# by the runner: create xtap0, boot a nested Linux guest attached to it the
# way a user would (-netdev tap,fd=3,vhost=on,vhostfd=4 with
# 3<>/dev/xtap<ifindex> 4<>/dev/vhost-xtap), have it ping the host and move
# 4 MB each way (checksums compared), then print a summary: xtap0's frame and
# byte counters beside what an XDP program attached to xtap0 counted of the
# guest's frames, throughput both ways, the ping round-trip time and the busy
# poll counters (busy polling is tuned through sysfs, adaptive, the way a
# user would).
set -u
dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=nested/lib.sh
. "$dir/nested/lib.sh"

echo "== kernel $(uname -r), xtap $(cat /sys/module/xtap/version 2>/dev/null || echo '?')"
trap nested_cleanup EXIT
nested_prepare xtap || { echo "demo: $NL_WHY"; exit 1; }
kb=4096
nested_add_nic xtap0 $kb 1 || { echo "demo: cannot create xtap0"; exit 1; }
IDX=$(cat /sys/class/net/xtap0/ifindex)
ip -d link show xtap0
echo "== xtap0 is ifindex $IDX: $(ls -l "/dev/xtap$IDX") and $(ls -l /dev/vhost-xtap)"
xs=/sys/class/net/xtap0/xtap

# An XDP program on xtap0 counts the guest's frames while they pass: built
# by scripts/main-job.sh (here when run on its own), attached the way a user
# would.
xdp_src=$dir/demo/xdp_demo.bpf.c
xdp_obj=$dir/../../../../../.vm/main-job/xdp_demo.bpf.o
if [ ! -f "$xdp_obj" ]; then
	xdp_obj=/tmp/xdp_demo.bpf.o
	clang -O2 -g -target bpf -I"/usr/include/$(gcc -dumpmachine)" \
		-c "$xdp_src" -o "$xdp_obj" || { echo "demo: clang failed"; exit 1; }
fi
echo "== XDP: ip link set dev xtap0 xdpdrv obj $(basename "$xdp_obj") sec xdp"
ip link set dev xtap0 xdpdrv obj "$xdp_obj" sec xdp ||
	{ echo "demo: cannot attach the XDP program to xtap0"; exit 1; }
xdp_id=$(ip -d link show dev xtap0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
xdp_map=$(bpftool prog show id "${xdp_id:-0}" 2>/dev/null |
	sed -n 's/.*map_ids \([0-9]*\).*/\1/p')
[ -n "$xdp_map" ] || { echo "demo: no XDP program on xtap0"; exit 1; }
echo "   program id $xdp_id ($(bpftool net show dev xtap0 | grep -o 'xtap0([0-9]*) driver id [0-9]*'))"
# xdp_count KEY: demo_cnt[KEY] (0: frames, 1: bytes)
xdp_count() {
	local v b
	v=$(bpftool map lookup id "$xdp_map" key "$1" 0 0 0 |
		sed -n 's/.*"value": *\([0-9]*\).*/\1/p;s/.*value: \(.*\)$/\1/p' | head -n1)
	# Without BTF bpftool prints the little-endian bytes in hex.
	read -ra b <<< "$v"
	if [ ${#b[@]} = 8 ]; then
		echo $((0x${b[7]}${b[6]}${b[5]}${b[4]}${b[3]}${b[2]}${b[1]}${b[0]}))
	else
		echo "${v:-0}"
	fi
}

echo "== busy polling: echo adaptive > $xs/busy_poll_mode"
echo adaptive > "$xs/busy_poll_mode" || { echo "demo: cannot set busy_poll_mode"; exit 1; }
echo "   busy_poll_mode $(cat "$xs/busy_poll_mode"), busy_poll_us $(cat "$xs/busy_poll_us")," \
     "stall_ms $(cat "$xs/stall_ms")"

# A quick check (QEMU paused) so that a vhost device that cannot attach is
# reported in QEMU's words before the long boot.
if ! nested_preflight 0 on; then
	echo "demo: QEMU cannot attach /dev/xtap$IDX + /dev/vhost-xtap: $NL_WHY"
	exit 1
fi

l2() {
	exec qemu-system-x86_64 "${NL_QEMU[@]}" \
		-netdev tap,id=n0,fd=3,vhost=on,vhostfd=4 \
		-device "virtio-net-pci,netdev=n0,mac=$(nested_mac 0),romfile=" \
		3<>"/dev/xtap$IDX" 4<>/dev/vhost-xtap
}
echo "== booting the nested guest (Debian's kernel under TCG in TCG: a few minutes):"
echo "   qemu-system-x86_64 ... -netdev tap,id=n0,fd=3,vhost=on,vhostfd=4 \\"
echo "     -device virtio-net-pci,netdev=n0 3<>/dev/xtap$IDX 4<>/dev/vhost-xtap"
nested_run 1500 l2
echo "== nested guest: QEMU start to /init ${NL_BOOT_SECS:-?}s, whole run ${NL_RUN_SECS}s ($NL_STATUS)"
ip -s link show xtap0

bytes=$((kb * 1024))
read -r sb ss <<< "$(nested_peer 0 h2g)"
read -r rb rs <<< "$(nested_peer 0 g2h)"
gb=$(nested_val 0 h2g_bytes)
gs=$(nested_val 0 h2g_sha256)
read -r rxp rxb txp txb <<< "$(nested_delta 0)"
good=1
h2g="mismatch"
[ "${sb:-x}" = $bytes ] && [ "${gb:-y}" = $bytes ] && [ -n "$ss" ] && [ "$ss" = "$gs" ] && h2g="sha256 matches"
g2h="mismatch"
[ "${rb:-x}" = $bytes ] && [ -n "$rs" ] && [ "$rs" = "$ss" ] && g2h="sha256 matches"
[ "$h2g" = "sha256 matches" ] && [ "$g2h" = "sha256 matches" ] || good=0
[ "$(nested_val 0 ping)" = ok ] || good=0
grep -q -i -E 'vhost|falling back|error' "$NL_WORK/qemu.log" && good=0

echo "== summary"
echo "   guest NIC      $(nested_val 0 dev), negotiated $(nested_feature_names 0)"
echo "   ping           $(nested_val 0 ping), rtt min/avg/max $(nested_val 0 rtt) ms"
echo "   host -> guest  $((bytes / 1024)) KB in $(nested_val 0 h2g_secs) s," \
     "$(nested_kbps $bytes "$(nested_val 0 h2g_secs)") KB/s, $h2g"
echo "   guest -> host  $((bytes / 1024)) KB in $(nested_val 0 g2h_secs) s," \
     "$(nested_kbps $bytes "$(nested_val 0 g2h_secs)") KB/s, $g2h"
echo "   vhost workers  ${NL_WORKERS:-none seen}, ${NL_WORKER_MS} ms CPU"
echo "   xtap0 counters from the guest (rx) $rxp frames $rxb bytes," \
     "to the guest (tx) $txp frames $txb bytes"
xdp_frames=$(xdp_count 0)
echo "   XDP on xtap0   program id $xdp_id counted $xdp_frames frames" \
     "$(xdp_count 1) bytes from the guest (xtap0 rx above: $rxp frames)"
[ "${xdp_frames:-0}" -gt 0 ] || good=0
# ethtool -S totals: "     name: value"
poll() { ethtool -S xtap0 | awk -v k="$1:" '$1 == k { print $2; exit }'; }
spin_ns=$(poll busy_poll_ns)
echo "   busy polling   $(cat "$xs/busy_poll_mode"): $(poll busy_poll_hits) hits," \
     "$(poll busy_poll_misses) misses, $(( ${spin_ns:-0} / 1000000 )) ms spinning;" \
     "guest kicks $(poll kicks), interrupts $(poll signals)," \
     "worker wake-ups $(poll wakeups), stalls $(poll stalls)"
if [ -s "$NL_WORK/qemu.log" ]; then
	echo "   QEMU said:"
	sed 's/^/     /' "$NL_WORK/qemu.log"
fi
if [ $good = 1 ] && [ "$NL_STATUS" = ok ]; then
	echo "== xtap works: a nested guest moved $((2 * bytes / 1024)) KB through xtap0 and vhost-xtap"
	exit 0
fi
echo "== FAILED (L2 status $NL_STATUS); L2 console, last 30 lines:"
tr -d '\r' < "$NL_WORK/console" | tail -n 30
exit 1
