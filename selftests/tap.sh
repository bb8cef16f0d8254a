# SPDX-License-Identifier: GPL-2.0
# Sourced by the guest suites (guest/test.sh, reliability.sh), installed next to the programs.
# run PROGRAM [ARGS...] runs a TAP-printing program with its output nested one level (each line
# prefixed with "# ", as kselftest's run_kselftest.sh does), then reports the program as one
# result of its own, "ok N - PROGRAM", "ok N - PROGRAM # SKIP" (exit status 4, KSFT_SKIP) or
# "not ok N - PROGRAM # exit=STATUS", and how long it took.
# So a program that crashes or exits non-zero after passing tests is a failure the runner counts
# (scripts/tap-count.awk counts each leaf once, and such a parent once).  A failing or missing
# program sets status=1, which the suite exits with.
# shellcheck disable=SC2034 # status is read by the suite that sources this file
status=0
tap_n=0

run() {
    tap_n=$((tap_n + 1))
    if [ ! -x "$1" ]; then
        echo "not ok $tap_n - $1 # missing"; status=1; return
    fi
    echo "# ---- $*"
    tap_t0=$(date +%s)
    { "$@" 2>&1; echo $? > "/tmp/tap-run.$$"; } | sed 's/^/# /'
    tap_rc=$(cat "/tmp/tap-run.$$")
    echo "# ---- $1: $(($(date +%s) - tap_t0)) s"
    case $tap_rc in
        0) echo "ok $tap_n - $*" ;;
        4) echo "ok $tap_n - $* # SKIP" ;;
        *) echo "not ok $tap_n - $* # exit=$tap_rc"; status=1 ;;
    esac
}

# kunit_check SUITE: the module's KUnit suite SUITE ran when it was inserted (a kernel with
# CONFIG_KUNIT=y and CONFIG_KUNIT_DEBUGFS=y runs it at insmod and keeps its KTAP in debugfs).  One
# result per case, nested under one for the suite; a missing suite fails, so a module built
# without its tests cannot pass.
kunit_check() {
    kunit_results=/sys/kernel/debug/kunit/$1/results
    if [ ! -r "$kunit_results" ]; then
        echo "not ok - KUnit suite $1 ran at insmod (no $kunit_results: module built without it?)"
        status=1; return
    fi
    kunit_cases=$(grep -cE '^    (not )?ok [0-9]+ ' "$kunit_results")
    # The cases nested under the suite's result, as run nests a program's.
    grep -E '^    (not )?ok [0-9]+ ' "$kunit_results" | sed -E "s/^    (not )?ok [0-9]+ /# \1ok - KUnit $1: /"
    if grep -qx "ok 1 $1" "$kunit_results" && [ "$kunit_cases" -gt 0 ]; then
        echo "ok - KUnit suite $1: $kunit_cases cases passed"
    else
        # Rust assertions report to the kernel log only, not to the results file.
        dmesg | grep -A1 -E ' # [^ ]+: (ASSERTION|EXPECTATION) FAILED' | sed 's/^/# /'
        echo "not ok - KUnit suite $1 passed"
        status=1
    fi
}
