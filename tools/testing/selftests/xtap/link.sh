#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ip link add/del ... type xtap: round trip, create/delete cycles, and bad
# input rejected with a clear error.
dir=$(dirname "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$dir/lib.sh"

require_root
require_cmd ip
require_xtap

dev=xtl$$
cleanup() { ip link del "$dev" 2>/dev/null; ip link del "${dev}b" 2>/dev/null; }
trap cleanup EXIT

# Round trip.
check "create" ip link add "$dev" type xtap
check "link kind is xtap" sh -c "ip -d link show $dev | grep -q 'xtap'"
check "driver in sysfs uevent" grep -q . "/sys/class/net/$dev/ifindex"
check "up" ip link set "$dev" up
check "MAC set" ip link set "$dev" address 02:11:22:33:44:55
check "MAC reads back" sh -c "ip link show $dev | grep -q 02:11:22:33:44:55"
check "delete" ip link del "$dev"
check "gone after delete" sh -c "! ip link show $dev 2>/dev/null"

# Attributes at creation.
check "create with address and mtu" ip link add "$dev" address 02:aa:bb:cc:dd:ee mtu 9000 type xtap
check "mtu applied" test "$(cat "/sys/class/net/$dev/mtu")" = 9000
check "address applied" test "$(cat "/sys/class/net/$dev/address")" = 02:aa:bb:cc:dd:ee

# Bad input.
check_err "duplicate name refused" "File exists" ip link add "$dev" type xtap
check_err "multicast MAC refused" "address|Cannot assign" \
	ip link add "${dev}b" address 01:00:5e:00:00:01 type xtap
check_err "MAC of wrong length refused" "Invalid|invalid|address" \
	ip link add "${dev}b" address 02:00:00:00:00 type xtap
check_err "MTU below 68 refused" "mtu|MTU|Invalid|invalid" ip link set "$dev" mtu 67
check_err "MTU above 65535 refused" "mtu|MTU|Invalid|invalid|range" ip link set "$dev" mtu 65536
check "MTU 68 accepted" ip link set "$dev" mtu 68
check "MTU 65535 accepted" ip link set "$dev" mtu 65535
check_err "zero tx queues refused" "Invalid|invalid|queue" \
	ip link add "${dev}b" numtxqueues 0 type xtap
check "nothing left from refused creates" sh -c "! ip link show ${dev}b 2>/dev/null"
check "delete" ip link del "$dev"

# 100 create/delete cycles leave no device and no object behind.
before=$(xtap_live_objects device)
good=0
for _ in $(seq 1 100); do
	ip link add "$dev" type xtap && ip link del "$dev" && good=$((good + 1))
done
check "100 create/delete cycles" test $good = 100
check "no device object leaked" test "$(xtap_live_objects device)" = "$before"
check "no xtap link left" sh -c "! ip -d link show type xtap | grep -q ."

ksft_finish
