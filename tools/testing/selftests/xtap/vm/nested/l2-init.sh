#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# PID 1 of the nested (L2) test guest, a busybox initramfs built by
# vm/nested/build.sh.  The L1 side (vm/nested/lib.sh) passes on the kernel
# command line (the kernel hands unknown name=value words to init):
#
#   xt_nics=N          number of NICs; NIC i has MAC 52:54:00:77:00:0i
#   xt_queues=Q0,Q1..  queue pairs of each NIC (more than one: ethtool -L)
#   xt_ping_after=1    ping the host again after the transfers
#   xt_stream=1        host -> guest only: a stream whose length the host
#                      decides while it flows (peer.py --stream), kept in
#                      /tmp (the initramfs, in guest RAM) by a slow reader
#                      (8 KB a second), so that the socket's receive queue
#                      stays full: bytes acknowledged but not yet read,
#                      still in the receive buffers the host wrote; no
#                      echo back
#
# NIC i gets 10.77.<i+1>.2/24 and talks to the L1 host at 10.77.<i+1>.1:
# print the negotiated virtio features, ping the host, fetch KB kilobytes
# what its port 5001 sends and send the same bytes back to its port 5002 (the
# host compares checksums; see peer.py).  Once every NIC is done, "XT quiet",
# then each NIC's counters once they stopped moving ("gstats", "qstats").
# Results go to the second serial port as "XT key=value ..." lines; the last
# one is "XT done".  Then reboot -f, which ends QEMU (-no-reboot).
PATH=/bin:/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec >/dev/ttyS0 2>&1
R=/dev/ttyS1

rep() { echo "XT $*" > $R; }
up() { cut -d' ' -f1 /proc/uptime; }
rep "init uptime=$(up)"

# A heartbeat every 30 s while /init waits (a slow transfer, a ping): its
# uptime, what it is doing (phase), the bytes of the stream it has kept, the
# first NIC's frame counters and the TCP queues of the connection to the
# host's port 5001 (state:tx_queue:rx_queue, hex as in /proc/net/tcp).  So
# one run tells a slow guest from a stuck one, e.g. after a live migration.
# On the console first, then on the results port, so that a stuck results
# port shows too.
phase() { echo "$*" > /tmp/phase; }
beat() {
	while sleep 30; do
		s=/sys/class/net/eth0/statistics
		l="hb_uptime=$(up) hb_phase=$(cat /tmp/phase) hb_rx=$(wc -c </tmp/rx 2>/dev/null || echo -)"
		l="$l hb_eth0=$(cat $s/rx_packets 2>/dev/null)/$(cat $s/tx_packets 2>/dev/null)"
		l="$l hb_tcp=$(awk '$3 ~ /:1389$/ { printf "%s:%s ", $4, $5 }' /proc/net/tcp | sed 's/ $//')"
		echo "XT hb $l"
		rep "hb $l"
	done
}
phase boot
beat &
beatpid=$!

while read -r m; do
	insmod "/modules/$m" || rep "error=insmod_$m"
done < /modules/order
ip link set lo up

nics() {
	c=0
	for d in /sys/class/net/eth*; do
		[ -e "$d" ] && c=$((c + 1))
	done
	echo $c
}
n=${xt_nics:-0}
# Wait for all NICs to appear (the modules probe them asynchronously).
t=0
while [ "$(nics)" -lt "$n" ] && [ $t -lt 300 ]; do
	sleep 0.1
	t=$((t + 1))
done
rep "modules uptime=$(up) nics=$(nics)"
# No IPv6: it sends on its own (DAD, MLD reports, router solicitations
# with a backoff that never ends) at times no test controls, and
# e2e_qemu.sh compares every frame the guest sends and receives with the
# host's counters.
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6

# devof I: the interface whose MAC ends in 0I.
devof() {
	for d in /sys/class/net/eth*; do
		[ "$(cat "$d/address")" = "52:54:00:77:00:0$1" ] && { echo "${d##*/}"; return; }
	done
}

i=0
while [ $i -lt "$n" ]; do
	q=$(echo "${xt_queues:-}" | cut -d, -f$((i + 1)))
	q=${q:-1}
	host=10.77.$((i + 1)).1
	dev=$(devof $i)
	if [ -z "$dev" ]; then
		rep "nic=$i error=no_device"
		i=$((i + 1))
		continue
	fi
	ip addr add "10.77.$((i + 1)).2/24" dev "$dev"
	ip link set "$dev" up
	rep "nic=$i dev=$dev features=$(cat "/sys/class/net/$dev/device/features")"
	if [ "$q" -gt 1 ]; then
		ethtool -L "$dev" combined "$q"
		rep "nic=$i combined=$(ethtool -l "$dev" | awk '/^Current/ { c = 1 } c && /^Combined/ { print $2 }')"
	fi
	phase "nic=$i ping"
	if out=$(ping -c 3 -w 120 "$host"); then
		rep "nic=$i ping=ok rtt=$(echo "$out" | sed -n 's|.*min/avg/max = \([0-9./]*\) ms.*|\1|p')"
	else
		rep "nic=$i ping=fail"
	fi
	# The stream is served once: first make sure the host answers (on
	# a starved machine the first minutes can see no reply).
	if [ "${xt_stream:-0}" = 1 ]; then
		t=0
		while [ $t -lt 10 ] && ! ping -c 1 -w 60 "$host" >/dev/null; do
			t=$((t + 1))
		done
		rep "nic=$i ping_tries=$t"
	fi
	# Host -> guest, then the same bytes guest -> host.
	t0=$(up)
	phase "nic=$i h2g"
	if [ "${xt_stream:-0}" = 1 ]; then
		: > /tmp/rx
		timeout 1800 nc "$host" 5001 </dev/null | while :; do
			n=$(dd bs=8192 count=1 2>/dev/null | tee -a /tmp/rx | wc -c)
			[ "$n" -gt 0 ] || break
			sleep 1
		done
		rc=$?
	else
		timeout 1800 nc "$host" 5001 </dev/null >/tmp/rx
		rc=$?
	fi
	t1=$(up)
	rep "nic=$i h2g_rc=$rc h2g_bytes=$(wc -c </tmp/rx) h2g_secs=$(awk "BEGIN { print $t1 - $t0 }") h2g_sha256=$(sha256sum </tmp/rx | cut -d' ' -f1)"
	if [ "${xt_stream:-0}" != 1 ]; then
		t0=$(up)
		phase "nic=$i g2h"
		timeout 900 nc "$host" 5002 </tmp/rx >/dev/null
		rc=$?
		t1=$(up)
		rep "nic=$i g2h_rc=$rc g2h_secs=$(awk "BEGIN { print $t1 - $t0 }")"
	fi
	rm -f /tmp/rx
	# After a live migration (migrate_qemu.sh): the host is still there.
	if [ "${xt_ping_after:-0}" = 1 ]; then
		phase "nic=$i ping_after"
		if ping -c 3 -w 120 "$host" >/dev/null; then
			rep "nic=$i ping_after=ok"
		else
			rep "nic=$i ping_after=fail"
		fi
	fi
	i=$((i + 1))
done
# Last, the traffic over: each NIC's own counters (and per queue on a
# multiqueue NIC), for an exact comparison with the host's.  They are
# taken once nothing moved for 6 s: virtio-net counts a sent frame only
# when its buffer comes back, and a neighbour entry used at the end is
# probed 5 s later (delay_first_probe_time), by either side.  "XT quiet"
# tells L1 that the traffic is over (it then notes QEMU's vhost workers).
rep "quiet uptime=$(up)"
phase stats
snap() {
	i=0
	while [ $i -lt "${xt_nics:-0}" ]; do
		dev=$(devof $i)
		s=/sys/class/net/$dev/statistics
		[ -n "$dev" ] &&
			echo "nic=$i gstats=$(cat "$s/rx_packets"),$(cat "$s/rx_bytes"),$(cat "$s/tx_packets"),$(cat "$s/tx_bytes"),$(cat "$s/rx_dropped"),$(cat "$s/tx_dropped")"
		q=$(echo "${xt_queues:-}" | cut -d, -f$((i + 1)))
		if [ -n "$dev" ] && [ "${q:-1}" -gt 1 ]; then
			echo "nic=$i qstats=$(ethtool -S "$dev" | awk '/_queue_[0-9]+_packets:/ { gsub(/:/, ""); printf "%s%s=%s", s, $1, $2; s = "," }')"
		fi
		i=$((i + 1))
	done
}
t=1
was=$(snap)
sleep 6
now=$(snap)
while [ "$now" != "$was" ] && [ $t -lt 10 ]; do
	t=$((t + 1))
	was=$now
	sleep 6
	now=$(snap)
done
echo "$now" | while read -r l; do
	rep "$l"
done
rep "stats_tries=$t stats_stable=$([ "$now" = "$was" ] && echo 1 || echo 0)"
kill $beatpid
rep "done uptime=$(up)"
reboot -f
