#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Soak (make soak; not part of the suite, not in CI): for SOAK_SECONDS
# (default 600), in parallel,
#   - soak_traffic for the whole time: one 4-queue xtap device, a guest per
#     queue, random-size frames both ways through every queue, each backend
#     detached and attached again every few seconds; every frame sent is
#     accounted for at the end (delivered, or dropped and counted by a
#     counter) and none may be lost (its totals are printed);
#   - SOAK_TRAFFIC (default 2) loops of vhost_datapath_test's xtap variants:
#     frames of every size both ways, streams, ping-pong and detach/attach of
#     the backend under traffic, every frame checked byte for byte;
#   - a churn loop: multiqueue xtap devices created, their queue nodes
#     opened and closed, devices deleted (with queues open);
#   - a knob loop: every busy-poll sysfs file of every xtap device set to
#     each value it accepts, when the module has them.
# At the end: each loop's rounds and failures, the longest round (the
# longest time without the loop making progress), xtap's counters, and a
# clean kernel log.  Any failure fails the soak.  Run it in the VM:
#   vm/run.sh -- ./soak.sh        (make soak does this)
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

require_root
require_cmd ip dmesg
xtap_loaded || fail "xtap loaded"
[ -x "$dir/vhost_datapath_test" ] || fail "vhost_datapath_test built (make selftests)"
[ -x "$dir/soak_traffic" ] || fail "soak_traffic built (make selftests)"
[ "$KSFT_FAIL" = 0 ] || ksft_finish

secs=${SOAK_SECONDS:-600}
ntraffic=${SOAK_TRAFFIC:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
end=$((SECONDS + secs))
mark="xtap soak.sh $$ start"
echo "$mark" > /dev/kmsg

# loop NAME CMD...: run CMD until the end; one line per round in $work/NAME
# ("rc seconds").
loop() {
	local name=$1 t0 rc
	shift
	: > "$work/$name"
	while [ $SECONDS -lt $end ]; do
		t0=$SECONDS
		"$@" > "$work/$name.last" 2>&1
		rc=$?
		echo "$rc $((SECONDS - t0))" >> "$work/$name"
		if [ $rc != 0 ] && { [ "$name" != knobs ] || [ $rc != 4 ]; }; then
			# What failed, not the harness's hundreds of skip lines:
			# not-ok results, assertion and timeout messages, the end.
			{
				echo "# --- $name failed (exit $rc):"
				grep -E '^not ok|^# +[^ ]+\.c:[0-9]+:|[Tt]imeout|[Tt]imed out|FAIL' "$work/$name.last" |
					grep -v '# SKIP' | head -n 60 | sed 's/^/# /'
				echo "# --- its last lines:"
				tail -n 15 "$work/$name.last" | sed 's/^/# /'
			} >> "$work/failures"
		fi
	done
}

traffic() {
	VTEST_ONLY=xtap "$dir/vhost_datapath_test"
}

churn() {
	local dev=xsk$$ i idx
	ip link add "$dev" numtxqueues 4 numrxqueues 4 type xtap || return 1
	ip link set "$dev" up || return 1
	idx=$(cat "/sys/class/net/$dev/ifindex") || return 1
	for i in 1 2 3; do
		exec {fd}<>"/dev/xtap$idx" || return 1
		eval "exec $fd>&-"
	done
	# Delete with a queue still open, then close it.
	exec {fd}<>"/dev/xtap$idx" || return 1
	ip link del "$dev" || return 1
	eval "exec $fd>&-"
}

knobs() {
	local f v ok=0
	for f in /sys/class/net/*/xtap/busy_poll_mode; do
		[ -w "$f" ] || continue
		for v in off fixed adaptive vhost; do
			echo "$v" > "$f" 2>/dev/null && ok=1
		done
	done
	for f in /sys/class/net/*/xtap/busy_poll_us; do
		[ -w "$f" ] || continue
		for v in 0 50 10000 0; do
			echo "$v" > "$f" 2>/dev/null && ok=1
		done
	done
	if [ "$ok" = 0 ]; then
		sleep 1
		return 4
	fi
	return 0
}

pids=()
# The accounted traffic runs once for the whole soak; its report is kept.
SOAK_TRAFFIC_SECONDS=$secs "$dir/soak_traffic" > "$work/accounted.out" 2>&1 &
acc_pid=$!
for i in $(seq "$ntraffic"); do
	loop "traffic$i" traffic &
	pids+=($!)
done
loop churn churn &
pids+=($!)
loop knobs knobs &
pids+=($!)
wait "${pids[@]}"
wait "$acc_pid"
acc_rc=$?
sed -n 's/^# /# soak_traffic: /p' "$work/accounted.out"
case $acc_rc in
0) ok "soak_traffic: every frame delivered or counted as dropped" ;;
4) KSFT_SKIP=$((KSFT_SKIP + 1))
   echo "ok $((KSFT_N += 1)) soak_traffic # SKIP $(sed -n 's/^# SKIP: //p' "$work/accounted.out")" ;;
*) sed 's/^/# /' "$work/accounted.out" | grep -v '^# # ' | head -n 40
   fail "soak_traffic (exit $acc_rc): frames lost or corrupted, or no traffic" ;;
esac

for f in "$work"/traffic* "$work"/churn "$work"/knobs; do
	case $f in *.last) continue ;; esac
	[ -f "$f" ] || continue	# SOAK_TRAFFIC=0: no traffic loop
	name=${f##*/}
	rounds=$(wc -l < "$f")
	# knobs returns 4 for "no busy-poll files", not a failure.
	bad=$(awk -v k="$name" '$1 != 0 && !(k == "knobs" && $1 == 4)' "$f" | wc -l)
	longest=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$f")
	echo "# $name: $rounds rounds, $bad failed, longest round ${longest}s"
	if [ "$name" = knobs ] && [ "$(awk '$1 != 4' "$f" | wc -l)" = 0 ]; then
		echo "# knobs: this xtap has no busy-poll sysfs files"
		KSFT_SKIP=$((KSFT_SKIP + 1))
		echo "ok $((KSFT_N += 1)) knobs # SKIP no busy-poll sysfs files"
	elif [ "$rounds" -gt 0 ] && [ "$bad" = 0 ]; then
		ok "$name: $rounds rounds without a failure"
	else
		fail "$name: $rounds rounds, $bad failed"
	fi
done
[ -f "$work/failures" ] && head -n 200 "$work/failures"
bad=$(dmesg | sed -n "/$mark/,\$p" |
	grep -E 'WARNING:|BUG:|Oops|refcount_t:|lockup|hung_task|KASAN|UBSAN|suspected memory leak|Call Trace:' | head -n 20)
if [ -z "$bad" ]; then
	ok "kernel log clean during the soak"
else
	printf '# %s\n' "$bad"
	fail "kernel log clean during the soak"
fi
ksft_finish
