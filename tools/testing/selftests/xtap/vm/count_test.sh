#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Self-test of the suite's counting (vm/count.sh), run on the host by
# scripts/test.sh: synthetic test outputs, each with the counts the runner
# must derive from it.  The cases are the ways the old counting lost or
# invented results: a crashed harness program losing the subtests it had
# passed, a killed shell test, a guest that died mid-suite, a guest that
# never planned anything.
set -u
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=count.sh
. "$VM_DIR/count.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 npass=0 nfail=0
cases=16
echo "TAP version 13"
echo "1..$cases"

# expect NAME WANT-P WANT-F WANT-S: compare with cnt_p/cnt_f/cnt_s.
expect() {
	n=$((n + 1))
	if [ "$cnt_p $cnt_f $cnt_s" = "$2 $3 $4" ]; then
		npass=$((npass + 1))
		echo "ok $n count: $1"
	else
		nfail=$((nfail + 1))
		echo "not ok $n count: $1 (got pass=$cnt_p fail=$cnt_f skip=$cnt_s, want pass=$2 fail=$3 skip=$4)"
	fi
}

# log RC LINES...: one test program's output and exit status.
tlog() {
	local rc=$1
	shift
	printf '%s\n' "$@" > "$tmp/log"
	count_test_log "$tmp/log" "$rc"
}

harness_ok=("TAP version 13" "1..3" "# Starting 3 tests from 1 test cases." \
	"#  RUN           global.a ..." "#            OK  global.a" "ok 1 global.a" \
	"ok 2 global.b" "ok 3 global.c # SKIP no veth" \
	"# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:1 error:0")
tlog 0 "${harness_ok[@]}"
expect "harness program, all reported" 2 0 1

tlog 139 "TAP version 13" "1..5" "ok 1 global.a" "ok 2 global.b" "not ok 3 global.c"
expect "harness program crashed after 3 of 5: keeps 2 passes, 1 failed + 2 missing" 2 3 0

tlog 1 "TAP version 13" "1..2" "ok 1 global.a" "ok 2 global.b"
expect "all subtests passed but exit status 1: one failure" 2 1 0

tlog 0 "TAP version 13" "1..2" "ok 1 global.a" "ok 2 global.b" "ok 3 global.c"
expect "more results than planned: each counted once" 3 0 0

tlog 137 "ok 1 create" "ok 2 delete" "# killed"
expect "shell test killed after 2 checks, no plan" 2 1 0

tlog 1 "ok 1 create" "not ok 2 delete" "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0"
expect "shell test with a failed check" 1 1 0

tlog 4 "# SKIP: qemu-system-x86_64 not installed"
expect "skipped program: one skip" 0 0 1

tlog 0 "some output, no KTAP"
expect "program without KTAP lines, exit 0: one pass" 1 0 0

tlog 127 "./nonexistent: No such file or directory"
expect "missing program: one failure" 0 1 0

tlog 124 "TAP version 13" "1..4" "ok 1 global.a"
expect "harness program timed out after 1 of 4" 1 3 0

tlog 0 "# ok 1 nested line" "#not ok 2 nested" "TAP version 13" "1..1" "ok 1 global.a"
expect "nested (# ) lines are not results" 1 0 0

# The suite, from the guest's result port.
printf '%s\n' "xtap-vm-started" "TAP version 13" "1..4" "ok 1 selftests: xtap: a" \
	"xtap-vm-tally pass=7 fail=0 skip=1" "ok 2 selftests: xtap: b" \
	"xtap-vm-tally pass=9 fail=0 skip=1" "ok 3 selftests: xtap: unload xtap" \
	"ok 4 selftests: xtap: lifetimes" "xtap-vm-result rc=0 pass=11 fail=0 skip=1" > "$tmp/res"
count_suite "$tmp/res"
expect "suite with its final line" 11 0 1

printf '%s\n' "xtap-vm-started" "TAP version 13" "1..5" "ok 1 selftests: xtap: a" \
	"xtap-vm-tally pass=7 fail=0 skip=1" "ok 2 selftests: xtap: b" \
	"xtap-vm-tally pass=9 fail=1 skip=1" > "$tmp/res"
count_suite "$tmp/res"
expect "guest died during test 3 of 3 (+2 checks): the tally plus 3 unreported" 9 4 1

printf '%s\n' "xtap-vm-started" > "$tmp/res"
count_suite "$tmp/res"
expect "guest never planned its tests: one failure" 0 1 0

: > "$tmp/res"
count_suite "$tmp/res"
expect "empty result port (crash at boot): one failure" 0 1 0

printf '%s\r\n' "TAP version 13" "1..1" "not ok 1 selftests: xtap: the test list is empty" \
	"xtap-vm-result rc=1 pass=0 fail=1 skip=0" > "$tmp/res"
count_suite "$tmp/res"
expect "empty test list is a failure, CRLF line ends" 0 1 0

[ $n = $cases ] || { echo "not ok - ran $n cases, planned $cases"; nfail=$((nfail + 1)); }
echo "# Totals: pass:$npass fail:$nfail xfail:0 xpass:0 skip:0 error:0"
echo "count: $npass passed, $nfail failed, 0 skipped"
[ $nfail = 0 ]
