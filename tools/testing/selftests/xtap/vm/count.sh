# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# How the VM suite counts, shared by vm/guest.sh (in the VM) and
# vm/count_test.sh (its self-test, on the host).  The rule: every planned
# result is counted exactly once, as passed, failed or skipped.
#
# count_test_log LOG RC: count one test program's results from its output LOG
# and exit status RC; sets cnt_p, cnt_f, cnt_s and cnt_why (a note, may be
# empty).
#   - each top-level KTAP line "ok N ..." is a pass ("... # SKIP" a skip),
#     each "not ok N ..." a failure: a program that crashes or times out
#     keeps what it reported before;
#   - a plan "1..N" that is not matched by N result lines counts every
#     missing result as a failure;
#   - a program that reports no result line at all is one result, by RC:
#     0 passed, 4 (kselftest skip) skipped, anything else failed;
#   - a program that exits with RC other than 0 or 4 while none of its
#     results failed counts one failure more (its exit status).
# shellcheck disable=SC2034
count_test_log() {
	local log=$1 rc=$2 ok notok skips plan reported
	cnt_p=0 cnt_f=0 cnt_s=0 cnt_why=""
	ok=$(grep -c -E '^ok [0-9]+' "$log")
	skips=$(grep -c -E '^ok [0-9]+.*# *SKIP' "$log")
	notok=$(grep -c -E '^not ok [0-9]+' "$log")
	plan=$(sed -n -E 's/^1\.\.([0-9]+)$/\1/p' "$log" | head -n 1)
	reported=$((ok + notok))
	if [ "$reported" = 0 ] && [ -z "$plan" ]; then
		case $rc in
		0) cnt_p=1 ;;
		4) cnt_s=1 ;;
		*) cnt_f=1; cnt_why="exit status $rc" ;;
		esac
		return 0
	fi
	cnt_p=$((ok - skips)) cnt_s=$skips cnt_f=$notok
	if [ -n "$plan" ] && [ "$plan" -gt "$reported" ]; then
		cnt_f=$((cnt_f + plan - reported))
		cnt_why="$((plan - reported)) of $plan planned results missing"
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ "$cnt_f" = 0 ]; then
		cnt_f=1
		cnt_why="exit status $rc with no failed result"
	fi
	return 0
}

# count_suite RESULT-FILE: the totals of a suite run from what the guest
# wrote to its result port; sets cnt_p, cnt_f, cnt_s and cnt_why.  The guest
# ends with "xtap-vm-result rc=N pass=N fail=N skip=N".  Without it (the
# guest crashed, hung or was killed) the last "xtap-vm-tally" line, written
# after each program, still counts what ran, and each planned program that
# never reported (plan "1..N" against the "ok"/"not ok" lines) is one
# failure.
# shellcheck disable=SC2034 # cnt_* are what the caller reads
count_suite() {
	local res=$1 line plan done_n
	cnt_p=0 cnt_f=0 cnt_s=0 cnt_why=""
	line=$(tr -d '\r' < "$res" | grep -E '^xtap-vm-result ' | tail -n 1)
	if [ -z "$line" ]; then
		line=$(tr -d '\r' < "$res" | grep -E '^xtap-vm-tally ' | tail -n 1)
	fi
	if [ -n "$line" ]; then
		cnt_p=$(echo "$line" | sed -n -E 's/.* pass=([0-9]+).*/\1/p')
		cnt_f=$(echo "$line" | sed -n -E 's/.* fail=([0-9]+).*/\1/p')
		cnt_s=$(echo "$line" | sed -n -E 's/.* skip=([0-9]+).*/\1/p')
		cnt_p=${cnt_p:-0} cnt_f=${cnt_f:-0} cnt_s=${cnt_s:-0}
	fi
	plan=$(tr -d '\r' < "$res" | sed -n -E 's/^1\.\.([0-9]+)$/\1/p' | head -n 1)
	done_n=$(tr -d '\r' < "$res" | grep -c -E '^(not )?ok [0-9]+')
	if [ -z "$plan" ]; then
		cnt_f=$((cnt_f + 1))
		cnt_why="the guest never planned its tests"
	elif [ "$plan" -gt "$done_n" ]; then
		cnt_f=$((cnt_f + plan - done_n))
		cnt_why="$((plan - done_n)) of $plan planned tests never reported"
	fi
	return 0
}
