#!/usr/bin/env bash
# Tests of the guest runner itself: each case boots the guest with something wrong and expects
# guest.sh to fail, plus one control case that must pass.  Prints TAP and a summary line.
#   scripts/runner-selftest.sh KERNEL_BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kdir=${1:?usage: runner-selftest.sh KERNEL_BUILD_DIR}
out=${OUT:-$top/out}/runner-tests
mkdir -p "$out/module"
# shellcheck disable=SC1091
. <(sed -n 's/^KBUILD_ARGS := /kbuild_args="/p' "$kdir/eventfd_max.mk" | sed 's/$/"/')
# shellcheck disable=SC2086,SC2154
make -s -C "$kdir" M="$here/runner-tests" MO="$out/module" $kbuild_args modules
good=${OUT:-$top/out}/module/$(basename "$kdir" | cut -d- -f1)/eventfd_max.ko

n=0 failed=0
suite() { printf '#!/bin/sh\n%s\n' "$1" > "$out/suite.sh"; echo "$out/suite.sh"; }
# expect pass|fail DESCRIPTION -- guest.sh arguments
expect() {
    local want=$1 desc=$2 rc got
    shift 3
    n=$((n + 1))
    set +e
    "$here/guest.sh" --kernel "$kdir" --memory 1024 "$@" > "$out/case$n.log" 2>&1
    rc=$?
    set -e
    got=$([ $rc = 0 ] && echo pass || echo fail)
    if [ "$got" = "$want" ]; then
        echo "ok $n - runner ${want}s: $desc"
    else
        echo "not ok $n - runner ${want}s: $desc (it ${got}ed)"; failed=$((failed + 1))
        sed 's/^/# /' "$out/case$n.log" | tail -30
    fi
}

echo "1..6"
expect pass "control: good module, passing suite" -- \
    --module "$good" --suite "$(suite 'echo "ok 1 - trivial"')"
expect fail "module WARNs on load" -- \
    --module "$out/module/broken_warn.ko" --suite "$(suite 'echo "ok 1 - trivial"')"
expect fail "module init fails" -- \
    --module "$out/module/broken_init.ko" --suite "$(suite 'echo "ok 1 - trivial"')"
expect fail "a KASAN report appears in dmesg" -- \
    --module "$good" --suite "$(suite 'echo "<3>BUG: KASAN: slab-out-of-bounds (injected)" > /dev/kmsg')"
expect fail "an fd stays open, so rmmod fails" -- \
    --module "$good" --suite "$(suite 'sleep 600 < /dev/eventfd_max & sleep 1')"
expect fail "the guest hangs" -- \
    --module "$good" --timeout 60 --suite "$(suite 'sleep 600')"
echo "$((n - failed)) passed, $failed failed"
[ $failed = 0 ]
