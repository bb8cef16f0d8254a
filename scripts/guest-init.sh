#!/bin/busybox sh
# The guest's /init: mounts what the tests need, loads the module, runs /suite.sh, checks that the
# module unloads and that the kernel reported nothing, then powers off.  Prints TAP lines for its
# own checks and a final "EVENTFD_MAX_GUEST_VERDICT <status>" for the host.
/bin/busybox --install -s /bin
export PATH=/opt/eventfd_max/bin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
accel=$(sed -n 's/.*eventfd_max\.accel=\([a-z-]*\).*/\1/p' /proc/cmdline)
export EVENTFD_MAX_ACCEL=${accel:-unknown}
module=$(cat /module-name)
status=0
check() { # description, command...
    desc=$1; shift
    if "$@"; then echo "ok - $desc"; else echo "not ok - $desc"; status=1; fi
}
echo "# guest: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs, accel $EVENTFD_MAX_ACCEL"
check "insmod $module.ko" insmod "/lib/modules/$module.ko"
if [ $status = 0 ]; then
    sh /suite.sh || status=1
    check "rmmod $module after the suite closed every fd" rmmod "$module"
fi
if [ -w /sys/kernel/debug/kmemleak ]; then
    # Two scans: kmemleak reports only objects unreferenced across a full scan.
    echo scan > /sys/kernel/debug/kmemleak; echo scan > /sys/kernel/debug/kmemleak
    leaks=$(cat /sys/kernel/debug/kmemleak)
    [ -z "$leaks" ] || echo "$leaks" | head -40 | sed 's/^/# /'
    check "kmemleak reports no leak" [ -z "$leaks" ]
fi
reports=$(dmesg | grep -E 'WARNING:|BUG:|Oops|Kernel panic|general protection|KASAN|UBSAN|kmemleak: .*new suspected|possible (circular|recursive) locking|inconsistent lock state|lock held when returning|INFO: task .* blocked|rcu.*stall|list_(add|del) corruption|refcount_t:|Call Trace:' || true)
[ -z "$reports" ] || { dmesg | tail -80 | sed 's/^/# dmesg: /'; }
check "dmesg holds no kernel warning, BUG, lockdep, KASAN, kmemleak or hung-task report" [ -z "$reports" ]
if [ -f /results ]; then
    stty -F /dev/ttyS1 raw -echo 2>/dev/null
    cat /results > /dev/ttyS1
fi
echo "EVENTFD_MAX_GUEST_VERDICT $status"
# With -no-reboot, QEMU exits on reboot (this kernel has no ACPI power-off).
reboot -f
