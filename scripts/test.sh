#!/usr/bin/env bash
# The whole test suite: provisions, builds the debug-profile kernel, the module and every program,
# boots the guest suites on the debug kernel (lockdep, KASAN, kmemleak, ...), the main one and the
# reliability suite's hostile and lifetime parts with kmemleak, and beside them tests the install
# paths (scripts/packaging-test.sh), runs the host tests and the runner's own tests.  Ends with
# "N passed, N failed, N skipped" over every stage.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cd "$top"

provision

# What needs no kernel is built beside the kernel: on a cold cache, minutes of cargo and gcc that
# would otherwise follow its build; warm, this runs beside the module's build.  The stages below
# find it built, and report whatever failed.
prebuild() {
    make -s programs
    cargo test --no-run --manifest-path counter-tests/Cargo.toml
    make -s -C userspace/eventfd-max check-build
}
prebuild > "$out/logs/prebuild.log" 2>&1 &
prebuilt=$!
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
wait "$prebuilt" || true
stage "programs: tests, benchmarks, examples" make -s -j"$(nproc)" programs
guest() { # suite, CPUs, MB, kernel command line, bin dirs...: the debug kernel with its own module
    local suite=$1 smp=$2 memory=$3 append=$4 bins=() b
    shift 4
    for b; do bins+=(--bin "$b"); done
    "$top/scripts/guest.sh" --kernel "$kdir" --module "$out/module/debug/eventfd_max.ko" \
        --suite "$top/guest/$suite" "${bins[@]}" --smp "$smp" --append "$append" \
        --timeout "${GUEST_TIMEOUT:-1800}" --memory "$memory" > "$out/logs/guest-$suite.out" 2>&1
}
# guest_wait SUITE PID: waits for a guest started in the background; guest_output SUITE then
# prints its output and returns its status.
declare -A guest_rc
guest_wait() { local rc=0; wait "$2" || rc=$?; guest_rc[$1]=$rc; }
guest_output() { cat "$out/logs/guest-$1.out"; return "${guest_rc[$1]}"; }
# The run is CPU-bound.  Its jobs share the host's two cores in two lanes rather than each starting
# as soon as it can, as emulated guests beside more busy processes than cores took more host CPU
# for the same work (whole runs the same afternoon: 683 and 743 CPU-s that way, 579 to 663 like
# this).  One lane runs the kmemleak guest as soon as the programs are built, then the other host
# stages; the other the packaging tests, then the main guest, which loads the modules they build.
# The runner's self-tests come last, beside the end of the main guest.  The kmemleak guest has one
# CPU, as its tests need no second one (their races are preemption's, PREEMPT=y), and so no ACPI,
# which with kmemleak tracking every allocation is seconds of a boot; and 512 MB, as kmemleak's
# scans cover the page structs of all memory.  The main guest boots with its second CPU offline
# (guest/test.sh brings it online for the parts that need it).  The guests' outputs follow the
# host stages'.
guest reliability.sh 1 512 acpi=off "$out/bin" "$out/bin32" &
reliability=$!
counted "host: uapi header, headers tree, install, DKMS, kselftest" "$top/scripts/packaging-test.sh" "$kdir"
guest test.sh 2 1024 "kmemleak=off maxcpus=1" "$out/bin" "$out/bin32" "$out/kselftest" "$out/extmod" &
main=$!
stage "waiting for the kmemleak guest (its core)" guest_wait reliability.sh "$reliability"
counted "host: counter rules (cargo test)" cargo test --manifest-path counter-tests/Cargo.toml
counted "host: userspace crate (fmt, clippy, cargo test)" make -s -C userspace/eventfd-max check
counted "host: README benchmark text matches bench/results.json" python3 bench/report.py --check
counted "module: fmt-check, clippy" make_targets fmt-check clippy
counted "host: guest runner self-tests" "$top/scripts/runner-selftest.sh" "$kdir"
stage "waiting for the main guest" guest_wait test.sh "$main"
counted "guest: test suite on the debug kernel" guest_output test.sh
counted "guest: hostile and lifetime, with kmemleak" guest_output reliability.sh

summary
