#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot Debian's kernel under QEMU (TCG unless KVM really works) with the host
# root shared read-only over 9p, load xtap.ko from the build tree, and run
# either the whole kselftest suite or one command.
#
#   vm/run.sh                 run every test once; last line of output is
#                             "N passed, N failed, N skipped"
#   vm/run.sh -- CMD ARGS...  run CMD inside the VM with xtap loaded; print
#                             its output and exit with its status
#
# Environment: VM_KERNEL_VER (default: newest installed with headers),
# VM_KERNEL_DIR (boot the debug kernel built by vm/build-kernel.sh from this
# directory instead, with VM_XTAP_KO and VM_XTAP_DEBUG_KO the xtap builds
# made against it; see `make test-debug`), VM_MEM (MiB, default 3072),
# VM_SMP (default 2), VM_TIMEOUT (seconds for the whole boot, default 3600
# for the suite and 900 for a command), VM_BOOT_STALL (seconds without
# console output before the guest starts its job that count as a stalled
# boot, default 120: the VM is killed and booted once more), VM_PANIC_ON_WARN
# (default 1; 0 lets the debug kernel go on after a report, so one run shows
# them all), XTAP_TIMEOUT_MULT (per-test timeout multiplier, default 4 under
# TCG), VM_TESTS (space-separated subset of tests to run), XTEST_OMIT
# (harness variants the test programs leave out, see lib/xtest.h), VM_KEEP=1 (keep
# logs), VM_QEMU_ARGS (more QEMU arguments, split at blanks).
set -u

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ST_DIR=$(dirname "$VM_DIR")
TOP=$(cd "$ST_DIR/../../../.." && pwd)
# hostver: the installed Debian kernel (its modules mount the root; a nested
# guest boots it); ver: the kernel the VM boots.
hostver=${VM_KERNEL_VER:-$("$TOP/scripts/find-kdir.sh" -r)} || exit 1
ver=$hostver
kernel=/boot/vmlinuz-$ver
kdir=${VM_KERNEL_DIR:-}
if [ -n "$kdir" ]; then
	kernel=$kdir/bzImage
	ver=$(cat "$kdir/release") || exit 1
fi
ko=${VM_XTAP_KO:-$TOP/drivers/net/xtap/xtap.ko}
# The CONFIG_XTAP_DEBUG=y build, made by `make selftests`
# (scripts/build-debug.sh); debug_selftest.sh skips without it.
debug_ko=${VM_XTAP_DEBUG_KO:-$TOP/.vm/xtap-debug/drivers/net/xtap/xtap.ko}

mode=suite
cmd=()
if [ "${1:-}" = "--" ]; then
	shift
	[ $# -gt 0 ] || { echo "usage: $0 [-- CMD ARGS...]" >&2; exit 2; }
	mode=cmd
	cmd=("$@")
elif [ $# -gt 0 ]; then
	echo "usage: $0 [-- CMD ARGS...]" >&2
	exit 2
fi

die() { echo "vm: $*" >&2; exit 1; }
[ -r "$kernel" ] || die "no kernel image $kernel (run scripts/deps.sh)"
[ -f "$ko" ] || die "no $ko (run make)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (run scripts/deps.sh)"

# The initramfs only carries busybox and the modules needed to mount the
# host root; it is cached per kernel version and rebuilt when its inputs change.
cache=$TOP/.vm
mkdir -p "$cache"
initrd=$cache/initramfs-$ver.cpio.gz
if [ ! -f "$initrd" ] || [ "$VM_DIR/init" -nt "$initrd" ] || [ "$VM_DIR/run.sh" -nt "$initrd" ]; then
	stage=$(mktemp -d "$cache/stage.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,mnt/root,modules}
	cp /bin/busybox "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
	cp "$VM_DIR/init" "$stage/init"
	chmod 755 "$stage/init"
	: > "$stage/modules/order"
	# The debug kernel has all of it built in.
	[ -n "$kdir" ] || for m in virtio_pci 9pnet_virtio 9p; do
		modprobe -S "$ver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r path; do
		cp "$path" "$stage/modules/"
		basename "$path" >> "$stage/modules/order"
	done
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	rm -rf "$stage"
fi

accel=tcg
if [ "${VM_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then
	accel=kvm
fi

run=$(mktemp -d "$cache/run.XXXXXX")
cleanup() {
	[ -n "${qpid:-}" ] && kill "$qpid" 2>/dev/null
	if [ "${VM_KEEP:-0}" = 1 ]; then
		echo "vm: logs kept in $run" >&2
	else
		rm -rf "$run"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Job description for the guest, read by vm/guest.sh through the 9p root.
{
	printf 'XTAP_MODE=%q\n' "$mode"
	printf 'XTAP_TOP=%q\n' "$TOP"
	printf 'XTAP_KO=%q\n' "$ko"
	printf 'XTAP_DEBUG_KO=%q\n' "$([ -f "$debug_ko" ] && echo "$debug_ko")"
	printf 'XTAP_TIMEOUT_MULT=%q\n' "${XTAP_TIMEOUT_MULT:-$([ "$accel" = tcg ] && echo 4 || echo 1)}"
	printf 'XTAP_TESTS=%q\n' "${VM_TESTS:-}"
	printf 'XTEST_OMIT=%q\n' "${XTEST_OMIT:-}"
	printf 'XTAP_HOST_KVER=%q\n' "$hostver"
	printf 'XTAP_BUILTINS=%q\n' "$([ -n "$kdir" ] && echo "$run/kmods")"
	printf 'XTAP_CMD=('
	for a in "${cmd[@]}"; do printf '%q ' "$a"; done
	printf ')\n'
} > "$run/job"
# modules.builtin of the debug kernel, so modprobe of a built-in succeeds.
if [ -n "$kdir" ]; then
	mkdir -p "$run/kmods"
	cp "$kdir"/modules.builtin* "$run/kmods/"
fi

# boot_vm gives the guest two virtio-net NICs on one QEMU hub, a "host NIC"
# for XDP redirect tests: what leaves the first (MAC ...:01) arrives on the second (...:02).
timeout=${VM_TIMEOUT:-$([ "$mode" = suite ] && echo 3600 || echo 900)}
stall=${VM_BOOT_STALL:-120}
read -r -a qargs <<< "${VM_QEMU_ARGS:-}"
append="console=ttyS0 xtapvm_job=$run/job xtapvm_guest=$VM_DIR/guest.sh xtapvm_top=$TOP panic=-1 oops=panic panic_on_warn=${VM_PANIC_ON_WARN:-1} softlockup_panic=1 hung_task_panic=1 nmi_watchdog=0 tsc=reliable log_buf_len=8M"

# boot_vm: boot once; sets vm_end to "exit" (QEMU ended), "timeout" (the
# whole run took longer than $timeout) or "stall" (no console output for
# $stall seconds before the guest started its job: a stalled boot).
boot_vm() {
	local deadline last_size=-1 last_change=$SECONDS size
	: > "$run/console"
	: > "$run/result"
	qemu-system-x86_64 -accel "$accel" -machine q35 -cpu max \
		-smp "${VM_SMP:-2}" -m "${VM_MEM:-3072}" \
		-nodefaults -nographic -no-reboot -monitor none -nic none \
		-serial "file:$run/console" -serial "file:$run/result" \
		-netdev hubport,id=hub0a,hubid=0 \
		-device virtio-net-pci,netdev=hub0a,mac=52:54:00:78:74:01 \
		-netdev hubport,id=hub0b,hubid=0 \
		-device virtio-net-pci,netdev=hub0b,mac=52:54:00:78:74:02 \
		-kernel "$kernel" -initrd "$initrd" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-append "$append" "${qargs[@]}" </dev/null >"$run/qemu.log" 2>&1 &
	qpid=$!
	# Stream the guest's output as it arrives, until QEMU exits.
	(tail -n +1 --pid="$qpid" -f "$run/result" | grep --line-buffered -v '^xtap-vm-') &
	tpid=$!
	deadline=$((SECONDS + timeout))
	vm_end="exit"
	while kill -0 "$qpid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			vm_end=timeout
			break
		fi
		if ! grep -q '^xtap-vm-started' "$run/result" 2>/dev/null; then
			size=$(stat -c %s "$run/console")
			if [ "$size" != "$last_size" ]; then
				last_size=$size last_change=$SECONDS
			elif [ $((SECONDS - last_change)) -ge "$stall" ]; then
				vm_end=stall
				break
			fi
		fi
		sleep 1
	done
	[ "$vm_end" = exit ] || kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=""
	wait "$tpid" 2>/dev/null
}

# A boot that stalls is killed and retried once; each stall is said, counted
# on the last line and logged in .vm/boot-stalls.log.
stalls=0
start_time=$SECONDS
for attempt in 1 2; do
	boot_vm
	[ "$vm_end" = stall ] || break
	stalls=$((stalls + 1))
	last=$(tr -d '\r' < "$run/console" | grep -v '^$' | tail -n 1)
	echo "vm: boot stalled: no console output for ${stall}s after $((SECONDS - start_time))s; last line: ${last:-<none>}" >&2
	echo "$(date -u +%FT%TZ) $ver attempt=$attempt stalled; last: $last" >> "$cache/boot-stalls.log"
	[ $attempt = 1 ] && echo "vm: retrying the boot (1 retry)" >&2
	timeout=$((timeout - (SECONDS - start_time)))
	[ $timeout -gt 60 ] || break
done
echo "vm: boot stalls in this run: $stalls" >&2
timed_out=0
[ "$vm_end" = timeout ] && timed_out=1

# Kernel health: any of these in the console log fails the run.  The kernel
# command line is echoed at boot and names some of the words, so skip it.
bad_re='WARNING:|BUG:|Oops|refcount_t:|lockup|hung_task|KASAN|UBSAN|suspected memory leak|unreferenced object|ODEBUG|Kernel panic|general protection fault|Call Trace:'
health=$(tr -d '\r' < "$run/console" | grep -v -E 'Command line:|Kernel command line:' | grep -E "$bad_re" | head -n 20)

rcline=$(tr -d '\r' < "$run/result" | grep '^xtap-vm-result ' | tail -n 1)
problem=""
if [ "$vm_end" = stall ]; then
	problem="the boot stalled twice"
elif [ $timed_out = 1 ]; then
	problem="guest timed out after ${timeout}s"
elif [ -z "$rcline" ]; then
	problem="no result from the guest (panic or crash)"
fi
if [ -n "$health" ] || [ -n "$problem" ]; then
	echo "vm: ---- kernel console (last 60 lines) ----" >&2
	tr -d '\r' < "$run/console" | tail -n 60 >&2
	[ -s "$run/qemu.log" ] && { echo "vm: ---- qemu ----" >&2; cat "$run/qemu.log" >&2; }
fi
[ -n "$health" ] && { echo "vm: kernel log shows:" >&2; echo "$health" >&2; }
[ -n "$problem" ] && echo "vm: $problem" >&2

get() { echo "$rcline" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
rc=$(get rc)
if [ "$mode" = cmd ]; then
	if [ -n "$health" ] || [ -n "$problem" ]; then
		exit 1
	fi
	exit "${rc:-1}"
fi

# Count every planned result once: what the guest reported (its final
# line, else its last tally), every planned test that never reported as a
# failure (vm/count.sh), and this side's own checks.
# shellcheck source-path=SCRIPTDIR source=count.sh
. "$VM_DIR/count.sh"
count_suite "$run/result"
pass=$cnt_p fail=$cnt_f skip=$cnt_s
[ -n "$cnt_why" ] && echo "vm: $cnt_why" >&2
# A crash, timeout or stall is one more failure on top of what the guest
# counted, so the run never passes without a clean result.
if [ -n "$problem" ]; then
	fail=$((fail + 1))
	echo "not ok - vm: $problem"
fi
if [ -n "$health" ]; then
	fail=$((fail + 1))
	echo "not ok - vm: kernel log clean"
elif [ ! -s "$run/console" ]; then
	fail=$((fail + 1))
	echo "not ok - vm: kernel log clean # no kernel log at all"
else
	pass=$((pass + 1))
	echo "ok - vm: kernel log clean"
fi
[ $stalls = 0 ] || echo "# vm: boot stalls: $stalls (a stalled boot is retried once)"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "${rc:-1}" = 0 ]
