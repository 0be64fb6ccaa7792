#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark still works: one round of bench/xbench with tiny windows
# produces a positive figure for every row on every backend that can run it
# (xtap and upstream vhost-net + tun).  No timing thresholds.
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

require_root
# before xbench, which loads tun, vhost_net and veth
require_xtap
xbench=$dir/bench/xbench
[ -x "$xbench" ] || skip_all "bench/xbench not built (make selftests)"

out=$("$xbench" --smoke 2>&1)
rc=$?
while IFS= read -r line; do echo "# $line"; done <<< "$out"
[ $rc = 4 ] && skip_all "a backend is missing"
check "xbench --smoke exits 0 (rc=$rc)" test $rc = 0

# value=N of the raw line of ROW on BACKEND
value_of() {
	echo "$out" | sed -n "s/^xbench-raw row=$1 backend=$2 round=0 value=\([^ ]*\).*/\1/p"
}

positive() {
	awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'
}

pairs=$("$xbench" --list)
check "xbench lists rows" test -n "$pairs"
while read -r row backend; do
	v=$(value_of "$row" "$backend")
	check "$row on $backend: positive figure (${v:-none})" positive "${v:-0}"
done <<< "$pairs"
check "the table was printed" grep -q '@@xbench-table-end@@' <<< "$out"
ksft_finish
