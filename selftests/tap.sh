# SPDX-License-Identifier: GPL-2.0
# Sourced by the guest suites (guest/test.sh, reliability.sh), installed next to the programs.
# run PROGRAM [ARGS...] runs a TAP-printing program with its output nested one level (each line
# prefixed with "# ", as kselftest's run_kselftest.sh does), then reports the program as one
# result of its own, "ok N - PROGRAM", "ok N - PROGRAM # SKIP" (exit status 4, KSFT_SKIP) or
# "not ok N - PROGRAM # exit=STATUS", and how long it took.
# So a program that crashes or exits non-zero after passing tests is a failure the runner counts
# (scripts/tap-count.awk counts each leaf once, and such a parent once).  A failing or missing
# program sets status=1, which the suite exits with.
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
