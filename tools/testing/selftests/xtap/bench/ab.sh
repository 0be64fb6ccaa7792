#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two or more builds of xtap.ko against each other and against upstream
# vhost-net + tun, in one VM boot: each round reloads every build in turn
# (the order rotating from round to round) and runs xbench's rows for it,
# then runs them once for upstream; the summary gives per row the median
# rate and worker CPU per frame of each build, its ratio to upstream and
# to the first build.  Run it in the test VM:
#
#   vm/run.sh -- ./bench/ab.sh [-r ROUNDS] [-s SECS] -o ROWS A.ko B.ko...
#
# ROWS is an xbench -o list ("tx64_drop$,tx64_xdp").  The .ko files must be
# readable in the VM (the host root is shared: build them on the host).
set -u

rounds=5
secs=2
rows=""
while getopts r:s:o: opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	s) secs=$OPTARG ;;
	o) rows=$OPTARG ;;
	*) echo "usage: $0 [-r ROUNDS] [-s SECS] -o ROWS A.ko B.ko..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ -z "$rows" ] || [ $# -lt 1 ]; then
	echo "usage: $0 [-r ROUNDS] [-s SECS] -o ROWS A.ko B.ko..." >&2
	exit 2
fi
kos=("$@")
cd "$(dirname "$0")/.." || exit 1

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
load() {
	if grep -q '^xtap ' /proc/modules; then
		rmmod xtap || return 1
	fi
	insmod "$1"
}

rc=0
for ((r = 0; r < rounds; r++)); do
	for ((k = 0; k < ${#kos[@]}; k++)); do
		ko=${kos[(k + r) % ${#kos[@]}]}
		label=$(basename "$ko" .ko)
		load "$ko" || { echo "ab: cannot load $ko" >&2; exit 1; }
		./bench/xbench -r 1 -s "$secs" -o "$rows" -b xtap 2>&1 |
			sed -n "s/^xbench-raw /ab-raw build=$label round=$r /p" |
			tee -a "$raw"
	done
	./bench/xbench -r 1 -s "$secs" -o "$rows" -b upstream 2>&1 |
		sed -n "s/^xbench-raw /ab-raw build=upstream round=$r /p" |
		tee -a "$raw"
done
load "${kos[0]}" || rc=1

echo "## A/B summary: $rounds rounds, ${secs} s windows; medians; first build: $(basename "${kos[0]}" .ko)"
awk '
function field(name,   i, kv) {
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == name)
			return kv[2]
	}
	return ""
}
function median(list,   n, v, i, j, t) {
	n = split(list, v, " ")
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	if (!n)
		return 0
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
	b = field("build"); row = field("row")
	val[row, b] = val[row, b] " " field("value")
	pk = field("packets")
	if (pk > 0)
		cpu[row, b] = cpu[row, b] " " field("cpu_ns") / pk / 1000
	if (!(row in seenrow)) { seenrow[row] = 1; rowl[++nr] = row }
	if (!(b in seenb)) { seenb[b] = 1; bl[++nb] = b }
}
END {
	printf "| row | build | kpps median | worker CPU us/frame | vs upstream | vs %s |\n", first
	printf "|---|---|---|---|---|---|\n"
	for (i = 1; i <= nr; i++) {
		row = rowl[i]
		up = median(val[row, "upstream"])
		base = median(val[row, first])
		for (j = 1; j <= nb; j++) {
			b = bl[j]
			m = median(val[row, b])
			printf "| %s | %s | %.1f | %.2f | %.2f | %.2f |\n", row, b, m,
			       median(cpu[row, b]), up ? m / up : 0, base ? m / base : 0
		}
	}
}' first="$(basename "${kos[0]}" .ko)" "$raw"
exit $rc
