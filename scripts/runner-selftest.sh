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
rm -f "$out"/case*.log
# shellcheck disable=SC1091
. <(sed -n 's/^KBUILD_ARGS := /kbuild_args="/p' "$kdir/eventfd_max.mk" | sed 's/$/"/')
# shellcheck disable=SC2086,SC2154
make -s -C "$kdir" M="$here/runner-tests" MO="$out/module" $kbuild_args modules
good=${OUT:-$top/out}/module/$(basename "$kdir" | cut -d- -f1)/eventfd_max.ko

n=0 failed=0
suite() { printf '#!/bin/sh\n%s\n' "$1" > "$out/suite.sh"; echo "$out/suite.sh"; }
# expect_failure DESCRIPTION REASON -- guest.sh arguments: the run must fail, reporting REASON
# (a "not ok" line of the runner's own checks), so it failed for the right reason.
expect_failure() {
    local desc=$1 reason=$2 rc
    shift 3
    n=$((n + 1))
    set +e
    # No kmemleak scan: it is the slowest part of a debug boot and no case here is about leaks.
    "$here/guest.sh" --kernel "$kdir" --memory 512 --append kmemleak=off "$@" > "$out/case$n.log" 2>&1
    rc=$?
    set -e
    if [ $rc != 0 ] && grep -q "^not ok - $reason" "$out/case$n.log"; then
        echo "ok $n - the runner fails the run: $desc"
    else
        echo "not ok $n - the runner fails the run: $desc (exit $rc, expected 'not ok - $reason')"
        failed=$((failed + 1))
        sed 's/^/# /' "$out/case$n.log" | tail -30
    fi
}

# The control case, a good module with a passing suite, is the main guest suite itself.
echo "1..5"
expect_failure "module WARNs on load" "dmesg holds no kernel warning" -- \
    --module "$out/module/broken_warn.ko" --suite "$(suite 'echo "ok 1 - trivial"')"
expect_failure "module init fails" "insmod broken_init.ko" -- \
    --module "$out/module/broken_init.ko" --suite "$(suite 'echo "ok 1 - trivial"')"
expect_failure "a KASAN report appears in dmesg" "dmesg holds no kernel warning" -- \
    --module "$good" --suite "$(suite 'echo "<3>BUG: KASAN: slab-out-of-bounds (injected)" > /dev/kmsg')"
expect_failure "an fd stays open, so rmmod fails" "rmmod eventfd_max" -- \
    --module "$good" --suite "$(suite 'sleep 600 < /dev/eventfd_max & sleep 1')"
expect_failure "the guest hangs" "guest finished within" -- \
    --module "$good" --timeout 20 --suite "$(suite 'sleep 600')"
echo "$((n - failed)) passed, $failed failed"
[ $failed = 0 ]
