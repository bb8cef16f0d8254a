#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The guest half of scripts/opcost.sh: only the per-operation and wake-up costs, on the
# deterministic machine, with their results copied out to the host.
exec /opt/eventfd_max/bin/eventfd_max_bench --quick --only perop,wakeup --out /results
