#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest half of `make test` (debug kernel, module loaded by init): the module's KUnit suite,
# every test program, 64-bit (through the kselftest runner) and 32-bit (compat ioctls), the Rust
# crate's device tests, the examples, the reliability suite's stress and fuzz parts, the
# benchmarks' smoke mode, and the module as built against a headers-package tree and by DKMS.  Its
# hostile and lifetime parts, which reach every allocation the module makes, boot alongside with
# kmemleak (guest/reliability.sh); this guest boots without it (it doubles the cost of everything
# in a debug guest).  A missing program is a failure.
bin=/opt/eventfd_max/bin
bin32=/opt/eventfd_max/bin32
# `make kselftest-install`'s directory, and the other builds of the module (scripts/packaging-test.sh).
kselftest=/opt/eventfd_max/kselftest
extmod=/opt/eventfd_max/extmod
# The KUnit suite(s) the debug build of the module must have run at insmod.
kunit_suites=eventfd_max_counter
# shellcheck source=../selftests/tap.sh
. "$bin/tap.sh"
export EVENTFD_MAX_DEVICE_TESTS=1
# Steps per differential mode: enough to reach every rule, few enough for a debug kernel under TCG;
# the 32-bit build, there for the compat system calls, runs the 1000 its coverage check needs.  Run
# the program by hand with --steps=N for more.
export EVENTFD_MAX_STEPS=${EVENTFD_MAX_STEPS:-3000}
example() { # program: an example, which exits non-zero when back-pressure did not hold
    echo "# ---- $1"
    if "$1" > /tmp/example.out 2>&1; then r=ok; else r="not ok"; status=1; fi
    sed 's/^/#   /' /tmp/example.out
    echo "$r - example $1"
}
# First, before anything reloads the module: every insmod runs the suites again.
for suite in $kunit_suites; do kunit_check "$suite"; done
# run_kselftest.sh writes the programs' output to /dev/stdout, which devtmpfs does not create (it
# would be a file), and runs each under "/usr/bin/timeout --foreground" with the `settings`
# timeout; busybox's timeout lacks --foreground, which matters only on a terminal.
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
mkdir -p /usr/bin
# shellcheck disable=SC2016 # the shim's own $1 and $@
printf '#!/bin/sh\n[ "$1" != --foreground ] || shift\nexec /bin/busybox timeout "$@"\n' > /usr/bin/timeout
chmod +x /usr/bin/timeout
# The contract tests, the examples and the other programs that need no second CPU run with it
# offline (the guest boots with maxcpus=1): on a busy host, a vCPU spins while the other,
# preempted by the host, holds a lock or owes it an IPI.  Beside two host CPU hogs this suite took
# 252 s of host CPU with both CPUs online throughout, 225 s with the second taken offline after
# boot, and 200 s on one CPU.
# The 64-bit programs, through the kselftest runner; the 32-bit ones that reach the compat ioctls.
run $kselftest/run_kselftest.sh
# Of the contract tests, the 32-bit build runs those about the ioctls, the compat path; the others
# run the same module code as the 64-bit build.  An empty selection fails.
compat=$($bin32/eventfd_max_test -l 2>&1 |
    awk '$NF ~ /maximum|configure|ioctl|helper|rfc/ { printf " -t %s", $NF }')
[ -n "$compat" ] || { echo "not ok - eventfd_max_test (32-bit) has tests about the ioctls"; status=1; }
# shellcheck disable=SC2086 # one -t option per test
run $bin32/eventfd_max_test $compat
run $bin32/differential_test --steps=1000
run $bin32/rfc_test
run $bin/eventfd_max_rust_tests
for e in $bin/example_c_producer_consumer $bin/example_c_epoll_loop \
    $bin32/example_c_producer_consumer $bin32/example_c_epoll_loop \
    $bin/example_rust_producer_consumer $bin/example_rust_async_producer_consumer; do
    example "$e"
done
# Concurrency on two CPUs: the stress and fuzz threads, and the benchmarks, which pin theirs.
run /bin/sh -c "echo 1 > /sys/devices/system/cpu/cpu1/online"
run $bin/reliability.sh stress fuzz
run $bin/eventfd_max_bench --smoke
# The other builds of the module, in place of the suite's own, which is loaded back for init's checks.
rmmod eventfd_max || status=1
for ko in $extmod/headers-tree/eventfd_max.ko $extmod/dkms/eventfd_max.ko; do
    if insmod "$ko"; then r=ok; else r="not ok"; status=1; fi
    echo "$r - insmod $ko"
    [ "$r" = ok ] || continue
    example $bin/example_c_producer_consumer
    if rmmod eventfd_max; then r=ok; else r="not ok"; status=1; fi
    echo "$r - rmmod the module of $ko"
done
insmod /lib/modules/eventfd_max.ko || status=1
exit $status
