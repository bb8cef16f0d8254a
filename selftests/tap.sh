# SPDX-License-Identifier: GPL-2.0
# Sourced by the guest suites (guest/test.sh, reliability.sh), installed next to the programs.
# run PROGRAM [ARGS...] runs a TAP-printing program and prints how long it took; a failing or
# missing program sets status=1, which the suite exits with.
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
