#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main job: install what is missing, build xtap and the nested guest's
# image, boot a VM, load xtap there and show it working: a nested Linux guest
# attached to xtap0 through /dev/xtap<ifindex> and /dev/vhost-xtap pings the
# VM and moves 4 MB each way while an XDP program on xtap0 (built here with
# clang) counts its frames (see tools/testing/selftests/xtap/vm/demo.sh).
# Takes a few minutes: the nested guest runs under TCG inside TCG.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh"
make -s modules
make -s selftests
# The XDP program the demo attaches to xtap0, built here: the VM sees the
# tree read-only (vm/demo.sh finds it in .vm/main-job/).
demo_xdp=$top/.vm/main-job/xdp_demo.bpf.o
mkdir -p "$(dirname "$demo_xdp")"
clang -O2 -g -Wall -target bpf -I"/usr/include/$(gcc -dumpmachine)" \
	-c "$top/tools/testing/selftests/xtap/vm/demo/xdp_demo.bpf.c" -o "$demo_xdp"
export VM_TIMEOUT=${VM_TIMEOUT:-2400}
exec "$top/tools/testing/selftests/xtap/vm/run.sh" -- ./vm/demo.sh
