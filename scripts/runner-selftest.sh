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
good=${OUT:-$top/out}/module/$(basename "$kdir" | cut -d- -f1)/eventfd_max.ko
# The cases run concurrently, each in a 1-CPU guest, at most 3 at a time (`make test` ends its main
# guest suite meanwhile): the hang case, started first, idles once booted, and each of the others
# keeps one core busy.  Failure shapes that leave evidence of their own (a line, a count) share a
# boot.
cases=0
names=() descs=() regexes=()
# guest_case NAME SUITE-COMMAND -- [--kmemleak] guest.sh arguments: boots a guest that runs
# SUITE-COMMAND.  Only the reports case looks for leaks: kmemleak doubles the cost of a debug boot,
# and its scan is the slowest part of one, so the others boot without it.  No ACPI either: a 1-CPU
# guest needs none of its tables, and their AML and the PCI root bridge they describe are 10 s of
# a debug boot under TCG, more on a busy host.
guest_case() {
    local name=$1 append="acpi=off kmemleak=off"
    printf '#!/bin/sh\n%s\n' "$2" > "$out/suite-$name.sh"
    shift 3
    [ "${1:-}" != --kmemleak ] || { append=acpi=off; shift; }
    [ "$(jobs -rp | wc -l)" -lt 3 ] || wait -n || true
    ( rc=0
      "$here/guest.sh" --kernel "$kdir" --memory 512 --smp 1 --append "$append" \
          --suite "$out/suite-$name.sh" "$@" > "$out/case-$name.log" 2>&1 || rc=$?
      echo $rc > "$out/case-$name.rc" ) &
}
# expect NAME DESCRIPTION ERE...: the run of case NAME failed, and its log holds a line matching
# each ERE: the runner's own "not ok" line for the reason, and what the case must have caused.
expect() {
    cases=$((cases + 1))
    names[cases]=$1 descs[cases]=$2
    shift 2
    regexes[cases]=$(printf '%s\n' "$@")
}

start=$(date +%s)
# The control case, a good module with a passing suite, is the main guest suite itself.
# It must hang in the suite, not time out while still booting: a boot takes 10 s alone here, and
# under a minute beside the other cases and the main guest (60 s sufficed in four runs of
# `make test`).  75 s is about when the other cases end.
guest_case hang 'echo "# suite started"; sleep 600' -- --module "$good" --timeout 75
expect hang "the guest hangs" "^not ok - guest finished within" "^# suite started$"
# The broken modules and programs of the other cases, built while it boots; if that fails, the
# script waits for the hang case before it exits, as its output goes to the same stream.
trap wait EXIT
kbuild_args=$("$here/kbuild-args.sh" "$kdir") || { echo "$kbuild_args" >&2; exit 1; }
# shellcheck disable=SC2086 # the arguments are words
make -s -C "$kdir" M="$here/runner-tests" MO="$out/module" $kbuild_args modules
cc -static -O1 -Wall -Wextra -Werror -o "$out/bin/segv" "$here/runner-tests/segv.c"
cp "$top/selftests/tap.sh" "$out/bin/tap.sh"
guest_case init 'echo "ok 1 - trivial"' -- --module "$out/module/broken_init.ko" --device none
expect init "module init fails" "^not ok - insmod broken_init.ko$"
# The kernel's reports, each printed as a report line of its own: the runner's module leaks as it
# unloads, seconds before the scan, and the suite loads one that WARNs and one that takes two locks
# in both orders.
guest_case reports 'insmod /opt/eventfd_max/module/broken_lockdep.ko
insmod /opt/eventfd_max/module/broken_warn.ko
echo "ok 1 - loaded"' -- --kmemleak --module "$out/module/broken_leak.ko" --device none \
    --bin "$out/module"
expect reports "the module leaks on unload (seconds before the scan)" \
    "^not ok - kmemleak reports no leak$" "^# unreferenced object .* \(size 16384\):$"
expect reports "a module WARNs on load" "^not ok - dmesg holds no kernel warning" \
    "^# report: .*WARNING: broken_warn\.rs:[0-9]+ at "
expect reports "a module takes two locks in both orders (lockdep)" \
    "^not ok - dmesg holds no kernel warning" \
    "^# report: .*WARNING: possible circular locking dependency detected"
guest_case oops 'echo "ok 1 - trivial"' -- --module "$out/module/broken_oops.ko" --device none
expect oops "the kernel oopses (the guest dies)" "^not ok - guest init reported a verdict" \
    "^\[ *[0-9.]+\] Oops: "
# Seven failures and a skip, each counted once: the summary must say exactly that (the injected
# KASAN line also reaches the console).
guest_case shapes '. /opt/eventfd_max/bin/tap.sh
printf "# ok 1 - fine\n# not ok 2 - deliberately failing\nok 1 - a program exiting 0\n"
printf "# # ok 1 - fine\n# # ok 2 - no device # SKIP\n# ok 1 - runner\nok 2 - runner\n"
run /opt/eventfd_max/bin/segv
echo "<3>BUG: KASAN: slab-out-of-bounds (injected)" > /dev/kmsg
sleep 600 < /dev/eventfd_max & sleep 1
exit 1' -- --module "$good" --bin "$out/bin"
expect shapes "a nested 'not ok' under a program that exits 0" \
    "^# not ok 2 - deliberately failing$" "^[0-9]+ passed, 7 failed, 1 skipped$"
expect shapes "the suite exits 1" "^not ok - the suite exited 0 \(status 1\)$"
expect shapes "a test program crashes (SIGSEGV) after passing a test" \
    "^# ok 1 - before the crash$" "^not ok 1 - /opt/eventfd_max/bin/segv # exit=139$"
expect shapes "a result nested twice is skipped, with no allowlist" \
    "^not ok - no result skipped outside the allowlist \(1 skipped\)$"
expect shapes "a KASAN report appears in dmesg" "^not ok - dmesg holds no kernel warning" \
    "^# report: .*BUG: KASAN: slab-out-of-bounds \(injected\)"
expect shapes "an fd stays open, so rmmod fails" "^not ok - rmmod eventfd_max"
wait
for i in $(seq 1 "$cases"); do
    log=$out/case-${names[i]}.log rc=$(cat "$out/case-${names[i]}.rc") missing=
    while read -r re; do
        grep -qE "$re" "$log" || missing="$missing '$re'"
    done <<< "${regexes[i]}"
    if [ "$rc" != 0 ] && [ -z "$missing" ]; then
        result 0 "the runner fails the run: ${descs[i]}"
    else
        result 1 "the runner fails the run: ${descs[i]} (exit $rc; no line matching$missing)" \
            "$log"
    fi
done
echo "# guest cases: $(($(date +%s) - start)) s"
echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ $failed = 0 ]
