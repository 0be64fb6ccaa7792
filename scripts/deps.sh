#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package that building, testing and benchmarking xtap
# need.  Idempotent: runs `apt-get update` only when something is missing and
# prints nothing when all is there.  Then extracts the few files we use from
# linux-source-6.1 (scripts/ksrc.sh).
set -eu

PKGS="make gcc libc6-dev linux-libc-dev kmod cpio xz-utils bc
qemu-system-x86 linux-image-amd64 linux-headers-amd64 linux-source-6.1
busybox-static clang llvm libbpf-dev bpftool iproute2 ethtool iputils-ping
sparse shellcheck python3 procps flex bison libelf-dev libssl-dev
rsync linux-perf"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages:$missing (run as root to install)" >&2
		exit 1
	fi
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

exec "$(dirname "$0")/ksrc.sh"
