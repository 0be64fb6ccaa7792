# SPDX-License-Identifier: GPL-2.0
#
# Top-level Makefile of the out-of-tree xtap build.
#
#   make              build drivers/net/xtap/xtap.ko against the installed
#                     Debian headers (KDIR= overrides)
#   make W=1          the same with extra warnings (must stay clean)
#   make debug        build with CONFIG_XTAP_DEBUG=y (pr_debug + self-tests)
#   make check        style gate: checkpatch --strict, kernel-doc, sparse, shellcheck
#   make selftests    build the userspace test programs
#   make test         the whole suite (what README.md and .ci/run call)
#   make vmtest       only the VM part of the suite
#   make test-debug   the VM suite under the debug kernel (lockdep, KASAN,
#                     kmemleak, UBSAN; built once into /var/cache/xtap or
#                     ~/.cache/xtap, ~1 h on 2 cores); VM_TESTS= for a subset
#   make debug-kernel only build that kernel
#   make soak         10 min of traffic, device churn and busy-poll knob
#                     changes in the VM (SOAK_SECONDS=, SOAK_TRAFFIC=);
#                     every frame of soak_traffic accounted for
#   make run          the main job (boot a VM, load xtap, show it working)
#   make bench-ring   native ring micro-benchmark
#   make bench        xtap vs upstream vhost-net + tun in the VM (~10 min;
#                     ARGS= goes to bench/xbench); tables in bench-results/
#   make clean

TOP       := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KDIR      ?= $(shell $(TOP)/scripts/find-kdir.sh)
MODDIR    := $(TOP)/drivers/net/xtap
SELFTESTS := $(TOP)/tools/testing/selftests/xtap

ifeq ($(KDIR),)
$(error no kernel headers found; run scripts/deps.sh or pass KDIR=)
endif

.PHONY: all modules debug clean check selftests test vmtest run bench-ring bench deps \
	test-debug debug-kernel soak

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(MODDIR) modules

debug:
	$(MAKE) -C $(KDIR) M=$(MODDIR) CONFIG_XTAP_DEBUG=y modules

deps:
	$(TOP)/scripts/deps.sh

check: deps
	$(TOP)/scripts/check.sh

selftests: deps
	$(MAKE) -C $(SELFTESTS) all

test:
	$(TOP)/scripts/test.sh

vmtest: modules selftests
	$(SELFTESTS)/vm/run.sh

test-debug:
	$(TOP)/scripts/test-debug.sh

soak: modules selftests
	VM_TIMEOUT=$$(( $${SOAK_SECONDS:-600} + 1800 )) $(SELFTESTS)/vm/run.sh -- \
		env SOAK_SECONDS=$${SOAK_SECONDS:-600} SOAK_TRAFFIC=$${SOAK_TRAFFIC:-2} ./soak.sh

debug-kernel: deps
	$(SELFTESTS)/vm/build-kernel.sh

run:
	$(TOP)/scripts/main-job.sh

bench-ring: deps
	$(MAKE) -C $(SELFTESTS)/bench/ring bench

bench: modules selftests
	$(SELFTESTS)/bench/run.sh $(ARGS)

clean:
	$(MAKE) -C $(KDIR) M=$(MODDIR) clean
	-$(MAKE) -C $(SELFTESTS) clean
