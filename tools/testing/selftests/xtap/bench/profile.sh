#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where a backend's worker spends its time on one bench row: runs xbench
# for ROW under `perf record -e cpu-clock -a -g` (the only kind of event
# TCG offers) on the workers' CPU, then prints, for the worker threads
# only (xtap-tx-*/xtap-rx-* or vhost-*; "kthreadd" when perf missed the
# rename of a thread created while it recorded), the self and the inclusive share of each kernel
# symbol, with the worker CPU per frame xbench measured, so that a share
# becomes ns per frame.  Run it in the test VM with xtap loaded:
#
#   vm/run.sh -- ./bench/profile.sh [-s SECS] [-l PCT] [-C CPUS] [-A] ROW BACKEND...
#
# ROW is an xbench -o pattern ("tx64_drop$"); BACKEND is xtap or upstream.
# -C records other CPUs than the workers' CPU 0 ("1" is xbench's own
# thread, the sender and the userspace driver of the RX rows; "all" is
# every CPU); -A reports every thread (the "swapper" idle thread
# included), not only the workers.  The "## threads" part gives each
# thread's share of the samples, per CPU, so that which side is busy
# shows at once.
set -u

secs=6
limit=0.4
freq=1000
cpu=0
all_threads=0
usage="usage: $0 [-s SECS] [-l PCT] [-C CPUS|all] [-A] ROW BACKEND..."
while getopts s:l:F:C:A opt; do
	case $opt in
	C) cpu=$OPTARG ;;
	A) all_threads=1 ;;
	s) secs=$OPTARG ;;
	F) freq=$OPTARG ;;
	l) limit=$OPTARG ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
if [ "$cpu" = all ]; then
	where=(-a)
else
	where=(-C "$cpu")
fi
row=$1
shift
command -v perf >/dev/null || { echo "profile: perf missing (linux-perf)" >&2; exit 4; }
cd "$(dirname "$0")/.." || exit 1

echo 0 > /proc/sys/kernel/kptr_restrict
echo -1 > /proc/sys/kernel/perf_event_paranoid
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0
for be in "$@"; do
	data=$tmp/$be.data
	echo "### profile row=$row backend=$be"
	perf record -q -e cpu-clock -F "$freq" "${where[@]}" -g -o "$data" -- \
		./bench/xbench -r 1 -w 1 -s "$secs" -o "$row" -b "$be" \
		> "$tmp/out" 2>&1 || rc=1
	grep -E '^xbench-raw|^#' "$tmp/out"
	echo "## threads (share of all samples, per CPU)"
	perf report -i "$data" --stdio --sort cpu,comm -g none \
		--percent-limit "$limit" 2>/dev/null |
		grep -v '^#' | grep -v '^$'
	# The worker threads' names (or every thread's), busiest first.
	if [ "$all_threads" = 1 ]; then
		pat='.'
	else
		pat='^(xtap-(tx|rx)-|vhost-|kthreadd$)'
	fi
	comms=$(perf report -i "$data" --stdio --sort comm -g none 2>/dev/null |
		awk -v pat="$pat" '$1 ~ /%$/ && $3 ~ pat { print $3 }' |
		paste -sd, -)
	if [ -z "$comms" ]; then
		echo "profile: no worker samples for $be" >&2
		rc=1
		continue
	fi
	echo "## threads reported: $comms"
	echo "## stages (share of the worker threads' samples)"
	perf script -i "$data" --comms "$comms" -F comm,ip,sym 2>/dev/null |
		awk -f bench/stages.awk
	echo "## self"
	perf report -i "$data" --stdio --no-children --comms "$comms" \
		--sort sym -g none --percent-limit "$limit" 2>/dev/null |
		grep -v '^#' | grep -v '^$'
	echo "## inclusive (children)"
	perf report -i "$data" --stdio --children --comms "$comms" \
		--sort sym -g none --percent-limit "$limit" 2>/dev/null |
		grep -v '^#' | grep -v '^$'
done
exit $rc
