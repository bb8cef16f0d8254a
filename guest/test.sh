#!/bin/sh
# The guest half of `make test` (debug kernel, module loaded by init): every test program, 64-bit
# and 32-bit (compat ioctls), and the benchmarks' smoke mode.  A missing program is a failure.
bin=/opt/eventfd_max/bin
bin32=/opt/eventfd_max/bin32
status=0
run() { # program [args...]
    if [ ! -x "$1" ]; then
        echo "not ok - $1 exists"; status=1; return
    fi
    echo "# running: $*"
    "$@" || status=1
}
run $bin/eventfd_max_test
run $bin32/eventfd_max_test
run $bin/differential_test
run $bin32/differential_test
exit $status
