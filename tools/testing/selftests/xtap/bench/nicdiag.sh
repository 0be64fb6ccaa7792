#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the frames of the tx64_nic row go: runs the row once per backend
# and prints, beside xbench's raw line, the change of every non-zero
# counter of the hub NICs (ethtool -S and the interface statistics of
# eth0, the redirect target, and eth1, where the row counts arrivals),
# and for xtap its own counters (xbench -v).  A frame the guest sent is
# then either refused by eth0's ndo_xdp_xmit (its TX ring full:
# tx_queue_*_xdp_tx_drops), or queued to the outer QEMU (xdp_tx minus
# xdp_tx_drops) and then either received by eth1 (rx_packets) or lost
# outside the guest (the hub or eth1's receive ring in the outer QEMU).
# The virtio interrupts taken per CPU during the row show where the two
# NICs' interrupts (and so eth1's receive NAPI) ran.
# Run it in the test VM with xtap loaded:
#
#   vm/run.sh -- ./bench/nicdiag.sh [-s SECS] [BACKEND...]
set -u

secs=2
while getopts s: opt; do
	case $opt in
	s) secs=$OPTARG ;;
	*) echo "usage: $0 [-s SECS] [BACKEND...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || set -- xtap upstream
cd "$(dirname "$0")/.." || exit 1
command -v ethtool >/dev/null || { echo "nicdiag: ethtool missing" >&2; exit 4; }
modprobe -q virtio_net

nic_by_mac() {
	local f

	for f in /sys/class/net/*/address; do
		if [ "$(cat "$f")" = "$1" ]; then
			basename "$(dirname "$f")"
			return 0
		fi
	done
	return 1
}

eth0=$(nic_by_mac 52:54:00:78:74:01) || { echo "nicdiag: no hub NIC a" >&2; exit 4; }
eth1=$(nic_by_mac 52:54:00:78:74:02) || { echo "nicdiag: no hub NIC b" >&2; exit 4; }

# "name value" lines: ethtool -S and the standard statistics.
snap() {
	ethtool -S "$1" | awk -F: 'NF == 2 { gsub(/ /, "", $1); gsub(/ /, "", $2); print $1, $2 }'
	for f in /sys/class/net/"$1"/statistics/*; do
		echo "if_$(basename "$f") $(cat "$f")"
	done
}

delta() {
	awk 'NR == FNR { a[$1] = $2; next } { d = $2 - a[$1]; if (d) print "  " $1 " " d }' "$1" "$2"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0
for be in "$@"; do
	echo "### nicdiag backend=$be eth0=$eth0 eth1=$eth1 t=$(date +%s)"
	snap "$eth0" > "$tmp/a0"
	snap "$eth1" > "$tmp/a1"
	grep virtio /proc/interrupts > "$tmp/ia"
	./bench/xbench -v -r 1 -w 0.4 -s "$secs" -o '=tx64_nic' -b "$be" 2>&1 |
		grep -E '^xbench-raw|^#|^  ' || rc=1
	snap "$eth0" > "$tmp/b0"
	snap "$eth1" > "$tmp/b1"
	grep virtio /proc/interrupts > "$tmp/ib"
	echo "## $eth0 (redirect target) changes, t=$(date +%s)"
	delta "$tmp/a0" "$tmp/b0"
	echo "## $eth1 (arrivals) changes"
	delta "$tmp/a1" "$tmp/b1"
	echo "## virtio interrupts taken, per CPU"
	awk -v ncpu="$(nproc)" 'NR == FNR { for (i = 2; i <= ncpu + 1; i++) a[$1, i] = $i; next }
		{ s = ""; t = 0
		  for (i = 2; i <= ncpu + 1; i++) { d = $i - a[$1, i]; t += d; s = s " cpu" i - 2 "=" d }
		  if (t) print "  " $NF s }' "$tmp/ia" "$tmp/ib"
done
exit $rc
