#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reliability suite in the guest (busybox sh, root, eventfd_max loaded; left loaded).
# Installed by the Makefile as $(O)/reliability.sh next to the binaries, so in the guest:
#   sh /opt/eventfd_max/bin/reliability.sh
# Prints TAP (each program's stream nested under a result of its own, see tap.sh) and exits
# non-zero on any failure or missing program.
#
# Longer runs: RELIABILITY_SECONDS=N scales stress and fuzz (default: CI durations),
# RELIABILITY_CYCLES=N the load/unload cycles (default 20 in CI).
here=$(cd "$(dirname "$0")" && pwd)
bin32=$(cd "$here/../bin32" 2>/dev/null && pwd)
secs=${RELIABILITY_SECONDS:-}
# shellcheck source=../tap.sh
. "$here/tap.sh"

run "$here/reliability_hostile"
run "$here/reliability_stress" --seconds "${secs:-5}"
run "$here/reliability_fuzz" --seconds "${secs:-10}"
# The 32-bit builds: every ioctl through the compat path.
# The "many" (2 000 fds, memcg) and "failslab" fixtures do not involve the compat path: 64-bit
# covers them.
run "$bin32/reliability_hostile" -F many -F failslab
run "$bin32/reliability_stress" --seconds "${secs:-2}"
run "$bin32/reliability_fuzz" --seconds "${secs:-4}"
run "$here/reliability_lifetime.sh" "${RELIABILITY_CYCLES:-20}"
exit $status
