#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Style gate: make W=1 without warnings, checkpatch --strict, kernel-doc,
# sparse, W=1 and sparse again on the debug build, and shellcheck.  Prints
# one KTAP line per check and, last, "style: N passed, N failed"; exits
# non-zero on any finding.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
"$top/scripts/ksrc.sh" || exit 1
kdir=${KDIR:-$("$top/scripts/find-kdir.sh")} || exit 1
mod=$top/drivers/net/xtap

pass=0 fail=0 n=0
result() { # result NAME OUTPUT-FILE: a check passes when it wrote nothing
	n=$((n + 1))
	if [ -s "$2" ]; then
		fail=$((fail + 1))
		echo "not ok $n style: $1"
		sed 's/^/# /' "$2" | head -n 60
	else
		pass=$((pass + 1))
		echo "ok $n style: $1"
	fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The files to check.  git may refuse a clone owned by another user
# ("dubious ownership"): allow this one tree for the listing, fall back to
# find(1) without git, and fail rather than check nothing.
lsfiles() {
	if git -c safe.directory="$top" ls-files -co --exclude-standard -- "$@" 2>/dev/null; then
		return 0
	fi
	echo "check: git ls-files failed; listing with find" >&2
	local p args=()
	for p in "$@"; do
		args+=(-o -path "./$p")
	done
	find . -path ./.ksrc -prune -o -path ./.vm -prune -o -type f \( "${args[@]:1}" \) -print |
		sed 's|^\./||'
}
mapfile -t kfiles < <(lsfiles 'drivers/*.c' 'drivers/*.h' 'include/*.h' | sort -u)
mapfile -t shfiles < <(lsfiles '*.sh' '.ci/run' 'tools/testing/selftests/xtap/vm/init' | sort -u)
n=$((n + 1))
if [ ${#kfiles[@]} -lt 2 ] || [ ${#shfiles[@]} -lt 2 ]; then
	fail=$((fail + 1))
	echo "not ok $n style: files to check found (${#kfiles[@]} C, ${#shfiles[@]} shell)"
else
	pass=$((pass + 1))
	echo "ok $n style: files to check found (${#kfiles[@]} C, ${#shfiles[@]} shell)"
fi

# W=1 build of a fresh tree: any warning fails.
make -s -C "$kdir" M="$mod" clean >/dev/null 2>&1
make -C "$kdir" M="$mod" W=1 modules > "$tmp/w1.log" 2>&1 || echo "build failed" >> "$tmp/w1.log"
grep -E 'warning:|error:|build failed' "$tmp/w1.log" > "$tmp/w1" || true
result "make W=1 without warnings" "$tmp/w1"

# checkpatch: its findings, or, when it exits non-zero without any (a
# missing Perl module, say), everything it said.  It must also find the
# planted error in a canary file, or it is not really checking.
checkpatch() {
	perl .ksrc/scripts/checkpatch.pl --strict --no-tree --terse --show-types -f "$@" < /dev/null
}
checkpatch "${kfiles[@]}" > "$tmp/cp.log" 2>&1
cprc=$?
grep -E '(ERROR|WARNING|CHECK):' "$tmp/cp.log" > "$tmp/cp"
if [ $cprc != 0 ] && [ ! -s "$tmp/cp" ]; then
	{ echo "checkpatch exited with status $cprc:"; cat "$tmp/cp.log"; } > "$tmp/cp"
fi
printf '// SPDX-License-Identifier: GPL-2.0\nint canary(void)\n{\n\treturn 0 ;\n}\n' > "$tmp/canary.c"
if ! checkpatch "$tmp/canary.c" 2>&1 | grep -q 'SPACING'; then
	echo "checkpatch missed the planted error in a canary file" >> "$tmp/cp"
fi
result "checkpatch --strict --no-tree" "$tmp/cp"

perl .ksrc/scripts/kernel-doc -none "${kfiles[@]}" > "$tmp/kd" 2>&1
result "kernel-doc -none" "$tmp/kd"

# sparse: rebuild every object with the checker (C=2) and keep its findings.
make -C "$kdir" M="$mod" C=2 CF="-D__CHECK_ENDIAN__" modules > "$tmp/sp.log" 2>&1 ||
	echo "sparse build failed" >> "$tmp/sp.log"
grep -E 'warning:|error:|sparse build failed' "$tmp/sp.log" > "$tmp/sp" || true
result "sparse (C=2)" "$tmp/sp"

# The debug build (selftest.c, -DDEBUG) in a scratch copy of the sources,
# with W=1 and sparse together: any warning fails.
"$top/scripts/build-debug.sh" "$tmp/debug" W=1 C=2 CF="-D__CHECK_ENDIAN__" \
	> /dev/null 2> "$tmp/dbg.log" || echo "debug build failed" >> "$tmp/dbg.log"
grep -E 'warning:|error:|debug build failed' "$tmp/dbg.log" > "$tmp/dbg" || true
result "make debug W=1 C=2 (sparse) without warnings" "$tmp/dbg"

shellcheck -x "${shfiles[@]}" > "$tmp/sc" 2>&1 || true
result "shellcheck" "$tmp/sc"

echo "style: $pass passed, $fail failed"
[ $fail = 0 ]
