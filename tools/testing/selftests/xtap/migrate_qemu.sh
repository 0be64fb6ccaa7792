#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Live migration of a guest on xtap while traffic flows host -> guest.
#
# One nested (L2) Linux guest is attached to one xtap device with
# -netdev tap,fd=N,vhost=on,vhostfd=M.  The host (vm/nested/peer.py
# --stream) sends the guest a stream of random bytes, which the guest keeps
# in a file in its initramfs (guest RAM), and goes on sending for as long
# as the migration lasts: only once the source QEMU's "info migrate" says
# "completed" is the stream told to stop, and it then sends a last 64 KB and
# closes.  Its length is thus decided after the move.
#
# The source QEMU migrates the running guest (pre-copy, bandwidth-limited so
# that it takes seconds of traffic) into a file and quits; a second QEMU,
# attached to the same xtap device through a newly opened queue node and
# /dev/vhost-xtap fd, resumes it with -incoming from that file.  The guest
# then reads the stream to its end, reports its sha256, and pings the host.
#
# Every page xtap writes into guest memory during the pre-copy (receive
# buffers, used ring) must be in QEMU's dirty log, else the target gets the
# page as it was when it was last copied: bytes that were in flight at the
# switch-over (in the ring or the guest socket's receive queue, i.e. in
# buffers xtap filled) reach the file stale and the sha256 differs.
#
# Environment:
#   XTAP_E2E_BACKEND=tun       the same over upstream tun + vhost-net (the
#                              reference: the test is right); macvtap too
#   XTAP_MIGRATE_LOG_BROKEN=1  load the debug xtap.ko (XTAP_DEBUG_KO) with
#                              log_broken=1, which never sets a dirty bit:
#                              the run must then FAIL (the test can fail);
#                              the normal build is loaded again at the end
#   XTAP_MIGRATE_SECS          bound on the nested run (default 2100)
#   XTAP_MIGRATE_BW            migration bandwidth (default 8M)
#   XTAP_MIGRATE_HOLD=SECS     (experimental, default 0: off) keep the
#                              pre-copy iterating for SECS after its bulk
#                              pass (downtime-limit 1 ms until then) while
#                              the host paces the stream at
#                              XTAP_MIGRATE_RATE B/s (default 16384), so
#                              that xtap writes receive buffers after the
#                              bulk pass has copied their pages: a missing
#                              dirty bit then leaves them stale (see
#                              xtap.rst, "Live migration test")
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"
# shellcheck source-path=SCRIPTDIR source=vm/nested/lib.sh
. "$dir/vm/nested/lib.sh"

require_root
backend=${XTAP_E2E_BACKEND:-xtap}
broken=${XTAP_MIGRATE_LOG_BROKEN:-0}
swapped=0
cleanup() {
	nested_cleanup
	if [ "$swapped" = 1 ]; then
		xtap_loaded && rmmod xtap
		insmod "$XTAP_KO" dyndbg=+p
	fi
}
trap cleanup EXIT

if [ "$broken" = 1 ]; then
	[ "$backend" = xtap ] || skip_all "XTAP_MIGRATE_LOG_BROKEN=1 is for the xtap backend"
	if [ ! -f "${XTAP_DEBUG_KO:-}" ] || [ ! -f "$XTAP_KO" ]; then
		xtap_missing "XTAP_DEBUG_KO and XTAP_KO must name the debug and normal xtap.ko"
	fi
	if xtap_loaded; then
		rmmod xtap || xtap_missing "unload xtap to load the debug build"
	fi
	swapped=1
	insmod "$XTAP_DEBUG_KO" log_broken=1 ||
		xtap_missing "load the debug build with log_broken=1"
	check "debug xtap.ko loaded with log_broken=1" \
		grep -q Y /sys/module/xtap/parameters/log_broken
	echo "# xtap's dirty logging is broken on purpose: this run must FAIL"
fi

nested_prepare "$backend" || skip_all "$NL_WHY"
echo "# backend $backend, L2 kernel $NL_KERNEL, initramfs $NL_INITRD"

name=xtm
[ "$backend" = macvtap ] && name=mvm
[ "$backend" = tun ] && name=tnm
NL_STREAM=$NL_WORK/stream
mkdir -p "$NL_STREAM"
if ! nested_add_nic "$name" 0 1; then
	if [ "$backend" = xtap ]; then
		xtap_missing "create an xtap device"
	fi
	skip_all "cannot create a $backend device"
fi
node=${NL_NODE[0]}
vnode=/dev/vhost-xtap
[ "$backend" = macvtap ] && vnode=/dev/vhost-net
NL_APPEND="xt_ping_after=1 xt_stream=1"
hmp="$NL_NESTED_DIR/hmp.py"
state=$NL_WORK/state
mlog=$NL_WORK/migration
bw=${XTAP_MIGRATE_BW:-8M}
hold=${XTAP_MIGRATE_HOLD:-0}
# shellcheck disable=SC2034
[ "$hold" -gt 0 ] && NL_STREAM_RATE=${XTAP_MIGRATE_RATE:-16384}

# Bytes of the stream the guest has acknowledged so far.
acked() {
	local a
	a=$(sed -n 's/.*acked=\([0-9]*\).*/\1/p' "$NL_STREAM/progress-0" 2>/dev/null)
	echo "${a:-0}"
}

# The guest's NIC; for xtap and macvtap on queue fd $1 and vhost fd $2 (new
# descriptors for each QEMU); tun has no node per device: QEMU opens the tap
# by name and /dev/vhost-net itself.
nic_args() {
	if [ "$backend" = tun ]; then
		echo "-netdev tap,id=n0,ifname=$name,script=no,downscript=no,vhost=on"
	else
		echo "-netdev tap,id=n0,fd=$1,vhost=on,vhostfd=$2"
	fi
	echo "-device virtio-net-pci,netdev=n0,mac=$(nested_mac 0),romfile="
}

# running PID: the process exists and is no zombie (kill -0 succeeds on
# an exited child this shell has not waited for).
running() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}

# The test's own output, for progress lines while the nested run goes on
# (nested_run sends the CMD's output to qemu.log).
exec {out}>&1
# say TEXT: into the migration log, and at once to the test's output.
say() {
	echo "$*" >> "$mlog"
	echo "# migration [$((SECONDS - nl_t0))s]: $*" >&"$out"
}

# QEMU's queue and vhost descriptors.  QEMU runs an exec: migration command
# through /bin/sh (dash), which inherits them: the command must close them,
# else it keeps the source's queue open (the device has one) and the target
# cannot open it.  dash takes single-digit descriptors only in redirections
# ("10>&-" is the word 10 and then ">&-", which closes standard output), so
# they are fixed at 8 and 9.  The source's command writes the state under
# a temporary name and renames it once cat has written all of it: the
# target starts only when the whole file is there.
tfd=8
vfd=9
close=""
[ "$backend" != tun ] && close="exec $tfd>&- $vfd>&-; "

# holders FILE: the processes that have FILE open, as PID:COMM.
holders() {
	local p h=""
	for p in /proc/[0-9]*; do
		find "$p/fd" -lname "$1" 2>/dev/null | grep -q . &&
			h+=" ${p#/proc/}:$(cat "$p/comm" 2>/dev/null)"
	done
	echo "${h:- none}"
}

# reopen: the target's descriptors 8 and 9, new opens of the queue node and
# /dev/vhost-xtap.  The second run in the VM found the node still busy
# (EBUSY) right after the source QEMU had been reaped: retry for a while,
# say how long it took, and who held the node if it never frees.
reopen() {
	local i
	exec 8>&- 9>&-
	for ((i = 0; i < 60; i++)); do
		{ exec 8<>"$node"; } 2>/dev/null && break
		sleep 1
	done
	[ "$i" -gt 0 ] && say "queue node busy for ${i}s after the source quit; held by:$(holders "$node")"
	[ "$i" -lt 60 ] || return 1
	exec 9<>"$vnode"
}

# What the target's monitor, the stream and the device show, every 30 s
# while the target QEMU (PID $1) runs: one line, and now and then the state
# of the guest's virtqueues as QEMU and the vhost backend see them, the
# device's queue in sysfs and its ethtool counters.  So a run whose moved
# guest goes quiet shows where its traffic stopped.
vdev="/machine/peripheral-anon/device[0]/virtio-backend"
# tasks DIR...: each task as COMM:STATE:WCHAN (a QEMU thread stuck in an
# ioctl shows here, where its monitor would not answer).
tasks() {
	local t c st w
	for t in "$@"; do
		c=$(cat "$t/comm" 2>/dev/null) || continue
		st=$(sed 's/.*) \(.\).*/\1/' "$t/stat" 2>/dev/null)
		w=$(cat "$t/wchan" 2>/dev/null)
		printf ' %s:%s:%s' "${c// /_}" "$st" "${w:-0}"
	done
}
watch_target() {
	local n=0 s=/sys/class/net/$name/statistics vq st pinged=0
	sleep 5
	while running "$1"; do
		say "target threads:$(tasks /proc/"$1"/task/*)"
		st=$(timeout 60 python3 "$hmp" "$NL_WORK/dst.mon" "info status" 2>&1 | tr '\n' ' ')
		# For the record: does the moved guest answer L1 at once, as
		# soon as it runs (not while the target still loads its state)?
		if [ "$pinged" = 0 ] && [[ $st == *running* ]]; then
			ping -c 5 -w 300 "$(nested_guest_ip 0)" > "$NL_WORK/ping_l1" 2>&1 &
			pinged=1
		fi
		say "target: ${st% } / stream $(cat "$NL_STREAM/progress-0" 2>/dev/null) /" \
			"$name rx/tx $(cat "$s/rx_packets")/$(cat "$s/tx_packets")" \
			"dropped $(cat "$s/rx_dropped")/$(cat "$s/tx_dropped")"
		case $n in
		2 | 6 | 14 | 30)
			{
				for vq in 0 1; do
					timeout 120 python3 "$hmp" "$NL_WORK/dst.mon" \
						"info virtio-queue-status $vdev $vq" \
						"info virtio-vhost-queue-status $vdev $vq"
				done
				timeout 60 python3 "$hmp" "$NL_WORK/dst.mon" "info registers"
				echo "workers:$(tasks /proc/[0-9]*/task/* | tr ' ' '\n' | grep '^xtap-' | tr '\n' ' ')"
				grep -r . "/sys/class/net/$name/xtap/queues/" 2>/dev/null
				ethtool -S "$name" 2>/dev/null
				grep -H . /proc/"$1"/task/*/stack 2>/dev/null
			} 2>&1 | grep -v -E '^ *$' | head -n 300 | sed "s/^/# target [$n]: /" >&"$out"
			;;
		esac
		n=$((n + 1))
		sleep 30
	done
}

# nested_run's CMD: the source QEMU, the migration, then (exec) the target.
migrate_flow() {
	local spid="" t st a0 a1 t0 end im ds held="" dl=()
	# nested_run kills this shell on timeout: take the source along.
	trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; exit 1' TERM
	[ "$backend" != tun ] && { exec 8<>"$node" 9<>"$vnode" || exit 1; }
	# shellcheck disable=SC2046
	qemu-system-x86_64 "${NL_QEMU[@]}" $(nic_args "$tfd" "$vfd") \
		-monitor "unix:$NL_WORK/src.mon,server=on,wait=off" &
	spid=$!
	# The guest boots, pings, then reads the stream: migrate once it
	# has acknowledged 64 KB of it.
	until [ "$(acked)" -ge 65536 ]; do
		running "$spid" || { say "source ended before the migration"; exit 1; }
		sleep 1
	done
	a0=$(acked)
	say "start acked=$a0"
	[ "$hold" -gt 0 ] && dl=("migrate_set_parameter downtime-limit 1")
	python3 "$hmp" "$NL_WORK/src.mon" "migrate_set_parameter max-bandwidth $bw" \
		"${dl[@]}" "migrate -d \"exec:${close}cat > $state.part && mv $state.part $state\"" >> "$mlog"
	# "info migrate" says "Migration status: failed (why)" on failure.
	st=""
	t0=$SECONDS
	end=$((SECONDS + 900))
	while [ "$SECONDS" -lt "$end" ]; do
		running "$spid" || { st="source gone"; break; }
		im=$(python3 "$hmp" "$NL_WORK/src.mon" "info migrate")
		st=$(sed -n 's/^Migration status: //p' <<< "$im")
		# XTAP_MIGRATE_HOLD: from the second dirty sync on (the bulk
		# pass is over), hold for $hold s, then let it converge.
		if [ "$hold" -gt 0 ] && [ "$held" != over ]; then
			ds=$(sed -n 's/^dirty sync count: //p' <<< "$im")
			if [ -z "$held" ] && [ "${ds:-0}" -ge 2 ]; then
				held=$SECONDS
				say "bulk pass over (dirty sync $ds) acked=$(acked): holding ${hold}s"
			fi
			if [ -n "$held" ] && [ $((SECONDS - held)) -ge "$hold" ]; then
				python3 "$hmp" "$NL_WORK/src.mon" \
					"migrate_set_parameter downtime-limit 300" >> "$mlog"
				say "hold over (dirty sync $ds) acked=$(acked): downtime-limit 300 ms"
				held=over
			fi
		fi
		case $st in
		completed | failed* | cancelled*) break ;;
		esac
		[ $(((SECONDS - t0) % 30)) -lt 3 ] && say "status ${st:-?} acked=$(acked)"
		sleep 2
	done
	t=$((SECONDS - t0))
	a1=$(acked)
	# Only now may the stream end: the target receives its last bytes.
	[ "$st" = completed ] && touch "$NL_STREAM/stop-0"
	say "status $st after ${t}s"
	say "end acked=$a1"
	{
		python3 "$hmp" "$NL_WORK/src.mon" "info migrate"
		python3 "$hmp" "$NL_WORK/src.mon" quit
	} >> "$mlog"
	for ((t = 0; t < 60; t++)); do
		running "$spid" || break
		sleep 1
	done
	running "$spid" && { say "source did not quit"; kill "$spid"; }
	wait "$spid"
	spid=""
	[ "$st" = completed ] || exit 1
	for ((t = 0; t < 60; t++)); do
		[ -f "$state" ] && break
		sleep 1
	done
	say "source quit; state file $(stat -c %s "$state" 2>/dev/null) B; starting the target"
	# The target gets the same device through new descriptors.
	[ "$backend" != tun ] && { reopen || exit 1; }
	# The watcher runs without the target's descriptors, which would keep
	# its queue open.
	t=$BASHPID
	( exec 8>&- 9>&-; watch_target "$t" ) &
	# shellcheck disable=SC2046
	exec qemu-system-x86_64 "${NL_QEMU[@]}" $(nic_args "$tfd" "$vfd") \
		-monitor "unix:$NL_WORK/dst.mon,server=on,wait=off" \
		-incoming "exec:${close}cat $state"
}

nested_run "${XTAP_MIGRATE_SECS:-2100}" migrate_flow
echo "# L2: QEMU start to /init ${NL_BOOT_SECS:-?}s, whole run ${NL_RUN_SECS}s, status $NL_STATUS"
[ -f "$mlog" ] && grep -v -E '^ *$' "$mlog" | grep -v '^target: ' | head -n 80 | sed 's/^/# migration: /'

a0=$(sed -n 's/^start acked=//p' "$mlog" 2>/dev/null)
a1=$(sed -n 's/^end acked=//p' "$mlog" 2>/dev/null)
check "migration completed" grep -q '^status completed' "$mlog"
# Traffic flowed while the guest moved: the guest acknowledged bytes of
# the stream before the migration began and more while it ran.
check "host -> guest traffic during the migration (guest acked ${a0:-?} B at start, ${a1:-?} B at completion)" \
	test "${a0:-0}" -gt 0 -a "${a1:-0}" -gt "${a0:-0}"
check "L2 guest ran to the end on the target (QEMU exit ${NL_QRC:-?})" \
	test "$NL_STATUS" = ok -a "${NL_QRC:-1}" = 0
bad=$(grep -i -E 'vhost|falling back|error|fail|abort|assert' "$NL_WORK/qemu.log")
if [ -z "$bad" ]; then
	ok "QEMU logs have no vhost error and no userspace fallback"
else
	fail "QEMU logs have no vhost error and no userspace fallback"
	while IFS= read -r l; do echo "# qemu: $l"; done <<< "$bad"
fi
if [ "$NL_STATUS" != ok ]; then
	echo "# ---- L2 console (last 40 lines) ----"
	tr -d '\r' < "$NL_WORK/console" | tail -n 40 | sed 's/^/# /'
	echo "# ---- QEMU log (last 20 lines) ----"
	tail -n 20 "$NL_WORK/qemu.log" | sed 's/^/# /'
fi
echo "# L1 pings the moved guest: $(grep -E 'transmitted|rtt' "$NL_WORK/ping_l1" 2>/dev/null | tr '\n' ' ')"
grep '^peer' "$NL_WORK/peer" | sed 's/^/# /'

read -r pb ps <<< "$(nested_peer 0 h2g)"
why=$(sed -n 's/^peer nic=0 dir=h2g .* stop=//p' "$NL_WORK/peer")
gb=$(nested_val 0 h2g_bytes)
gs=$(nested_val 0 h2g_sha256)
echo "# stream: host sent ${pb:-?} B (sha256 ${ps:-?}, ended by ${why:-?}), guest got ${gb:-?} B (sha256 ${gs:-?})"
check "the stream ended after the migration had completed (not at its size cap)" \
	test "$why" = file
check "guest received the stream's bytes after the move (${pb:-?} B sent, ${a1:-?} B acked at completion)" \
	test "${pb:-0}" -gt "${a1:-0}" -a "${gb:-x}" = "${pb:-y}"
check "host -> guest stream across the migration, sha256 matches" \
	test -n "$ps" -a "$ps" = "$gs" -a "${gb:-x}" = "${pb:-y}"
check "guest pings the host after the migration" \
	test "$(nested_val 0 ping_after)" = ok
ksft_finish
