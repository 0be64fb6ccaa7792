#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Extract from the installed linux-source-6.1 tarball only the files the
# project uses (kselftest harness, checkpatch and its data files) into the
# ignored directory .ksrc/.  Quiet and quick when already done.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/.ksrc"
tarball=""
for t in /usr/src/linux-source-6.1.tar.*; do
	[ -f "$t" ] && tarball=$t
done
if [ -z "$tarball" ]; then
	echo "ksrc: /usr/src/linux-source-6.1.tar.* not found (scripts/deps.sh installs it)" >&2
	exit 1
fi
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$tarball" ]; then
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
tar -xf "$tarball" -C "$out" --strip-components=1 \
	linux-source-6.1/scripts/checkpatch.pl \
	linux-source-6.1/scripts/spelling.txt \
	linux-source-6.1/scripts/const_structs.checkpatch \
	linux-source-6.1/scripts/kernel-doc \
	linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
	linux-source-6.1/tools/testing/selftests/kselftest.h
echo "$tarball" > "$stamp"
