#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reliability suite's hostile and lifetime parts (selftests/reliability/guest.sh), in the guest
# `make test` boots with kmemleak alongside the main suite's (guest/test.sh, which runs the stress
# and fuzz parts).  These are the parts that reach every allocation the module makes: the open
# path under injected failures and 2 000 counters at once, every way of holding a counter, and
# module load and unload; the guest's init then scans for leaks.
bin=/opt/eventfd_max/bin
# shellcheck source=../selftests/tap.sh
. "$bin/tap.sh"
export EVENTFD_MAX_DEVICE_TESTS=1
run $bin/reliability.sh hostile lifetime
exit $status
