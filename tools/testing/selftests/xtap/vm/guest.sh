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
# The boot is over: vm/run.sh stops watching for a stalled boot.
out "xtap-vm-started"

ST_DIR=$XTAP_TOP/tools/testing/selftests/xtap
export XTAP_KO XTAP_DEBUG_KO XTAP_TOP XTAP_TIMEOUT_MULT XTEST_OMIT KSFT_MACHINE_SLOW=yes
hostname xtapvm 2>/dev/null
ip link set lo up
# A nested guest boots the installed Debian kernel, whatever this VM runs.
export VM_KERNEL_VER=$XTAP_HOST_KVER

# The debug kernel has no /lib/modules/<release> on the host: give it one
# (a tmpfs over /lib/modules that keeps the host's own directories) with
# its modules.builtin, so `modprobe tun` and the like succeed.
kv=$(uname -r)
if [ -n "${XTAP_BUILTINS:-}" ] && [ ! -d "/lib/modules/$kv" ]; then
	mkdir -p /run/xtap-lmods
	mount --bind /lib/modules /run/xtap-lmods
	mount -t tmpfs -o mode=755 lmods /lib/modules
	for d in /run/xtap-lmods/*; do
		mkdir -p "/lib/modules/${d##*/}"
		mount --bind "$d" "/lib/modules/${d##*/}"
	done
	mkdir -p "/lib/modules/$kv"
	cp "$XTAP_BUILTINS"/* "/lib/modules/$kv/"
	touch "/lib/modules/$kv/modules.order"
	depmod "$kv" || out "# vm: depmod $kv failed"
fi

# Everything the VM must not see in its kernel log (see vm/run.sh).
bad_re='WARNING:|BUG:|Oops|refcount_t:|lockup|hung_task|KASAN|UBSAN|suspected memory leak|unreferenced object|ODEBUG|Call Trace:'
kernel_log_bad() {
	dmesg | grep -v -E 'Command line:|Kernel command line:' | grep -E "$bad_re"
}

# Under a kernel with kmemleak (the debug kernel of `make test-debug`),
# forget what boot allocated: only what leaks from here on is reported.
kmemleak=/sys/kernel/debug/kmemleak
[ -e $kmemleak ] && ! echo clear > $kmemleak 2>/dev/null && kmemleak=""
[ -e "$kmemleak" ] || kmemleak=""

# Load with dynamic debug on, so the "created"/"destroyed" lifetime pairs
# land in dmesg for the leak audit.
if ! insmod "$XTAP_KO" dyndbg=+p >&3 2>&3; then
	out "vm: insmod $XTAP_KO failed"
	if [ "$XTAP_MODE" = cmd ]; then
		out "xtap-vm-result rc=1"
	else
		out "1..1"
		out "not ok 1 selftests: xtap: load xtap"
		out "xtap-vm-result rc=1 pass=0 fail=1 skip=0"
	fi
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
# shellcheck source-path=SCRIPTDIR source=count.sh
. "$ST_DIR/vm/count.sh"
mult=${XTAP_TIMEOUT_MULT:-1}
# A test's limit: its line in vm/timeouts, else settings' "timeout=".
timeout_of() {
	local t
	t=$(awk -v t="$1" '$1 == t { print $2 }' vm/timeouts 2>/dev/null | tail -n 1)
	[ -n "$t" ] || t=$(sed -n 's/^timeout=//p' settings 2>/dev/null | tail -n 1)
	echo $(( ${t:-45} * mult ))
}

# Each test runs in its own session (so its own process group) and, when
# cgroup2 is there, its own cgroup: on timeout, and after it exits, whatever
# it left running (nested QEMU, helpers, even ones that called setsid) is
# killed, so nothing holds xtap's fds into later tests.
cgroot=""
if mkdir -p /sys/fs/cgroup 2>/dev/null &&
   { [ -f /sys/fs/cgroup/cgroup.procs ] ||
     mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null; } &&
   mkdir -p /sys/fs/cgroup/xtap-tests 2>/dev/null; then
	cgroot=/sys/fs/cgroup/xtap-tests
fi

# group_procs PGID CGROUP: the user processes of a test still alive.
group_procs() {
	{
		ps -e -o pid=,pgid= 2>/dev/null | awk -v g="$1" '$2 == g { print $1 }'
		[ -n "$2" ] && cat "$2/cgroup.procs" 2>/dev/null
	} | sort -u
}

# kill_group PGID CGROUP: SIGKILL all of a test's processes, wait until gone.
kill_group() {
	for _ in $(seq 50); do
		kill -KILL -- "-$1" 2>/dev/null
		[ -n "$2" ] && echo 1 > "$2/cgroup.kill" 2>/dev/null
		[ -z "$(group_procs "$1" "$2")" ] && return 0
		sleep 0.2
	done
	return 1
}

# run_test PROG TIMEOUT LOG: run ./PROG, kill its whole group after TIMEOUT
# seconds (SIGTERM, then SIGKILL 10 s later); sets rc (124 on timeout, as
# timeout(1)) and left (processes it left behind).
run_test() {
	local prog=$1 to=$2 log=$3 cg="" pid deadline
	if [ -n "$cgroot" ]; then
		cg=$cgroot/${prog//\//_}
		rmdir "$cg" 2>/dev/null
		mkdir -p "$cg" 2>/dev/null || cg=""
	fi
	# shellcheck disable=SC2016
	setsid bash -c '[ -z "$1" ] || echo $$ > "$1/cgroup.procs"; shift; exec "$@"' \
		run_test "$cg" "./$prog" </dev/null >"$log" 2>&1 &
	pid=$!
	deadline=$((SECONDS + to))
	rc=""
	while [ $SECONDS -lt "$deadline" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.5
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM -- "-$pid" 2>/dev/null
		deadline=$((SECONDS + 10))
		while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt "$deadline" ]; do
			sleep 0.5
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=124
	else
		wait "$pid"
		rc=$?
	fi
	left=$(group_procs "$pid" "$cg" | wc -l)
	kill_group "$pid" "$cg" || out "# vm: cannot kill what $prog left behind"
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	return 0
}

if [ -n "$XTAP_TESTS" ]; then
	read -r -a tests <<< "$XTAP_TESTS"
else
	read -r -a tests <<< "$(make -s --no-print-directory -C "$ST_DIR" print-tests)"
fi

pass=0 fail=0 skip=0 n=0
# result OK|FAIL TEXT: one runner check, counted once.
result() {
	n=$((n + 1))
	if [ "$1" = OK ]; then
		pass=$((pass + 1))
		out "ok $n selftests: xtap: $2"
	else
		fail=$((fail + 1))
		out "not ok $n selftests: xtap: $2"
	fi
}
tally() { out "xtap-vm-tally pass=$pass fail=$fail skip=$skip"; }

out "TAP version 13"
if [ ${#tests[@]} = 0 ]; then
	# Nothing to run is a failure, never "all passed".
	out "1..1"
	result FAIL "the test list is empty"
	out "xtap-vm-result rc=1 pass=$pass fail=$fail skip=$skip"
	exit 0
fi
# The tests, the unload, the lifetime audit and, with kmemleak, its scan.
extra=2
[ -n "$kmemleak" ] && extra=3
out "1..$(( ${#tests[@]} + extra ))"
for t in "${tests[@]}"; do
	to=$(timeout_of "$t")
	out "# selftests: xtap: $t"
	# A test may unload xtap; every later test expects it loaded.  When
	# it cannot be loaded again, the test is not run and fails.
	if ! grep -q '^xtap ' /proc/modules; then
		if ! insmod "$XTAP_KO" dyndbg=+p >&3 2>&3; then
			result FAIL "$t # not run: reloading xtap failed"
			tally
			continue
		fi
		out "# vm: xtap reloaded"
	fi
	n=$((n + 1))
	start=$SECONDS
	log=/tmp/ksft-${t//\//_}.log
	run_test "$t" "$to" "$log"
	secs=$((SECONDS - start))
	sed 's/^/# /' "$log" >&3
	[ "$left" -gt 0 ] && out "# vm: $t left $left process(es) behind; killed"
	count_test_log "$log" "$rc"
	[ -n "$cnt_why" ] && out "# vm: $t: $cnt_why"
	pass=$((pass + cnt_p)) fail=$((fail + cnt_f)) skip=$((skip + cnt_s))
	if [ "$rc" = 124 ]; then
		out "not ok $n selftests: xtap: $t # TIMEOUT $to seconds"
	elif [ "$cnt_f" != 0 ]; then
		out "not ok $n selftests: xtap: $t # exit=$rc time=${secs}s"
	elif [ "$rc" = 4 ] || { [ "$cnt_s" != 0 ] && [ "$cnt_p" = 0 ]; }; then
		out "ok $n selftests: xtap: $t # SKIP time=${secs}s"
	else
		out "ok $n selftests: xtap: $t # time=${secs}s"
	fi
	tally
done

# Unload: must succeed and leave no object behind.
if rmmod xtap >&3 2>&3; then
	result OK "unload xtap"
else
	result FAIL "unload xtap"
fi
created=$(dmesg | grep -c -E 'xtap: .* created$')
destroyed=$(dmesg | grep -c -E 'xtap: .* destroyed$')
bad=$(kernel_log_bad | head -n 20)
if [ "$created" = "$destroyed" ] && [ -z "$bad" ]; then
	result OK "lifetimes balanced and kernel log clean # created=$created destroyed=$destroyed"
else
	out "# created=$created destroyed=$destroyed"
	[ -n "$bad" ] && printf '# %s\n' "$bad" >&3
	result FAIL "lifetimes balanced and kernel log clean"
fi
# kmemleak: scan after the unload; any unreferenced object fails.  An
# object is reported only once it is older than kmemleak's minimum age (5
# s) and found unreferenced by a scan, hence the wait and the two scans.
if [ -n "$kmemleak" ]; then
	sleep 6
	echo scan > $kmemleak
	echo scan > $kmemleak
	leaks=$(cat $kmemleak)
	if [ -z "$leaks" ]; then
		result OK "kmemleak: no unreferenced object"
	else
		out "# kmemleak: $(echo "$leaks" | grep -c '^unreferenced object') unreferenced object(s):"
		echo "$leaks" | head -n 200 | sed 's/^/# /' >&3
		result FAIL "kmemleak: no unreferenced object"
	fi
fi
rc=0
[ $fail = 0 ] || rc=1
out "xtap-vm-result rc=$rc pass=$pass fail=$fail skip=$skip"
