#!/usr/bin/env bash
# Tests of the guest runner itself: each case boots the guest with something wrong and expects
# guest.sh to fail.  Prints TAP and a summary line.
#   scripts/runner-selftest.sh KERNEL_BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kdir=${1:?usage: runner-selftest.sh KERNEL_BUILD_DIR}
out=${OUT:-$top/out}/runner-tests
mkdir -p "$out/module"
rm -f "$out"/case*.log "$out"/case*.rc "$out"/suite*.sh
# shellcheck disable=SC1091
. <(sed -n 's/^KBUILD_ARGS := /kbuild_args="/p' "$kdir/eventfd_max.mk" | sed 's/$/"/')
# shellcheck disable=SC2086,SC2154
make -s -C "$kdir" M="$here/runner-tests" MO="$out/module" $kbuild_args modules
good=${OUT:-$top/out}/module/$(basename "$kdir" | cut -d- -f1)/eventfd_max.ko

# The cases run concurrently, each in a 1-CPU guest, at most 3 at a time on this 2-core machine:
# the hang case, started first, idles once booted, and each of the others keeps one core busy.
n=0 failed=0
descs=() reasons=() marks=()
# expect_failure DESCRIPTION REASON SUITE-COMMAND [MARK] -- guest.sh arguments: the run must fail,
# reporting REASON (a "not ok" line of the runner's own checks), so it failed for the right reason;
# and its log must hold the line MARK, if given (a point the suite must have reached).
expect_failure() {
    n=$((n + 1))
    descs[n]=$1 reasons[n]=$2 marks[n]=
    printf '#!/bin/sh\n%s\n' "$3" > "$out/suite$n.sh"
    shift 3
    [ "$1" = -- ] || { marks[n]=$1; shift; }
    shift
    [ "$(jobs -rp | wc -l)" -lt 3 ] || wait -n || true
    # No kmemleak scan: it is the slowest part of a debug boot and no case here is about leaks.
    ( rc=0
      "$here/guest.sh" --kernel "$kdir" --memory 512 --smp 1 --append kmemleak=off \
          --suite "$out/suite$n.sh" "$@" > "$out/case$n.log" 2>&1 || rc=$?
      echo $rc > "$out/case$n.rc" ) &
}

# The control case, a good module with a passing suite, is the main guest suite itself.
# It must hang in the suite, not time out while still booting.
expect_failure "the guest hangs" "guest finished within" \
    'echo "# suite started"; sleep 600' "# suite started" -- --module "$good" --timeout 60
expect_failure "module WARNs on load" "dmesg holds no kernel warning" \
    'echo "ok 1 - trivial"' -- --module "$out/module/broken_warn.ko"
expect_failure "module init fails" "insmod broken_init.ko" \
    'echo "ok 1 - trivial"' -- --module "$out/module/broken_init.ko"
expect_failure "a KASAN report appears in dmesg" "dmesg holds no kernel warning" \
    'echo "<3>BUG: KASAN: slab-out-of-bounds (injected)" > /dev/kmsg' -- --module "$good"
expect_failure "an fd stays open, so rmmod fails" "rmmod eventfd_max" \
    'sleep 600 < /dev/eventfd_max & sleep 1' -- --module "$good"
wait
echo "1..$n"
for i in $(seq 1 "$n"); do
    rc=$(cat "$out/case$i.rc")
    if [ "$rc" != 0 ] && grep -q "^not ok - ${reasons[i]}" "$out/case$i.log" &&
        { [ -z "${marks[i]}" ] || grep -qx "${marks[i]}" "$out/case$i.log"; }; then
        echo "ok $i - the runner fails the run: ${descs[i]}"
    else
        echo "not ok $i - the runner fails the run: ${descs[i]} (exit $rc, expected 'not ok - ${reasons[i]}')"
        failed=$((failed + 1))
        sed 's/^/# /' "$out/case$i.log" | tail -30
    fi
done
echo "$((n - failed)) passed, $failed failed"
[ $failed = 0 ]
