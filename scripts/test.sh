#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The whole xtap test suite: install what is missing, build, run the style
# gate and the native ring tests on this machine, then boot one VM that runs
# every kselftest with xtap loaded.  The last line is
# "N passed, N failed, N skipped"; the exit status is non-zero on any failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
st=$top/tools/testing/selftests/xtap

pass=0 fail=0 skip=0
add() { pass=$((pass + $1)); fail=$((fail + $2)); skip=$((skip + ${3:-0})); }
# count LOG: add the "N passed, N failed[, N skipped]" line a part printed.
count() {
	local line
	line=$(grep -E '^([a-z]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - no result line from $2"
		add 0 1
		return
	fi
	line=${line#*: }
	read -r p _ f _ s _ <<< "${line//,/}"
	add "$p" "$f" "${s:-0}"
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

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
"$top/scripts/check.sh" 2>&1 | tee "$log"
count "$log" "the style gate"

if [ -f "$st/ring/Makefile" ]; then
	echo "== native ring tests"
	if make -s -C "$st/ring" ring_test >"$log" 2>&1; then
		(cd "$st/ring" && ./ring_test) 2>&1 | tee "$log"
		tot=$(grep -E '^# Totals: pass:' "$log" | tail -n 1)
		if [ -n "$tot" ]; then
			p=$(sed -E 's/^# Totals: pass:([0-9]+).*/\1/' <<< "$tot")
			f=$(sed -E 's/.* fail:([0-9]+).*/\1/' <<< "$tot")
			s=$(sed -E 's/.* skip:([0-9]+).*/\1/' <<< "$tot")
			add "$p" "$f" "$s"
		else
			echo "not ok - ring_test printed no totals"
			add 0 1
		fi
	else
		cat "$log"
		echo "not ok - ring_test build"
		add 0 1
	fi
fi

echo "== VM suite"
make -s modules && "$st/vm/run.sh" 2>&1 | tee "$log"
count "$log" "the VM suite"

echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
