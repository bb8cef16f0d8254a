#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# The guest's /init: mounts what the tests need, loads the module, checks its device node, runs
# /suite.sh, checks that the suite exited 0, that the module unloads and that the kernel reported
# nothing, then powers off.  Prints TAP lines for its own checks and a final
# "EVENTFD_MAX_GUEST_VERDICT <status>" for the host.
/bin/busybox --install -s /bin
export PATH=/opt/eventfd_max/bin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# CONFIG_DEVTMPFS_MOUNT has mounted it already (so this one fails) unless the kernel lacks that.
mount -t devtmpfs devtmpfs /dev 2>/dev/null
accel=$(sed -n 's/.*eventfd_max\.accel=\([a-z-]*\).*/\1/p' /proc/cmdline)
export EVENTFD_MAX_ACCEL=${accel:-unknown}
module=$(cat /module-name)
device=$(cat /device-node)
status=0
check() { # description, command...
    desc=$1; shift
    if "$@"; then echo "ok - $desc"; else echo "not ok - $desc"; status=1; fi
}
device_ok() { [ -c "$1" ] && [ "$(stat -c %a "$1")" = 666 ]; }
# The tests need both (the in-kernel signal hook, fault injection, the memory cgroup test).
check "mount debugfs at /sys/kernel/debug" mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /sys/fs/cgroup
check "mount cgroup2 at /sys/fs/cgroup" mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "# guest: $(uname -r), CPUs $(cat /sys/devices/system/cpu/online) online of" \
    "$(cat /sys/devices/system/cpu/present), accel $EVENTFD_MAX_ACCEL"
check "insmod $module.ko" insmod "/lib/modules/$module.ko"
if [ $status = 0 ]; then
    if [ "$device" != none ]; then
        check "$device is a character device with mode 0666" device_ok "$device"
    fi
    sh /suite.sh
    rc=$?
    check "the suite exited 0 (status $rc)" [ $rc = 0 ]
    check "rmmod $module after the suite closed every fd" rmmod "$module"
fi
# Only when kmemleak is on (it refuses commands, EPERM, when off: kmemleak=off): the automatic
# scanning it is told to stop does not run in these kernels anyway.
if echo scan=off 2>/dev/null > /sys/kernel/debug/kmemleak; then
    # kmemleak reports only objects older than MSECS_MIN_AGE (5 s, mm/kmemleak.c) when its scan
    # starts: wait past that, so leaks from the module's exit and the suite's last seconds count.
    # Two scans: an object whose contents changed since the previous scan is not reported yet.
    # (A small object can still hide for a while: SLUB leaves its address in the per-CPU sheaf it
    # was taken from, which kmemleak scans, until that slot is reused.)
    sleep 6
    echo scan > /sys/kernel/debug/kmemleak; echo scan > /sys/kernel/debug/kmemleak
    leaks=$(cat /sys/kernel/debug/kmemleak)
    [ -z "$leaks" ] || echo "$leaks" | head -40 | sed 's/^/# /'
    check "kmemleak reports no leak" [ -z "$leaks" ]
fi
reports=$(dmesg | grep -E 'WARNING:|BUG:|Oops|Kernel panic|general protection|KASAN|UBSAN|kmemleak: .*new suspected|possible (circular|recursive) locking|inconsistent lock state|lock held when returning|INFO: task .* blocked|rcu.*stall|list_(add|del) corruption|refcount_t:|Call Trace:' || true)
# The matching lines first (a report early in the boot scrolls out of any tail), then the tail.
[ -z "$reports" ] || { echo "$reports" | head -20 | sed 's/^/# report: /'; dmesg | tail -80 | sed 's/^/# dmesg: /'; }
check "dmesg holds no kernel warning, BUG, lockdep, KASAN, UBSAN, kmemleak or hung-task report" \
    [ -z "$reports" ]
if [ -f /results ]; then
    stty -F /dev/ttyS1 raw -echo 2>/dev/null
    cat /results > /dev/ttyS1
fi
echo "EVENTFD_MAX_GUEST_VERDICT $status"
# With -no-reboot, QEMU exits on reboot (this kernel has no ACPI power-off).
reboot -f
