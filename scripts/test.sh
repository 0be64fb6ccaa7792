#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The whole xtap test suite: install what is missing, build, run the style
# gate and the native ring tests on this machine, then boot one VM that runs
# every kselftest with xtap loaded (optionally the debug kernel's part,
# below).  The last line is "N passed, N failed, N skipped"; the exit status
# is non-zero on any failure.  CI (.ci/run) runs exactly this.
#
#   scripts/test.sh              the normal suite (what CI runs)
#   scripts/test.sh --debug-ci   the normal suite, then its CI part under the
#                                debug kernel (scripts/test-debug.sh --ci:
#                                lockdep, KASAN, kmemleak, UBSAN; the kernel
#                                is built once, ~20 min on 2 cores, and
#                                cached in /var/cache/xtap); out of CI until
#                                the int3 crash it found is understood (see
#                                xtap.rst, "The debug kernel")
#   scripts/test.sh --debug      the whole VM suite under the debug kernel
#                                instead of the normal one
#
# Each stage has its own log; a stage whose exit status is non-zero while
# its result line shows no failure counts one failure more.
set -u -o pipefail
debug=none
case ${1:-} in
--debug) debug=all ;;
--debug-ci) debug=ci ;;
"") ;;
*) echo "usage: $0 [--debug|--debug-ci]" >&2; exit 2 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
st=$top/tools/testing/selftests/xtap

pass=0 fail=0 skip=0
add() { pass=$((pass + $1)); fail=$((fail + $2)); skip=$((skip + ${3:-0})); }
# count LOG NAME RC: add the "N passed, N failed[, N skipped]" line a stage
# printed; a non-zero RC with no failure counted is one failure.
count() {
	local line p f s
	line=$(grep -E '^([a-z]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - no result line from $2 (exit status $3)"
		add 0 1
		return
	fi
	line=${line#*: }
	read -r p _ f _ s _ <<< "${line//,/}"
	if [ "$3" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $2 exited with status $3 but reported no failure"
		f=1
	fi
	add "$p" "$f" "${s:-0}"
}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

echo "== dependencies"
if ! "$top/scripts/deps.sh"; then
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

echo "== build"
if make -s modules W=1 && make -s selftests; then
	echo "ok - build"
	add 1 0
else
	echo "not ok - build"
	echo "$pass passed, $((fail + 1)) failed, $skip skipped"
	exit 1
fi

echo "== style gate"
"$top/scripts/check.sh" 2>&1 | tee "$logs/style"
count "$logs/style" "the style gate" $?

echo "== runner self-test"
"$st/vm/count_test.sh" 2>&1 | tee "$logs/count"
count "$logs/count" "the runner self-test" $?

if [ -f "$st/ring/Makefile" ]; then
	echo "== native ring tests"
	if make -s -C "$st/ring" ring_test >"$logs/ring-build" 2>&1; then
		(cd "$st/ring" && ./ring_test) 2>&1 | tee "$logs/ring"
		rc=$?
		# shellcheck source-path=SCRIPTDIR source=../tools/testing/selftests/xtap/vm/count.sh
		. "$st/vm/count.sh"
		count_test_log "$logs/ring" "$rc"
		[ -n "$cnt_why" ] && echo "not ok - ring_test: $cnt_why"
		add "$cnt_p" "$cnt_f" "$cnt_s"
	else
		cat "$logs/ring-build"
		echo "not ok - ring_test build"
		add 0 1
	fi
fi

if [ $debug = all ]; then
	echo "== VM suite under the debug kernel"
	"$top/scripts/test-debug.sh" 2>&1 | tee "$logs/vm"
	count "$logs/vm" "the debug VM suite" $?
else
	echo "== VM suite"
	if make -s modules; then
		"$st/vm/run.sh" 2>&1 | tee "$logs/vm"
		count "$logs/vm" "the VM suite" $?
	else
		echo "not ok - build before the VM suite"
		add 0 1
	fi
fi
if [ $debug = ci ]; then
	echo "== VM suite under the debug kernel, CI part"
	start=$SECONDS
	"$top/scripts/test-debug.sh" --ci 2>&1 | tee "$logs/vm-debug"
	count "$logs/vm-debug" "the debug VM suite (CI part)" $?
	echo "# debug kernel part: $((SECONDS - start)) s, kernel build included"
fi

echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
