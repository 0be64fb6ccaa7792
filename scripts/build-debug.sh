#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug variant of xtap.ko (CONFIG_XTAP_DEBUG=y: pr_debug always
# on, self-tests at load) beside the normal one, and print its path.
#
#   scripts/build-debug.sh [DIR [MAKE-ARGS...]]
#
# The sources are copied into DIR (default .vm/xtap-debug, ignored by git)
# with the tree's layout, drivers/net/xtap/ and include/uapi/linux/xtap.h,
# which Kbuild's -I$(src)/../../../include expects, and built there with
# M=, so drivers/net/xtap/xtap.ko stays the normal build.  Only files whose
# content changed are copied, and nothing is built when neither the
# sources, the kernel headers nor MAKE-ARGS changed since the last build.
# `make selftests` runs this for debug_selftest.sh; scripts/check.sh runs it
# with W=1 C=2 in a scratch DIR.  Build output goes to stderr.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/.vm/xtap-debug}
[ $# -gt 0 ] && shift
kdir=${KDIR:-$("$top/scripts/find-kdir.sh")}
mod=$dir/drivers/net/xtap
ko=$mod/xtap.ko

cd "$top"
files=(drivers/net/xtap/Kbuild drivers/net/xtap/*.[ch] include/uapi/linux/xtap.h)
key=$( { echo "$kdir $*"; readlink -f "$kdir"; sha256sum "${files[@]}"; } |
	sha256sum | cut -c1-16)
if [ -f "$ko" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$key" ]; then
	echo "$ko"
	exit 0
fi

mkdir -p "$mod" "$dir/include/uapi/linux"
# Sources deleted from the tree go from the copy too.
for f in "$mod"/Kbuild "$mod"/*.[ch]; do
	if [ -e "$f" ] && [ ! -e "$top/${f#"$dir"/}" ]; then
		rm -f "$f"
	fi
done
# A changed file gets a fresh mtime, so Kbuild rebuilds what depends on it.
for f in "${files[@]}"; do
	if ! cmp -s "$f" "$dir/$f"; then
		cp "$f" "$dir/$f"
	fi
done
rm -f "$dir/stamp"
make -C "$kdir" M="$mod" CONFIG_XTAP_DEBUG=y "$@" modules >&2
echo "$key" > "$dir/stamp"
echo "$ko"
