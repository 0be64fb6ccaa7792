#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lib.sh's own rules, which every shell test relies on: a skip after a
# failure still fails the script; xtap missing is a failure under
# XTAP_REQUIRED=1 and a skip without it; a plain skip is a skip.
dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

# run_lib REQUIRED SNIPPET: run SNIPPET in a fresh bash that sourced
# lib.sh, with XTAP_REQUIRED=REQUIRED (only 1 means required); prints its
# exit status, then its "# Totals" line (if any).
run_lib() {
	local out rc
	out=$(XTAP_REQUIRED=$1 bash -c ". '$dir/lib.sh'; $2" 2>&1)
	rc=$?
	echo "$rc $(echo "$out" | grep '^# Totals')"
}

r=$(run_lib 0 'fail one; skip_all "something is missing"')
check "a skip after a failure fails the script (got: $r)" \
	test "${r%% *}" = 1
case $r in
*"pass:0 fail:1 "*) ok "its totals keep the failure" ;;
*) fail "its totals keep the failure (got: $r)" ;;
esac
r=$(run_lib 0 'ok one; skip_all "something is missing"')
check "a skip after passes is a skip (got: $r)" test "${r%% *}" = 4
r=$(run_lib 1 'ok one; xtap_missing "xtap not loaded"')
check "xtap missing under XTAP_REQUIRED=1 fails (got: $r)" \
	test "${r%% *}" = 1
case $r in
*"pass:1 fail:1 "*) ok "its totals count the failure" ;;
*) fail "its totals count the failure (got: $r)" ;;
esac
r=$(run_lib 0 'xtap_missing "xtap not loaded"')
check "xtap missing without XTAP_REQUIRED skips (got: $r)" \
	test "${r%% *}" = 4
r=$(run_lib 1 'xtap_problem "no attach"; ok two; ksft_finish')
check "one xtap problem under XTAP_REQUIRED=1 fails (got: $r)" \
	test "${r%% *}" = 1
r=$(run_lib 0 'xtap_problem "no attach"; ok two; ksft_finish')
case $r in
"0 "*"pass:1 fail:0 "*"skip:1 "*) ok "one xtap problem without XTAP_REQUIRED is a skip" ;;
*) fail "one xtap problem without XTAP_REQUIRED is a skip (got: $r)" ;;
esac
ksft_finish
