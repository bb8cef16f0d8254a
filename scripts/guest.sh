#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the test kernel in QEMU with a busybox initramfs, loads a module, runs a suite, and exits
# with the suite's verdict.
#
#   scripts/guest.sh --kernel DIR --module FILE.ko --suite FILE.sh [--bin DIR]... [--timeout SECS]
#                    [--memory MB] [--smp N] [--results FILE] [--log FILE] [--device PATH|none]
#                    [--allow-skip ERE]... [--append ARGS] [--icount]
#
# --kernel   a kernel build directory (arch/x86/boot/bzImage inside), e.g. from scripts/kernel.sh
# --module   the module to insmod before the suite (and rmmod after it)
# --suite    a shell script run by the guest's init as /suite.sh; it prints TAP and exits non-zero
#            on failure
# --bin      a directory copied to /opt/eventfd_max/<its name> (/opt/eventfd_max/bin is on PATH)
# --results  where the guest's /results file (if the suite writes one) is copied, through ttyS1
# --device   the character device the module must create, mode 0666 (default /dev/<module name>;
#            none for a module that creates no device)
# --allow-skip
#            a skipped result whose line matches this extended regular expression does not fail the
#            run; without any (as in CI), every skip fails it
# --append   more kernel command line (e.g. kmemleak=off)
# --smp      guest CPUs (default 2, one per host core here)
# --icount   deterministic TCG: guest clocks count instructions (1 ns = 1 instruction, idle time
#            skipped) and every source of boot-to-boot variation we found is pinned (see below)
# ACCEL=kvm  opt in to KVM (default TCG: nested KVM on our CI machines does not boot Linux)
#
# Around the suite, the guest's init adds TAP lines of its own: debugfs and cgroup2 mounted, the
# module loaded and its device node is a character device with mode 0666; after the suite, the
# suite exited 0, the module unloaded (all fds are closed by then), kmemleak (when the kernel has
# it; scanned once every object is older than its minimum reporting age) found nothing, and dmesg
# holds no oops, panic, WARNING, BUG, lockdep, KASAN, UBSAN, kmemleak or hung-task report.  The
# host side fails the run when the guest hangs past --timeout, dies before init reports its
# verdict, prints a panic on the console, or a result was skipped outside --allow-skip.  The output
# is streamed, and ends with the plain line "N passed, N failed, N skipped" counted by
# tap-count.awk over every TAP result at every level of nesting (each leaf once).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

kernel= module= suite= timeout=600 memory=1024 smp=2 results= log= append= device= allow= icount=
bins=()
while [ $# -gt 0 ]; do
    case "$1" in
        --kernel) kernel=$2; shift 2 ;;
        --module) module=$2; shift 2 ;;
        --suite) suite=$2; shift 2 ;;
        --bin) bins+=("$2"); shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --memory) memory=$2; shift 2 ;;
        --smp) smp=$2; shift 2 ;;
        --results) results=$2; shift 2 ;;
        --log) log=$2; shift 2 ;;
        --append) append=$2; shift 2 ;;
        --device) device=$2; shift 2 ;;
        --allow-skip) allow="${allow:+$allow|}($2)"; shift 2 ;;
        --icount) icount=1; shift ;;
        *) echo "guest.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
bzimage=$kernel/arch/x86/boot/bzImage
for f in "$bzimage" "$module" "$suite" /bin/busybox; do
    [ -f "$f" ] || { echo "guest.sh: missing $f" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/eventfd_max-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,opt/eventfd_max,lib/modules}
cp /bin/busybox "$root/bin/busybox"
cp "$module" "$root/lib/modules/"
cp "$suite" "$root/suite.sh"
cp "$here/guest-init.sh" "$root/init"
chmod +x "$root/init" "$root/suite.sh"
for b in "${bins[@]}"; do
    [ -d "$b" ] && cp -a "$b" "$root/opt/eventfd_max/$(basename "$b")"
done
echo "$(basename "$module" .ko)" > "$root/module-name"
echo "${device:-/dev/$(basename "$module" .ko)}" > "$root/device-node"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.gz"

accel=${ACCEL:-tcg}
case "$accel" in
    # No LA57: with 5-level paging, an interrupt that lands while identify_cpu() rewrites the
    # boot CPU's feature bits trips a false KASAN "wild-memory-access" in the 7.3 debug kernel
    # (seen in about one boot in ten); distribution machines run 4-level paging anyway.
    tcg) qemu_accel=(-accel tcg -cpu max,-la57) ;;
    kvm) qemu_accel=(-accel kvm -cpu host) ;;
    *) echo "guest.sh: ACCEL must be tcg or kvm" >&2; exit 2 ;;
esac
if [ -n "$icount" ]; then
    [ "$accel" = tcg ] || { echo "guest.sh: --icount needs TCG" >&2; exit 2; }
    # No LA57 as above, and the same instructions on every boot; leaving out any of the next three
    # changed some counts: no hardware randomness (RDRAND/RDSEED), a fixed RTC on the virtual clock
    # (the boot time is mixed into the random pool too), no user address randomisation.  nokaslr and
    # randomize_kstack_offset=off pin kernels built with those features (the test kernels are not).
    accel=tcg-icount
    qemu_accel=(-accel tcg -cpu max,-la57,-rdrand,-rdseed -icount shift=0,sleep=off
                -rtc base=2025-01-01T00:00:00,clock=vm)
    append="nokaslr norandmaps randomize_kstack_offset=off $append"
fi
console=$work/console.log
: > "$work/ttyS1"
# no_timer_check: on a host busy enough to starve the emulated CPU, the boot-time check that the
# timer interrupt arrives through the IO-APIC fails and panics ("IO-APIC + timer doesn't work!").
# pty.legacy_count=0: no BSD ptys (nothing here uses them); registering the default 256 pairs is
# 3 s of a debug boot, 8 s with kmemleak tracking every allocation.  (i8042.noaux would save the
# PS/2 mouse probe, 0.6 s of a debug boot, but it moved icount's create+close of the device by
# 1 062 instructions, a fifth, so the measured machine stays as it was.)
cmdline="console=ttyS0 panic=-1 oops=panic quiet loglevel=4 no_timer_check pty.legacy_count=0"
set +e
# tr line-buffered, so that the console streams line by line rather than in 4 KiB blocks.
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 "${qemu_accel[@]}" -smp "$smp" -m "$memory" \
    -nographic -no-reboot -nodefaults -serial stdio -serial "file:$work/ttyS1" \
    -kernel "$bzimage" -initrd "$work/initramfs.gz" \
    -append "$cmdline eventfd_max.accel=$accel $append" \
    < /dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$console"
qemu_status=${PIPESTATUS[0]}
set -e
[ -z "$log" ] || cp "$console" "$log"
[ -z "$results" ] || [ ! -s "$work/ttyS1" ] || tr -d '\r' < "$work/ttyS1" > "$results"

verdict=$(sed -n 's/^EVENTFD_MAX_GUEST_VERDICT \([0-9]*\)$/\1/p' "$console" | tail -1)
extra_fail=0
fail() { echo "not ok - $1"; extra_fail=$((extra_fail + 1)); }
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
    fail "guest finished within ${timeout}s (timed out: hung guest)"
elif [ -z "$verdict" ]; then
    fail "guest init reported a verdict (guest died: see console above)"
fi
if grep -qE '^\[ *[0-9.]+\] (Kernel panic|BUG: |Oops|general protection fault)' "$console"; then
    fail "no panic or oops on the console"
fi
counts=$(awk -v allow="$allow" -f "$here/tap-count.awk" "$console")
read -r passed failed skipped not_allowed <<< "$(tail -1 <<< "$counts")"
if [ "$not_allowed" != 0 ]; then
    sed -n 's/^skip: /# skipped: /p' <<< "$counts"
    fail "no result skipped outside the allowlist ($not_allowed skipped)"
fi
failed=$((failed + extra_fail))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "${verdict:-1}" = 0 ]
