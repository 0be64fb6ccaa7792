#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The VM suite under the debug kernel (`make test-debug`, `scripts/test.sh
# --debug`): lockdep (PROVE_LOCKING, PROVE_RCU), KASAN, UBSAN, kmemleak,
# DEBUG_OBJECTS, DEBUG_ATOMIC_SLEEP and fault injection, config in
# tools/testing/selftests/xtap/vm/debug.config.  Builds that kernel once
# (cached outside the tree by vm/build-kernel.sh), builds xtap's debug
# variant (CONFIG_XTAP_DEBUG=y: self-tests at load, lifetime pairs) against
# it and runs the suite with it in the same runner, vm/run.sh.  Any kernel
# report fails the run; kmemleak is scanned after the unload.  The last line
# is "N passed, N failed, N skipped".
#
# Environment as for vm/run.sh (VM_TESTS=... runs a subset); the debug
# kernel's defaults: VM_PANIC_ON_WARN=0 (one run shows every report),
# XTAP_TIMEOUT_MULT=12 and VM_TIMEOUT=10800.
set -u -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
st=$top/tools/testing/selftests/xtap

bail() {
	echo "not ok - $*"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

"$top/scripts/deps.sh" || bail "dependencies"
make -s selftests || bail "make selftests"
start=$SECONDS
kdir=$("$st/vm/build-kernel.sh") || bail "build the debug kernel"
echo "# debug kernel $(cat "$kdir/release") in $kdir (ready after $((SECONDS - start)) s;" \
	"last build took $(cat "$kdir/build-time" 2>/dev/null || echo '?') s)"
ko=$(KDIR=$kdir/obj "$top/scripts/build-debug.sh" "$top/.vm/xtap-debugk") ||
	bail "build xtap (CONFIG_XTAP_DEBUG=y) against the debug kernel"

export VM_KERNEL_DIR=$kdir VM_XTAP_KO=$ko VM_XTAP_DEBUG_KO=$ko
export VM_PANIC_ON_WARN=${VM_PANIC_ON_WARN:-0}
export XTAP_TIMEOUT_MULT=${XTAP_TIMEOUT_MULT:-12}
export VM_TIMEOUT=${VM_TIMEOUT:-10800}
exec "$st/vm/run.sh"
