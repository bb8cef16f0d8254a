#!/usr/bin/env bash
# The whole test suite: provisions, runs the host tests, builds the debug-profile kernel, the module
# and every program, tests the install paths (scripts/packaging-test.sh), runs the runner's own
# tests, then the guest suites on the debug kernel (lockdep, KASAN, kmemleak, ...), the main one
# and the reliability suite in two guests side by side.  Ends with "N passed, N failed, N skipped"
# over every stage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$top"

provision

counted "host: counter rules (cargo test)" cargo test --manifest-path counter-tests/Cargo.toml
counted "host: userspace crate (fmt, clippy, cargo test)" make -s -C userspace/eventfd-max check
counted "host: README benchmark text matches bench/results.json" python3 bench/report.py --check

stage "kernel: debug profile" "$top/scripts/kernel.sh" debug
kdir=$("$top/scripts/kernel.sh" debug 2>/dev/null)
checks() {
    local rc=0
    for target in fmt-check modules clippy; do
        if make -s PROFILE=debug "$target" > "$out/logs/make-$target.log" 2>&1; then
            echo "ok - make $target"
        else
            sed 's/^/# /' "$out/logs/make-$target.log"; echo "not ok - make $target"; rc=1
        fi
    done
    return $rc
}
counted "module: fmt-check, build, clippy" checks
stage "programs: tests, benchmarks, examples" make -s programs
counted "host: uapi header, headers tree, install, DKMS, kselftest" "$top/scripts/packaging-test.sh" "$kdir"
counted "host: guest runner self-tests" "$top/scripts/runner-selftest.sh" "$kdir"
guest() { # suite, bin dirs...: the debug kernel with the suite's own module build
    local suite=$1 bins=() b
    shift
    for b; do bins+=(--bin "$b"); done
    "$top/scripts/guest.sh" --kernel "$kdir" --module "$out/module/debug/eventfd_max.ko" \
        --suite "$top/guest/$suite" "${bins[@]}" --timeout "${GUEST_TIMEOUT:-1800}" --memory 1024
}
# The reliability suite boots a guest of its own alongside the main suite's: each guest leaves the
# host's second CPU mostly idle while its tests sleep and wake.  Its output follows the main one's.
guest reliability.sh "$out/bin" "$out/bin32" > "$out/logs/guest-reliability.out" 2>&1 &
reliability=$!
reliability_output() { wait "$reliability"; local rc=$?; cat "$out/logs/guest-reliability.out"; return $rc; }
counted "guest: test suite on the debug kernel" guest test.sh "$out/bin" "$out/bin32" \
    "$out/kselftest" "$out/extmod"
counted "guest: reliability suite, alongside (its wait)" reliability_output

summary
