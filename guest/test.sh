#!/bin/sh
# The guest half of `make test` (debug kernel, module loaded by init): every test program, 64-bit
# and 32-bit (compat ioctls), the Rust crate's device tests, the examples, the reliability suite and
# the benchmarks' smoke mode.  A missing program is a failure.
bin=/opt/eventfd_max/bin
bin32=/opt/eventfd_max/bin32
# shellcheck source=../selftests/tap.sh
. "$bin/tap.sh"
export EVENTFD_MAX_DEVICE_TESTS=1
# Steps per differential mode: enough to reach every rule, few enough for a debug kernel under TCG
# (each mode runs 64- and 32-bit); run the program by hand with --steps=N for more.
export EVENTFD_MAX_STEPS=${EVENTFD_MAX_STEPS:-3000}
example() { # program: an example, which exits non-zero when back-pressure did not hold
    echo "# ---- $1"
    if "$1" > /tmp/example.out 2>&1; then r=ok; else r="not ok"; status=1; fi
    sed 's/^/#   /' /tmp/example.out
    echo "$r - example $1"
}
run $bin/eventfd_max_test
run $bin32/eventfd_max_test
run $bin/differential_test
run $bin32/differential_test
run $bin/rfc_test
run $bin32/rfc_test
run $bin/parity_test
run $bin/inflight_test
run $bin/eventfd_max_rust_tests
for e in $bin/example_c_producer_consumer $bin/example_c_epoll_loop \
    $bin32/example_c_producer_consumer $bin32/example_c_epoll_loop \
    $bin/example_rust_producer_consumer $bin/example_rust_async_producer_consumer; do
    example "$e"
done
run $bin/reliability.sh
run $bin/eventfd_max_bench --smoke
exit $status
