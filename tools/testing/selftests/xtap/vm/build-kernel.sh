#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel of the test VM (lockdep, KASAN, kmemleak, UBSAN,
# fault injection; config fragment vm/debug.config) from Debian's
# linux-source-6.1 and print the directory that holds it.
#
#   vm/build-kernel.sh [-k]       -k: print the cache key and exit
#
# The source is extracted outside the repository, into $XTAP_KCACHE
# (default /var/cache/xtap when writable, else ${XDG_CACHE_HOME:-~/.cache}/xtap),
# and built there in build-<key>/, where <key> hashes the source package's
# version, debug.config and $layout below (raise it when this script changes
# what it builds): the kernel is rebuilt only when one of them changes.  The configuration is `make allnoconfig` with debug.config
# as KCONFIG_ALLCONFIG, then olddefconfig; every option of the fragment must
# survive it (a dependency that silently drops one fails the build).
#
# The result directory holds bzImage, the kernel build tree (for building
# xtap.ko against it: make -C DIR/obj M=...), modules.builtin* (so that
# modprobe of a built-in module succeeds in the guest), build.log and
# build-time (seconds of the last build).  The build runs as
# `nice -n $XTAP_KNICE make -j$XTAP_KJOBS` (defaults 10 and nproc): the
# machine is shared.
set -eu
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
frag=$VM_DIR/debug.config

tarball=""
for t in /usr/src/linux-source-6.1.tar.*; do
	[ -f "$t" ] && tarball=$t
done
[ -n "$tarball" ] || { echo "build-kernel: no /usr/src/linux-source-6.1.tar.* (run scripts/deps.sh)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s-%Y "$tarball")

if [ -z "${XTAP_KCACHE:-}" ]; then
	if mkdir -p /var/cache/xtap 2>/dev/null && [ -w /var/cache/xtap ]; then
		XTAP_KCACHE=/var/cache/xtap
	else
		XTAP_KCACHE=${XDG_CACHE_HOME:-$HOME/.cache}/xtap
	fi
fi
layout=1
key=$( { echo "$srcver $layout"; cat "$frag"; } | sha256sum | cut -c1-16)
if [ "${1:-}" = "-k" ]; then
	echo "$key"
	exit 0
fi
mkdir -p "$XTAP_KCACHE"
out=$XTAP_KCACHE/build-$key
if [ -f "$out/bzImage" ] && [ -f "$out/stamp" ]; then
	echo "$out"
	exit 0
fi

exec 9>"$XTAP_KCACHE/lock"
flock 9
if [ -f "$out/bzImage" ] && [ -f "$out/stamp" ]; then
	echo "$out"
	exit 0
fi

src=$XTAP_KCACHE/src-$srcver
if [ ! -f "$src/.extracted" ]; then
	echo "build-kernel: extracting $tarball into $src" >&2
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.extracted"
	mv "$src.tmp" "$src"
fi

obj=$out/obj
mkdir -p "$obj"
log=$out/build.log
: > "$log"
jobs=${XTAP_KJOBS:-$(nproc)}
niceness=${XTAP_KNICE:-10}
start=$(date +%s)
echo "build-kernel: configuring in $obj (log: $log)" >&2
make -s -C "$src" O="$obj" KCONFIG_ALLCONFIG="$frag" allnoconfig >>"$log" 2>&1
make -s -C "$src" O="$obj" olddefconfig >>"$log" 2>&1
# Every line of the fragment must be in the result.
missing=$(grep -E '^(CONFIG_|# CONFIG_)' "$frag" | while read -r line; do
	grep -qxF "$line" "$obj/.config" || echo "$line"
done)
if [ -n "$missing" ]; then
	echo "build-kernel: options of debug.config lost by olddefconfig:" >&2
	echo "$missing" >&2
	exit 1
fi
# Measured 2026-12-03 on 2 cores shared with five other builds (load
# 13-19): about 7 objects a minute; an interrupted build resumes where it
# stopped.
echo "build-kernel: nice -n $niceness make -j$jobs bzImage modules (long: an hour or more on 2 cores)" >&2
if ! nice -n "$niceness" make -C "$src" O="$obj" -j"$jobs" bzImage modules >>"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "build-kernel: build failed, see $log" >&2
	exit 1
fi
cp "$obj/arch/x86/boot/bzImage" "$out/bzImage"
cp "$obj/modules.builtin" "$obj/modules.builtin.modinfo" "$out/"
make -s -C "$src" O="$obj" kernelrelease > "$out/release"
echo $(( $(date +%s) - start )) > "$out/build-time"
echo "$key" > "$out/stamp"
# Older builds are stale now.
for old in "$XTAP_KCACHE"/build-*; do
	[ "$old" = "$out" ] || rm -rf "$old"
done
echo "build-kernel: built $(cat "$out/release") in $(cat "$out/build-time") s" >&2
echo "$out"
