#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: boot a real Linux guest (Debian's kernel, busybox initramfs) in
# a nested QEMU whose four virtio-net NICs are each attached to their own
# xtap device, exactly as a user would attach them:
#
#   a  -netdev tap,fd=N,vhost=on,vhostfd=M                 vhost, 4 MB each way
#   b  the same with poll-us=50                            busy polling
#   c  fds=A:B,vhostfds=C:D + mq=on, device with 2 queues  multiqueue
#   d  -netdev tap,fd=N (no vhost: QEMU reads and writes    userspace path
#      the queue node itself)
#
# Per NIC: the guest pings the host; bytes go host -> guest and back with
# checksums compared; the negotiated virtio features include checksum, TSO,
# mergeable buffers, EVENT_IDX and VERSION_1; the device's counters equal
# the guest's own (read by the guest once its traffic is over) frame for
# frame and byte for byte, per queue on the multiqueue NIC, with no drop
# but frames still queued when QEMU quits; QEMU has exactly two xtap workers
# per vhost fd.  QEMU's log must show no vhost error and no fallback to userspace
# virtio.  Only NIC a moves 4 MB each way (nested TCG moves tens to hundreds
# of KB/s); b, c and d move 512 KB each way.  Throughput and ping RTT are
# printed for the record, never asserted.
#
# XTAP_E2E_BACKEND=macvtap runs the same test over upstream macvtap +
# vhost-net (the reference the kit was proven with).
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"
# shellcheck source-path=SCRIPTDIR source=vm/nested/lib.sh
. "$dir/vm/nested/lib.sh"

require_root
require_cmd ethtool
backend=${XTAP_E2E_BACKEND:-xtap}
trap nested_cleanup EXIT
nested_prepare "$backend" || skip_all "$NL_WHY"
echo "# backend $backend, L2 kernel $NL_KERNEL, initramfs $NL_INITRD"

#             name  vhost poll-us queues KB    label
nics=(
	"a on  -  1 4096 vhost"
	"b on  50 1 512  vhost,poll-us=50"
	"c on  -  2 512  vhost,2-queue-pairs"
	"d off -  1 512  no-vhost"
)
pfx=xte
[ "$backend" = macvtap ] && pfx=mve
# xtap that cannot be set up is xtap's failure; macvtap's is a missing
# prerequisite of the reference run.
broken=xtap_missing
[ "$backend" = macvtap ] && broken=skip_all
label=()
vh=()
used=()
for spec in "${nics[@]}"; do
	read -r name vhost us q kb what <<< "$spec"
	[ "$us" = - ] && us=""
	i=$NL_N
	nested_add_nic "$pfx$name" "$kb" "$q" || $broken "cannot create a $backend device with $q queue pair(s)"
	label[i]="nic $name ($what)"
	vh[i]=$vhost
	# Probe first (QEMU paused, a few seconds): a device QEMU cannot
	# attach is reported with QEMU's own words, not as a broken boot; for
	# xtap under the suite it is a failure.
	if ! nested_preflight "$i" "$vhost" "$us"; then
		if [ "$vhost" = on ] && [ "$backend" = macvtap ]; then
			echo "# SKIP ${label[i]}: QEMU cannot attach it: $NL_WHY"
			KSFT_SKIP=$((KSFT_SKIP + 1))
		elif [ "$vhost" = on ]; then
			xtap_problem "${label[i]}: QEMU cannot attach it: $NL_WHY"
		else
			fail "${label[i]}: QEMU accepts the queue node ($NL_WHY)"
		fi
		continue
	fi
	nested_netdev "$i" "$vhost" "$us" || $broken "cannot open the nodes of ${label[i]}"
	used+=("$i")
done
[ ${#used[@]} -gt 0 ] || $broken "no NIC can be attached"

nested_run 1500 nested_qemu
echo "# L2: QEMU start to /init ${NL_BOOT_SECS:-?}s, whole run ${NL_RUN_SECS}s, status $NL_STATUS"
echo "# L2: its counters read after $(nested_val - stats_tries) 6 s windows, stable $(nested_val - stats_stable)"
check "L2 guest ran to the end (QEMU exit ${NL_QRC:-?})" test "$NL_STATUS" = ok -a "$NL_QRC" = 0

# QEMU's complaints: vhost errors or a silent fallback to userspace virtio.
bad=$(grep -i -E 'vhost|falling back|error|fail|abort|assert' "$NL_WORK/qemu.log")
if [ -z "$bad" ]; then
	ok "QEMU log has no vhost error and no userspace fallback"
else
	fail "QEMU log has no vhost error and no userspace fallback"
	while IFS= read -r l; do echo "# qemu: $l"; done <<< "$bad"
fi
# The vhost NICs' traffic went through the kernel: QEMU's vhost workers
# (kernel threads named after its pid, xtap's after their queue once
# attached: nested_sample_workers) used CPU, and once the guest's traffic
# was over exactly these were alive: vhost-net's one per vhost fd, xtap's
# two (guest TX and RX) per vhost fd, named after the device and queue
# that fd serves.
if [ "$NL_NVHOST" -gt 0 ]; then
	if [ "$backend" = xtap ]; then
		want=$(for i in "${used[@]}"; do
			[ "${vh[i]}" = on ] || continue
			x=$(cat "/sys/class/net/${NL_NAME[i]}/ifindex")
			for ((k = 0; k < NL_Q[i]; k++)); do
				echo "xtap-rx-${x}q$k"
				echo "xtap-tx-${x}q$k"
			done
		done | sort | tr '\n' ' ')
		want=${want% }
	else
		want=$(for ((k = 0; k < NL_NVHOST; k++)); do echo "vhost-$NL_QLAST"; done | tr '\n' ' ')
		want=${want% }
	fi
	nw=$(wc -w <<< "$want")
	check "QEMU's $NL_NVHOST vhost fds had exactly their $nw workers at the end of the traffic (alive: $NL_WLIVE)" \
		test "$NL_WLIVE" = "$want"
	check "QEMU's vhost workers did work (${NL_WORKER_MS} ms CPU)" test "$NL_WORKER_MS" -gt 0
	echo "# vhost workers over the run: $NL_WORKERS"
fi
if [ "$NL_STATUS" != ok ]; then
	echo "# ---- L2 console (last 40 lines) ----"
	tr -d '\r' < "$NL_WORK/console" | tail -n 40 | sed 's/^/# /'
fi

# xstat DEV NAME: counter NAME of ethtool -S DEV, empty when absent.
xstat() {
	ethtool -S "$1" 2>/dev/null | awk -v n="$2:" '$1 == n { print $2 }'
}

# drop_reasons DEV: drop and error counters of DEV that must stay 0 in a
# healthy run (all drops but frames still queued at close and frames sent
# with no queue; truncated reads), as "name N ...".
drop_reasons() {
	ethtool -S "$1" 2>/dev/null |
		awk '$1 ~ /^(tx_drop_(ring_full|nomem|hdr|guest_buf|fault)|tx_truncated|rx_drop_[a-z_]+|xdp_xmit_drops):$/ && $2 != 0 {
			printf "%s%s%s", s, $1, $2; s = " " }'
}

# queued_drops DEV PREFIX: frames DEV dropped after counting them in
# tx_packets (still queued at close, or at read), device-wide (PREFIX
# empty) or of one queue (PREFIX q<k>).
queued_drops() {
	ethtool -S "$1" 2>/dev/null |
		awk -v p="${2:+${2}_}" '
			$1 == p "tx_drop_detached:" || $1 == p "tx_drop_hdr:" ||
			$1 == p "tx_drop_guest_buf:" || $1 == p "tx_drop_fault:" { s += $2 }
			END { print s + 0 }'
}

# per_queue I LABEL: queue pair k of NIC I's xtap device is the guest's
# virtqueue pair k: what the guest sent on its TX queue k, the host counted
# on queue k (q<k>_rx_packets), and what the host put into ring k, less
# what it dropped there, the guest received on its RX queue k.
per_queue() {
	local i=$1 l=$2 dev=${NL_CNT[$1]} qs k g h d ok=1 got=""
	qs=$(nested_val "$i" qstats)
	for ((k = 0; k < NL_Q[i]; k++)); do
		g=$(tr , '\n' <<< "$qs" | sed -n "s/^tx_queue_${k}_packets=//p")
		h=$(xstat "$dev" "q${k}_rx_packets")
		got+=" q$k guest-tx=${g:-?} host-rx=${h:-?}"
		[ -n "$g" ] && [ "$g" = "$h" ] || ok=0
		g=$(tr , '\n' <<< "$qs" | sed -n "s/^rx_queue_${k}_packets=//p")
		h=$(xstat "$dev" "q${k}_tx_packets")
		d=$(queued_drops "$dev" "q$k")
		got+=" guest-rx=${g:-?} host-tx=${h:-?}-$d"
		[ -n "$g" ] && [ -n "$h" ] && [ "$g" = $((h - d)) ] || ok=0
	done
	if [ $ok = 1 ]; then
		ok "$l: per-queue counters match the guest's queue by queue:$got"
	else
		fail "$l: per-queue counters match the guest's queue by queue:$got"
	fi
}

need=("CSUM $NL_F_CSUM" "GUEST_CSUM $NL_F_GUEST_CSUM" "HOST_TSO4 $NL_F_HOST_TSO4"
      "GUEST_TSO4 $NL_F_GUEST_TSO4" "MRG_RXBUF $NL_F_MRG_RXBUF"
      "EVENT_IDX $NL_F_EVENT_IDX" "VERSION_1 $NL_F_VERSION_1")
for i in "${used[@]}"; do
	l=${label[i]}
	bytes=$((NL_KB[i] * 1024))
	dev=$(nested_val "$i" dev)
	check "$l: guest sees the NIC${dev:+ as $dev}" test -n "$dev"

	missing=""
	for f in "${need[@]}"; do
		read -r fname fbit <<< "$f"
		nested_has_feature "$i" "$fbit" || missing+=" $fname"
	done
	if [ "${NL_Q[i]}" -gt 1 ]; then
		nested_has_feature "$i" $NL_F_MQ || missing+=" MQ"
	fi
	echo "# $l: features $(nested_feature_names "$i")"
	if [ -z "$missing" ]; then
		ok "$l: negotiated CSUM GUEST_CSUM HOST_TSO4 GUEST_TSO4 MRG_RXBUF EVENT_IDX VERSION_1"
	else
		fail "$l: negotiated features lack$missing ($(nested_val "$i" features))"
	fi
	if [ "${NL_Q[i]}" -gt 1 ]; then
		check "$l: guest runs ${NL_Q[i]} combined queues" \
			test "$(nested_val "$i" combined)" = "${NL_Q[i]}"
		echo "# $l: guest queue counters $(nested_val "$i" qstats)"
		[ "$backend" = xtap ] && per_queue "$i" "$l"
	fi

	check "$l: guest pings host" test "$(nested_val "$i" ping)" = ok

	read -r pb ps <<< "$(nested_peer "$i" h2g)"
	gb=$(nested_val "$i" h2g_bytes)
	gs=$(nested_val "$i" h2g_sha256)
	check "$l: host -> guest $((bytes / 1024)) KB, checksum matches" \
		test "${pb:-x}" = "$bytes" -a "${gb:-y}" = "$bytes" -a -n "$ps" -a "$ps" = "$gs"
	read -r rb rs <<< "$(nested_peer "$i" g2h)"
	check "$l: guest -> host $((bytes / 1024)) KB, checksum matches" \
		test "${rb:-x}" = "$bytes" -a -n "$rs" -a "$rs" = "$ps"

	read -r rxp rxb txp txb <<< "$(nested_delta "$i")"
	check "$l: ${NL_CNT[i]} counted at least the payload (rx $rxp frames $rxb B, tx $txp frames $txb B)" \
		test "$rxb" -ge "$bytes" -a "$txb" -ge "$bytes" -a "$rxp" -gt 0 -a "$txp" -gt 0
	# Exact: the guest's own counters, read once its traffic was over.
	# What the guest sent, the host counted, frame for frame and byte for
	# byte, and dropped none; what the host queued reached the guest or
	# is a counted drop (only frames still queued when QEMU quit, or sent
	# before it attached, may be: the guest never missed a buffer).
	read -r grp grb gtp gtb grd gtd <<< "$(nested_gstats "$i")"
	check "$l: guest dropped nothing (rx_dropped ${grd:-?}, tx_dropped ${gtd:-?})" \
		test "${grd:-x}" = 0 -a "${gtd:-x}" = 0
	read -r rxd txd <<< "$(nested_drops "$i")"
	check "$l: host rx = guest tx exactly ($rxp/${gtp:-?} frames, $rxb/${gtb:-?} B), rx_dropped $rxd" \
		test "$rxp" = "${gtp:-x}" -a "$rxb" = "${gtb:-x}" -a "$rxd" = 0
	# Of xtap's drops only those after the ring are in tx_packets.
	[ "$backend" = xtap ] && txd=$(queued_drops "${NL_CNT[i]}" "")
	if [ "$txd" = 0 ]; then
		check "$l: host tx = guest rx exactly ($txp/${grp:-?} frames, $txb/${grb:-?} B)" \
			test "$txp" = "${grp:-x}" -a "$txb" = "${grb:-x}"
	else
		check "$l: host tx = guest rx + counted drops after the ring ($txp = ${grp:-?} + $txd frames)" \
			test "$txp" = "$(( ${grp:-0} + txd ))" -a -n "$grp"
	fi
	if [ "$backend" = xtap ]; then
		unexpected=$(drop_reasons "${NL_CNT[i]}")
		check "$l: no drop for a reason a healthy run never has${unexpected:+ ($unexpected)}" \
			test -z "$unexpected"
	fi
	echo "# $l: ping rtt min/avg/max $(nested_val "$i" rtt) ms," \
	     "host->guest $(nested_kbps "$bytes" "$(nested_val "$i" h2g_secs)") KB/s," \
	     "guest->host $(nested_kbps "$bytes" "$(nested_val "$i" g2h_secs)") KB/s"
done

ksft_finish
