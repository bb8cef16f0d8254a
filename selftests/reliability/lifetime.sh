#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module lifetime of eventfd_max, in the guest (busybox sh, root, module loaded by init, which
# unloads it after the suite; so this leaves it loaded).  Prints TAP.
#
#   sh lifetime.sh [CYCLES] [RACE_CYCLES]      (defaults 100 and 20)
#
# 1. The module is pinned while a counter lives, however it is held (lifetime.c: open fd, epoll
#    set, unix socket in flight, forked child, sleepers on a closed fd, processes sharing it).
# 2. The module unloads under a live epoll instance that watched a counter (closed before).
# 3. CYCLES rmmod/insmod cycles, with counters opened and used in between; in the first, while
#    the module is out, eventfd_max() fails with ENOENT.
# 4. RACE_CYCLES rmmod/insmod cycles while another process opens and uses counters in a loop.
here=$(cd "$(dirname "$0")" && pwd)
helper=$here/reliability_lifetime
module=eventfd_max
ko=/lib/modules/$module.ko
dev=/dev/$module
cycles=${1:-100}
race_cycles=${2:-20}
n=0
status=0

tap() { # result description
    n=$((n + 1))
    case $1 in
        0) echo "ok $n lifetime: $2" ;;
        4) echo "ok $n lifetime: $2 # SKIP" ;;
        *) echo "not ok $n lifetime: $2"; status=1 ;;
    esac
}
loaded() { grep -q "^$module " /proc/modules; }
# Puts the module back if a scenario unloaded it; fails the run if that is impossible.
ensure_loaded() {
    loaded && return 0
    echo "# $module was not loaded: reloading"
    insmod "$ko" || { echo "Bail out! cannot reload $module"; exit 1; }
}

echo "TAP version 13"
[ -x "$helper" ] || { echo "1..0 # SKIP $helper missing"; exit 1; }
if ! loaded; then echo "Bail out! $module is not loaded"; exit 1; fi

start=$(date +%s)
for s in busy-open busy-epoll busy-scm scm-drop scm-cycle busy-fork killed-blocked \
    blocked-read-dup blocked-read-signal blocked-write-dup blocked-write-signal \
    blocked-poll blocked-epoll fork-share fork-share-sem; do
    "$helper" "$s"
    tap $? "$s"
    ensure_loaded
done

echo "# scenarios: $(($(date +%s) - start)) s"
start=$(date +%s)

# The epoll instance outlives the counter and the module.
"$helper" epoll-unload
r=$?
if loaded; then r=1; echo "# $module still loaded after epoll-unload"; fi
insmod "$ko" || r=1
[ -e "$dev" ] || r=1
tap $r "module unloads under a live epoll instance that watched a counter, and reloads"
ensure_loaded

# Load/unload cycles with counters used in between.
i=0 r=0
while [ $i -lt "$cycles" ]; do
    i=$((i + 1))
    if ! rmmod "$module"; then echo "# cycle $i: rmmod failed"; r=1; break; fi
    if [ -e "$dev" ] || loaded; then echo "# cycle $i: $dev or the module left"; r=1; break; fi
    if [ $i = 1 ]; then
        "$helper" no-module
        tap $? "eventfd_max() fails with ENOENT while the module is not loaded"
    fi
    if ! insmod "$ko"; then echo "# cycle $i: insmod failed"; r=1; break; fi
    if ! "$helper" cycle-open > /tmp/lifetime.out 2>&1; then
        sed 's/^/# /' /tmp/lifetime.out; echo "# cycle $i: counters failed"; r=1; break
    fi
done
echo "# $i insmod/rmmod cycles, 4 counters opened, used and closed in each: $(($(date +%s) - start)) s"
tap $r "$cycles rmmod/insmod cycles with counters used in between"
ensure_loaded

# Cycles racing with an opener: rmmod is retried while the opener holds a counter.
secs=$((race_cycles / 2 + 10))
"$helper" race-open "$secs" &
opener=$!
i=0 r=0 refused=0
while [ $i -lt "$race_cycles" ]; do
    i=$((i + 1))
    tries=0
    until rmmod "$module" 2>/dev/null; do
        tries=$((tries + 1)) refused=$((refused + 1))
        [ $tries -lt 500 ] || break
    done
    if loaded; then echo "# race cycle $i: rmmod refused $tries times"; r=1; break; fi
    insmod "$ko" || { echo "# race cycle $i: insmod failed"; r=1; break; }
done
wait $opener || r=1
echo "# $i racing cycles, rmmod refused $refused times while the opener held a counter"
tap $r "$race_cycles rmmod/insmod cycles racing with an opener"
ensure_loaded

refcnt=$(cat /sys/module/$module/refcnt 2>/dev/null)
[ "$refcnt" = 0 ]
tap $? "$module loaded at the end with refcnt 0 (was: ${refcnt:-none})"
echo "1..$n"
exit $status
