#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests of the guest runner itself.  First its result counter (tap-count.awk) on canned output;
# then cases that each boot the guest with something wrong and expect guest.sh to fail, for the
# right reason.  Prints TAP and a summary line.
#   scripts/runner-selftest.sh KERNEL_BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kdir=${1:?usage: runner-selftest.sh KERNEL_BUILD_DIR}
out=${OUT:-$top/out}/runner-tests
mkdir -p "$out/module" "$out/bin"
rm -f "$out"/case*.log "$out"/case*.rc "$out"/suite*.sh
n=0 failed=0

result() { # ok(0/1) description [diagnostics file]
    n=$((n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"; failed=$((failed + 1))
        [ -z "${3:-}" ] || sed 's/^/# /' "$3" | tail -30
    fi
}

# The counter: each leaf once, a failing or skipping parent only when no child accounts for it,
# at any nesting ("# " as run_kselftest.sh and tap.sh prefix, four spaces as KTAP indents).
# Expected: "passed failed skipped skips-not-allowed".
count_case() { # description expected [awk -v assignments...] < input
    local desc=$1 want=$2 got
    shift 2
    got=$(awk "$@" -f "$here/tap-count.awk" | tail -1)
    [ "$got" = "$want" ]
    result $? "tap-count: $desc (want $want, got $got)"
}
count_case "a not ok nested under a passing parent (a program exiting 0) counts" "1 1 0 0" <<'EOF'
# ok 1 a
# not ok 2 b
ok 1 selftests: x: prog
EOF
count_case "a skip nested twice counts once, its passing parents not at all" "1 0 1 1" <<'EOF'
# # ok 1 a
# # ok 2 b # SKIP no device
# ok 1 inner runner
ok 1 outer runner
EOF
count_case "a crash after passing tests: the failing parent counts once" "1 1 0 0" <<'EOF'
# ok 1 before the crash
not ok 1 selftests: x: segv # exit=139
EOF
count_case "a failing parent with failing children adds nothing" "0 2 0 0" <<'EOF'
# not ok 1 a
# not ok 2 b
not ok 1 prog # exit=1
EOF
count_case "a program that skips as a whole counts one skip" "0 0 1 1" <<'EOF'
# 1..0 # SKIP no device
ok 1 prog # SKIP
EOF
count_case "KTAP subtests indented by four spaces" "2 0 1 0" -v 'allow=sub 3' <<'EOF'
    ok 1 sub 1
    ok 2 sub 2
    ok 3 sub 3 # SKIP allowed here
ok 1 suite
EOF
count_case "kernel log lines and diagnostics are not results" "1 0 0 0" <<'EOF'
[   12.3] ok 1 a kernel line
#   ok this is indented output
# #  OK  efd.open_defaults
ok - init
EOF

# The guest cases.
# shellcheck disable=SC1091
. <(sed -n 's/^KBUILD_ARGS := /kbuild_args="/p' "$kdir/eventfd_max.mk" | sed 's/$/"/')
# shellcheck disable=SC2086,SC2154
make -s -C "$kdir" M="$here/runner-tests" MO="$out/module" $kbuild_args modules
good=${OUT:-$top/out}/module/$(basename "$kdir" | cut -d- -f1)/eventfd_max.ko
cc -static -O1 -Wall -Wextra -Werror -o "$out/bin/segv" "$here/runner-tests/segv.c"
cp "$top/selftests/tap.sh" "$out/bin/tap.sh"

# The cases run concurrently, each in a 1-CPU guest, at most 3 at a time on this 2-core machine:
# the hang case, started first, idles once booted, and each of the others keeps one core busy.
cases=0
descs=() reasons=() marks=()
# expect_failure DESCRIPTION REASON SUITE-COMMAND [MARK] -- guest.sh arguments: the run must fail
# with a log line matching the extended regular expression REASON, so it failed for the right
# reason; and its log must hold a line matching MARK, if given (what the case must have caused).
# No kmemleak scan unless the arguments ask for one (--append ""): it is the slowest part of a
# debug boot, and only the leak case is about leaks.
expect_failure() {
    cases=$((cases + 1))
    local i=$cases append=kmemleak=off
    descs[i]=$1 reasons[i]=$2 marks[i]=
    printf '#!/bin/sh\n%s\n' "$3" > "$out/suite$i.sh"
    shift 3
    [ "$1" = -- ] || { marks[i]=$1; shift; }
    shift
    [ "${1:-}" != --append ] || { append=$2; shift 2; }
    [ "$(jobs -rp | wc -l)" -lt 3 ] || wait -n || true
    ( rc=0
      "$here/guest.sh" --kernel "$kdir" --memory 512 --smp 1 --append "$append" \
          --suite "$out/suite$i.sh" "$@" > "$out/case$i.log" 2>&1 || rc=$?
      echo $rc > "$out/case$i.rc" ) &
}

start=$(date +%s)
# The control case, a good module with a passing suite, is the main guest suite itself.
# It must hang in the suite, not time out while still booting.
expect_failure "the guest hangs" "^not ok - guest finished within" \
    'echo "# suite started"; sleep 600' "^# suite started$" -- --module "$good" --timeout 60
expect_failure "module WARNs on load" "^not ok - dmesg holds no kernel warning" \
    'echo "ok 1 - trivial"' -- --module "$out/module/broken_warn.ko" --device none
expect_failure "module init fails" "^not ok - insmod broken_init.ko$" \
    'echo "ok 1 - trivial"' -- --module "$out/module/broken_init.ko" --device none
expect_failure "a KASAN report appears in dmesg" "^not ok - dmesg holds no kernel warning" \
    'echo "<3>BUG: KASAN: slab-out-of-bounds (injected)" > /dev/kmsg' -- --module "$good"
expect_failure "an fd stays open, so rmmod fails" "^not ok - rmmod eventfd_max" \
    'sleep 600 < /dev/eventfd_max & sleep 1' -- --module "$good"
expect_failure "the module leaks on unload (seconds before the scan)" \
    "^not ok - kmemleak reports no leak$" 'echo "ok 1 - trivial"' -- \
    --append "" --module "$out/module/broken_leak.ko" --device none
expect_failure "a module takes two locks in both orders (lockdep)" "^not ok - dmesg holds no" \
    'echo "ok 1 - trivial"' "possible circular locking dependency detected" -- \
    --module "$out/module/broken_lockdep.ko" --device none
expect_failure "the kernel oopses (the guest dies)" "^not ok - guest init reported a verdict" \
    'echo "ok 1 - trivial"' "^\[ *[0-9.]+\] Oops: " -- \
    --module "$out/module/broken_oops.ko" --device none
expect_failure "a nested 'not ok' under a suite that exits 0" "^[0-9]+ passed, 1 failed, 0 skipped$" \
    'printf "# ok 1 - fine\n# not ok 2 - deliberately failing\nok 1 - a program exiting 0\n"' \
    "^# not ok 2 - deliberately failing$" -- --module "$good"
expect_failure "a suite that exits 1 without a 'not ok'" "^not ok - the suite exited 0 \(status 1\)$" \
    'echo "ok 1 - fine"; exit 1' -- --module "$good"
expect_failure "a test program crashes (SIGSEGV) after passing a test" \
    "^not ok 1 - /opt/eventfd_max/bin/segv # exit=139$" \
    '. /opt/eventfd_max/bin/tap.sh; run /opt/eventfd_max/bin/segv; exit 0' \
    "^# ok 1 - before the crash$" -- --module "$good" --bin "$out/bin"
expect_failure "a nested skip, with no allowlist" "^not ok - no result skipped outside the allowlist" \
    'printf "# # ok 1 - fine\n# # ok 2 - no device # SKIP\n# ok 1 - runner\nok 1 - runner\n"' \
    "^[0-9]+ passed, 1 failed, 1 skipped$" -- --module "$good"
wait
for i in $(seq 1 "$cases"); do
    rc=$(cat "$out/case$i.rc")
    if [ "$rc" != 0 ] && grep -qE "${reasons[i]}" "$out/case$i.log" &&
        { [ -z "${marks[i]}" ] || grep -qE "${marks[i]}" "$out/case$i.log"; }; then
        result 0 "the runner fails the run: ${descs[i]}"
    else
        result 1 "the runner fails the run: ${descs[i]} (exit $rc, expected a line matching \
'${reasons[i]}'${marks[i]:+ and one matching '${marks[i]}'})" "$out/case$i.log"
    fi
done
echo "# $cases guest cases: $(($(date +%s) - start)) s"
echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ $failed = 0 ]
