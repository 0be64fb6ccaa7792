#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (chrooted into the host root, read-only over 9p).
# Loads xtap.ko, runs the job given by vm/run.sh (the whole suite or one
# command), unloads xtap and reports on the second serial port (/dev/ttyS1),
# ending with a line "xtap-vm-result rc=N [pass=N fail=N skip=N]".
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TMPDIR=/tmp
# shellcheck disable=SC1090
. "$1"

stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3>/dev/ttyS1
out() { printf '%s\n' "$*" >&3; }

ST_DIR=$XTAP_TOP/tools/testing/selftests/xtap
export XTAP_KO XTAP_DEBUG_KO XTAP_TOP XTAP_TIMEOUT_MULT KSFT_MACHINE_SLOW=yes
hostname xtapvm 2>/dev/null
ip link set lo up

# Everything the VM must not see in its kernel log (see vm/run.sh).
bad_re='WARNING:|BUG:|Oops|refcount_t:|lockup|hung_task|KASAN|UBSAN|kmemleak|Call Trace:'
kernel_log_bad() {
	dmesg | grep -v -E 'Command line:|Kernel command line:' | grep -E "$bad_re"
}

# Load with dynamic debug on, so the "created"/"destroyed" lifetime pairs
# land in dmesg for the leak audit.
if ! insmod "$XTAP_KO" dyndbg=+p >&3 2>&3; then
	out "vm: insmod $XTAP_KO failed"
	out "xtap-vm-result rc=1 pass=0 fail=1 skip=0"
	exit 0
fi
# xtap is loaded: from here on a test that finds it missing fails instead
# of skipping (lib.sh require_xtap, lib/xtest.c).
export XTAP_REQUIRED=1

if [ "$XTAP_MODE" = cmd ]; then
	cd "$ST_DIR" || exit 1
	"${XTAP_CMD[@]}" >&3 2>&3 </dev/null
	rc=$?
	if grep -q '^xtap ' /proc/modules && ! rmmod xtap >&3 2>&3; then
		out "vm: rmmod xtap failed"
		[ $rc = 0 ] && rc=1
	fi
	out "xtap-vm-result rc=$rc"
	exit 0
fi

cd "$ST_DIR" || exit 1
mult=${XTAP_TIMEOUT_MULT:-1}
# A test's limit: its line in vm/timeouts, else settings' "timeout=".
timeout_of() {
	local t
	t=$(awk -v t="$1" '$1 == t { print $2 }' vm/timeouts 2>/dev/null | tail -n 1)
	[ -n "$t" ] || t=$(sed -n 's/^timeout=//p' settings 2>/dev/null | tail -n 1)
	echo $(( ${t:-45} * mult ))
}

if [ -n "$XTAP_TESTS" ]; then
	read -r -a tests <<< "$XTAP_TESTS"
else
	read -r -a tests <<< "$(make -s --no-print-directory -C "$ST_DIR" print-tests)"
fi

pass=0 fail=0 skip=0 n=0
out "TAP version 13"
out "1..$(( ${#tests[@]} + 2 ))"
for t in "${tests[@]}"; do
	n=$((n + 1))
	to=$(timeout_of "$t")
	out "# selftests: xtap: $t"
	start=$(date +%s)
	log=/tmp/ksft-$t.log
	timeout --foreground -k 10 "$to" "./$t" </dev/null >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	sed 's/^/# /' "$log" >&3
	# Harness programs report their own totals; count their subtests.
	tot=$(grep -E '^# Totals: pass:[0-9]+ fail:[0-9]+' "$log" | tail -n 1)
	if [ -n "$tot" ]; then
		p=$(echo "$tot" | sed -E 's/^# Totals: pass:([0-9]+).*/\1/')
		f=$(echo "$tot" | sed -E 's/.* fail:([0-9]+).*/\1/')
		s=$(echo "$tot" | sed -E 's/.* skip:([0-9]+).*/\1/')
		e=$(echo "$tot" | sed -E 's/.* error:([0-9]+).*/\1/')
		[ "$e" = "$tot" ] && e=0
		f=$((f + e))
		if [ $rc != 0 ] && [ $rc != 4 ] && [ "$f" = 0 ]; then
			f=1
		fi
	else
		p=0 f=0 s=0
		case $rc in
		0) p=1 ;;
		4) s=1 ;;
		*) f=1 ;;
		esac
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	case $rc in
	0)	if [ "$f" = 0 ]; then
			out "ok $n selftests: xtap: $t # time=${secs}s"
		else
			out "not ok $n selftests: xtap: $t # time=${secs}s"
		fi ;;
	4) out "ok $n selftests: xtap: $t # SKIP time=${secs}s" ;;
	124|137) out "not ok $n selftests: xtap: $t # TIMEOUT $to seconds" ;;
	*) out "not ok $n selftests: xtap: $t # exit=$rc time=${secs}s" ;;
	esac
	# A test may unload xtap; every later test expects it loaded.
	if ! grep -q '^xtap ' /proc/modules; then
		insmod "$XTAP_KO" dyndbg=+p >&3 2>&3 || out "# vm: reloading xtap failed"
	fi
done

# Unload: must succeed and leave no object behind.
n=$((n + 1))
if rmmod xtap >&3 2>&3; then
	out "ok $n selftests: xtap: unload xtap"
	pass=$((pass + 1))
else
	out "not ok $n selftests: xtap: unload xtap"
	fail=$((fail + 1))
fi
n=$((n + 1))
created=$(dmesg | grep -c -E 'xtap: .* created$')
destroyed=$(dmesg | grep -c -E 'xtap: .* destroyed$')
bad=$(kernel_log_bad | head -n 20)
if [ "$created" = "$destroyed" ] && [ -z "$bad" ]; then
	out "ok $n selftests: xtap: lifetimes balanced and kernel log clean # created=$created destroyed=$destroyed"
	pass=$((pass + 1))
else
	out "# created=$created destroyed=$destroyed"
	[ -n "$bad" ] && printf '# %s\n' "$bad" >&3
	out "not ok $n selftests: xtap: lifetimes balanced and kernel log clean"
	fail=$((fail + 1))
fi
rc=0
[ $fail = 0 ] || rc=1
out "xtap-vm-result rc=$rc pass=$pass fail=$fail skip=$skip"
