#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM for the main job (scripts/main-job.sh): xtap is loaded;
# create an interface and print its state.
set -eu
echo "== kernel $(uname -r), xtap $(cat /sys/module/xtap/version)"
ip link add xtap0 type xtap
ip link set xtap0 up
ip -d link show xtap0
ifindex=$(cat /sys/class/net/xtap0/ifindex)
echo "== ifindex $ifindex"
ls -l /dev/vhost-xtap
ip -s link show xtap0
ip link del xtap0
echo "== xtap0 deleted"
