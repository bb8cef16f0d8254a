#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The reliability suite in the guest (busybox sh, root, eventfd_max loaded; left loaded).
# Installed by the Makefile as $(O)/reliability.sh next to the binaries, so in the guest:
#   sh /opt/eventfd_max/bin/reliability.sh [PART...]
# PART is hostile, stress, fuzz or lifetime, each the 64-bit program and then, but for lifetime,
# the 32-bit one; no PART runs them all, in that order.  Prints TAP (each program's stream nested
# under a result of its own, see tap.sh) and exits non-zero on any failure or missing program.
#
# Longer runs: RELIABILITY_SECONDS=N gives each stress and fuzz run N seconds (default: CI
# durations), RELIABILITY_CYCLES=N sets both kinds of load/unload cycles (default 10 each in CI).
here=$(cd "$(dirname "$0")" && pwd)
bin32=$(cd "$here/../bin32" 2>/dev/null && pwd)
secs=${RELIABILITY_SECONDS:-}
cycles=${RELIABILITY_CYCLES:-10}
# shellcheck source=../tap.sh
. "$here/tap.sh"

[ $# -gt 0 ] || set -- hostile stress fuzz lifetime
for part; do
    case $part in
        # The 32-bit builds: every ioctl through the compat path.  The "many" (2 000 fds, memcg)
        # and "failslab" fixtures do not involve the compat path: 64-bit covers them.
        hostile)
            run "$here/reliability_hostile"
            run "$bin32/reliability_hostile" -F many -F failslab ;;
        stress)
            run "$here/reliability_stress" --seconds "${secs:-4}"
            run "$bin32/reliability_stress" --seconds "${secs:-2}" ;;
        fuzz)
            run "$here/reliability_fuzz" --seconds "${secs:-6}"
            run "$bin32/reliability_fuzz" --seconds "${secs:-3}" ;;
        lifetime)
            run "$here/reliability_lifetime.sh" "$cycles" "$cycles" ;;
        *)
            echo "not ok - reliability.sh: no part named $part"; status=1 ;;
    esac
done
exit $status
