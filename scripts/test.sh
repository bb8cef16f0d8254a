#!/usr/bin/env bash
# The whole test suite: provisions, builds the debug-profile kernel, the module and every program,
# boots the guest suites on the debug kernel (lockdep, KASAN, kmemleak, ...), the main one and the
# reliability suite's hostile and lifetime parts with kmemleak, and while they run tests the install
# paths (scripts/packaging-test.sh), runs the host tests and the runner's own tests.  Ends with
# "N passed, N failed, N skipped" over every stage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$top"

provision

stage "kernel: debug profile" "$top/scripts/kernel.sh" debug
kdir=$("$top/scripts/kernel.sh" debug 2>/dev/null)
make_targets() { # make targets of the debug profile, each a result
    local rc=0 target args
    for target; do
        args=("$target")
        # clippy rebuilds from clean: in a directory of its own, as the guests load the module.
        [ "$target" != clippy ] || args=(MO="$out/module/clippy" clippy)
        if make -s PROFILE=debug "${args[@]}" > "$out/logs/make-$target.log" 2>&1; then
            echo "ok - make $target"
        else
            sed 's/^/# /' "$out/logs/make-$target.log"; echo "not ok - make $target"; rc=1
        fi
    done
    return $rc
}
counted "module: build" make_targets modules
stage "programs: tests, benchmarks, examples" make -s -j"$(nproc)" programs
guest() { # suite, CPUs, MB, kernel command line, bin dirs...: the debug kernel with its own module
    local suite=$1 smp=$2 memory=$3 append=$4 bins=() b
    shift 4
    for b; do bins+=(--bin "$b"); done
    "$top/scripts/guest.sh" --kernel "$kdir" --module "$out/module/debug/eventfd_max.ko" \
        --suite "$top/guest/$suite" "${bins[@]}" --smp "$smp" --append "$append" \
        --timeout "${GUEST_TIMEOUT:-1800}" --memory "$memory" > "$out/logs/guest-$suite.out" 2>&1
}
# guest_output SUITE PID: waits for a guest started in the background, then prints its output.
guest_output() { wait "$2"; local rc=$?; cat "$out/logs/guest-$1.out"; return $rc; }
# The guests boot as soon as what they load is built, and run while the host stages and the
# runner's self-tests go on: the whole run is CPU-bound, and a guest alone leaves the host's second
# CPU idle while its tests sleep and wake.  The kmemleak guest first: it takes longest.  It has one
# CPU, as its tests need no second one (their races are preemption's, PREEMPT=y), and so no ACPI:
# alone it then used 163 s of host CPU instead of 224 (ACPI's boot with kmemleak tracking every
# allocation, and a second vCPU's cross-CPU work); and 512 MB, as kmemleak's scans read the page
# structs of all memory (about 7 s of host CPU less than 1024 MB, booting a trivial suite).  The
# main guest waits for the packaging tests, which build the modules it loads, and boots with its
# second CPU offline (guest/test.sh brings it online for the parts that need it).  Their outputs
# follow the host stages'.
guest reliability.sh 1 512 acpi=off "$out/bin" "$out/bin32" &
reliability=$!
counted "host: uapi header, headers tree, install, DKMS, kselftest" "$top/scripts/packaging-test.sh" "$kdir"
guest test.sh 2 1024 "kmemleak=off maxcpus=1" "$out/bin" "$out/bin32" "$out/kselftest" "$out/extmod" &
main=$!
counted "host: counter rules (cargo test)" cargo test --manifest-path counter-tests/Cargo.toml
counted "host: userspace crate (fmt, clippy, cargo test)" make -s -C userspace/eventfd-max check
counted "host: README benchmark text matches bench/results.json" python3 bench/report.py --check
counted "module: fmt-check, clippy" make_targets fmt-check clippy
counted "host: guest runner self-tests" "$top/scripts/runner-selftest.sh" "$kdir"
counted "guest: test suite on the debug kernel (its wait)" guest_output test.sh "$main"
counted "guest: hostile and lifetime, with kmemleak (its wait)" guest_output reliability.sh "$reliability"

summary
