#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs of the nested (L2) test guest and print its path.
#
#   vm/nested/build.sh [-k] [CACHE-DIR]
#
# The image holds busybox-static, ethtool with its shared libraries, the
# virtio_pci and virtio_net modules of the installed Debian kernel (in
# dependency order) and vm/nested/l2-init.sh as /init.  Next to it goes the
# kernel uncompressed (nested-vmlinux-<ver>), which boots faster.  It is cached in
# CACHE-DIR (default: .vm/ at the top of the worktree) under a name keyed on
# the kernel version and on the contents of everything that goes into it, so
# an unchanged kit is built once.  -k prints the cache key and exits.
#
# scripts/main-job.sh and `make selftests` run this on the host before the VM
# boots; inside the VM (repository read-only) lib.sh falls back to building a
# private copy in $TMPDIR.
set -eu
NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$NESTED_DIR/../../../../../.." && pwd)

keyonly=0
if [ "${1:-}" = "-k" ]; then
	keyonly=1
	shift
fi
cache=${1:-$TOP/.vm}
ver=${VM_KERNEL_VER:-$("$TOP/scripts/find-kdir.sh" -r)}
busybox=/bin/busybox
ethtool=$(command -v ethtool || true)
mods="virtio_pci virtio_net"

# Every input of the image, by content: the scripts, the binaries, and the
# module files modprobe picks for this kernel version.
modfiles() {
	local m
	for m in $mods; do
		modprobe -S "$ver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++'
}
libsof() {
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}
inputs() {
	echo "$NESTED_DIR/build.sh" "$NESTED_DIR/l2-init.sh" "$busybox"
	[ -n "$ethtool" ] && { echo "$ethtool"; libsof "$ethtool"; }
	modfiles
}
key=$( { echo "$ver"; inputs | xargs sha256sum; } | sha256sum | cut -c1-16)
if [ $keyonly = 1 ]; then
	echo "$key"
	exit 0
fi

img=$cache/nested-$ver-$key.cpio.gz
vmlinux=$cache/nested-vmlinux-$ver
mkdir -p "$cache"
# The kernel uncompressed, for QEMU's PVH entry: under nested TCG, unpacking
# the xz-compressed bzImage is a good part of the boot.  Optional: lib.sh
# boots the bzImage when this is missing.
if [ ! -f "$vmlinux" ] && grep -q '^CONFIG_PVH=y' "/boot/config-$ver" 2>/dev/null; then
	off=$(LC_ALL=C grep -abo -m 1 $'\xfd7zXZ' "/boot/vmlinuz-$ver" | head -n 1 | cut -d: -f1)
	if [ -n "$off" ] &&
	   tail -c +"$((off + 1))" "/boot/vmlinuz-$ver" | xz -dc --single-stream > "$vmlinux.tmp.$$" 2>/dev/null &&
	   [ "$(head -c 4 "$vmlinux.tmp.$$" | od -An -c | tr -d ' ')" = 177ELF ]; then
		mv "$vmlinux.tmp.$$" "$vmlinux"
	else
		rm -f "$vmlinux.tmp.$$"
	fi
fi
if [ -f "$img" ]; then
	echo "$img"
	exit 0
fi
stage=$(mktemp -d "$cache/nested-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,modules}
cp "$busybox" "$stage/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
done
if [ -n "$ethtool" ]; then
	cp "$ethtool" "$stage/sbin/ethtool"
	for l in $(libsof "$ethtool"); do
		mkdir -p "$stage$(dirname "$l")"
		cp -L "$l" "$stage$l"
	done
fi
: > "$stage/modules/order"
for path in $(modfiles); do
	cp "$path" "$stage/modules/"
	basename "$path" >> "$stage/modules/order"
done
cp "$NESTED_DIR/l2-init.sh" "$stage/init"
chmod 755 "$stage/init"
# The directory tree first, so the kernel never meets a file before its dir.
(cd "$stage" && find . | sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) > "$img.tmp.$$"
mv "$img.tmp.$$" "$img"
# Older images of the same kernel are stale now.
for old in "$cache"/nested-"$ver"-*.cpio.gz; do
	[ "$old" = "$img" ] || rm -f "$old"
done
echo "$img"
