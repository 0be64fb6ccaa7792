#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Extract from the installed linux-source-6.1 tarball only the files the
# project uses (checkpatch and its data files, kernel-doc, and the kselftest
# framework: lib.mk, kselftest.h, kselftest_harness.h, kselftest/runner.sh
# and prefix.pl) into the ignored directory .ksrc/, and link the kselftest
# framework files to where a kernel tree has them
# (tools/testing/selftests/lib.mk and so on, also ignored), so that
# tools/testing/selftests/xtap/Makefile can "include ../lib.mk" as in-tree
# selftests do.  Quiet and quick when already done.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/.ksrc"
ksft=tools/testing/selftests
# What the selftests framework needs, relative to $ksft.
ksft_files="lib.mk kselftest.h kselftest_harness.h kselftest/runner.sh
kselftest/prefix.pl"
tarball=""
for t in /usr/src/linux-source-6.1.tar.*; do
	[ -f "$t" ] && tarball=$t
done
if [ -z "$tarball" ]; then
	echo "ksrc: /usr/src/linux-source-6.1.tar.* not found (scripts/deps.sh installs it)" >&2
	exit 1
fi

# Link $ksft/<file> in the worktree to the extracted copy.  A link that
# already points there is left alone.
link_ksft() {
	for f in lib.mk kselftest.h kselftest_harness.h kselftest; do
		want="../../../.ksrc/$ksft/$f"
		[ "$(readlink "$top/$ksft/$f" 2>/dev/null)" = "$want" ] && continue
		rm -rf "${top:?}/$ksft/$f"
		ln -s "$want" "$top/$ksft/$f"
	done
}

# The stamp names the tarball and the file list: a new list re-extracts.
stamp="$out/.stamp"
want_stamp="$tarball v2"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
	link_ksft
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
set -- linux-source-6.1/scripts/checkpatch.pl \
	linux-source-6.1/scripts/spelling.txt \
	linux-source-6.1/scripts/const_structs.checkpatch \
	linux-source-6.1/scripts/kernel-doc
for f in $ksft_files; do
	set -- "$@" "linux-source-6.1/$ksft/$f"
done
tar -xf "$tarball" -C "$out" --strip-components=1 "$@"
echo "$want_stamp" > "$stamp"
link_ksft
