# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A nested (L2) Linux guest attached through tap-like devices, for
# e2e_qemu.sh and the main job (vm/demo.sh).  Runs in the test VM (L1), as
# root, from bash; xtap.ko is loaded by the runner.
#
# The L2 guest is Debian's kernel with the initramfs of vm/nested/build.sh;
# its /init (l2-init.sh) configures every NIC, pings the L1 host, moves data
# both ways (peer.py is the L1 end) and reports on its second serial port.
#
#   nested_prepare BACKEND       macvtap (upstream macvtap + vhost-net), tun
#                                (upstream tun + vhost-net; QEMU opens the
#                                tap by name, see nested_add_nic) or xtap;
#                                returns 1 with NL_WHY set when a
#                                prerequisite is missing
#   nested_add_nic NAME KB Q     the next NIC: a backend device with Q queue
#                                pairs and the L1 address, KB kilobytes to
#                                move each way (0 with NL_STREAM: a stream,
#                                see peer.py --stream)
#   nested_netdev I VHOST [US]   open NIC I's nodes and add its -netdev and
#                                -device options to NL_ARGS (VHOST on|off,
#                                US: poll-us)
#   nested_preflight I VHOST [US]
#                                start QEMU paused with NIC I set up that
#                                way (tap and vhost fds probed, vhost device
#                                initialised) and quit; returns 1 with
#                                QEMU's complaint in NL_WHY
#   nested_run SECS CMD...       start the L1 peer, run CMD (which starts
#                                QEMU with "${NL_QEMU[@]}" plus its NICs),
#                                wait at most SECS, collect the results
#                                (the serial ports append to their files, so
#                                a second QEMU, e.g. a migration target,
#                                continues them)
#   nested_qemu                  the CMD for nested_run: QEMU with NL_ARGS
#                                (a CMD must exec QEMU, so that the pid
#                                nested_run sees is QEMU's)
#   nested_val I KEY             what L2 reported for NIC I (or I=- : global)
#   nested_peer I DIR            "BYTES SHA256" the L1 peer saw (h2g/g2h)
#   nested_delta I               "RXP RXB TXP TXB": NIC I's host-side
#                                counters over the run (rx = from the guest)
#   nested_drops I               "RXD TXD": its rx_dropped and tx_dropped
#                                over the run
#   nested_gstats I              "RXP RXB TXP TXB RXD TXD": the L2 guest's
#                                own counters of NIC I once its traffic
#                                was over (empty if it did not report)
#   nested_has_feature I BIT     is virtio feature BIT negotiated on NIC I
#   nested_feature_names I       NIC I's negotiated features, by name
#   nested_cleanup               kill, close and delete everything
#
# The NL_ variables are this library's interface with its callers.
# shellcheck disable=SC2034

NL_NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NL_TOP=$(cd "$NL_NESTED_DIR/../../../../../.." && pwd)

NL_BACKEND=""
NL_WHY=""
NL_WORK=""
NL_N=0
NL_NAME=()	# per NIC: the backend device (xtap device or macvtap)
NL_CNT=()	# per NIC: the interface whose counters see its traffic
NL_NODE=()	# per NIC: the queue node (/dev/xtapN or /dev/tapN)
NL_KB=()	# per NIC: kilobytes to move in each direction
NL_Q=()		# per NIC: queue pairs
NL_BEFORE=()	# per NIC: counters before the run
NL_AFTER=()	# per NIC: counters after the run
NL_DBEFORE=()	# per NIC: rx_dropped and tx_dropped before the run
NL_DAFTER=()	# per NIC: the same after the run
NL_LINKS=()	# interfaces to delete
NL_FDS=()	# descriptors opened for QEMU
NL_ARGS=()	# -netdev/-device options for nested_qemu
NL_QEMU=()	# QEMU's options except the NICs (set by nested_run)
NL_APPEND=""	# more L2 kernel command line (e.g. xt_ping_after=1)
NL_STREAM=""	# directory of peer.py --stream (NICs with KB 0 stream)
NL_STREAM_RATE=""	# its pace until the stop, bytes a second (peer.py --rate)
NL_QPID=""
NL_QLAST=""	# QEMU's pid in the last nested_run
NL_PPID=""
NL_BOOT_SECS=""	# QEMU start to L2's /init, wall clock
NL_RUN_SECS=""	# QEMU start to exit, wall clock
NL_STATUS=""	# ok, timeout, crash (no "XT done"), or peer (did not start)
NL_QRC=""	# QEMU's exit status
NL_NVHOST=0	# vhost descriptors passed to QEMU
declare -gA NL_WTICKS	# kernel worker threads of QEMU (vhost): pid -> CPU ticks
NL_WORKERS=""	# their names, after the run
NL_WORKER_MS=0	# their CPU time in ms, after the run
NL_WLIVE=""	# the workers alive once L2's traffic was over ("XT quiet"),
		# sorted names; "-" if L2 never got there

# Features of virtio-net (bit numbers of the virtio spec).
NL_F_CSUM=0
NL_F_GUEST_CSUM=1
NL_F_GUEST_TSO4=7
NL_F_HOST_TSO4=11
NL_F_MRG_RXBUF=15
NL_F_CTRL_VQ=17
NL_F_MQ=22
NL_F_INDIRECT_DESC=28
NL_F_EVENT_IDX=29
NL_F_VERSION_1=32

nested_prepare() {
	local ver
	NL_BACKEND=$1
	ver=${VM_KERNEL_VER:-$(uname -r)}
	NL_KERNEL=/boot/vmlinuz-$ver
	for c in qemu-system-x86_64 python3 ip; do
		command -v $c >/dev/null || { NL_WHY="$c not installed"; return 1; }
	done
	[ -r "$NL_KERNEL" ] || { NL_WHY="no $NL_KERNEL for the L2 guest"; return 1; }
	case $NL_BACKEND in
	macvtap)
		if ! { modprobe -q vhost_net && modprobe -q macvtap && modprobe -q veth; }; then
			NL_WHY="cannot load vhost_net, macvtap, veth"
			return 1
		fi
		[ -c /dev/vhost-net ] || { NL_WHY="no /dev/vhost-net"; return 1; }
		;;
	tun)
		if ! { modprobe -q vhost_net && modprobe -q tun; }; then
			NL_WHY="cannot load vhost_net, tun"
			return 1
		fi
		[ -c /dev/vhost-net ] || { NL_WHY="no /dev/vhost-net"; return 1; }
		[ -c /dev/net/tun ] || { NL_WHY="no /dev/net/tun"; return 1; }
		;;
	xtap)
		grep -q '^xtap ' /proc/modules || { NL_WHY="xtap not loaded"; return 1; }
		[ -c /dev/vhost-xtap ] || { NL_WHY="no /dev/vhost-xtap"; return 1; }
		;;
	*)
		NL_WHY="unknown backend $NL_BACKEND"
		return 1
		;;
	esac
	NL_WORK=$(mktemp -d "${TMPDIR:-/tmp}/nested.XXXXXX")
	# The image built on the host before the VM booted, else a private one.
	NL_INITRD=$(VM_KERNEL_VER=$ver "$NL_NESTED_DIR/build.sh" "$NL_TOP/.vm" 2>/dev/null) ||
		NL_INITRD=$(VM_KERNEL_VER=$ver "$NL_NESTED_DIR/build.sh" "$NL_WORK") ||
		{ NL_WHY="cannot build the L2 initramfs"; return 1; }
	# Boot the uncompressed kernel (PVH entry) when build.sh made one.
	[ -r "$(dirname "$NL_INITRD")/nested-vmlinux-$ver" ] &&
		NL_KERNEL=$(dirname "$NL_INITRD")/nested-vmlinux-$ver
	return 0
}

# nested_mac I, nested_host_ip I, nested_guest_ip I
nested_mac() { echo "52:54:00:77:00:0$1"; }
nested_host_ip() { echo "10.77.$(($1 + 1)).1"; }
nested_guest_ip() { echo "10.77.$(($1 + 1)).2"; }

# nl_no_ipv6 DEV...: no IPv6 on the host side of a NIC: it would send on
# its own (DAD, MLD reports) at times no test controls, and e2e_qemu.sh
# matches every frame the host sends with one the guest received (L2 turns
# IPv6 off on its side too: l2-init.sh).
nl_no_ipv6() {
	local d
	for d in "$@"; do
		echo 1 > "/proc/sys/net/ipv6/conf/$d/disable_ipv6" 2>/dev/null
	done
}

nested_add_nic() {
	local name=$1 kb=$2 q=$3 i=$NL_N qopt=()
	[ "$q" -gt 1 ] && qopt=(numtxqueues "$q" numrxqueues "$q")
	case $NL_BACKEND in
	macvtap)
		# The guest's frames leave through ${name}l and reach the host
		# stack on its peer ${name}h, which has the L1 address.
		ip link add "${name}l" type veth peer name "${name}h" || return 1
		NL_LINKS+=("${name}l")
		nl_no_ipv6 "${name}l" "${name}h"
		ip link set "${name}l" up && ip link set "${name}h" up || return 1
		ip link add link "${name}l" name "$name" "${qopt[@]}" type macvtap mode bridge ||
			return 1
		NL_LINKS+=("$name")
		nl_no_ipv6 "$name"
		# macvlan delivers by destination MAC: it must be the guest's.
		ip link set "$name" address "$(nested_mac "$i")" up || return 1
		ip addr add "$(nested_host_ip "$i")/24" dev "${name}h" || return 1
		NL_CNT[i]=${name}h
		NL_NODE[i]=/dev/tap$(cat "/sys/class/net/$name/ifindex")
		;;
	tun)
		# A persistent tap: tun has no node per device, so QEMU opens
		# it by name (-netdev tap,ifname=NAME,script=no,downscript=no)
		# and /dev/vhost-net itself.
		[ "$q" -gt 1 ] && qopt=(multi_queue)
		ip tuntap add dev "$name" mode tap vnet_hdr "${qopt[@]}" || return 1
		NL_LINKS+=("$name")
		nl_no_ipv6 "$name"
		ip link set "$name" up || return 1
		ip addr add "$(nested_host_ip "$i")/24" dev "$name" || return 1
		NL_CNT[i]=$name
		NL_NODE[i]=""
		;;
	xtap)
		ip link add "$name" "${qopt[@]}" type xtap || return 1
		NL_LINKS+=("$name")
		nl_no_ipv6 "$name"
		ip link set "$name" up || return 1
		ip addr add "$(nested_host_ip "$i")/24" dev "$name" || return 1
		NL_CNT[i]=$name
		NL_NODE[i]=/dev/xtap$(cat "/sys/class/net/$name/ifindex")
		;;
	esac
	NL_NAME[i]=$name
	NL_KB[i]=$kb
	NL_Q[i]=$q
	NL_N=$((NL_N + 1))
}

nested_netdev() {
	local i=$1 vhost=$2 us=${3:-} q fd tfds=() vfds=() nd dev
	for ((q = 0; q < NL_Q[i]; q++)); do
		exec {fd}<>"${NL_NODE[i]}" || return 1
		NL_FDS+=("$fd")
		tfds+=("$fd")
		if [ "$vhost" = on ]; then
			if [ "$NL_BACKEND" = xtap ]; then
				exec {fd}<>/dev/vhost-xtap || return 1
			else
				exec {fd}<>/dev/vhost-net || return 1
			fi
			NL_FDS+=("$fd")
			vfds+=("$fd")
			NL_NVHOST=$((NL_NVHOST + 1))
		fi
	done
	# No option ROM: the guest boots its kernel directly, and iPXE's
	# start-up costs seconds under nested TCG.
	dev=virtio-net-pci,netdev=n$i,mac=$(nested_mac "$i"),romfile=

	if [ "${NL_Q[i]}" -gt 1 ]; then
		nd=tap,id=n$i,fds=$(IFS=:; echo "${tfds[*]}")
		[ "$vhost" = on ] && nd+=,vhost=on,vhostfds=$(IFS=:; echo "${vfds[*]}")
		dev+=,mq=on,vectors=$((2 * NL_Q[i] + 2))
	else
		nd=tap,id=n$i,fd=${tfds[0]}
		[ "$vhost" = on ] && nd+=,vhost=on,vhostfd=${vfds[0]}
	fi
	[ -n "$us" ] && nd+=,poll-us=$us
	NL_ARGS+=(-netdev "$nd" -device "$dev")
}

nested_preflight() {
	local out
	# In a subshell: its descriptors close when it ends, so the real run
	# opens fresh ones (a vhost fd keeps its first owner).
	out=$(
		# shellcheck disable=SC2030
		NL_ARGS=()
		nested_netdev "$@" || exit 1
		printf 'quit\n' | timeout 300 qemu-system-x86_64 -accel tcg -machine q35 \
			-nodefaults -display none -S -monitor stdio "${NL_ARGS[@]}" 2>&1 >/dev/null
	)
	local rc=$?
	NL_WHY=$(echo "$out" | tr '\n' ' ')
	[ $rc = 0 ] && [ -z "$out" ]
}

nested_counters() {
	local s=/sys/class/net/$1/statistics
	echo "$(cat "$s/rx_packets") $(cat "$s/rx_bytes") $(cat "$s/tx_packets") $(cat "$s/tx_bytes")"
}

nested_drop_counters() {
	local s=/sys/class/net/$1/statistics
	echo "$(cat "$s/rx_dropped") $(cat "$s/tx_dropped")"
}

nested_qemu() {
	# shellcheck disable=SC2031
	exec qemu-system-x86_64 "${NL_QEMU[@]}" "${NL_ARGS[@]}"
}

# Kernel threads named after QEMU's pid ("vhost-PID" for vhost-net,
# "xtap-rx-PID"/"xtap-tx-PID" for xtap until attached) and xtap's attached
# workers ("xtap-rx-IFINDEXqN"/"xtap-tx-IFINDEXqN": QEMU is the only vhost
# user here) are its vhost workers: note the CPU time each has used, as
# they end with QEMU.
nested_sample_workers() {
	local p st comm
	for p in /proc/[0-9]*; do
		read -r comm 2>/dev/null < "$p/comm" || continue
		case $comm in
		*-"$NL_QPID" | xtap-[rt]x-[0-9]*q[0-9]*) ;;
		*) continue ;;
		esac
		read -r -a st 2>/dev/null < "$p/stat" || continue
		NL_WTICKS[${p#/proc/}]="$comm $((st[13] + st[14]))"
	done
}

# The names of QEMU's vhost workers alive now (as nested_sample_workers
# picks them), sorted, on one line.
nested_live_workers() {
	local p comm
	for p in /proc/[0-9]*; do
		read -r comm 2>/dev/null < "$p/comm" || continue
		case $comm in
		*-"$NL_QPID" | xtap-[rt]x-[0-9]*q[0-9]*) echo "$comm" ;;
		esac
	done | sort | tr '\n' ' ' | sed 's/ $//'
}

# Print the L2 reports that are new since the last call, for the record.
nl_seen=0
nested_progress() {
	local n
	n=$(wc -l < "$NL_WORK/results")
	[ "$n" -gt "$nl_seen" ] || return 0
	tr -d '\r' < "$NL_WORK/results" | sed -n "$((nl_seen + 1)),${n}p" |
		cut -c1-200 | sed "s/^XT /# l2 [$((SECONDS - nl_t0))s] /"
	nl_seen=$n
}

nested_run() {
	local secs=$1 i specs=() queues="" append deadline
	shift
	for ((i = 0; i < NL_N; i++)); do
		specs+=("$i:$(nested_host_ip "$i"):$((NL_KB[i] * 1024))")
		queues+=${queues:+,}${NL_Q[i]}
	done
	# Measured under nested TCG (initcall_debug): the default CPU model
	# boots faster than -cpu max (fewer alternatives to patch, no slow
	# emulated vector code); ACPI's initialisation takes ~3 s and is not
	# needed (PCI, MSI-X and reboot work without it); the crypto
	# self-tests, KDF108's own self-test, kprobe events and the RTC cost
	# another ~4 s.  Without ACPI (no HPET or PM timer) and with the PIT
	# too slow to calibrate against, the TSC needs its frequency given,
	# else time falls back to jiffies; TCG's TSC is L1's, so take L1's.
	local khz
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	append="console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off tsc=reliable"
	append+=" acpi=off${khz:+ tsc_early_khz=$khz} cryptomgr.notests"
	append+=" initcall_blacklist=crypto_kdf108_init,init_kprobe_trace,cmos_init"
	append+=" xt_nics=$NL_N xt_queues=$queues${NL_APPEND:+ $NL_APPEND}"
	NL_QEMU=(-accel tcg -machine q35 -smp 1 -m 256
		-nodefaults -nic none -nographic -no-reboot -monitor none
		-chardev "file,id=xtcon,path=$NL_WORK/console,append=on"
		-chardev "file,id=xtres,path=$NL_WORK/results,append=on"
		-serial chardev:xtcon -serial chardev:xtres
		-kernel "$NL_KERNEL" -initrd "$NL_INITRD" -append "$append")
	: > "$NL_WORK/results"
	: > "$NL_WORK/console"

	local popt=()
	[ -n "$NL_STREAM" ] && popt=(--stream "$NL_STREAM")
	[ -n "$NL_STREAM" ] && [ -n "$NL_STREAM_RATE" ] && popt+=(--rate "$NL_STREAM_RATE")
	python3 "$NL_NESTED_DIR/peer.py" "${popt[@]}" "${specs[@]}" > "$NL_WORK/peer" 2>&1 &
	NL_PPID=$!
	for ((i = 0; i < 600; i++)); do
		grep -q '^peer ready' "$NL_WORK/peer" && break
		kill -0 "$NL_PPID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^peer ready' "$NL_WORK/peer"; then
		NL_STATUS=peer
		cat "$NL_WORK/peer"
		return 1
	fi
	for ((i = 0; i < NL_N; i++)); do
		NL_BEFORE[i]=$(nested_counters "${NL_CNT[i]}")
		NL_DBEFORE[i]=$(nested_drop_counters "${NL_CNT[i]}")
	done

	nl_t0=$SECONDS
	nl_seen=0
	NL_WLIVE=""
	"$@" < /dev/null > "$NL_WORK/qemu.log" 2>&1 &
	NL_QPID=$!
	NL_QLAST=$NL_QPID
	deadline=$((SECONDS + secs))
	NL_STATUS=ok
	while kill -0 "$NL_QPID" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			NL_STATUS=timeout
			kill "$NL_QPID"
			break
		fi
		[ -z "$NL_BOOT_SECS" ] && grep -q '^XT init' "$NL_WORK/results" &&
			NL_BOOT_SECS=$((SECONDS - nl_t0))
		nested_progress
		nested_sample_workers
		[ -z "$NL_WLIVE" ] && grep -q '^XT quiet' "$NL_WORK/results" &&
			NL_WLIVE=$(nested_live_workers)
		sleep 1
	done
	wait "$NL_QPID"
	NL_QRC=$?
	NL_QPID=""
	NL_RUN_SECS=$((SECONDS - nl_t0))
	local w ticks=0
	NL_WORKERS=""
	for w in "${NL_WTICKS[@]}"; do
		NL_WORKERS+=${NL_WORKERS:+ }${w% *}
		ticks=$((ticks + ${w##* }))
	done
	NL_WORKER_MS=$((ticks * 1000 / $(getconf CLK_TCK)))
	NL_WLIVE=${NL_WLIVE:--}
	nested_progress
	[ -z "$NL_BOOT_SECS" ] && grep -q '^XT init' "$NL_WORK/results" &&
		NL_BOOT_SECS=$NL_RUN_SECS
	[ $NL_STATUS = ok ] && ! grep -q '^XT done' "$NL_WORK/results" && NL_STATUS=crash
	for ((i = 0; i < NL_N; i++)); do
		NL_AFTER[i]=$(nested_counters "${NL_CNT[i]}")
		NL_DAFTER[i]=$(nested_drop_counters "${NL_CNT[i]}")
	done
	# The peer finishes when the guest's last connection closes.
	for ((i = 0; i < 50; i++)); do
		kill -0 "$NL_PPID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$NL_PPID" 2>/dev/null
	wait "$NL_PPID" 2>/dev/null
	NL_PPID=""
	[ $NL_STATUS = ok ]
}

nested_val() {
	local sel="nic=$1 "
	[ "$1" = - ] && sel=""
	tr -d '\r' < "$NL_WORK/results" | grep "^XT $sel" | tr ' ' '\n' |
		sed -n "s/^$2=//p" | tail -n 1
}

nested_peer() {
	sed -n "s/^peer nic=$1 dir=$2 bytes=\([0-9]*\) sha256=\([0-9a-f]*\)\( .*\)\{0,1\}$/\1 \2/p" \
		"$NL_WORK/peer" | tail -n 1
}

nested_delta() {
	local b a
	read -r -a b <<< "${NL_BEFORE[$1]}"
	read -r -a a <<< "${NL_AFTER[$1]}"
	echo "$((a[0] - b[0])) $((a[1] - b[1])) $((a[2] - b[2])) $((a[3] - b[3]))"
}

nested_drops() {
	local b a
	read -r -a b <<< "${NL_DBEFORE[$1]}"
	read -r -a a <<< "${NL_DAFTER[$1]}"
	echo "$((a[0] - b[0])) $((a[1] - b[1]))"
}

nested_gstats() {
	nested_val "$1" gstats | tr , ' '
}

nested_has_feature() {
	local f
	f=$(nested_val "$1" features)
	[ "${f:$2:1}" = 1 ]
}

# nested_feature_names I: the negotiated features of NIC I, by name.
NL_FNAMES=(CSUM GUEST_CSUM CTRL_GUEST_OFFLOADS MTU - MAC - GUEST_TSO4 GUEST_TSO6
	GUEST_ECN GUEST_UFO HOST_TSO4 HOST_TSO6 HOST_ECN HOST_UFO MRG_RXBUF STATUS
	CTRL_VQ CTRL_RX CTRL_VLAN CTRL_RX_EXTRA GUEST_ANNOUNCE MQ CTRL_MAC_ADDR
	- - - - INDIRECT_DESC EVENT_IDX - - VERSION_1 ACCESS_PLATFORM RING_PACKED
	IN_ORDER ORDER_PLATFORM SR_IOV NOTIFICATION_DATA - RING_RESET)
nested_feature_names() {
	local f b out=""
	f=$(nested_val "$1" features)
	for ((b = 0; b < ${#f}; b++)); do
		[ "${f:b:1}" = 1 ] || continue
		if [ "${NL_FNAMES[b]:--}" = - ]; then
			out+=" bit$b"
		else
			out+=" ${NL_FNAMES[b]}"
		fi
	done
	echo "${out# }"
}

# nested_kbps BYTES SECS: throughput in KB/s (integer)
nested_kbps() {
	awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%d", b / 1024 / s; else print "?" }'
}

nested_cleanup() {
	local fd l
	[ -n "$NL_QPID" ] && kill "$NL_QPID" 2>/dev/null && wait "$NL_QPID" 2>/dev/null
	[ -n "$NL_PPID" ] && kill "$NL_PPID" 2>/dev/null && wait "$NL_PPID" 2>/dev/null
	NL_QPID="" NL_PPID=""
	for fd in "${NL_FDS[@]}"; do
		exec {fd}>&-
	done
	NL_FDS=()
	for l in "${NL_LINKS[@]}"; do
		ip link del "$l" 2>/dev/null
	done
	NL_LINKS=()
	[ -n "$NL_WORK" ] && [ "${NL_KEEP:-0}" != 1 ] && rm -rf "$NL_WORK"
}
