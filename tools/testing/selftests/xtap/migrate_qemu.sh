#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Live migration of a guest on xtap while traffic flows host -> guest.
#
# A nested (L2) Linux guest is attached to one xtap device with
# -netdev tap,fd=N,vhost=on,vhostfd=M.  While the guest fetches 1 MB from
# the host over TCP, QEMU live-migrates it (pre-copy, bandwidth-limited so
# that it takes several seconds of traffic) into a file; the source quits
# and a second QEMU, attached to the same xtap device through freshly
# opened queue and vhost fds, resumes it with -incoming from that file.
# Then the guest sends the bytes back and pings the host again.  The bytes
# the guest received and the bytes it sent back must match what the host
# sent (sha256): a page xtap wrote during the migration without setting its
# dirty bit reaches the target stale and shows up as corrupted data, or as
# a broken ring.
#
# XTAP_E2E_BACKEND=macvtap runs the same over upstream macvtap + vhost-net
# (the reference).  XTAP_MIGRATE_SECS (default 1500) bounds the nested run.
# With a debug xtap.ko loaded with log_broken=1 (dirty
# bits never set) the test must fail.
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"
# shellcheck source-path=SCRIPTDIR source=vm/nested/lib.sh
. "$dir/vm/nested/lib.sh"

require_root
backend=${XTAP_E2E_BACKEND:-xtap}
trap nested_cleanup EXIT
nested_prepare "$backend" || skip_all "$NL_WHY"
echo "# backend $backend, L2 kernel $NL_KERNEL, initramfs $NL_INITRD"

kb=1024
name=xtm
vnode=/dev/vhost-xtap
if [ "$backend" = macvtap ]; then
	name=mvm
	vnode=/dev/vhost-net
fi
if ! nested_add_nic "$name" "$kb" 1; then
	fail "create a $backend device"
	ksft_finish
fi
node=${NL_NODE[0]}
NL_APPEND="xt_ping_after=1"
hmp="$NL_NESTED_DIR/hmp.py"
state=$NL_WORK/state
mlog=$NL_WORK/migration

# The guest's NIC on queue fd $1 and vhost fd $2.
nic_args() {
	echo "-netdev tap,id=n0,fd=$1,vhost=on,vhostfd=$2" \
	     "-device virtio-net-pci,netdev=n0,mac=$(nested_mac 0),romfile="
}

# nested_run's CMD: the source QEMU, the migration, then (exec) the target.
# QEMU runs an exec: migration command through a shell that inherits its
# descriptors: the command closes the queue and vhost fds, else it keeps the
# source's queue open (the device has one) and the target cannot open it.
migrate_flow() {
	local tfd vfd spid="" t st
	# nested_run kills this shell on timeout: take the source along.
	trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; exit 1' TERM
	exec {tfd}<>"$node" {vfd}<>"$vnode" || exit 1
	# shellcheck disable=SC2046
	qemu-system-x86_64 "${NL_QEMU[@]}" $(nic_args "$tfd" "$vfd") \
		-monitor "unix:$NL_WORK/src.mon,server=on,wait=off" &
	spid=$!
	# The guest pings, then starts fetching: migrate a few seconds later.
	until grep -q '^XT nic=0 ping=' "$NL_WORK/results"; do
		kill -0 "$spid" 2>/dev/null || { echo "source died" >> "$mlog"; exit 1; }
		sleep 1
	done
	sleep 5
	echo "start h2g_done=$(grep -c 'h2g_bytes=' "$NL_WORK/results")" >> "$mlog"
	python3 "$hmp" "$NL_WORK/src.mon" "migrate_set_parameter max-bandwidth 8M" \
		"migrate -d \"exec:cat > $state $tfd>&- $vfd>&-\"" >> "$mlog"
	st=""
	for ((t = 0; t < 600; t++)); do
		kill -0 "$spid" 2>/dev/null || { st="source gone"; break; }
		st=$(python3 "$hmp" "$NL_WORK/src.mon" "info migrate" |
			sed -n 's/^Migration status: //p')
		case $st in
		completed|failed|cancelled) break ;;
		esac
		sleep 1
	done
	{
		echo "status $st after ${t}s"
		python3 "$hmp" "$NL_WORK/src.mon" "info migrate"
		echo "end h2g_done=$(grep -c 'h2g_bytes=' "$NL_WORK/results")"
		python3 "$hmp" "$NL_WORK/src.mon" quit
	} >> "$mlog"
	wait "$spid"
	spid=""
	[ "$st" = completed ] || exit 1
	# For the record: does the moved guest answer at once?
	( sleep 10; ping -c 5 -w 300 "$(nested_guest_ip 0)" > "$NL_WORK/ping_l1" 2>&1 ) &
	# The target gets the same device through new descriptors.
	exec {tfd}>&- {vfd}>&-
	exec {tfd}<>"$node" {vfd}<>"$vnode" || exit 1
	# shellcheck disable=SC2046
	exec qemu-system-x86_64 "${NL_QEMU[@]}" $(nic_args "$tfd" "$vfd") \
		-incoming "exec:cat $state $tfd>&- $vfd>&-"
}

nested_run "${XTAP_MIGRATE_SECS:-1500}" migrate_flow
echo "# L2: whole run ${NL_RUN_SECS}s, status $NL_STATUS"
sed 's/^/# migration: /' "$mlog" 2>/dev/null | grep -v -E '^# migration: *$' | head -n 40

check "migration completed" grep -q '^status completed' "$mlog"
# Traffic flowed while the guest moved: the transfer began before the
# migration started and ended after it was over.
check "host -> guest transfer ran during the whole migration" \
	grep -q '^end h2g_done=0' "$mlog"
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

bytes=$((kb * 1024))
read -r pb ps <<< "$(nested_peer 0 h2g)"
gb=$(nested_val 0 h2g_bytes)
gs=$(nested_val 0 h2g_sha256)
check "host -> guest $kb KB across the migration, checksum matches" \
	test "${pb:-x}" = "$bytes" -a "${gb:-y}" = "$bytes" -a -n "$ps" -a "$ps" = "$gs"
read -r rb rs <<< "$(nested_peer 0 g2h)"
check "guest -> host $kb KB after the migration, checksum matches" \
	test "${rb:-x}" = "$bytes" -a -n "$rs" -a "$rs" = "$ps"
check "guest pings the host after the migration" \
	test "$(nested_val 0 ping_after)" = ok
ksft_finish
