#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the build directory of the newest installed kernel that has both
# headers (/lib/modules/<ver>/build) and an image (/boot/vmlinuz-<ver>).
# With -r print only the release string.  Never uses `uname -r`.
best=""
for b in /lib/modules/*/build; do
	[ -d "$b" ] || continue
	ver=${b#/lib/modules/}
	ver=${ver%/build}
	[ -f "/boot/vmlinuz-$ver" ] || continue
	best="$best$ver
"
done
ver=$(printf '%s' "$best" | sort -V | tail -n 1)
if [ -z "$ver" ]; then
	echo "find-kdir: no /lib/modules/<ver>/build with a matching /boot/vmlinuz-<ver>;" \
	     "run scripts/deps.sh" >&2
	exit 1
fi
if [ "${1:-}" = "-r" ]; then
	echo "$ver"
else
	echo "/lib/modules/$ver/build"
fi
