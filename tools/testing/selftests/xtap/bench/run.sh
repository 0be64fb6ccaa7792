#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make bench": boot the test VM once and run bench/xbench in it (xtap
# against upstream vhost-net + tun, A/B alternated), then copy the table it
# prints out of the VM into bench-results/ (not tracked by git):
#
#   bench-results/xbench-<UTC time>.md   table, method, host and load
#   bench-results/xbench-<UTC time>.log  everything the VM printed
#   bench-results/latest.md              copy of the newest table
#
# Arguments go to xbench (e.g. -r 7 for seven rounds, -o rx for the RX rows
# only).  BENCH_RESULTS overrides the output directory.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ST_DIR=$(dirname "$BENCH_DIR")
TOP=$(cd "$ST_DIR/../../../.." && pwd)
out=${BENCH_RESULTS:-$TOP/bench-results}

[ -x "$BENCH_DIR/xbench" ] || { echo "bench: build first (make selftests)" >&2; exit 1; }
mkdir -p "$out" || exit 1
stamp=$(date -u +%Y%m%dT%H%M%SZ)
log=$out/xbench-$stamp.log
md=$out/xbench-$stamp.md

# The host's 1-minute load average every 10 s while the VM runs: the
# guest cannot see how much of the two cores other work took.
loads=$(mktemp)
(while :; do cut -d' ' -f1 /proc/loadavg >> "$loads"; sleep 10; done) &
sampler=$!
trap 'kill $sampler 2>/dev/null; rm -f "$loads"' EXIT

load_before=$(uptime)
start=$(date +%s)
VM_TIMEOUT=${VM_TIMEOUT:-1800} "$ST_DIR/vm/run.sh" -- ./bench/xbench "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
secs=$(( $(date +%s) - start ))
load_after=$(uptime)
kill $sampler 2>/dev/null
load_range=$(sort -n "$loads" | awk '{ v[NR] = $1 } END { if (NR) printf "min %s, median %s, max %s (%d samples)", v[1], v[int((NR + 1) / 2)], v[NR], NR }')

table=$(tr -d '\r' < "$log" | sed -n '/^@@xbench-table-begin@@$/,/^@@xbench-table-end@@$/p' | sed '1d;$d')
if [ -z "$table" ]; then
	echo "bench: no table in the VM's output (rc=$rc); see $log" >&2
	exit 1
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
qemu=$(qemu-system-x86_64 --version | head -n 1)
rev=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)
{
	echo "# xbench $stamp"
	echo
	echo "$table"
	echo
	echo "## Host"
	echo
	echo "- CPU: ${cpu:-unknown}, $(nproc) CPUs; $(uname -sr) (host kernel)"
	echo "- $qemu, TCG (the guest's 2 vCPUs are 2 host threads)"
	echo "- load before: ${load_before#*load}"
	echo "- load after:  ${load_after#*load}"
	echo "- 1-minute load average during the run: ${load_range:-not sampled}"
	echo "- source: $rev; run took ${secs} s (VM boot included); xbench exit status $rc"
	echo "- command: make bench${*:+ ARGS=\"$*\"}"
} > "$md"
cp "$md" "$out/latest.md"
echo "bench: table written to $md (and $out/latest.md)"
exit "$rc"
