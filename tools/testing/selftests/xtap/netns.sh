#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# xtap in network namespaces: the queue node is named by ifindex, which is
# per namespace, so two namespaces (the first device of a fresh namespace
# is always ifindex 2) must each get their node, with sysfs showing each
# namespace only its own; an unprivileged user namespace can do the same
# without blocking anybody.  Devices die with their namespace.
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

require_root
require_cmd ip unshare mount sleep
require_xtap

tmp=$(mktemp -d)
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
d0=$(xtap_live_objects device)

# Namespace A keeps its device until the holder is killed.
unshare -n sh -c "ip link add nsx type xtap && ip -o link show nsx > $tmp/a; exec sleep 600" &
holder=$!
for _ in $(seq 1 100); do
	[ -s "$tmp/a" ] && break
	sleep 0.1
done
check "namespace A: device created" test -s "$tmp/a"
check "namespace A: it is ifindex 2" grep -q '^2: nsx' "$tmp/a"

# Namespace B: same name, same ifindex, its own node.  With its own sysfs
# mount it sees exactly its node in the class, linked to its device.
out=$(unshare -nm sh -c '
	ip link add nsx type xtap || exit 1
	mount -t sysfs sysfs /sys || exit 2
	ls /sys/class/xtap
	readlink -f /sys/class/xtap/xtap2/device
' 2>&1)
rc=$?
check "namespace B: the same device is created (rc $rc: $out)" test $rc = 0
check "namespace B: sysfs lists only its own node" \
	test "$(echo "$out" | sed -n 1p)" = xtap2 -a "$(echo "$out" | wc -l)" = 2
check "namespace B: its node belongs to its device" \
	sh -c "echo '$out' | sed -n 2p | grep -q '/net/nsx$'"

# A user namespace needs no privilege on the host for the same thing.
# (The kernel refuses new user namespaces to a chrooted caller, or without
# CONFIG_USER_NS: a missing prerequisite, not xtap's failure.  The VM
# runner's tests are not chrooted: vm/init moves the host root over /.)
if unshare -Ur true 2>/dev/null; then
	out=$(unshare -Urn sh -c 'ip link add usx type xtap && ip -o link show usx' 2>&1)
	check "user namespace: device created next to A ($out)" \
		sh -c "echo '$out' | grep -q '^2: usx'"
else
	echo "# SKIP user namespace: unshare -U refused here ($(unshare -Ur true 2>&1))"
	KSFT_SKIP=$((KSFT_SKIP + 1))
fi

# The initial namespace is not blocked by any of them.
check "initial namespace: device created" ip link add xtns$$ type xtap
idx=$(cat /sys/class/net/xtns$$/ifindex)
check "initial namespace: its node exists" test -c "/dev/xtap$idx"
check "initial namespace: its class entry is its own" \
	sh -c "readlink -f /sys/class/xtap/xtap$idx/device | grep -q '/net/xtns$$\$'"
ip link del xtns$$

# Per-queue allocations are charged to the memory cgroup of the process
# that makes them (GFP_KERNEL_ACCOUNT), so a container pays for the xtap
# memory it pins: four queue rings of 64 Ki slots (512 KiB each), opened
# from a fresh cgroup, show in its memory.current.
cgr=/sys/fs/cgroup
mcg=$cgr/xtap-netns-$$
added=""
if grep -qw memory "$cgr/cgroup.controllers" 2>/dev/null; then
	if ! grep -qw memory "$cgr/cgroup.subtree_control"; then
		echo +memory > "$cgr/cgroup.subtree_control" && added=1
	fi
	mkdir "$mcg"
fi
if [ -f "$mcg/memory.current" ]; then
	check "a 4-queue device with 64 Ki-slot rings created" \
		ip link add xtmc$$ numtxqueues 4 numrxqueues 4 txqueuelen 65536 type xtap
	idx=$(cat /sys/class/net/xtmc$$/ifindex)
	# shellcheck disable=SC2016
	delta=$(bash -c 'echo $$ > "$1/cgroup.procs" || exit 1
		read -r b < "$1/memory.current"
		exec 3<>"$2" 4<>"$2" 5<>"$2" 6<>"$2" || exit 1
		read -r a < "$1/memory.current"
		echo $((a - b))' _ "$mcg" "/dev/xtap$idx")
	check "the rings are charged to the opener's memory cgroup (${delta:-?} B for 4 x 512 KiB)" \
		test "${delta:-0}" -ge $((1536 * 1024))
	ip link del xtmc$$
	rmdir "$mcg"
	[ -n "$added" ] && echo -memory > "$cgr/cgroup.subtree_control"
else
	echo "# SKIP memory cgroup: no cgroup2 memory controller here"
	KSFT_SKIP=$((KSFT_SKIP + 1))
fi

# Namespace A dies: its device goes with it.
kill "$holder"
wait "$holder" 2>/dev/null
holder=
for _ in $(seq 1 100); do
	[ "$(xtap_live_objects device)" = "$d0" ] && break
	sleep 0.1
done
check "every namespace's device freed" test "$(xtap_live_objects device)" = "$d0"
ksft_finish
