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
#   vm/run.sh -- ./bench/profile.sh [-s SECS] [-l PCT] ROW BACKEND...
#
# ROW is an xbench -o pattern ("tx64_drop$"); BACKEND is xtap or upstream.
set -u

secs=6
limit=0.4
freq=1000
cpu=0
while getopts s:l:F: opt; do
	case $opt in
	s) secs=$OPTARG ;;
	F) freq=$OPTARG ;;
	l) limit=$OPTARG ;;
	*) echo "usage: $0 [-s SECS] [-l PCT] ROW BACKEND..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { echo "usage: $0 [-s SECS] [-l PCT] ROW BACKEND..." >&2; exit 2; }
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
	perf record -q -e cpu-clock -F "$freq" -C "$cpu" -g -o "$data" -- \
		./bench/xbench -r 1 -w 1 -s "$secs" -o "$row" -b "$be" \
		> "$tmp/out" 2>&1 || rc=1
	grep -E '^xbench-raw|^#' "$tmp/out"
	# The worker threads' names, busiest first.
	comms=$(perf report -i "$data" --stdio --sort comm -g none 2>/dev/null |
		awk '$1 ~ /%$/ && $3 ~ /^(xtap-(tx|rx)-|vhost-|kthreadd$)/ { print $3 }' |
		paste -sd, -)
	if [ -z "$comms" ]; then
		echo "profile: no worker samples for $be" >&2
		rc=1
		continue
	fi
	echo "## worker threads: $comms"
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
