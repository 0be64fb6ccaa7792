#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The main job: install what is missing, build xtap, boot a VM, load xtap
# there and show it working (see tools/testing/selftests/xtap/vm/demo.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/scripts/deps.sh"
make -s modules
make -s selftests
exec "$top/tools/testing/selftests/xtap/vm/run.sh" -- ./vm/demo.sh
