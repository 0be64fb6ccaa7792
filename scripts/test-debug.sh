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
#   scripts/test-debug.sh [--ci]   --ci: the part CI runs (below)
#
# Environment as for vm/run.sh (VM_TESTS=... runs a subset); the debug
# kernel's defaults: VM_PANIC_ON_WARN=0 (one run shows every report),
# XTAP_TIMEOUT_MULT=12, VM_TIMEOUT=10800, and XTEST_OMIT='*.upstream*': the
# harness variants that drive upstream vhost-net instead of xtap prove the
# tests right under Debian's kernel and check nothing of xtap here.
#
# The CI part (--ci, what ./scripts/test.sh runs after the normal suite) is
# every test that drives xtap's objects and datapath in a bounded time under
# this kernel; measured on 2 cores, see xtap.rst "The debug kernel".  Left
# out, as they take too long under KASAN and lockdep in TCG and cover no
# code the others do not: vhost_datapath_test (its feature variants, over
# 45 min), e2e_qemu.sh and migrate_qemu.sh (a nested guest), link.sh (257
# queues: 9 min), bench_smoke.sh (timings).
set -u -o pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
st=$top/tools/testing/selftests/xtap
ci_tests="lifetime.sh debug_selftest.sh tap_lifetime.sh netns.sh vhost_node_test \
tap_queue_test tap_offload_test vhost_ioctl_test vhost_malformed_test \
vhost_lifecycle_test vhost_rx_test vhost_busypoll_test xdp_test xdp.sh \
xdp_xmit_test vhost_log_test"
case ${1:-} in
--ci) VM_TESTS=${VM_TESTS:-$ci_tests} ;;
"") ;;
*) echo "usage: $0 [--ci]" >&2; exit 2 ;;
esac

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
[ -n "${VM_TESTS:-}" ] && export VM_TESTS
export XTEST_OMIT=${XTEST_OMIT-*.upstream*}
export VM_PANIC_ON_WARN=${VM_PANIC_ON_WARN:-0}
export XTAP_TIMEOUT_MULT=${XTAP_TIMEOUT_MULT:-12}
export VM_TIMEOUT=${VM_TIMEOUT:-10800}
exec "$st/vm/run.sh"
