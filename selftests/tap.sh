# SPDX-License-Identifier: GPL-2.0
# Sourced by the guest suites (guest/test.sh, reliability.sh), installed next to the programs.
# run PROGRAM [ARGS...] runs a TAP-printing program and prints how long it took; a failing or
# missing program sets status=1, which the suite exits with.
# shellcheck disable=SC2034 # status is read by the suite that sources this file
status=0

run() {
    if [ ! -x "$1" ]; then
        echo "not ok - $1 exists"; status=1; return
    fi
    echo "# ---- $*"
    t0=$(date +%s)
    "$@" || status=1
    echo "# ---- $1: $(($(date +%s) - t0)) s"
}

# kunit_check SUITE: the module's KUnit suite SUITE ran when it was inserted (a kernel with
# CONFIG_KUNIT=y and CONFIG_KUNIT_DEBUGFS=y runs it at insmod and keeps its KTAP in debugfs).  One
# result per case and one for the suite; a missing suite fails, so a module built without its
# tests cannot pass.
kunit_check() {
    kunit_results=/sys/kernel/debug/kunit/$1/results
    if [ ! -r "$kunit_results" ]; then
        echo "not ok - KUnit suite $1 ran at insmod (no $kunit_results: module built without it?)"
        status=1; return
    fi
    kunit_cases=$(grep -cE '^    (not )?ok [0-9]+ ' "$kunit_results")
    grep -E '^    (not )?ok [0-9]+ ' "$kunit_results" | sed -E "s/^    (not )?ok [0-9]+ /\1ok - KUnit $1: /"
    if grep -qx "ok 1 $1" "$kunit_results" && [ "$kunit_cases" -gt 0 ]; then
        echo "ok - KUnit suite $1: $kunit_cases cases passed"
    else
        # Rust assertions report to the kernel log only, not to the results file.
        dmesg | grep -A1 -E ' # [^ ]+: (ASSERTION|EXPECTATION) FAILED' | sed 's/^/# /'
        echo "not ok - KUnit suite $1 passed"
        status=1
    fi
}
