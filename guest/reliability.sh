#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reliability suite (selftests/reliability/guest.sh), in a guest of its own that `make test`
# boots alongside the main suite's (guest/test.sh): the two take about as long, and a guest
# leaves one host CPU mostly idle while its tests sleep and wake.
bin=/opt/eventfd_max/bin
# shellcheck source=../selftests/tap.sh
. "$bin/tap.sh"
export EVENTFD_MAX_DEVICE_TESTS=1
run $bin/reliability.sh
exit $status
